"""The API contract (``qiskit_ionq_cancel/contract``): the document itself, the validator on
right and wrong messages, and the suite-wide wiring (conftest's ``api_contract`` fixture) that
checks every emulator answer and every request of this package's client."""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import requests
from contract import Contract, ContractMonitor, load_spec
from contract.observed import Emulator
from qiskit.providers import JobStatus
from support import bell

from qiskit_ionq_cancel import IonQProvider, RetryPolicy
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.emulator import Exchange, Fault, ManualClock
from qiskit_ionq_cancel.emulator.server import build_routes
from qiskit_ionq_cancel.exceptions import IonQRequestError

KEY = "contract-key-5e1d"
JOB = "617a1f8b-59d4-435d-aa33-695433d7155e"
URL = "https://api.ionq.co/v0.4"
AUTH = {"Authorization": f"apiKey {KEY}"}
JSON = {"Content-Type": "application/json; charset=utf-8"}
AUTH_JSON = {**AUTH, "Content-Type": "application/json"}
SCHEMAS = "/components/schemas"
DROP = object()


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract.load()


def job_object(**changes: Any) -> dict[str, Any]:
    """A job object as the emulator gives it, with ``changes`` (``DROP``: leave it out)."""
    job: dict[str, Any] = {
        "id": JOB, "status": "ready", "type": "ionq.circuit.v1", "backend": "simulator",
        "name": "bell", "metadata": None, "dry_run": False, "submitter_id": "u1",
        "project_id": None, "session_id": None, "parent_job_id": None,
        "submitted_at": "2026-04-30T10:00:00.000Z", "started_at": None, "completed_at": None,
        "predicted_wait_time_ms": 900, "predicted_execution_duration_ms": 500,
        "execution_duration_ms": None, "failure": None, "output": {}, "settings": {},
        "stats": {"qubits": 2, "circuits": 1, "gate_counts": {"1q": 1, "2q": 1}},
        "noise": {"model": "ideal"}, "results": None, "child_job_ids": None,
    }
    job.update(changes)
    return {k: v for k, v in job.items() if v is not DROP}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- the document -----------------------------------------------------------------------------

def test_every_component_schema_is_a_valid_json_schema(contract: Contract) -> None:
    schemas = contract.document["components"]["schemas"]
    assert len(schemas) >= 15
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)  # raises when it is not
        assert isinstance(name, str)
    with pytest.raises(jsonschema.SchemaError):  # the meta-schema check can fail
        jsonschema.Draft202012Validator.check_schema({"type": "strnig"})


def test_the_contract_and_the_emulator_have_the_same_operations(contract: Contract) -> None:
    routes = build_routes(Emulator().store)
    samples = {"UUID": JOB, "name": "simulator", "artifactId": "probabilities",
               "session_id": JOB, "format": "ionq.native.v1",
               "organization_id": JOB}
    for op in contract.operations:
        path = "/v0.4" + re.sub(r"\{([^}]+)\}", lambda m: samples[m[1]], op.template)
        matching = [m for m, pattern, _, _ in routes if pattern.fullmatch(path)]
        assert op.method in matching, (op.operation_id, path, matching)
    assert len(routes) == len(contract.operations)
    assert {op.operation_id for op in contract.operations} == {
        "ListJobs", "CreateJob", "CancelJobs", "GetJob", "DeleteJob", "CancelJob",
        "GetJobProbabilities", "ListBackends", "GetBackend", "DeleteJobs", "EstimateJobCost",
        "GetJobCost", "GetJobArtifact", "GetWhoami", "GetCharacterizationsForBackend",
        "GetCharacterization", "GetJobShots", "GetJobHistogram", "CreateSession",
        "GetSessions", "GetSession", "EndSession", "GetSessionJobs", "CloneJob",
        "GetFormatSchema", "get-usages"}


def test_methods_are_case_sensitive(contract: Contract) -> None:
    assert contract.find("GET", "/v0.4/jobs")[0] is not None
    assert contract.find("get", "/v0.4/jobs") == (None, {})
    assert contract.check_request("get", f"{URL}/jobs", AUTH, None) == [
        "request get /v0.4/jobs: not an operation of the API"]
    # the emulator's 405 to "get" is an error body on no operation: fine
    error = dumps({"statusCode": 405, "error": "Method Not Allowed", "message": "m"})
    assert contract.check_response("get", "/v0.4/jobs", 405, JSON, error) == []


