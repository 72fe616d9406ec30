"""IonQ's own examples, transcribed as data from its published v0.4 OpenAPI document
(``openapi.json`` of github.com/ionq/ionq-core-python, "Last updated: September 2, 2026"):
the requests of its ``x-codeSamples`` (curl) and the answers of its ``examples``.

Only those of the endpoints and job types the emulator serves. Left out, and why: the
multi-circuit and OpenQASM 3 job samples (issue 10's job types), the clone, move, sessions,
schemas and usage samples (endpoints the emulator does not serve), and the QAOA and
quantum-function job answers (job types it does not serve).
"""

from __future__ import annotations

from typing import Any

#: The sample job id of IonQ's curl samples (``617a1f8b-...``): the tests put a real id there.
SAMPLE_JOB = "617a1f8b-59d4-435d-aa33-695433d7155e"

#: ``POST /jobs``, "Single-circuit QIS job".
CREATE_JOB: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "name": "Sample circuit",
    "metadata": {"fizz": "buzz", "foo": "bar"},
    "shots": 500,
    "backend": "qpu.forte-1",
    "settings": {"error_mitigation": {"debiasing": False}},
    "input": {"qubits": 2, "gateset": "qis", "circuit": [{"gate": "h", "target": 0}]},
}

#: ``JobCreationPayload.example``.
CREATE_JOB_SCHEMA_EXAMPLE: dict[str, Any] = {
    "type": "ionq.circuit.v1",
    "input": {"qubits": 1, "gateset": "qis", "circuit": [{"gate": "h", "target": 0}]},
    "backend": "qpu.forte-1",
    "shots": 500,
    "settings": {"error_mitigation": {"debiasing": False}},
}

#: The QIS circuit of the "Mixed-gateset multi-circuit job" sample, as a single circuit: the
#: gate forms IonQ's examples use (singular target/control, cnot).
CNOT_CIRCUIT: list[dict[str, Any]] = [
    {"gate": "h", "target": 0},
    {"gate": "cnot", "target": 0, "control": 1},
]

#: The other curl samples: (method, path and query, body). ``{job}`` is a job id.
REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/whoami", None),
    ("GET", "/backends", None),
    ("GET", "/backends/qpu.aria-1", None),
    ("GET", "/backends/qpu.aria-1/characterizations", None),
    ("GET", "/jobs", None),
    ("GET", "/jobs/{job}", None),
    ("GET", "/jobs/{job}/cost", None),
    ("GET", "/jobs/{job}/results/probabilities?sharpen=true", None),
    ("GET", "/jobs/estimate?backend=qpu.forte-1&qubits=25&shots=1000&1q_gates=150&2q_gates=40",
     None),
    ("PUT", "/jobs/{job}/status/cancel", None),
    ("PUT", "/jobs/status/cancel", {"ids": ["{job}", "{job2}", "{job3}"]}),
    ("DELETE", "/jobs/{job}", None),
    ("DELETE", "/jobs", {"ids": ["{job}", "{job2}", "{job3}"]}),
]

_COMPLETED_SIMULATOR_JOB: dict[str, Any] = {
    "id": "e1a09d90-b2ba-4ea5-9fd7-4bfc14eac524", "status": "completed",
    "type": "ionq.circuit.v1", "backend": "simulator", "dry_run": False, "cost_model": "QCT",
    "submitter_id": "64b03577072d45001c85e9c4",
    "project_id": "1333d459-cf47-4a5e-acc1-8d4eb4f7b025", "parent_job_id": None,
    "session_id": None, "metadata": None, "name": None,
    "submitted_at": "2025-05-28T20:47:05.440Z", "started_at": None, "completed_at": None,
    "predicted_execution_duration_ms": None, "predicted_wait_time_ms": None,
    "execution_duration_ms": None, "shots": 1000, "noise": {"model": "ideal"},
    "failure": None, "settings": {"compilation": {}},
    "stats": {"qubits": 20, "circuits": 1, "gate_counts": {"1q": 1028, "2q": 110},
              "predicted_quantum_compute_time_us": 5000,
              "billed_quantum_compute_time_us": 5200},
    "results": {"ionq.result.probabilities.json.v1": {
        "id": "probabilities", "format": "ionq.result.probabilities.json.v1",
        "media_type": "application/json"}},
    "output": {},
}

