"""Jobs on the emulator: submission as qiskit-ionq does it, the lifecycle in (manual) time,
failures, reading, deleting and results."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from contract.observed import Emulator
from support import BELL_INPUT, TIMEOUT, assert_ionq_error, auth, job_body

from qiskit_ionq_cancel.emulator import BACKENDS, ManualClock

JOB_KEYS = {
    "id", "status", "type", "backend", "name", "metadata", "dry_run", "session_id",
    "parent_job_id", "submitted_at", "started_at", "completed_at", "predicted_wait_time_ms",
    "execution_duration_ms", "failure", "settings", "stats", "results", "child_job_ids",
}


def when(stamp: str) -> datetime:
    assert stamp.endswith("Z"), stamp
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


pytestmark = pytest.mark.emu(api_keys=(), submit_time=2)


@pytest.fixture
def client(emu: Emulator, api_for: Any) -> Any:
    return api_for(emu)


# -- lifecycle --------------------------------------------------------------------------------

def test_lifecycle_moves_through_every_state_with_timestamps(client: Any,
                                                             clock: ManualClock) -> None:
    job_id = client.submit()

    job = client.job(job_id)
    assert job["status"] == "submitted"
    assert job["started_at"] is None and job["completed_at"] is None
    assert job["predicted_wait_time_ms"] == 12_000
    assert job["execution_duration_ms"] is None and job["results"] is None
    submitted = when(job["submitted_at"])

    clock.advance(2)
    job = client.job(job_id)
    assert job["status"] == "ready"
    assert job["started_at"] is None and job["completed_at"] is None
    assert job["predicted_wait_time_ms"] == 10_000

    clock.advance(4)
    assert client.job(job_id)["predicted_wait_time_ms"] == 6_000

    clock.advance(6)
    job = client.job(job_id)
    assert job["status"] == "started"
    assert when(job["started_at"]) - submitted == timedelta(seconds=12)
    assert job["completed_at"] is None
    assert job["predicted_wait_time_ms"] is None
    assert job["results"] is None

    clock.advance(5)
    job = client.job(job_id)
    assert job["status"] == "completed"
    assert when(job["started_at"]) - submitted == timedelta(seconds=12)
    assert when(job["completed_at"]) - submitted == timedelta(seconds=17)
    assert job["execution_duration_ms"] == 5_000
    assert job["failure"] is None
    assert job["results"]["probabilities"]["url"] == (
        f"/v0.4/jobs/{job_id}/results/probabilities"
    )
    assert job["submitted_at"] == client.job(job_id)["submitted_at"]  # stable


def test_status_does_not_move_while_the_manual_clock_stands_still(client: Any) -> None:
    job_id = client.submit()
    statuses = {client.job(job_id)["status"] for _ in range(5)}
    assert statuses == {"submitted"}


def test_store_status_of_and_counts_follow_the_clock(emu: Emulator, clock: ManualClock) -> None:
    ids = emu.store.add_jobs(3)
    assert emu.store.counts() == {"submitted": 3}
    clock.advance(2)
    assert {emu.store.status_of(i) for i in ids} == {"ready"}
    clock.advance(15)
    assert emu.store.counts() == {"completed": 3}


def test_emulator_fail_metadata_makes_the_job_fail(client: Any, clock: ManualClock) -> None:
    body = job_body(metadata={"emulator_fail": "QuotaExhaustedError", "shots": "100"})
    job_id = client.submit(body)
    clock.advance(12)
    job = client.job(job_id)
    assert job["status"] == "started"
    assert job["failure"] is None

    clock.advance(5)
    job = client.job(job_id)
    assert job["status"] == "failed"
    assert job["failure"]["code"] == "QuotaExhaustedError"
    assert isinstance(job["failure"]["message"], str) and job["failure"]["message"]
    assert job["completed_at"] is not None
    assert job["results"] is None
    assert_ionq_error(client.get(f"/jobs/{job_id}/results/probabilities"), 404)


def test_store_fail_fails_a_job_now_with_a_failure_object(emu: Emulator, client: Any,
                                                          clock: ManualClock) -> None:
    job_id = client.submit()
    clock.advance(3)
    emu.store.fail(job_id, code="SystemCancel", message="maintenance")
    job = client.job(job_id)
    assert job["status"] == "failed"
    assert job["failure"] == {"code": "SystemCancel", "message": "maintenance"}
    assert job["started_at"] is None  # it never ran
    assert when(job["completed_at"]) - when(job["submitted_at"]) == timedelta(seconds=3)
    clock.advance(100)
    assert client.job(job_id)["status"] == "failed"  # final: the lifecycle no longer moves it


def test_add_jobs_will_fail(emu: Emulator, client: Any, clock: ManualClock) -> None:
    [job_id] = emu.store.add_jobs(1, will_fail=True)
    clock.advance(17)
    job = client.job(job_id)
    assert job["status"] == "failed"
    assert job["failure"]["code"]


# -- POST /jobs -------------------------------------------------------------------------------

def test_submit_answers_201_with_id_status_session(client: Any) -> None:
    session = client.post("/sessions", json={"backend": "simulator"}).json()["id"]
    response = client.post("/jobs", json=job_body(session_id=session))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "status", "session_id"}
    assert body["status"] == "submitted"
    assert body["session_id"] == session
    assert client.job(body["id"])["session_id"] == session


def test_submit_body_as_a_json_string_like_qiskit_ionq(client: Any) -> None:
    response = client.post("/jobs", data=json.dumps(job_body()),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def test_submitted_job_echoes_what_was_sent(client: Any) -> None:
    body = job_body(name="my-bell", shots=321, settings={"error_mitigation": {"debias": False}},
                    metadata={"shots": "321", "tag": "x"})
    job = client.job(client.submit(body))
    assert set(job) >= JOB_KEYS
    assert job["name"] == "my-bell"
    assert job["type"] == "ionq.circuit.v1"
    assert job["backend"] == "simulator"
    assert job["metadata"] == {"shots": "321", "tag": "x"}
    assert job["settings"] == {"error_mitigation": {"debias": False}}
    assert "shots" not in job  # IonQ: "shots are not included with ideal simulator backend"
    assert job["noise"] == {"model": "ideal"}  # the seed: None sent is not echoed
    assert job["dry_run"] is False
    assert job["session_id"] is None and job["parent_job_id"] is None
    assert job["stats"]["qubits"] == 2
    assert job["child_job_ids"] is None


def test_submit_defaults_shots(client: Any) -> None:
    body = {"type": "ionq.circuit.v1", "backend": "simulator", "input": BELL_INPUT,
            "noise": {"model": "aria-1"}}
    job = client.job(client.submit(body))
    assert job["shots"] == 100  # a noisy simulation says its shots


@pytest.mark.emu(lenient=["missing_backend", "missing_type"])
def test_a_lenient_emulator_defaults_backend_and_type(client: Any) -> None:
    job = client.job(client.submit({"input": BELL_INPUT, "noise": {"model": "aria-1"}}))
    assert job["backend"] == "simulator" and job["type"] == "ionq.circuit.v1"


def test_job_ids_are_canonical_uuids_and_unique(client: Any) -> None:
    ids = [client.submit() for _ in range(5)]
    assert len(set(ids)) == 5
    assert all(str(uuid.UUID(i)) == i for i in ids)


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"type": "ionq.qir.v1"}, "type"),
        ({"type": "ionq.qasm3.v1"}, "input.data"),
        ({"backend": "qpu.nowhere"}, "backend"),
        ({"backend": 7}, "backend"),
        ({"input": None}, "input"),
        ({"input": "h q[0];"}, "input"),
        ({"shots": 0}, "shots"),
        ({"shots": -5}, "shots"),
        ({"shots": "0"}, "shots"),
        ({"shots": "1e3"}, "shots"),
        ({"shots": 1_000_001}, "shots"),
        ({"shots": True}, "shots"),
        ({"shots": 1.5}, "shots"),
        ({"metadata": ["a"]}, "metadata"),
        ({"session_id": "not-a-uuid"}, "not-a-uuid"),
    ],
)
def test_submit_validation_answers_400_with_ionq_body(client: Any, emu: Emulator,
                                                      override: dict[str, Any],
                                                      words: str) -> None:
    body = assert_ionq_error(client.post("/jobs", json=job_body(**override)), 400)
    assert body["error"] == "Bad Request"
    assert words in body["message"]
    assert emu.store.counts() == {}  # nothing was stored


def test_submit_without_input_answers_400(client: Any) -> None:
    body = job_body()
    del body["input"]
    assert "input" in assert_ionq_error(client.post("/jobs", json=body), 400)["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"a string"', b""])
def test_submit_body_not_a_json_object_answers_400(client: Any, raw: bytes) -> None:
    assert_ionq_error(client.post("/jobs", data=raw,
                                  headers={"Content-Type": "application/json"}), 400)


def test_submit_unknown_gate_answers_400_naming_it(client: Any, emu: Emulator) -> None:
    body = job_body(input={"gateset": "qis", "qubits": 1,
                           "circuit": [{"gate": "frobnicate", "targets": [0]}]})
    message = assert_ionq_error(client.post("/jobs", json=body), 400)["message"]
    assert "frobnicate" in message
    assert emu.store.counts() == {}


def test_submit_more_qubits_than_the_backend_has_answers_400(client: Any) -> None:
    qubits = BACKENDS["qpu.forte-1"] + 1
    body = job_body(backend="qpu.forte-1",
                    input={"gateset": "qis", "qubits": qubits,
                           "circuit": [{"gate": "h", "targets": [0]}]})
    assert "qubits" in assert_ionq_error(client.post("/jobs", json=body), 400)["message"]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_submit_to_every_known_backend(client: Any, backend: str) -> None:
    job = client.job(client.submit(job_body(backend=backend)))
    assert job["backend"] == backend


# -- GET /jobs/{id} and DELETE ----------------------------------------------------------------

def test_get_unknown_job_answers_404(client: Any) -> None:
    unknown = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    assert unknown in assert_ionq_error(client.get(f"/jobs/{unknown}"), 404)["message"]


def test_delete_then_get_answers_404(client: Any, emu: Emulator) -> None:
    job_id = client.submit()
    keep = client.submit()
    response = client.delete(f"/jobs/{job_id}")
    assert response.status_code == 200
    assert response.json() == {"id": job_id, "status": "deleted"}
    assert_ionq_error(client.get(f"/jobs/{job_id}"), 404)
    assert_ionq_error(client.delete(f"/jobs/{job_id}"), 404)
    assert_ionq_error(client.put(f"/jobs/{job_id}/status/cancel"), 404)
    assert_ionq_error(client.get(f"/jobs/{job_id}/results/probabilities"), 404)
    assert list(emu.store.iter_ids()) == [keep]
    listed = client.get("/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == [keep]


# -- results ----------------------------------------------------------------------------------

def test_probabilities_of_a_completed_bell_job(client: Any, clock: ManualClock) -> None:
    job_id = client.submit()
    clock.advance(17)
    response = client.get(f"/jobs/{job_id}/results/probabilities")
    assert response.status_code == 200
    probabilities = response.json()
    # IonQ keys a state by its integer index: |00> is "0", |11> is "3".
    assert set(probabilities) == {"0", "3"}
    assert probabilities["0"] == pytest.approx(0.5)
    assert probabilities["3"] == pytest.approx(0.5)


def test_probabilities_of_a_single_x_gate(client: Any, clock: ManualClock) -> None:
    body = job_body(input={"gateset": "qis", "qubits": 2,
                           "circuit": [{"gate": "x", "targets": [1]}]})
    job_id = client.submit(body)
    clock.advance(17)
    probabilities = client.get(f"/jobs/{job_id}/results/probabilities").json()
    assert probabilities == {"2": pytest.approx(1.0)}


@pytest.mark.parametrize("advance", [0, 2, 12])
def test_probabilities_before_completion_answer_404(client: Any, clock: ManualClock,
                                                    advance: float) -> None:
    job_id = client.submit()
    clock.advance(advance)
    status = client.job(job_id)["status"]
    # IonQ's document: 404, "Job not found or not yet completed"
    message = assert_ionq_error(client.get(f"/jobs/{job_id}/results/probabilities"),
                                404)["message"]
    assert status in message


def test_probabilities_of_a_canceled_job_answer_404(client: Any, clock: ManualClock) -> None:
    job_id = client.submit()
    assert client.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    clock.advance(100)
    assert "canceled" in assert_ionq_error(
        client.get(f"/jobs/{job_id}/results/probabilities"), 404)["message"]


# -- concurrency ------------------------------------------------------------------------------

def test_concurrent_submissions_all_land(emu: Emulator) -> None:
    def submit(_: int) -> str:
        response = requests.post(f"{emu.url}/jobs", json=job_body(), headers=auth(),
                                 timeout=TIMEOUT)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(submit, range(40)))
    assert len(set(ids)) == 40
    assert set(emu.store.iter_ids()) == set(ids)