def test_only_the_backends_are_public(contract: Contract) -> None:
    assert {op.operation_id for op in contract.operations if op.public} == {
        "ListBackends", "GetBackend", "GetCharacterizationsForBackend"}


def test_the_documented_cancel_answer_is_ionq_s(contract: Contract) -> None:
    at = f"{SCHEMAS}/JobCanceledResponse"
    assert contract.schema_errors(at, {"id": JOB, "status": "canceled"}, "x") == []
    wrong: object  # JSON of any shape
    for wrong in ({"id": JOB, "status": "canceled", "extra": 1}, {"id": JOB, "status": "ready"},
                  {"status": "canceled"}, {"id": JOB.upper(), "status": "canceled"}, []):
        assert contract.schema_errors(at, wrong, "x"), wrong


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_a_cancel_never_answers_200_with_another_status(contract: Contract,
                                                        status: str) -> None:
    # IonQ's JobCanceledResponse allows only "canceled": the emulator's old default answer
    # for a finished job ({"status": "completed"}) is outside the document.
    answer = dumps({"id": JOB, "status": status})
    assert contract.check_response("PUT", f"/v0.4/jobs/{JOB}/status/cancel", 200, JSON, answer)
    conflict = dumps({"statusCode": 409, "error": "Conflict", "message": "m"})
    assert contract.check_response("PUT", f"/v0.4/jobs/{JOB}/status/cancel", 409, JSON,
                                   conflict) == []


def test_the_document_loads_as_given(contract: Contract) -> None:
    assert load_spec() == contract.document
    assert load_spec() is not load_spec()  # a fresh dict each time (schemathesis keeps one)
    assert contract.base_path == "/v0.4"


# -- the validator: answers -------------------------------------------------------------------

GOOD_ANSWERS = [
    ("PUT", f"/v0.4/jobs/{JOB}/status/cancel", 200, {"id": JOB, "status": "canceled"}),
    ("PUT", "/v0.4/jobs/status/cancel", 200, {"ids": [JOB], "status": "canceled"}),
    ("GET", f"/v0.4/jobs/{JOB}", 200, job_object()),
    ("GET", f"/v0.4/jobs/{JOB}", 200, job_object(status="failed", started_at=None,
                                                 failure={"code": "InternalError",
                                                          "message": "m"})),
    ("GET", "/v0.4/jobs?limit=2", 200, {"jobs": [job_object(child_job_ids=DROP)],
                                        "next": "cDA"}),
    ("GET", "/v0.4/jobs", 200, {"jobs": [], "next": None}),
    ("POST", "/v0.4/jobs", 201, {"id": JOB, "status": "submitted", "session_id": None}),
    ("DELETE", f"/v0.4/jobs/{JOB}", 200, {"id": JOB, "status": "deleted"}),
    ("GET", f"/v0.4/jobs/{JOB}/results/probabilities", 200, {"0": 0.5, "3": 0.5}),
    ("GET", "/v0.4/backends", 200, [{"backend": "simulator", "status": "available",
                                     "qubits": 29, "average_queue_time": 0,
                                     "last_updated": "2025-06-16T00:00:00Z"}]),
    ("GET", "/v0.4/backends/qpu.forte-1", 200, {
        "backend": "qpu.forte-1", "status": "available", "qubits": 36,
        "average_queue_time": 1181215, "last_updated": "2025-06-16T00:00:00Z",
        "supported_native_gates": ["gpi", "gpi2", "ms"]}),
    ("GET", f"/v0.4/jobs/{JOB}", 404, {"statusCode": 404, "error": "Not Found Error",
                                      "message": "Job not found"}),
    ("GET", f"/v0.4/jobs/{JOB}", 403, {"statusCode": 403, "error": "Forbidden Error",
                                      "message": "m"}),
    ("POST", "/v0.4/jobs", 400, {"statusCode": 400, "error": "Bad Request", "message": "m",
                                 "validation": {"keys": ["shots"], "source": "payload"}}),
    ("GET", "/v0.4/nowhere", 404, {"statusCode": 404, "error": "Not Found", "message": "m"}),
    ("DELETE", "/v0.4/jobs", 200, {"ids": [JOB], "status": "deleted"}),
    ("PATCH", "/v0.4/jobs", 405, {"statusCode": 405, "error": "Method Not Allowed",
                                  "message": "m"}),
]