#: Answers: (method, path, status, body) of the document's ``examples``.
ANSWERS: list[tuple[str, str, int, Any]] = [
    # GET /jobs, "Example 1"
    ("GET", "/v0.4/jobs", 200, {"jobs": [_COMPLETED_SIMULATOR_JOB], "next": None}),
    # GET /jobs/{UUID}, "Single Circuit"
    ("GET", "/v0.4/jobs/e1a09d90-b2ba-4ea5-9fd7-4bfc14eac524", 200, {
        "id": "e1a09d90-b2ba-4ea5-9fd7-4bfc14eac524", "status": "completed",
        "type": "ionq.circuit.v1", "backend": "qpu.forte-1", "dry_run": False,
        "submitter_id": "64b03577072d45001c85e9c4",
        "project_id": "1333d459-cf47-4a5e-acc1-8d4eb4f7b025", "parent_job_id": None,
        "child_job_ids": None, "session_id": None, "metadata": None, "name": "Bell state",
        "submitted_at": "2026-06-11T20:47:05.440Z", "started_at": "2026-06-11T20:47:10.000Z",
        "completed_at": "2026-06-11T20:47:15.000Z", "predicted_execution_duration_ms": None,
        "predicted_wait_time_ms": None, "execution_duration_ms": 4200, "shots": 1000,
        "failure": None, "settings": {"error_mitigation": {"debiasing": True}},
        "stats": {"qubits": 2, "circuits": 1, "gate_counts": {"1q": 4, "2q": 1}},
        "output": {"compilation": {}, "error_mitigation": {"debiasing": {"variants": [{
            "variant_id": "069ce8f8-f437-7d75-8000-9f5f8c3d7897", "qubit_map": [4, 12, 7],
            "shots": 120, "results": {"ionq.result.probabilities.json.v2": {
                "id": "06b27432-cdde-7a0f-8000-1b9e2d6a4f01",
                "format": "ionq.result.probabilities.json.v2",
                "media_type": "application/json"}}}]}}},
        "results": {"ionq.result.probabilities.json.v2": {
            "id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "format": "ionq.result.probabilities.json.v2", "media_type": "application/json"}},
    }),
    # components.responses: BadRequest, Error, NotFound, Unauthorized
    ("POST", "/v0.4/jobs", 400, {"error": "Bad Request",
                                 "message": "\"some-parameter\" was invalid.", "statusCode": 400,
                                 "validation": {"keys": ["some-parameter"],
                                                "source": "params"}}),
    ("GET", "/v0.4/jobs", 500, {"error": "Internal Server Error",
                                "message": "Internal service outage. Visit "
                                           "https://status.ionq.co/ to track this incident.",
                                "statusCode": 500}),
    ("GET", "/v0.4/jobs/617a1f8b-59d4-435d-aa33-695433d7155e", 404, {
        "error": "Not Found Error", "statusCode": 404,
        "message": "Resource not found. See https://docs.ionq.com/ for details, or email "
                   "support@ionq.co for help."}),
    ("GET", "/v0.4/jobs", 401, {
        "error": "Unauthorized Error", "statusCode": 401,
        "message": "Invalid key provided. See https://docs.ionq.com/#authentication for "
                   "details, or email support@ionq.co for help."}),
    # schema examples: JobCreationResponse, JobCanceledResponse, JobsCanceledResponse,
    # JobDeletedResponse; Backend
    ("POST", "/v0.4/jobs", 201, {"id": "617a1f8b-59d4-435d-aa33-695433d7155e",
                                 "status": "submitted", "session_id": None}),
    ("PUT", "/v0.4/jobs/617a1f8b-59d4-435d-aa33-695433d7155e/status/cancel", 200,
     {"id": "617a1f8b-59d4-435d-aa33-695433d7155e", "status": "canceled"}),
    ("PUT", "/v0.4/jobs/status/cancel", 200, {
        "ids": ["617a1f8b-59d4-435d-aa33-695433d7155e", "617a1f8b-59d4-435d-aa33-695433d7155f"],
        "status": "canceled"}),
    ("DELETE", "/v0.4/jobs/617a1f8b-59d4-435d-aa33-695433d7155e", 200,
     {"id": "617a1f8b-59d4-435d-aa33-695433d7155e", "status": "deleted"}),
    ("GET", "/v0.4/backends/qpu.forte-1", 200, {
        "average_queue_time": 1181215, "backend": "qpu.forte-1",
        "characterization_id": "617a1f8b-59d4-435d-aa33-695433d7155e", "degraded": False,
        "kw": 4902.81, "last_updated": "2025-06-16T00:00:00Z",
        "location": "College Park, MD, USA", "qubits": 25, "status": "available",
        "supported_error_mitigations": ["debiasing"],
        "supported_gates": ["x", "y", "z", "h", "s", "si", "t", "ti", "v", "vi", "rx", "ry",
                            "rz", "cnot", "swap", "xx", "yy", "zz", "not"],
        "supported_native_gates": ["gpi", "gpi2", "ms"]}),
    ("GET", "/v0.4/jobs/617a1f8b-59d4-435d-aa33-695433d7155e/results/probabilities", 200,
     {"0": 0.5, "1": 0.25, "3": 0.25}),
]
