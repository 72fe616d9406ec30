"""What requests carry, read and checked: job ids, the bodies of ``POST /jobs`` and of the
bulk requests, and listing cursors. Anything the API refuses raises :class:`ApiError` (a
400) before the store changes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from .model import BACKENDS, FAILURE_CODES, ApiError

JOB_TYPES = ("ionq.circuit.v1", "ionq.multi-circuit.v1", "ionq.qasm3.v1")
MAX_CIRCUITS = 5000  # per multi-circuit job, as IonQ's document says

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_job_id(raw: str) -> str:
    """Return ``raw`` if it is a canonical lower-case UUID string, else raise a 400."""
    if isinstance(raw, str) and _CANONICAL_UUID.fullmatch(raw):
        return raw
    shown = raw[:80] if isinstance(raw, str) else raw
    try:
        uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise ApiError(400, f"Invalid job id {shown!r}: expected a UUID") from None
    raise ApiError(400, f"Invalid job id {shown!r}: expected a canonical UUID")


#: Cases where IonQ's document forbids what a real client sends anyway. With a case in the
#: emulator's ``lenient`` setting, the emulator takes the request as described; without it,
#: the emulator refuses it with a 400, as the document says. The default is
#: :data:`DEFAULT_LENIENT`: the cases a real client is known to send.
LENIENT_CASES: dict[str, str] = {
    "shots_as_string": "'shots' as a decimal string (\"100\"), taken as the integer: "
                       "cirq-ionq sends it",
    "non_string_metadata": "metadata values that are not strings, stored as their JSON "
                           "text (3 -> \"3\"): qiskit-ionq PR #237 sends integers",
    "null_noise_seed": "'noise.seed': null, taken as no seed: qiskit-ionq sends it",
    "qasm3_qubits": "'input.qubits' beside 'input.data' of an ionq.qasm3.v1 job, ignored: "
                    "qiskit-ionq sends it",
    "session_backend_alias": "POST /sessions with backend 'ionq_simulator' (qiskit-ionq's "
                             "name of the simulator), taken as 'simulator'",
    "missing_backend": "no 'backend', taken as 'simulator'",
    "missing_type": "no 'type', taken as 'ionq.circuit.v1'",
    "multi_circuit_without_gateset": "a multi-circuit job without 'input.gateset', taken "
                                     "as 'qis'",
    "lang_field": "'lang': 'json' at the top of a job (an API v0.3 field), ignored: "
                  "cirq-ionq sends it",
    "unknown_fields": "fields the document does not name, at the top of a job, ignored",
    "debiasing_few_shots": "debiasing with fewer than 500 shots, run as asked",
    "unknown_session": "a 'session_id' that names no session, stored as given",
}
#: The cases a real client is known to send (see :data:`LENIENT_CASES`).
DEFAULT_LENIENT: frozenset[str] = frozenset({
    "shots_as_string", "non_string_metadata", "null_noise_seed", "qasm3_qubits",
    "session_backend_alias", "lang_field"})
#: Top-level fields of ``CircuitJobCreationPayload`` / ``MultiCircuitJobCreationPayload``.
JOB_FIELDS = frozenset({"name", "metadata", "shots", "backend", "session_id", "settings",
                        "dry_run", "noise", "type", "input"})
DEBIASING_MIN_SHOTS = 500  # "To turn on debiasing, you must request at least 500 shots"


def check_lenient(lenient: object) -> frozenset[str]:
    """The ``lenient`` setting as a set of :data:`LENIENT_CASES` names (``True``: all)."""
    if lenient is True:
        return frozenset(LENIENT_CASES)
    if lenient is False or lenient is None:
        return frozenset()
    if isinstance(lenient, str) or not hasattr(lenient, "__iter__"):
        raise ValueError("lenient must be True, False or a collection of case names")
    cases = frozenset(str(case) for case in lenient)
    unknown = sorted(cases - set(LENIENT_CASES))
    if unknown:
        raise ValueError(f"unknown lenient case(s) {', '.join(unknown)}; known: "
                         f"{', '.join(LENIENT_CASES)}")
    return cases


def _refuse(case: str, message: str, key: str) -> ApiError:
    return ApiError(400, f"{message} (IonQ's document forbids it; the emulator's lenient "
                         f"setting {case!r} takes it)", keys=[key], source="payload")


@dataclass(frozen=True)
class Submission:
    """A ``POST /jobs`` body, checked: what the store needs to create the job."""

    job_type: str
    backend: str
    input_block: dict[str, Any]
    shots: int
    names: list[str | None]  # each circuit's name (one None for a single-circuit job)
    circuits: list[dict[str, Any]]  # each circuit's input block
    common: dict[str, Any]  # the fields every job of the submission shares
    name: str | None
    seed: Any  # noise.seed as given (an int seeds the shots)


def parse_submission(body: Mapping[str, Any],
                     lenient: Container[str] = DEFAULT_LENIENT) -> Submission:
    """Check a ``POST /jobs`` body (not yet the circuits themselves: simulating them does).
    What IonQ's document forbids is a 400 unless its case is in ``lenient``."""
    extra = sorted(set(body) - JOB_FIELDS)
    if body.get("lang") == "json" and "lang_field" in lenient:
        extra.remove("lang")
    elif "lang" in extra and "unknown_fields" not in lenient:
        raise _refuse("lang_field", "Unknown field 'lang'", "lang")
    if extra and "unknown_fields" not in lenient:
        raise _refuse("unknown_fields", f"Unknown field(s): {', '.join(extra)}", extra[0])
    for field, case in (("backend", "missing_backend"), ("type", "missing_type")):
        if field not in body and case not in lenient:
            raise _refuse(case, f"Field {field!r} is required", field)
    job_type = body.get("type", "ionq.circuit.v1")
    if job_type not in JOB_TYPES:
        raise ApiError(400, f"Job type {job_type!r} is not supported by the emulator",
                       keys=["type"], source="payload")
    backend = body.get("backend", "simulator")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ApiError(400, f"Unknown backend {backend!r}; known: {', '.join(BACKENDS)}",
                       keys=["backend"], source="payload")
    input_block = body.get("input")
    if not isinstance(input_block, dict):
        raise ApiError(400, "Field 'input' must be an object", keys=["input"],
                       source="payload")
    shots = body.get("shots", 100)
    if shots is None:
        shots = 100
    if isinstance(shots, str) and re.fullmatch(r"[0-9]{1,7}", shots):
        if "shots_as_string" not in lenient:
            raise _refuse("shots_as_string", "Field 'shots' must be an integer", "shots")
        shots = int(shots)
    if not isinstance(shots, int) or isinstance(shots, bool) or not 1 <= shots <= 1_000_000:
        raise ApiError(400, "Field 'shots' must be an integer from 1 to 1000000",
                       keys=["shots"], source="payload")
    metadata = _metadata(body.get("metadata"), lenient)
    session_id = body.get("session_id")
    if session_id is not None:
        parse_job_id(str(session_id))
    noise = _noise(body.get("noise"), lenient)
    seed = (noise or {}).get("seed")
    names, circuits = circuit_inputs(input_block, job_type, lenient)
    settings = body.get("settings")
    if not isinstance(settings, dict):
        settings = {}
    mitigation = settings.get("error_mitigation")
    if isinstance(mitigation, dict) and mitigation.get("debiasing") is True and \
            shots < DEBIASING_MIN_SHOTS and "debiasing_few_shots" not in lenient:
        raise _refuse("debiasing_few_shots", "To turn on debiasing, you must request at "
                      f"least {DEBIASING_MIN_SHOTS} shots", "shots")
    fail_code = metadata.get("emulator_fail")
    will_fail = (
        {"code": str(fail_code) if fail_code in FAILURE_CODES else "InternalError",
         "message": f"Failure requested by emulator_fail metadata ({fail_code})"}
        if fail_code
        else None
    )
    common: dict[str, Any] = {
        "backend": backend, "shots": shots, "metadata": metadata,
        "session_id": str(session_id) if session_id else None, "will_fail": will_fail,
        "dry_run": bool(body.get("dry_run", False)),
        "noise": noise, "settings": settings}
    name = body.get("name") if isinstance(body.get("name"), str) else None
    return Submission(job_type, backend, input_block, shots, names, circuits, common, name,
                      seed)