@pytest.mark.parametrize(("method", "target", "status", "body"), GOOD_ANSWERS)
def test_right_answers_pass(contract: Contract, method: str, target: str, status: int,
                            body: Any) -> None:
    assert contract.check_response(method, target, status, JSON, dumps(body)) == []


BAD_ANSWERS = [
    # (method, target, status, headers, payload, words of the problem)
    ("PUT", f"/v0.4/jobs/{JOB}/status/cancel", 200, JSON,
     dumps({"id": JOB, "status": "canceled", "job": {}}), "Additional properties"),
    ("PUT", f"/v0.4/jobs/{JOB}/status/cancel", 200, JSON,
     dumps({"id": JOB, "status": "started"}), "is not one of ['canceled']"),
    ("GET", f"/v0.4/jobs/{JOB}", 200, JSON, dumps(job_object(submitter_id=DROP)),
     "'submitter_id' is a required property"),
    ("GET", f"/v0.4/jobs/{JOB}", 200, JSON, dumps(job_object(noise=None)), "noise"),
    ("GET", "/v0.4/jobs", 200, JSON, dumps({"jobs": [job_object()], "next": None}),
     "'child_job_ids' was unexpected"),
    ("GET", f"/v0.4/jobs/{JOB}", 200, JSON,
     dumps(job_object(failure={"code": "EmulatorFailure", "message": "m"})), "failure"),
    ("GET", "/v0.4/backends/simulator", 200, JSON,
     dumps({"backend": "simulator", "status": "available", "qubits": 29,
            "average_queue_time": 0, "last_updated": 1700000000}), "last_updated"),
    ("PUT", "/v0.4/jobs/status/cancel", 200, JSON, dumps({"ids": [JOB]}),
     "'status' is a required property"),
    ("GET", f"/v0.4/jobs/{JOB}", 200, JSON, dumps(job_object(status=DROP)),
     "'status' is a required property"),
    ("GET", f"/v0.4/jobs/{JOB}", 200, JSON, dumps(job_object(status="running")),
     "'running' is not one of"),
    ("GET", f"/v0.4/jobs/{JOB}", 200, JSON, dumps(job_object(submitted_at="yesterday")),
     "submitted_at"),
    ("GET", "/v0.4/jobs", 200, JSON, dumps({"jobs": []}), "'next' is a required property"),
    ("GET", "/v0.4/jobs", 200, JSON, dumps({"jobs": [], "next": None, "total": 0}),
     "Additional properties"),
    ("POST", "/v0.4/jobs", 201, JSON, dumps({"id": "42", "status": "submitted",
                                            "session_id": None}), "does not match"),
    ("POST", "/v0.4/jobs", 200, JSON, dumps({"id": JOB, "status": "submitted",
                                            "session_id": None}), "not documented"),
    ("GET", f"/v0.4/jobs/{JOB}/results/probabilities", 200, JSON, dumps({"00": 1.5}),
     "probabilit"),
    ("GET", f"/v0.4/jobs/{JOB}", 404, JSON, dumps({"statusCode": 400, "error": "Bad Request",
                                                  "message": "m"}), "statusCode 400 is not 404"),
    ("GET", f"/v0.4/jobs/{JOB}", 404, JSON, dumps({"error": "Not Found", "message": "m"}),
     "'statusCode' is a required property"),
    ("GET", f"/v0.4/jobs/{JOB}", 404, JSON, dumps({"statusCode": 404, "error": "",
                                                  "message": "m"}), "should be non-empty"),
    ("GET", f"/v0.4/jobs/{JOB}", 503, {"Content-Type": "text/html"},
     b"<html>503</html>", "not JSON"),
    ("GET", f"/v0.4/jobs/{JOB}", 200, {"Content-Type": "text/html"},
     dumps(job_object()), "Content-Type 'text/html'"),
    ("GET", "/v0.4/jobs", 418, JSON, dumps({"statusCode": 418, "error": "I'm a teapot",
                                           "message": "m"}), "418 is not documented for ListJobs"),
    ("GET", "/v0.4/jobs", 429, {**JSON, "Retry-After": "soon"},
     dumps({"statusCode": 429, "error": "Too Many Requests", "message": "m"}), "Retry-After"),
    ("GET", "/v0.4/nowhere", 200, JSON, dumps({}), "not an API operation"),
]


@pytest.mark.parametrize(("method", "target", "status", "headers", "payload", "words"),
                         BAD_ANSWERS)
