"""What requests carry, read and checked: job ids, the bodies of ``POST /jobs`` and of the
bulk requests, and listing cursors. Anything the API refuses raises :class:`ApiError` (a
400) before the store changes.
"""

from __future__ import annotations

import base64
import binascii
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


def parse_submission(body: Mapping[str, Any]) -> Submission:
    """Check a ``POST /jobs`` body (not yet the circuits themselves: simulating them does)."""
    job_type = body.get("type", "ionq.circuit.v1")
    if job_type not in JOB_TYPES:
        raise ApiError(400, f"Job type {job_type!r} is not supported by the emulator",
                       keys=["type"], source="payload")
    backend = body.get("backend", "simulator")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ApiError(400, f"Unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    input_block = body.get("input")
    if not isinstance(input_block, dict):
        raise ApiError(400, "Field 'input' must be an object")
    shots = body.get("shots", 100)
    if shots is None:
        shots = 100
    # The document says integer, but cirq-ionq sends a decimal string ("100") and its
    # own tests expect IonQ to take it: so does the emulator.
    if isinstance(shots, str) and re.fullmatch(r"[0-9]{1,7}", shots):
        shots = int(shots)
    if not isinstance(shots, int) or isinstance(shots, bool) or not 1 <= shots <= 1_000_000:
        raise ApiError(400, "Field 'shots' must be an integer from 1 to 1000000",
                       keys=["shots"], source="payload")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ApiError(400, "Field 'metadata' must be an object", keys=["metadata"],
                       source="payload")
    session_id = body.get("session_id")
    if session_id is not None:
        parse_job_id(str(session_id))
    noise = body.get("noise") if isinstance(body.get("noise"), dict) else None
    seed = (noise or {}).get("seed")
    names, circuits = circuit_inputs(input_block, job_type)
    settings = body.get("settings")
    if not isinstance(settings, dict):
        settings = {}
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


def circuit_inputs(input_block: dict[str, Any], job_type: str
                   ) -> tuple[list[str | None], list[dict[str, Any]]]:
    """The single-circuit input blocks of a job: its ``input`` itself, or for a
    multi-circuit job one per ``input.circuits`` entry (each inheriting the parent's
    ``gateset`` and ``qubits`` unless it sets its own); and their names."""
    if job_type != "ionq.multi-circuit.v1":
        return [None], [input_block]
    circuits = input_block.get("circuits")
    if "circuit" in input_block:
        raise ApiError(400, "A multi-circuit job takes 'input.circuits', not 'input.circuit'",
                       keys=["input"], source="payload")
    if not isinstance(circuits, list) or not circuits or len(circuits) > MAX_CIRCUITS:
        raise ApiError(400, f"Field 'input.circuits' must be a list of 1 to {MAX_CIRCUITS} "
                            "circuits", keys=["input"], source="payload")
    names: list[str | None] = []
    blocks = []
    for index, entry in enumerate(circuits):
        if not isinstance(entry, dict) or set(entry) - {"name", "circuit", "gateset",
                                                        "qubits"}:
            raise ApiError(400, f"input.circuits[{index}] must be an object with 'circuit' "
                                "and optionally 'name', 'gateset', 'qubits'",
                           keys=["input"], source="payload")
        name = entry.get("name")
        names.append(name if isinstance(name, str) else None)
        blocks.append({"gateset": entry.get("gateset", input_block.get("gateset", "qis")),
                       "qubits": entry.get("qubits", input_block.get("qubits")),
                       "circuit": entry.get("circuit")})
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