def _metadata(metadata: object, lenient: Container[str]) -> dict[str, str]:
    """``metadata`` as ``JobMetadata`` (string values): a non-string value is a 400, or with
    ``non_string_metadata`` lenient stored as its JSON text, so that every answer that
    shows it (``BaseJob.metadata``) keeps the document."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ApiError(400, "Field 'metadata' must be an object", keys=["metadata"],
                       source="payload")
    stored: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(value, str):
            if "non_string_metadata" not in lenient:
                raise _refuse("non_string_metadata", f"metadata[{key[:40]!r}] must be a "
                              "string", "metadata")
            value = json.dumps(value, separators=(",", ":"))
        stored[key] = value
    return stored


def _noise(noise: object, lenient: Container[str]) -> dict[str, Any] | None:
    if not isinstance(noise, dict):
        return None
    if "seed" in noise and noise["seed"] is None:
        if "null_noise_seed" not in lenient:
            raise _refuse("null_noise_seed", "Field 'noise.seed' must be an integer", "noise")
        noise = {k: v for k, v in noise.items() if k != "seed"}
    return noise


def circuit_inputs(input_block: dict[str, Any], job_type: str,
                   lenient: Container[str] = DEFAULT_LENIENT
                   ) -> tuple[list[str | None], list[dict[str, Any]]]:
    """The single-circuit input blocks of a job: its ``input`` itself, or for a
    multi-circuit job one per ``input.circuits`` entry (each inheriting the parent's
    ``gateset`` and ``qubits`` unless it sets its own); and their names."""
    if job_type == "ionq.qasm3.v1":
        if "qubits" in input_block and "qasm3_qubits" not in lenient:
            raise _refuse("qasm3_qubits", "An ionq.qasm3.v1 job's input takes only "
                          "'input.data'", "input")
        extra = sorted(set(input_block) - {"data", "qubits"})
        if extra:
            raise ApiError(400, "An ionq.qasm3.v1 job's input takes only 'input.data' "
                                f"(the program); unknown field(s): {', '.join(extra)}",
                           keys=["input"], source="payload")
        return [None], [input_block]
    if job_type != "ionq.multi-circuit.v1":
        return [None], [input_block]
    circuits = input_block.get("circuits")
    if "circuit" in input_block:
        raise ApiError(400, "A multi-circuit job takes 'input.circuits', not 'input.circuit'",
                       keys=["input"], source="payload")
    if "gateset" not in input_block and "multi_circuit_without_gateset" not in lenient:
        raise _refuse("multi_circuit_without_gateset", "Field 'input.gateset' is required "
                      "in a multi-circuit job", "input")
    if not isinstance(circuits, list) or not circuits or len(circuits) > MAX_CIRCUITS:
        raise ApiError(400, f"Field 'input.circuits' must be a list of 1 to {MAX_CIRCUITS} "
                            "circuits", keys=["input"], source="payload")
    names: list[str | None] = []
    blocks = []
    for index, entry in enumerate(circuits):
        if not isinstance(entry, dict) or set(entry) - {"name", "circuit", "gateset",
                                                        "qubits", "registers"}:
            raise ApiError(400, f"input.circuits[{index}] must be an object with 'circuit' "
                                "and optionally 'name', 'gateset', 'qubits', 'registers'",
                           keys=["input"], source="payload")
        name = entry.get("name")
        names.append(name if isinstance(name, str) else None)
        block = {"gateset": entry.get("gateset", input_block.get("gateset", "qis")),
                 "circuit": entry.get("circuit")}
        qubits = entry.get("qubits", input_block.get("qubits"))
        if qubits is not None:
            block["qubits"] = qubits
        if "registers" in entry:
            block["registers"] = entry["registers"]
        blocks.append(block)
    return names, blocks


def bulk_ids(body: Mapping[str, Any], most: int, known: Container[str]) -> list[str]:
    """The ``ids`` of a bulk request body (``JobsBulkOperationRequest``), checked (an id in
    ``known``, the store's, is canonical: the store made it)."""
    if set(body) - {"ids"}:
        raise ApiError(400, "Only field 'ids' is allowed", keys=sorted(set(body) - {"ids"}),
                       source="payload")
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "Field 'ids' must be a non-empty list of job ids", keys=["ids"],
                       source="payload")
    if len(ids) > most:
        raise ApiError(400, f"At most {most} ids per request", keys=["ids"], source="payload")
    for raw in ids:
        if raw not in known:
            parse_job_id(raw)
    return ids


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError(raw)
        position = int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "Invalid 'next' cursor") from None
    if position < 0:
        raise ApiError(400, "Invalid 'next' cursor")
    return position