def test_wrong_answers_are_caught(contract: Contract, method: str, target: str, status: int,
                                  headers: dict[str, str], payload: bytes, words: str) -> None:
    problems = contract.check_response(method, target, status, headers, payload)
    assert problems and any(words in p for p in problems), problems


def test_an_injected_status_may_be_undocumented_but_not_its_body(contract: Contract) -> None:
    error = dumps({"statusCode": 418, "error": "I'm a teapot", "message": "m"})
    assert contract.check_response("GET", "/v0.4/jobs", 418, JSON, error, injected=True) == []
    assert contract.check_response("GET", "/v0.4/jobs", 503, {"Content-Type": "text/html"},
                                   b"<html/>", injected=True)


@pytest.mark.parametrize("retry_after", ["3", "120", "Thu, 30 Apr 2026 10:00:00 GMT"])
def test_retry_after_in_seconds_or_as_a_date(contract: Contract, retry_after: str) -> None:
    body = dumps({"statusCode": 429, "error": "Too Many Requests", "message": "m"})
    assert contract.check_response("PUT", f"/v0.4/jobs/{JOB}/status/cancel", 429,
                                   {**JSON, "Retry-After": retry_after}, body) == []


# -- the validator: requests ------------------------------------------------------------------

GOOD_REQUESTS = [
    ("GET", f"{URL}/jobs", AUTH, None),
    ("GET", f"{URL}/jobs?ids={JOB}&ids={JOB}&status=ready&target=simulator&limit=1000"
            f"&session_id={JOB}&next=cDI", AUTH, None),
    ("GET", f"{URL}/jobs/{JOB}", AUTH_JSON, None),
    ("PUT", f"{URL}/jobs/{JOB}/status/cancel", AUTH_JSON, None),
    ("PUT", f"{URL}/jobs/status/cancel", AUTH_JSON, dumps({"ids": [JOB]})),
    ("POST", f"{URL}/jobs", AUTH_JSON, dumps({
        "type": "ionq.circuit.v1", "backend": "simulator", "shots": 10,
        "input": {"gateset": "qis", "qubits": 1, "circuit": [{"gate": "h", "targets": [0]}]},
        "metadata": {"shots": "10"}})),
    ("DELETE", f"{URL}/jobs/{JOB}", AUTH, None),
    ("GET", f"{URL}/jobs/{JOB}/results/probabilities?sharpen=false", AUTH, None),
    ("GET", f"{URL}/backends/simulator", {}, None),  # public: no key needed
    ("GET", "http://127.0.0.1:8000/v0.4/backends", {}, None),
]


@pytest.mark.parametrize(("method", "url", "headers", "body"), GOOD_REQUESTS)
def test_right_requests_pass(contract: Contract, method: str, url: str,
                             headers: dict[str, str], body: bytes | None) -> None:
    assert contract.check_request(method, url, headers, body) == []


