"""``GET /jobs``: filters, limits and the ``next`` cursor."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from contract.observed import Emulator
from support import Api, assert_ionq_error

from qiskit_ionq_cancel.emulator import ManualClock

SESSION_A = "11111111-2222-4333-8444-555555555555"
SESSION_B = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
UNKNOWN = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


pytestmark = pytest.mark.emu(api_keys=())


@pytest.fixture
def client(emu: Emulator, api_for: Any) -> Any:
    return api_for(emu)


def walk(client: Any, **params: Any) -> tuple[list[str], int]:
    """Every job id over all pages (in order) and the number of pages."""
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = dict(params)
        if cursor is not None:
            query["next"] = cursor
        response = client.get("/jobs", params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"jobs", "next"}
        pages += 1
        assert pages < 1000, "the cursor never ends"
        seen += [job["id"] for job in body["jobs"]]
        cursor = body["next"]
        if cursor is None:
            return seen, pages
        assert isinstance(cursor, str) and cursor


def test_empty_store_lists_nothing(client: Any) -> None:
    response = client.get("/jobs")
    assert response.status_code == 200
    assert response.json() == {"jobs": [], "next": None}


@pytest.mark.parametrize(("count", "limit", "pages"), [(60, 7, 9), (21, 7, 3), (5, 25, 1),
                                                        (1, 1, 1), (50, 1000, 1)])
def test_walk_all_pages_newest_first_no_duplicates(emu: Emulator, client: Any, count: int,
                                                   limit: int, pages: int) -> None:
    ids = emu.store.add_jobs(count)
    seen, walked = walk(client, limit=limit)
    assert len(seen) == len(set(seen)), "a job appeared twice"
    assert seen == ids[::-1]  # newest first, none missed
    assert walked == pages


def test_each_page_holds_at_most_limit_full_job_objects(emu: Emulator, client: Any) -> None:
    emu.store.add_jobs(10)
    body = client.get("/jobs", params={"limit": 4}).json()
    assert len(body["jobs"]) == 4
    assert body["next"] is not None
    job = body["jobs"][0]
    assert {"id", "status", "backend", "submitted_at", "failure"} <= job.keys()
    # IonQ's BaseJob: the job object without child_job_ids
    assert job == {k: v for k, v in client.job(job["id"]).items() if k != "child_job_ids"}


def test_default_limit_is_25(emu: Emulator, client: Any) -> None:
    emu.store.add_jobs(30)
    body = client.get("/jobs").json()
    assert len(body["jobs"]) == 25
    assert body["next"] is not None


def test_cursor_is_stable_when_jobs_are_added_or_deleted_during_the_walk(
        emu: Emulator, client: Any) -> None:
    ids = emu.store.add_jobs(20)
    first = client.get("/jobs", params={"limit": 6}).json()
    assert [j["id"] for j in first["jobs"]] == ids[::-1][:6]
    newer = emu.store.add_jobs(5)  # these sort before the cursor: not on later pages
    gone = ids[3]
    assert client.delete(f"/jobs/{gone}").status_code == 200
    rest, _ = walk(client, limit=6, next=first["next"])
    assert not set(rest) & set(newer)
    assert rest == [i for i in ids[::-1][6:] if i != gone]


def test_ids_filter_repeatable_and_comma_separated(emu: Emulator, client: Any) -> None:
    ids = emu.store.add_jobs(6)
    wanted = [ids[1], ids[4]]
    repeated = client.get("/jobs", params=[("ids", ids[1]), ("ids", ids[4])]).json()
    assert [j["id"] for j in repeated["jobs"]] == wanted[::-1]
    assert repeated["next"] is None
    commas = client.get("/jobs", params={"ids": ",".join(wanted)}).json()
    assert [j["id"] for j in commas["jobs"]] == wanted[::-1]


def test_ids_filter_skips_unknown_ids(emu: Emulator, client: Any) -> None:
    [job_id] = emu.store.add_jobs(1)
    body = client.get("/jobs", params=[("ids", job_id), ("ids", UNKNOWN)]).json()
    assert [j["id"] for j in body["jobs"]] == [job_id]


def test_ids_filter_with_a_limit_pages_too(emu: Emulator, client: Any) -> None:
    ids = emu.store.add_jobs(12)
    wanted = ids[::2]
    seen, pages = walk(client, ids=",".join(wanted), limit=2)
    assert seen == wanted[::-1]
    assert pages == 3


@pytest.mark.parametrize("bad", ["not-a-uuid", UNKNOWN.upper()])
def test_ids_filter_with_a_malformed_id_answers_400(client: Any, bad: str) -> None:
    assert_ionq_error(client.get("/jobs", params={"ids": bad}), 400)


def test_status_filter(emu: Emulator, client: Any, clock: ManualClock) -> None:
    done = emu.store.add_jobs(3)
    clock.advance(20)
    ready = emu.store.add_jobs(4)
    canceled = ready[:2]
    for job_id in canceled:
        assert client.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    [failed] = emu.store.add_jobs(1)
    emu.store.fail(failed)

    def listed(status: str) -> list[str]:
        return walk(client, status=status, limit=2)[0]

    assert listed("completed") == done[::-1]
    assert listed("ready") == ready[2:][::-1]
    assert listed("canceled") == canceled[::-1]
    assert listed("failed") == [failed]
    assert listed("started") == []
    assert listed("submitted") == []


@pytest.mark.parametrize("bad", ["cancelled", "running", "COMPLETED", ""])
def test_bad_status_filter_answers_400(client: Any, bad: str) -> None:
    assert_ionq_error(client.get("/jobs", params={"status": bad}), 400)


def test_target_filter(emu: Emulator, client: Any) -> None:
    sims = emu.store.add_jobs(3)
    fortes = emu.store.add_jobs(4, backend="qpu.forte-1")
    enterprise = emu.store.add_jobs(2, backend="qpu.forte-enterprise-1")
    assert walk(client, target="qpu.forte-1", limit=3)[0] == fortes[::-1]
    assert walk(client, target="simulator")[0] == sims[::-1]
    # IonQ: "Supports single target or comma-separated list of targets"
    assert walk(client, target="simulator,qpu.forte-enterprise-1")[0] == \
        (sims + enterprise)[::-1]
    assert walk(client, target="qpu.nowhere")[0] == []


def test_session_id_filter(emu: Emulator, client: Any) -> None:
    a = emu.store.add_jobs(3, session_id=SESSION_A)
    emu.store.add_jobs(2)
    b = emu.store.add_jobs(2, session_id=SESSION_B)
    assert walk(client, session_id=SESSION_A, limit=2)[0] == a[::-1]
    assert walk(client, session_id=SESSION_B)[0] == b[::-1]
    assert walk(client, session_id=UNKNOWN)[0] == []


def test_filters_combine(emu: Emulator, client: Any, clock: ManualClock) -> None:
    emu.store.add_jobs(2, backend="qpu.forte-1", session_id=SESSION_A)
    clock.advance(20)
    wanted = emu.store.add_jobs(2, backend="qpu.forte-1", session_id=SESSION_A)
    emu.store.add_jobs(2, backend="simulator", session_id=SESSION_A)
    seen, _ = walk(client, target="qpu.forte-1", session_id=SESSION_A, status="ready")
    assert seen == wanted[::-1]


@pytest.mark.parametrize("param", ["session_id", "parent_job_id"])
def test_malformed_uuid_filters_answer_400(client: Any, param: str) -> None:
    assert param in assert_ionq_error(client.get("/jobs", params={param: "nope"}),
                                      400)["message"]


@pytest.mark.parametrize(("limit", "jobs"), [("0", 1), ("-1", 1), ("1001", 3)])
def test_a_limit_out_of_range_is_taken_within_1_to_1000(emu: Emulator, client: Any,
                                                       limit: str, jobs: int) -> None:
    # IonQ's document (October 2026) bounds 'limit' nowhere: no 400 for any integer
    emu.store.add_jobs(3)
    response = client.get("/jobs", params={"limit": limit})
    assert response.status_code == 200, response.text
    assert len(response.json()["jobs"]) == jobs


@pytest.mark.parametrize("limit", ["abc", "2.5", ""])
def test_bad_limit_answers_400(emu: Emulator, client: Any, limit: str) -> None:
    emu.store.add_jobs(2)
    body = assert_ionq_error(client.get("/jobs", params={"limit": limit}), 400)
    assert "limit" in body["message"]


def test_limit_given_twice_answers_400(client: Any) -> None:
    assert_ionq_error(client.get("/jobs", params=[("limit", "2"), ("limit", "3")]), 400)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", ["!!!", "zzzz", _b64("x5"), _b64("p-1"), _b64("pabc"),
                                    _b64("p") , "\u00e9"])
def test_bad_cursor_answers_400(emu: Emulator, client: Any, cursor: str) -> None:
    emu.store.add_jobs(3)
    assert "next" in assert_ionq_error(client.get("/jobs", params={"next": cursor}),
                                       400)["message"]


def test_listing_needs_a_key(emu: Emulator, api_for: Any) -> None:
    assert_ionq_error(api_for(emu, key=None).get("/jobs"), 401)


def test_an_empty_ids_filter_is_refused_not_widened(api: Api) -> None:
    api.submit()
    for query in ("ids=", "ids=,", f"ids={api.submit()},"):
        assert_ionq_error(api.get(f"/jobs?{query}"), 400)
