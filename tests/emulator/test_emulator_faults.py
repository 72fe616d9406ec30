"""Fault injection: scripted faults, the rate limit, seeded random faults, latency."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from contract.observed import Emulator
from support import TIMEOUT, Api, assert_ionq_error, auth, job_body

from qiskit_ionq_cancel.emulator import Fault, FaultConfig

pytestmark = pytest.mark.emu(api_keys=())


@pytest.fixture
def client(emu: Emulator, api_for: Any) -> Any:
    return api_for(emu)


def cancel(client: Api, job_id: str, **kwargs: Any) -> requests.Response:
    return client.put(f"/jobs/{job_id}/status/cancel", **kwargs)


# -- scripted faults --------------------------------------------------------------------------

def test_scripted_429_with_retry_after(emu: Emulator, client: Any) -> None:
    emu.faults.inject(Fault.http(429, retry_after="7"))
    response = client.get("/jobs")
    body = assert_ionq_error(response, 429)
    assert body["error"] == "Too Many Requests"
    assert "rate limit" in body["message"]
    assert response.headers["Retry-After"] == "7"
    entry = emu.log.entries[-1]
    assert (entry.status, entry.fault) == (429, "status")
    assert client.get("/jobs").status_code == 200  # used up


def test_scripted_429_without_retry_after(emu: Emulator, client: Any) -> None:
    emu.faults.inject(Fault.http(429))
    response = client.get("/jobs")
    assert_ionq_error(response, 429)
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize(("status", "phrase"), [(500, "Internal Server Error"),
                                                (502, "Bad Gateway"),
                                                (503, "Service Unavailable"),
                                                (504, "Gateway Timeout")])
def test_scripted_server_errors_change_nothing(emu: Emulator, client: Any, status: int,
                                               phrase: str) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.http(status))
    body = assert_ionq_error(cancel(client, job_id), status)
    assert body["error"] == phrase
    assert emu.store.status_of(job_id) == "ready"
    assert emu.store.cancel_requests(job_id) == 0
    assert emu.log.entries[-1].fault == "status"


def test_scripted_fault_matches_method_path_and_times(emu: Emulator, client: Any) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.http(503), times=2, method="PUT", path="cancel")
    # other methods and paths are not affected and do not use the script up
    assert client.get(f"/jobs/{job_id}").status_code == 200
    assert client.post("/jobs", json=job_body()).status_code == 201
    assert client.put("/jobs/status/cancel", json={"ids": [job_id]}).status_code == 503
    assert emu.store.status_of(job_id) == "ready"
    assert cancel(client, job_id).status_code == 503
    assert emu.store.status_of(job_id) == "ready"
    response = cancel(client, job_id)
    assert response.status_code == 200
    assert response.json() == {"id": job_id, "status": "canceled"}
    assert [e.fault for e in emu.log.entries] == [None, None, "status", "status", None]


def test_scripted_path_is_a_regex_on_the_path_without_query(emu: Emulator,
                                                            client: Any) -> None:
    emu.faults.inject(Fault.http(502), path=r"/jobs$")
    assert client.get("/backends", params={"x": "/jobs"}).status_code == 200
    assert client.get("/jobs", params={"limit": 5}).status_code == 502
    assert client.get("/jobs").status_code == 200


def test_scripted_faults_queue_in_order(emu: Emulator, client: Any) -> None:
    emu.faults.inject(Fault.http(500))
    emu.faults.inject(Fault.http(429, retry_after="2"), times=2)
    emu.faults.inject(Fault.http(504))
    assert [client.get("/jobs").status_code for _ in range(5)] == [500, 429, 429, 504, 200]


def test_clear_forgets_scripted_faults(emu: Emulator, client: Any) -> None:
    emu.faults.inject(Fault.http(503), times=5)
    assert client.get("/jobs").status_code == 503
    emu.faults.clear()
    assert client.get("/jobs").status_code == 200


def test_after_fault_applies_the_change_then_answers_503(emu: Emulator, client: Any) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.http(503, after=True), method="PUT")
    assert_ionq_error(cancel(client, job_id), 503)
    assert emu.store.status_of(job_id) == "canceled"  # though the answer was a 503
    assert emu.store.cancel_requests(job_id) == 1
    assert client.job(job_id)["status"] == "canceled"


def test_after_fault_on_submit_creates_the_job(emu: Emulator, client: Any) -> None:
    emu.faults.inject(Fault.http(502, after=True), method="POST")
    assert_ionq_error(client.post("/jobs", json=job_body()), 502)
    assert sum(emu.store.counts().values()) == 1


def test_drop_closes_without_an_answer_and_changes_nothing(emu: Emulator,
                                                           client: Any) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.drop(), method="PUT")
    with pytest.raises(requests.ConnectionError):
        cancel(client, job_id)
    assert emu.store.status_of(job_id) == "ready"
    entry = emu.log.entries[-1]
    assert (entry.status, entry.fault) == (None, "drop")
    assert cancel(client, job_id).json()["status"] == "canceled"  # the client recovers


def test_drop_after_applies_the_change(emu: Emulator, client: Any) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.drop(after=True))
    with pytest.raises(requests.ConnectionError):
        cancel(client, job_id)
    assert emu.store.status_of(job_id) == "canceled"


def test_garbage_is_a_200_that_is_not_json_and_the_change_happened(emu: Emulator,
                                                                   client: Any) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.garbage())
    response = cancel(client, job_id)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()
    assert emu.store.status_of(job_id) == "canceled"
    assert emu.log.entries[-1].fault == "garbage"


def test_json_is_a_200_with_the_body_given_and_the_change_happened(emu: Emulator,
                                                                  client: Any) -> None:
    [job_id] = emu.store.add_jobs(1, backend="qpu.forte-1")
    emu.faults.inject(Fault.json({"estimated_cost": "cheap"}), path=r"/cost$")
    response = client.get(f"/jobs/{job_id}/cost")
    assert response.status_code == 200 and response.json() == {"estimated_cost": "cheap"}
    assert emu.log.entries[-1].fault == "json"
    assert client.get(f"/jobs/{job_id}/cost").json()["estimated_cost"]["unit"] == "usd"


def test_hang_makes_the_client_time_out(emu: Emulator, client: Any) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.hang(3.0), method="GET")
    # the hang is far longer than the client's read timeout: no race, no timing assertion
    with pytest.raises(requests.ReadTimeout):
        client.get(f"/jobs/{job_id}", timeout=(TIMEOUT, 0.2))
    response = client.get(f"/jobs/{job_id}")  # the next request is answered normally
    assert response.status_code == 200
    assert response.json()["id"] == job_id


def test_latency_still_gives_correct_answers(start_emulator: Any, api_for: Any) -> None:
    emu = start_emulator(latency=0.02, queue_time=100)
    client = api_for(emu)
    job_id = client.submit()
    job = client.job(job_id)
    assert job["id"] == job_id
    assert job["status"] in {"submitted", "ready"}
    assert cancel(client, job_id).json() == {"id": job_id, "status": "canceled"}
    assert [e.status for e in emu.log.entries] == [201, 200, 200]
    assert all(e.fault is None for e in emu.log.entries)


# -- rate limit -------------------------------------------------------------------------------
# A slow refill (one token per 20 s) and a burst of 1 or 3: requests made back to back
# certainly find the bucket empty; nothing depends on how long a request takes.

def test_rate_limit_answers_429_with_integer_retry_after(start_emulator: Any,
                                                         api_for: Any) -> None:
    emu = start_emulator(rate_limit=0.05, rate_burst=1)
    client = api_for(emu)
    assert client.get("/jobs").status_code == 200
    response = client.post("/jobs", json=job_body())
    body = assert_ionq_error(response, 429)
    assert "rate limit" in body["message"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit()
    assert int(retry_after) >= 1
    assert emu.store.counts() == {}  # the limited request did not reach the store
    assert emu.log.entries[-1].fault == "status"


def test_rate_limit_burst(start_emulator: Any, api_for: Any) -> None:
    client = api_for(start_emulator(rate_limit=0.05, rate_burst=3))
    assert [client.get("/backends").status_code for _ in range(5)] == [200, 200, 200, 429, 429]


def test_rate_limit_retry_after_as_http_date(start_emulator: Any, api_for: Any) -> None:
    client = api_for(start_emulator(rate_limit=0.05, rate_burst=1, retry_after="date"))
    assert client.get("/jobs").status_code == 200
    response = client.get("/jobs")
    assert_ionq_error(response, 429)
    header = response.headers["Retry-After"]
    assert header.endswith(" GMT")
    assert not header.isdigit()
    offset = parsedate_to_datetime(header).utcoffset()
    assert offset is not None and offset.total_seconds() == 0


def test_rate_limit_without_retry_after(start_emulator: Any, api_for: Any) -> None:
    client = api_for(start_emulator(rate_limit=0.05, rate_burst=1, retry_after="none"))
    assert client.get("/jobs").status_code == 200
    response = client.get("/jobs")
    assert_ionq_error(response, 429)
    assert "Retry-After" not in response.headers


def test_no_rate_limit_by_default(emu: Emulator, client: Any) -> None:
    assert {client.get("/backends").status_code for _ in range(30)} == {200}


# -- random faults ----------------------------------------------------------------------------

def outcomes(emulator: Emulator, count: int = 40) -> list[str]:
    """What ``count`` reads of one job give, one word each."""
    [job_id] = emulator.store.add_jobs(1)
    seen: list[str] = []
    with requests.Session() as session:
        for _ in range(count):
            try:
                response = session.get(f"{emulator.url}/jobs/{job_id}", headers=auth(),
                                       timeout=TIMEOUT)
            except requests.ConnectionError:
                seen.append("drop")
                continue
            is_json = response.headers["Content-Type"].startswith("application/json")
            seen.append(str(response.status_code) if is_json else "garbage")
    return seen


def test_seeded_random_faults_repeat_identically(start_emulator: Any) -> None:
    first = start_emulator(fault_rate=0.5, seed=7)
    second = start_emulator(fault_rate=0.5, seed=7)
    a, b = outcomes(first), outcomes(second)
    assert a == b
    assert "200" in a
    assert len(set(a)) >= 3  # a real mix of faults, not a trivial sequence
    assert [e.fault for e in first.log.entries] == [e.fault for e in second.log.entries]
    assert [e.status for e in first.log.entries] == [e.status for e in second.log.entries]


def test_another_seed_gives_another_sequence(start_emulator: Any) -> None:
    a = outcomes(start_emulator(fault_rate=0.5, seed=7))
    b = outcomes(start_emulator(fault_rate=0.5, seed=8))
    assert a != b


def test_fault_rate_zero_gives_no_faults(start_emulator: Any) -> None:
    emu = start_emulator(fault_rate=0.0, seed=7)
    assert set(outcomes(emu, 60)) == {"200"}
    assert {e.fault for e in emu.log.entries} == {None}


@pytest.mark.parametrize(("kinds", "expected"), [(["503"], {"503"}), (["garbage"], {"garbage"}),
                                                 (["drop"], {"drop"}),
                                                 (["500", "504"], {"500", "504"})])
def test_fault_kinds_restrict_what_is_drawn(start_emulator: Any, kinds: list[str],
                                            expected: set[str]) -> None:
    emu = start_emulator(fault_rate=1.0, fault_kinds=kinds, seed=3)
    assert set(outcomes(emu, 20)) == expected


def test_reconfigure_at_runtime_keeps_scripted_faults(emu: Emulator, client: Any) -> None:
    emu.faults.inject(Fault.http(429), path="backends")
    emu.faults.configure(FaultConfig(fault_rate=1.0, fault_kinds=("502",), seed=1))
    assert client.get("/jobs").status_code == 502
    emu.faults.configure(FaultConfig())
    assert client.get("/jobs").status_code == 200
    assert client.get("/backends").status_code == 429


@pytest.mark.parametrize("settings", [{"fault_rate": 1.5}, {"fault_rate": -0.1},
                                      {"rate_limit": 0}, {"rate_limit": -1},
                                      {"fault_kinds": ["teapot"]}])
def test_bad_fault_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Emulator(**settings)


def test_seed_makes_job_ids_repeat(start_emulator: Any, api_for: Any) -> None:
    one, two = start_emulator(seed=11), start_emulator(seed=11)
    assert one.store.add_jobs(3) == two.store.add_jobs(3)
    assert api_for(one).submit() == api_for(two).submit()
    assert start_emulator(seed=12).store.add_jobs(1) != Emulator(seed=11).store.add_jobs(1)