BAD_REQUESTS = [
    # (method, url, headers, body, words of the problem)
    ("PUT", f"{URL}/jobs/{JOB}/status/cancel", {}, None, "no Authorization header"),
    ("GET", f"{URL}/jobs", {"Authorization": f"Bearer {KEY}"}, None, "not 'apiKey <KEY>'"),
    ("GET", f"{URL}/jobs", {"Authorization": "apiKey "}, None, "not 'apiKey <KEY>'"),
    ("GET", f"{URL}/jobs/{JOB.upper()}", AUTH, None, "path parameter 'UUID'"),
    ("GET", f"{URL}/jobs/not-a-job", AUTH, None, "path parameter 'UUID'"),
    ("GET", f"{URL}/backends/qpu.forte-1/characterizations?limit=11", AUTH, None,
     "query parameter 'limit'"),
    ("GET", f"{URL}/jobs?limit=ten", AUTH, None, "query parameter 'limit'"),
    ("GET", f"{URL}/jobs?limit=1&limit=2", AUTH, None, "given 2 times"),
    ("GET", f"{URL}/jobs?status=running", AUTH, None, "query parameter 'status'"),
    ("GET", f"{URL}/jobs?ids={JOB},{JOB}", AUTH, None, "query parameter 'ids'"),
    ("GET", f"{URL}/jobs?target=", AUTH, None, "query parameter 'target'"),
    ("GET", f"{URL}/jobs?page=2", AUTH, None, "'page' is not the API's"),
    ("GET", f"{URL}/jobs", AUTH_JSON, b"{}", "takes none"),
    ("PUT", f"{URL}/jobs/status/cancel", AUTH, dumps({"ids": [JOB]}), "Content-Type None"),
    ("PUT", f"{URL}/jobs/status/cancel", {**AUTH, "Content-Type": "text/plain"},
     dumps({"ids": [JOB]}), "Content-Type 'text/plain'"),
    ("PUT", f"{URL}/jobs/status/cancel", AUTH_JSON, dumps({"ids": []}), "non-empty"),
    ("PUT", f"{URL}/jobs/status/cancel", AUTH_JSON, dumps({"ids": [JOB[:-1]]}),
     "does not match"),
    ("PUT", f"{URL}/jobs/status/cancel", AUTH_JSON, dumps({"ids": [JOB], "all": True}),
     "Additional properties"),
    ("PUT", f"{URL}/jobs/status/cancel", AUTH_JSON, b"ids=1", "not JSON"),
    ("PUT", f"{URL}/jobs/status/cancel", AUTH_JSON, None, "the body is missing"),
    ("POST", f"{URL}/jobs", AUTH_JSON, dumps({"type": "ionq.circuit.v1",
                                              "backend": "simulator"}),
     "'input' is a required property"),
    ("POST", f"{URL}/jobs", AUTH_JSON, dumps({"type": "ionq.circuit.v1", "backend": "simulator",
                                              "shots": 0, "input": {"gateset": "qis",
                                                                    "qubits": 1}}), "shots"),
    ("PATCH", f"{URL}/jobs", AUTH, None, "not an operation of the API"),
    ("GET", f"{URL}/jobs/{JOB}/results", AUTH, None, "not an operation of the API"),
    ("GET", "https://api.ionq.co/v0.3/jobs", AUTH, None, "not an operation of the API"),
]


@pytest.mark.parametrize(("method", "url", "headers", "body", "words"), BAD_REQUESTS)
def test_wrong_requests_are_caught(contract: Contract, method: str, url: str,
                                   headers: dict[str, str], body: bytes | None,
                                   words: str) -> None:
    problems = contract.check_request(method, url, headers, body)
    assert problems and any(words in p for p in problems), problems
    assert not any(KEY in p for p in problems)  # a problem never quotes the key


# -- the monitor ------------------------------------------------------------------------------

def test_the_monitor_collects_and_fails(contract: Contract) -> None:
    monitor = ContractMonitor(contract)
    monitor.assert_clean()  # nothing seen yet
    monitor.observe_answer(Exchange("GET", f"/v0.4/jobs/{JOB}", 200, JSON,
                           dumps(job_object(status=DROP)), None))
    monitor.observe_answer(Exchange("GET", f"/v0.4/jobs/{JOB}", 200, JSON,
                                    dumps(job_object()), None))
    assert monitor.answers_checked == 2
    assert len(monitor.problems) == 1
    with pytest.raises(AssertionError, match=r"(?s)1 API contract violation\(s\):.*'status' is a "
                                             r"required property"):
        monitor.assert_clean()
    monitor.clear()
    monitor.assert_clean()


