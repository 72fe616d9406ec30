"""Fidelity: the emulator against IonQ's published v0.4 OpenAPI document, fact by fact.

Each test asserts one fact over HTTP and names where in IonQ's document (``openapi.json`` of
github.com/ionq/ionq-core-python) it comes from. Then IonQ's own example requests (its curl
samples) must be accepted, and its example answers must keep this project's contract.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from contract import Contract
from contract.ionq_examples import (
    ANSWERS,
    CNOT_CIRCUIT,
    CREATE_JOB,
    CREATE_JOB_SCHEMA_EXAMPLE,
    REQUESTS,
)
from contract.observed import Emulator
from support import Api, assert_ionq_error, job_body

from qiskit_ionq_cancel.emulator import ManualClock

DONE = 30.0  # manual-clock seconds after which a job submitted at 0 is completed

#: components.schemas.SingleCircuitJob.required
SINGLE_CIRCUIT_JOB_REQUIRED = {
    "id", "status", "type", "backend", "dry_run", "submitter_id", "project_id",
    "parent_job_id", "session_id", "metadata", "name", "submitted_at", "started_at",
    "completed_at", "predicted_wait_time_ms", "predicted_execution_duration_ms",
    "execution_duration_ms", "failure", "output", "settings", "stats", "results",
    "child_job_ids"}
#: components.schemas.BaseJob.properties (additionalProperties: false)
BASE_JOB_PROPERTIES = SINGLE_CIRCUIT_JOB_REQUIRED - {"child_job_ids"} | {
    "shots", "noise", "cost_model"}


pytestmark = pytest.mark.emu(api_keys=(), seed=11)


@pytest.fixture
def client(emu: Emulator, api_for: Any) -> Api:
    made: Api = api_for(emu)
    return made


# -- the job object -----------------------------------------------------------------------

def test_job_object_has_every_required_key_with_null_where_not_applicable(
        client: Api) -> None:
    # SingleCircuitJob.required; metadata, child_job_ids null as in the "Single Circuit" example
    job = client.job(client.submit(job_body(metadata=None)))
    assert SINGLE_CIRCUIT_JOB_REQUIRED <= job.keys() <= SINGLE_CIRCUIT_JOB_REQUIRED | {
        "shots", "noise", "cost_model"}
    assert job["metadata"] is None and job["child_job_ids"] is None
    assert job["started_at"] is None and job["completed_at"] is None
    assert job["results"] is None and job["failure"] is None
    # output, settings and stats are always objects (CircuitJobOutput, ...Settings, ...Stats)
    assert all(isinstance(job[k], dict) for k in ("output", "settings", "stats"))
    assert job["stats"]["gate_counts"] == {"1q": 1, "2q": 1}  # CircuitJobStats.gate_counts
    assert job["stats"]["predicted_quantum_compute_time_us"] == 5_000_000
    assert isinstance(job["submitter_id"], str) and job["project_id"]


def test_a_finished_qpu_job_says_its_billed_time_and_energy(client: Api,
                                                            clock: ManualClock) -> None:
    # CircuitJobStats: kwh, billed_quantum_compute_time_us
    job_id = client.submit(job_body(backend="qpu.forte-1", noise=None))
    clock.advance(DONE)
    stats = client.job(job_id)["stats"]
    # a QPU's compute time is the pricing model's: 100 shots x (1000 + 100 + 600) us
    assert stats["billed_quantum_compute_time_us"] == 170_000 and stats["kwh"] > 0


def test_noise_only_for_the_simulator_and_shots_not_for_the_ideal_one(client: Api) -> None:
    # BaseJob.noise: "Only present in the response when `backend` is simulator";
    # BaseJob.shots: "`shots` are not included with ideal simulator backend"
    ideal = client.job(client.submit(job_body(noise={"model": "ideal", "seed": None})))
    assert ideal["noise"] == {"model": "ideal"} and "shots" not in ideal
    noisy = client.job(client.submit(job_body(noise={"model": "forte-1", "seed": 7})))
    assert noisy["noise"] == {"model": "forte-1", "seed": 7} and noisy["shots"] == 100
    qpu = client.job(client.submit(job_body(backend="qpu.forte-1", noise=None)))
    assert "noise" not in qpu and qpu["shots"] == 100


def test_failure_codes_are_ionq_s(client: Api, emu: Emulator, clock: ManualClock) -> None:
    # Failure.code enum (it has no "EmulatorFailure")
    job_id = client.submit()
    emu.store.fail(job_id)
    assert client.job(job_id)["failure"] == {"code": "InternalError",
                                             "message": "Failed on request"}
    with pytest.raises(ValueError, match="failure codes"):
        emu.store.fail(job_id, code="EmulatorFailure")


def test_listing_entries_are_base_jobs(client: Api) -> None:
    # GetJobsResponse.jobs.items: BaseJob, additionalProperties false, no child_job_ids
    client.submit()
    [entry] = client.get("/jobs").json()["jobs"]
    assert "child_job_ids" not in entry
    assert set(BASE_JOB_PROPERTIES) >= entry.keys() >= SINGLE_CIRCUIT_JOB_REQUIRED - {
        "child_job_ids"}


# -- listing filters (GetJobsQueryParams) -------------------------------------------------

def test_target_takes_a_comma_separated_list(client: Api, emu: Emulator) -> None:
    # GET /jobs target: "Supports single target or comma-separated list of targets."
    sim = client.submit()
    forte = client.submit(job_body(backend="qpu.forte-1"))
    client.submit(job_body(backend="qpu.forte-enterprise-1"))
    listed = client.get("/jobs", params={"target": "simulator,qpu.forte-1"}).json()["jobs"]
    assert [j["id"] for j in listed] == [forte, sim]


def test_submitter_id_and_parent_job_id_filter(client: Api) -> None:
    # GET /jobs submitter_id, parent_job_id
    job_id = client.submit()
    me = client.job(job_id)["submitter_id"]
    assert [j["id"] for j in client.get("/jobs", params={"submitter_id": me}).json()[
        "jobs"]] == [job_id]
    assert client.get("/jobs", params={"submitter_id": "someone-else"}).json()["jobs"] == []
    assert client.get("/jobs", params={"parent_job_id": job_id}).json()["jobs"] == []


def test_ids_is_a_repeated_parameter_and_others_are_refused(client: Api) -> None:
    # GET /jobs ids: an array in the query (form style: ids=a&ids=b); GetJobsQueryParams
    # has additionalProperties: false
    a, b, _ = (client.submit() for _ in range(3))
    listed = client.get("/jobs", params=[("ids", a), ("ids", b)]).json()["jobs"]
    assert {j["id"] for j in listed} == {a, b}
    body = assert_ionq_error(client.get("/jobs", params={"owner": "me"}), 400)
    assert body["validation"] == {"keys": ["owner"], "source": "params"}


# -- errors (components.responses) --------------------------------------------------------

def test_error_bodies_are_named_as_ionq_names_them(client: Api, emu: Emulator,
                                                   api_for: Any) -> None:
    # responses.NotFound/Unauthorized examples: "Not Found Error", "Unauthorized Error";
    # BadRequest: "Bad Request" with validation {keys, source}
    missing = "617a1f8b-59d4-435d-aa33-695433d7155e"
    assert assert_ionq_error(client.get(f"/jobs/{missing}"), 404)["error"] == "Not Found Error"
    assert assert_ionq_error(api_for(emu, key=None).get("/jobs"), 401)["error"] == \
        "Unauthorized Error"
    bad = assert_ionq_error(client.post("/jobs", json=job_body(shots=0)), 400)
    assert bad["error"] == "Bad Request"
    assert bad["validation"] == {"keys": ["shots"], "source": "payload"}


def test_a_403_is_per_resource(client: Api, emu: Emulator) -> None:
    # 403: "failed authorization for the requested resource": one job, not the key
    forbidden, other = client.submit(), client.submit()
    emu.store.forbid(forbidden)
    assert assert_ionq_error(client.get(f"/jobs/{forbidden}"), 403)["error"] == \
        "Forbidden Error"
    assert_ionq_error(client.put(f"/jobs/{forbidden}/status/cancel"), 403)
    assert client.job(other)["status"] == "ready"
    assert [j["id"] for j in client.get("/jobs").json()["jobs"]] == [other]


# -- cancel, delete (CancelJob, CancelJobs, DeleteJob, DeleteJobs) ------------------------

def test_cancelling_a_finished_job_never_answers_200_with_another_status(
        client: Api, clock: ManualClock) -> None:
    # JobCanceledResponse.status enum: ["canceled"] only. The default refuses (409).
    job_id = client.submit()
    clock.advance(DONE)
    assert_ionq_error(client.put(f"/jobs/{job_id}/status/cancel"), 409)
    assert client.job(job_id)["status"] == "completed"


def test_delete_one_and_many_answer_deleted(client: Api) -> None:
    # JobDeletedResponse, JobsDeletedResponse: status enum ["deleted"]
    ids = [client.submit() for _ in range(3)]
    assert client.delete(f"/jobs/{ids[0]}").json() == {"id": ids[0], "status": "deleted"}
    assert client.delete("/jobs", json={"ids": ids[1:]}).json() == {"ids": ids[1:],
                                                                    "status": "deleted"}
    for job_id in ids:
        assert_ionq_error(client.get(f"/jobs/{job_id}"), 404)


# -- results ------------------------------------------------------------------------------

def test_results_of_an_unfinished_job_are_a_404(client: Api) -> None:
    # GetJobProbabilities 404: "Job not found or not yet completed."
    job_id = client.submit()
    assert_ionq_error(client.get(f"/jobs/{job_id}/results/probabilities"), 404)


def test_results_are_format_keyed_next_to_the_legacy_url(client: Api,
                                                         clock: ManualClock) -> None:
    # CircuitJobResults: keyed by format, ArtifactDescriptor {id, format, media_type}, the
    # payload at GET /jobs/{UUID}/artifacts/{artifactId}; the legacy {url} entry stays for
    # qiskit-ionq 1.x
    job_id = client.submit()
    clock.advance(DONE)
    results = client.job(job_id)["results"]
    descriptor = results["ionq.result.probabilities.json.v1"]
    assert descriptor == {"id": "probabilities", "format": "ionq.result.probabilities.json.v1",
                          "media_type": "application/json"}
    artifact = client.get(f"/jobs/{job_id}/artifacts/{descriptor['id']}").json()
    legacy = client.get(results["probabilities"]["url"].removeprefix("/v0.4")).json()
    assert artifact == legacy == {"0": 0.5, "3": 0.5}
    assert_ionq_error(client.get(f"/jobs/{job_id}/artifacts/nothing-such"), 404)


# -- gates (QisGate, Gate_QisGate) --------------------------------------------------------

@pytest.mark.parametrize(("circuit", "outcomes"), [
    # IonQ's own example circuit: H on 0, then cnot with control 1 (still |0>): no effect
    (CNOT_CIRCUIT, {"0", "1"}),
    ([{"gate": "h", "target": 1}, {"gate": "cnot", "target": 0, "control": 1}], {"0", "3"}),
    ([{"gate": "h", "target": 1}, {"gate": "not", "target": 0, "control": 1}], {"0", "3"}),
    ([{"gate": "h", "targets": [1]}, {"gate": "x", "targets": [0], "controls": [1]}],
     {"0", "3"}),
    ([{"gate": "pauliexp", "targets": [0, 1], "terms": ["XX"], "coefficients": [0.5],
       "time": 1.5707963267948966}], {"0", "3"}),  # exp(-i pi/4 XX): a Bell pair too
], ids=["ionq-example", "cnot-singular", "not-singular", "lists", "pauliexp"])
def test_ionq_s_gate_forms_are_accepted(client: Api, clock: ManualClock,
                                        circuit: list[dict[str, Any]],
                                        outcomes: set[str]) -> None:
    job_id = client.submit(job_body(input={"gateset": "qis", "qubits": 2, "circuit": circuit}))
    clock.advance(DONE)
    probabilities = client.get(f"/jobs/{job_id}/results/probabilities").json()
    assert set(probabilities) == outcomes


def test_shots_as_a_decimal_string_are_taken(client: Api) -> None:
    # CircuitJobCreationPayload.shots is an integer; cirq-ionq sends "100" and IonQ takes it
    job_id = client.submit(job_body(shots="250", noise={"model": "aria-1"}))
    assert client.job(job_id)["shots"] == 250


# -- backends (Backend) -------------------------------------------------------------------

def test_backends_are_the_document_s(client: Api) -> None:
    # JobBackends: simulator, qpu.forte-1, qpu.forte-enterprise-1; Backend.last_updated a
    # date-time string; QPUs list supported_native_gates
    backends = {b["backend"]: b for b in client.get("/backends").json()}
    runnable = [n for n, b in backends.items() if b["status"] == "available"]
    assert runnable == ["simulator", "qpu.forte-1", "qpu.forte-enterprise-1"]
    assert {b["status"] for n, b in backends.items() if n not in runnable} == {"retired"}
    for backend in backends.values():
        assert isinstance(backend["last_updated"], str) and "T" in backend["last_updated"]
    assert backends["qpu.forte-1"]["supported_native_gates"]
    assert "cnot" in backends["simulator"]["supported_gates"]
    body = assert_ionq_error(client.post("/jobs", json=job_body(backend="qpu.aria-1")), 400)
    assert "qpu.aria-1" in body["message"]


def test_estimate_is_not_a_job_id(client: Api) -> None:
    # GET /jobs/estimate is its own operation (EstimateJobCost), not GET /jobs/{UUID}
    answer = client.get("/jobs/estimate", params={"backend": "qpu.forte-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["estimate_context"]["backend"] == "qpu.forte-1"


# -- IonQ's own examples ------------------------------------------------------------------

def test_ionq_s_example_job_requests_are_accepted(client: Api, clock: ManualClock) -> None:
    for body in (CREATE_JOB, CREATE_JOB_SCHEMA_EXAMPLE):
        job_id = client.submit(json.loads(json.dumps(body)))
        job = client.job(job_id)
        assert (job["backend"], job["shots"], job["settings"]) == (
            "qpu.forte-1", 500, {"error_mitigation": {"debiasing": False}})
    assert client.job(client.submit(CREATE_JOB))["metadata"] == {"fizz": "buzz", "foo": "bar"}


@pytest.mark.parametrize(("method", "target", "body"), REQUESTS,
                         ids=[f"{m} {t.split('?')[0]}" for m, t, _ in REQUESTS])
def test_ionq_s_example_requests_are_accepted(client: Api, clock: ManualClock, method: str,
                                              target: str, body: Any) -> None:
    ids = [client.submit() for _ in range(3)]
    clock.advance(DONE if "results" in target else 0)
    names = {"{job}": ids[0], "{job2}": ids[1], "{job3}": ids[2]}
    for name, value in names.items():
        target = target.replace(name, value)
    if body is not None:
        body = json.loads(json.dumps(body).replace('"{job}"', f'"{ids[0]}"')
                          .replace('"{job2}"', f'"{ids[1]}"').replace('"{job3}"', f'"{ids[2]}"'))
    answer = client.request(method, target, json=body)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("method", "path", "status", "body"), ANSWERS,
                         ids=[f"{s} {m} {p}" for m, p, s, _ in ANSWERS])
def test_ionq_s_example_answers_keep_our_contract(method: str, path: str, status: int,
                                                  body: Any) -> None:
    headers = {"Content-Type": "application/json"}
    problems = Contract.load().check_response(method, path, status, headers,
                                              json.dumps(body).encode())
    assert problems == []
