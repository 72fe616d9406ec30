"""Cancelling: one job (``PUT /jobs/{id}/status/cancel``), each ``finished_cancel`` mode for a
job that is already final, and the bulk endpoint (``PUT /jobs/status/cancel``)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from contract.observed import Emulator
from support import TIMEOUT, Api, assert_ionq_error, auth

from qiskit_ionq_cancel.emulator import FINISHED_CANCEL_MODES, ManualClock

UNKNOWN = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
# Lifecycle of every emulator here: submitted 1 s, ready 10 s, started 5 s.
TO_READY, TO_STARTED, TO_DONE = 1, 11, 16


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make(start_emulator: Any, api_for: Any, clock: ManualClock) -> Any:
    """``make(**settings)`` -> (emulator, client) on the manual clock."""

    def build(**settings: Any) -> tuple[Emulator, Any]:
        emulator = start_emulator(clock=clock, submit_time=1, queue_time=10, run_time=5,
                                  **settings)
        return emulator, api_for(emulator)

    return build


def cancel(client: Api, job_id: str) -> requests.Response:
    return client.put(f"/jobs/{job_id}/status/cancel")


# -- one job ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("advance", "before"),
                         [(0, "submitted"), (TO_READY, "ready"), (TO_STARTED, "started")])
def test_cancel_a_queued_or_running_job(make: Any, clock: ManualClock, advance: float,
                                        before: str) -> None:
    emu, client = make()
    job_id = client.submit()
    clock.advance(advance)
    assert client.job(job_id)["status"] == before

    response = cancel(client, job_id)
    assert response.status_code == 200
    assert response.json() == {"id": job_id, "status": "canceled"}  # no other keys

    job = client.job(job_id)
    assert job["status"] == "canceled"
    assert job["completed_at"] is not None
    assert (job["started_at"] is not None) == (before == "started")
    assert job["results"] is None
    clock.advance(100)  # the lifecycle no longer moves a canceled job
    assert client.job(job_id)["status"] == "canceled"
    assert emu.store.cancel_requests(job_id) == 1


def test_cancel_an_already_canceled_job_is_harmless(make: Any) -> None:
    emu, client = make()
    job_id = client.submit()
    assert cancel(client, job_id).json()["status"] == "canceled"
    response = cancel(client, job_id)
    assert response.status_code == 200
    assert response.json() == {"id": job_id, "status": "canceled"}
    assert emu.store.cancel_requests(job_id) == 2


def test_cancel_unknown_job_answers_404(make: Any) -> None:
    _, client = make()
    assert UNKNOWN in assert_ionq_error(cancel(client, UNKNOWN), 404)["message"]


@pytest.mark.parametrize("bad", ["not-a-uuid", UNKNOWN.upper(), UNKNOWN.replace("-", ""),
                                 "{" + UNKNOWN + "}"])
def test_cancel_malformed_id_answers_400(make: Any, bad: str) -> None:
    _, client = make()
    assert_ionq_error(cancel(client, bad), 400)


def test_cancel_needs_a_key(make: Any, api_for: Any) -> None:
    emu, client = make()
    job_id = client.submit()
    assert_ionq_error(api_for(emu, key=None).put(f"/jobs/{job_id}/status/cancel"), 401)
    assert emu.store.status_of(job_id) == "submitted"
    assert emu.store.cancel_requests(job_id) == 0


def test_concurrent_cancels_of_one_job(make: Any, clock: ManualClock) -> None:
    emu, client = make()
    job_id = client.submit()
    clock.advance(TO_READY)

    def one(_: int) -> requests.Response:
        return requests.put(f"{emu.url}/jobs/{job_id}/status/cancel", headers=auth(),
                            timeout=TIMEOUT)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, range(24)))
    assert {(r.status_code, r.json()["status"]) for r in answers} == {(200, "canceled")}
    assert emu.store.cancel_requests(job_id) == 24
    assert emu.store.status_of(job_id) == "canceled"


# -- a job that is already final: each finished_cancel mode -----------------------------------

def _completed(make: Any, clock: ManualClock, mode: str) -> tuple[Emulator, Any, str]:
    emu, client = make(finished_cancel=mode)
    job_id = client.submit()
    clock.advance(TO_DONE)
    assert client.job(job_id)["status"] == "completed"
    return emu, client, job_id


def test_the_default_for_a_finished_job_is_a_409(make: Any, clock: ManualClock) -> None:
    emu, client = make()
    assert emu.store.finished_cancel == "conflict"
    job_id = client.submit()
    clock.advance(TO_DONE)
    assert_ionq_error(cancel(client, job_id), 409)
    assert client.job(job_id)["status"] == "completed"


def test_cancelling_a_canceled_job_again_says_canceled_in_every_mode(make: Any) -> None:
    for mode in FINISHED_CANCEL_MODES:
        _, client = make(finished_cancel=mode)
        job_id = client.submit()
        for _ in range(2):
            assert cancel(client, job_id).json() == {"id": job_id, "status": "canceled"}


#: What cancelling a completed job does in each mode: the HTTP status, the status the answer
#: states (``None``: IonQ's error body), and whether the job is changed.
FINISHED_CANCEL = {
    "noop": (200, "completed", False),
    "conflict": (409, None, False),
    "bad_request": (400, None, False),
    "claim": (200, "canceled", False),  # a lie: nothing changed
    "overwrite": (200, "canceled", True),
}


def test_the_table_covers_every_mode() -> None:
    assert set(FINISHED_CANCEL) == set(FINISHED_CANCEL_MODES)


@pytest.mark.parametrize("mode", FINISHED_CANCEL_MODES)
def test_cancelling_a_completed_job(make: Any, clock: ManualClock, api_contract: Any,
                                    mode: str) -> None:
    emu, client, job_id = _completed(make, clock, mode)
    before = client.job(job_id)
    response = cancel(client, job_id)
    status, stated, changed = FINISHED_CANCEL[mode]
    if stated is None:
        body = assert_ionq_error(response, status)
        assert "completed" in body["message"]
        if mode == "conflict":
            assert body["error"] == "Conflict"
    else:
        assert response.status_code == status
        assert response.json() == {"id": job_id, "status": stated}
    job = client.job(job_id)
    results = client.get(f"/jobs/{job_id}/results/probabilities")
    if changed:
        assert job["status"] == "canceled"
        assert job["started_at"] is not None and job["completed_at"] is not None
        assert job["results"] is None
        assert_ionq_error(results, 404)
    else:
        assert job == before
        assert results.status_code == 200
    assert emu.store.cancel_requests(job_id) == 1
    # noop's answer is outside IonQ's document (its 200 body says only "canceled"): flagged,
    # not checked
    assert api_contract.answers_waived == (1 if mode == "noop" else 0)


@pytest.mark.parametrize("mode", FINISHED_CANCEL_MODES)
def test_finished_cancel_modes_on_a_failed_job(make: Any, clock: ManualClock,
                                               mode: str) -> None:
    emu, client = make(finished_cancel=mode)
    job_id = client.submit()
    emu.store.fail(job_id, code="QuantumComputerError", message="failed for the test")
    response = cancel(client, job_id)
    expected_status = {"noop": 200, "conflict": 409, "bad_request": 400, "claim": 200,
                       "overwrite": 200}[mode]
    assert response.status_code == expected_status
    if expected_status == 200:
        claimed = "failed" if mode == "noop" else "canceled"
        assert response.json() == {"id": job_id, "status": claimed}
    else:
        assert_ionq_error(response, expected_status)
    final = "canceled" if mode == "overwrite" else "failed"
    assert client.job(job_id)["status"] == final


@pytest.mark.parametrize("mode", FINISHED_CANCEL_MODES)
def test_every_mode_still_cancels_a_queued_job(make: Any, clock: ManualClock,
                                               mode: str) -> None:
    _, client = make(finished_cancel=mode)
    job_id = client.submit()
    clock.advance(TO_READY)
    assert cancel(client, job_id).json() == {"id": job_id, "status": "canceled"}
    assert client.job(job_id)["status"] == "canceled"


def test_unknown_finished_cancel_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="finished_cancel"):
        Emulator(finished_cancel="explode")


# -- bulk -------------------------------------------------------------------------------------

def bulk(client: Api, body: Any) -> requests.Response:
    return client.put("/jobs/status/cancel", json=body)


def statuses(client: Any, ids: list[str]) -> dict[str, str]:
    response = client.get("/jobs", params={"ids": ids, "limit": 1000})
    assert response.status_code == 200
    return {job["id"]: job["status"] for job in response.json()["jobs"]}


def test_bulk_cancels_the_cancellable_and_echoes_every_id(make: Any,
                                                          clock: ManualClock) -> None:
    emu, client = make()
    done = emu.store.add_jobs(2)
    clock.advance(TO_STARTED)
    running = emu.store.add_jobs(2)
    clock.advance(TO_STARTED - TO_READY)
    ready = emu.store.add_jobs(2)
    clock.advance(TO_READY)
    [failed] = emu.store.add_jobs(1)
    emu.store.fail(failed)
    before = statuses(client, done + running + ready)
    assert set(before.values()) == {"completed", "started", "ready"}
    assert [before[i] for i in running] == ["started", "started"]

    ids = [ready[0], UNKNOWN, done[0], running[0], failed, running[1], done[1], ready[1]]
    response = bulk(client, {"ids": ids})
    assert response.status_code == 200
    assert response.json() == {"ids": ids, "status": "canceled"}

    after = statuses(client, done + running + ready + [failed])
    assert {after[i] for i in running + ready} == {"canceled"}
    assert {after[i] for i in done} == {"completed"}
    assert after[failed] == "failed"
    assert all(emu.store.cancel_requests(i) == 1 for i in done + running + ready + [failed])


@pytest.mark.parametrize("mode", ["conflict", "bad_request"])
def test_bulk_leaves_final_jobs_alone_even_in_error_modes(make: Any, clock: ManualClock,
                                                          mode: str) -> None:
    emu, client = make(finished_cancel=mode)
    done = emu.store.add_jobs(1)
    clock.advance(TO_DONE)
    ready = emu.store.add_jobs(1)
    clock.advance(TO_READY)
    response = bulk(client, {"ids": done + ready})
    assert response.status_code == 200
    assert statuses(client, done + ready) == {done[0]: "completed", ready[0]: "canceled"}


def test_bulk_overwrite_mode_cancels_final_jobs(make: Any, clock: ManualClock) -> None:
    emu, client = make(finished_cancel="overwrite")
    done = emu.store.add_jobs(2)
    clock.advance(TO_DONE)
    assert bulk(client, {"ids": done}).status_code == 200
    assert set(statuses(client, done).values()) == {"canceled"}


def test_bulk_echoes_duplicates(make: Any) -> None:
    emu, client = make()
    [job_id] = emu.store.add_jobs(1)
    response = bulk(client, {"ids": [job_id, job_id]})
    assert response.json() == {"ids": [job_id, job_id], "status": "canceled"}
    assert emu.store.status_of(job_id) == "canceled"


@pytest.mark.parametrize(
    "body",
    [{}, {"ids": []}, {"ids": "abc"}, {"ids": [1, 2]}, {"ids": None}, {"ids": {"a": 1}},
     {"id": [UNKNOWN]}],
)
def test_bulk_malformed_body_answers_400(make: Any, body: Any) -> None:
    _, client = make()
    assert_ionq_error(bulk(client, body), 400)


@pytest.mark.parametrize("raw", [b"", b"{oops", b"[]"])
def test_bulk_body_not_a_json_object_answers_400(make: Any, raw: bytes) -> None:
    _, client = make()
    assert_ionq_error(client.put("/jobs/status/cancel", data=raw,
                                 headers={"Content-Type": "application/json"}), 400)


@pytest.mark.parametrize("bad", ["not-a-uuid", UNKNOWN.upper()])
def test_bulk_with_a_malformed_id_answers_400_and_cancels_nothing(make: Any,
                                                                  bad: str) -> None:
    emu, client = make()
    ids = emu.store.add_jobs(2)
    assert_ionq_error(bulk(client, {"ids": [ids[0], bad, ids[1]]}), 400)
    assert {emu.store.status_of(i) for i in ids} == {"submitted"}


def test_bulk_too_many_ids_answers_400_and_cancels_nothing(make: Any) -> None:
    emu, client = make(bulk_max_ids=3)
    ids = emu.store.add_jobs(4)
    body = assert_ionq_error(bulk(client, {"ids": ids}), 400)
    assert "3" in body["message"]
    assert {emu.store.status_of(i) for i in ids} == {"submitted"}
    assert bulk(client, {"ids": ids[:3]}).status_code == 200  # exactly the maximum is fine
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 3 + ["submitted"]


def test_bulk_default_maximum_is_1000(make: Any) -> None:
    emu, client = make()
    ids = emu.store.add_jobs(1001)
    assert_ionq_error(bulk(client, {"ids": ids}), 400)
    assert bulk(client, {"ids": ids[:1000]}).status_code == 200
    assert emu.store.counts() == {"canceled": 1000, "submitted": 1}


def test_bulk_disabled_answers_404(make: Any) -> None:
    emu, client = make(bulk_enabled=False)
    ids = emu.store.add_jobs(2)
    assert_ionq_error(bulk(client, {"ids": ids}), 404)
    assert {emu.store.status_of(i) for i in ids} == {"submitted"}
    # the single-job endpoint still works
    assert cancel(client, ids[0]).json()["status"] == "canceled"


def test_bulk_needs_a_key(make: Any, api_for: Any) -> None:
    emu, _ = make()
    ids = emu.store.add_jobs(1)
    assert_ionq_error(api_for(emu, key=None).put("/jobs/status/cancel", json={"ids": ids}),
                      401)
    assert emu.store.status_of(ids[0]) == "submitted"