def test_the_monitor_never_breaks_the_server(contract: Contract,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monitor = ContractMonitor(contract)

    def crash(*args: Any, **kwargs: Any) -> list[str]:
        raise RuntimeError("boom")

    monkeypatch.setattr(contract, "check_response", crash)
    monitor.observe_answer(Exchange("GET", "/v0.4/jobs", 200, JSON, b"{}", None))  # does not raise
    assert monitor.problems == ["answer to GET /v0.4/jobs: the contract check crashed: "
                                "RuntimeError: boom"]


def test_garbage_is_not_checked_but_other_faults_are(contract: Contract) -> None:
    monitor = ContractMonitor(contract)
    html = {"Content-Type": "text/html"}
    monitor.observe_answer(Exchange("GET", "/v0.4/jobs", 200, html, b"<html>", Fault.garbage()))
    monitor.observe_answer(Exchange("GET", "/v0.4/jobs", 503, html, b"<html>", Fault.http(503)))
    assert monitor.answers_checked == 2
    problems = monitor.problems
    assert problems and all(p.startswith("answer 503 to GET /v0.4/jobs: ") for p in problems)
    assert any("not JSON" in p for p in problems)


def test_the_monitor_checks_only_this_package_s_requests(contract: Contract) -> None:
    monitor = ContractMonitor(contract)
    ours = requests.Request("GET", f"{URL}/jobs", headers={
        "User-Agent": "qiskit-ionq/1.0 (qiskit/2.0) qiskit-ionq-cancel/0.1.0"}).prepare()
    theirs = requests.Request("GET", f"{URL}/jobs",
                              headers={"User-Agent": "python-requests/2.32"}).prepare()
    monitor.observe_request(theirs)
    assert monitor.requests_checked == 0 and monitor.problems == []
    monitor.observe_request(ours)
    assert monitor.requests_checked == 1
    assert monitor.problems == ["request GET /v0.4/jobs: no Authorization header"]


# -- the suite-wide wiring (conftest's api_contract) -------------------------------------------

def test_the_observer_is_off_by_default_and_on_in_the_suite(
        api_contract: ContractMonitor) -> None:
    from qiskit_ionq_cancel.emulator import Emulator as PlainEmulator

    with PlainEmulator() as plain:
        assert plain.observer is None  # the package's emulator observes nothing by default
    with Emulator() as observed:
        requests.get(f"{observed.url}/backends", timeout=10)
    assert api_contract.answers_checked == 1


pytestmark = pytest.mark.emu(api_keys=[KEY], seed=5)


@pytest.fixture
def client(emu: Emulator) -> Iterator[IonQCancelClient]:
    client = IonQCancelClient(KEY, emu.url, retry_policy=RetryPolicy(sleep=lambda s: None))
    yield client
    client.close()


def test_every_emulator_answer_is_checked(emu: Emulator, api_contract: ContractMonitor,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    [job_id] = emu.store.add_jobs(1)
    real_get = emu.store.get
    monkeypatch.setattr(emu.store, "get", lambda i: {**real_get(i), "status": "paused"})
    before = api_contract.answers_checked
    response = requests.get(f"{emu.url}/jobs/{job_id}", headers=AUTH, timeout=10)
    assert response.status_code == 200
    assert api_contract.answers_checked == before + 1
    problems = api_contract.problems
    assert len(problems) == 1 and "'paused' is not one of" in problems[0], problems
    api_contract.clear()  # else this test would fail at teardown, as it should


def test_every_request_of_the_client_is_checked(emu: Emulator, client: IonQCancelClient,
                                                api_contract: ContractMonitor) -> None:
    client.list_jobs(limit=5)
    assert api_contract.requests_checked == 1 and api_contract.problems == []
    del client.session.headers["Authorization"]  # a client bug: the key is not sent
    with pytest.raises(Exception, match="refused the API key"):
        client.list_jobs(limit=5)
    assert api_contract.requests_checked == 2
    assert api_contract.problems == ["request GET /v0.4/jobs: no Authorization header"]
    api_contract.clear()


def test_requests_of_other_clients_are_not_the_client_s(emu: Emulator,
                                                        api_contract: ContractMonitor) -> None:
    # malformed on purpose, as the emulator's own tests send them: only the answer counts
    response = requests.put(f"{emu.url}/jobs/status/cancel", data=b"ids", timeout=10)
    assert response.status_code == 401
    assert api_contract.requests_checked == 0
    assert api_contract.answers_checked >= 1 and api_contract.problems == []


def test_injected_faults_are_checked(emu: Emulator, client: IonQCancelClient,
                                     api_contract: ContractMonitor) -> None:
    [job_id] = emu.store.add_jobs(1)
    emu.faults.inject(Fault.http(503), times=1)
    emu.faults.inject(Fault.http(429, "1"), times=1)
    emu.faults.inject(Fault.garbage(), times=1)
    assert client.retrieve_job(job_id)["status"] == "ready"
    assert [e.status for e in emu.log.entries] == [503, 429, 200, 200]
    assert api_contract.answers_checked == 4 and api_contract.requests_checked == 4
    assert api_contract.problems == []



def test_a_whole_client_session_keeps_the_contract(api_contract: ContractMonitor,
                                                   contract: Contract) -> None:
    """Every operation the client uses, answers of every kind: all checked, none wrong."""
    clock = ManualClock()
    with Emulator(api_keys=[KEY], clock=clock, queue_time=10, run_time=5, seed=9) as emu:
        provider = IonQProvider(KEY, url=emu.url)
        backend = provider.get_backend("simulator")  # GET /backends or /backends/simulator
        jobs = [backend.run(bell(), shots=100) for _ in range(4)]  # POST /jobs
        ids = [job.job_id() for job in jobs]
        client = provider.client
        assert jobs[0].cancel() is True  # PUT /jobs/{id}/status/cancel, documented answer
        clock.advance(20)
        with pytest.raises(IonQRequestError) as refused:  # a finished job: 409 by default
            client.cancel_job(ids[1])
        assert refused.value.status_code == 409
        outcome = client.cancel(ids[1])  # the refusal: read back, not trusted
        assert outcome.status is JobStatus.DONE and outcome.job is not None
        assert jobs[1].result().get_counts()  # GET /jobs/{id}, .../results/probabilities
        client.bulk_cancel(ids[2:])  # PUT /jobs/status/cancel
        page = client.list_jobs(ids=ids, status="completed", target="simulator", limit=2)
        assert page["next"] and len(page["jobs"]) == 2
        client.list_jobs(cursor=page["next"], limit=2)
        assert client.delete_job(ids[3]) == {"id": ids[3], "status": "deleted"}
        with pytest.raises(Exception, match="no such job"):
            client.retrieve_job(ids[3])  # a 404
        used = [contract.find(e.method, e.path)[0] for e in emu.log.entries]
        client.close()
    # The backend's size: GET /backends/{name} (qiskit-ionq 1.1.1) or the GET /backends
    # catalog (qiskit-ionq main); every other operation on both, except those this package's
    # client does not use (the conformance suite drives them).
    sizes = {"ListBackends", "GetBackend"}
    unused = {"DeleteJobs", "EstimateJobCost", "GetJobCost", "GetJobArtifact", "GetWhoami",
              "GetCharacterizationsForBackend", "GetCharacterization",
              # the workflow operations (tests/workflows/test_workflows.py drives them)
              "GetJobShots", "GetJobHistogram", "CreateSession", "GetSessions", "GetSession",
              "EndSession", "GetSessionJobs",
              # October 2026 operations (tests/emulator/test_emulator_october.py)
              "CloneJob", "GetFormatSchema", "get-usages"}
    used_ids = {op.operation_id if op else None for op in used}
    assert used_ids & sizes
    assert used_ids - sizes == {op.operation_id for op in contract.operations} - sizes - unused
    assert api_contract.requests_checked == len(emu.log) >= 12
    assert api_contract.answers_checked == len(emu.log)
    assert api_contract.problems == []


# -- the emulator's own errors, in IonQ's body (found by schemathesis) -----------------------

def raw(emu: Emulator) -> http.client.HTTPConnection:
    host, port = emu.url.split("//")[1].split("/")[0].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


@pytest.mark.parametrize(("method", "path", "status"), [
    ("TRACE", "/v0.4/jobs", 405), ("OPTIONS", f"/v0.4/jobs/{JOB}", 405),
    ("QUERY", "/v0.4/backends", 405), ("TRACE", "/v0.4/nowhere", 404)])
def test_any_other_method_is_routed_not_a_501(emu: Emulator, api_contract: ContractMonitor,
                                              method: str, path: str, status: int) -> None:
    conn = raw(emu)
    try:
        conn.request(method, path, headers=AUTH)
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == status
    assert body["statusCode"] == status and body["message"]
    assert api_contract.answers_checked == 1 and api_contract.problems == []


def test_head_gets_no_body_and_the_connection_stays_usable(emu: Emulator) -> None:
    conn = raw(emu)
    try:
        conn.request("HEAD", "/v0.4/jobs", headers=AUTH)
        head = conn.getresponse()
        assert head.status == 405 and head.read() == b""
        assert int(head.headers["Content-Length"]) > 0  # what a GET-like answer would carry
        conn.request("GET", "/v0.4/jobs", headers=AUTH)
        assert conn.getresponse().status == 200
    finally:
        conn.close()


@pytest.mark.parametrize(("request_line", "status"), [
    (b"NONSENSE\r\n\r\n", 400), (b"GET /" + b"x" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /v0.4/jobs HTTP/9.9\r\nHost: x\r\n\r\n", 400)])  # not the stdlib's 505
def test_a_malformed_request_gets_ionq_s_error_body(emu: Emulator, api_contract: ContractMonitor,
                                                   request_line: bytes, status: int) -> None:
    host, port = emu.url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request_line)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Content-Type: application/json" in head and b"Connection: close" in head
    assert json.loads(body)["statusCode"] == status
    assert api_contract.answers_checked == 1 and api_contract.problems == []
