"""The emulator's read-only resources besides jobs: backends, characterizations, the key's
identity, cost estimates. Nothing here changes state; IonQ's v0.4 document gives the shapes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from .bodies import JOB_TYPES
from .model import BACKENDS, ORGANIZATION_ID, PROJECT_ID, ApiError, Lifecycle
from .pricing import INT32_MAX, Price, compute_us
from .views import KW_PER_QPU

#: Backends IonQ no longer runs jobs on: listed with ``status: "retired"`` (a status of its
#: ``Backend`` schema), readable (its document's own sample reads ``qpu.aria-1``), never
#: accepted for a job (``JobBackends`` lists only :data:`~.state.BACKENDS`).
RETIRED: dict[str, int] = {"qpu.aria-1": 25, "qpu.aria-2": 25}
ALL_BACKENDS: dict[str, int] = {**BACKENDS, **RETIRED}

#: ``supported_gates`` of every backend: the ``QisGate`` enum of IonQ's document.
QIS_GATES: tuple[str, ...] = (
    "x", "y", "z", "rx", "ry", "rz", "h", "s", "si", "v", "vi", "t", "ti", "not", "cnot",
    "swap", "xx", "yy", "zz", "pauliexp",
)
#: ``supported_native_gates`` of the QPUs (qiskit-ionq main picks ZZ or MS from it).
NATIVE_GATES: dict[str, tuple[str, ...]] = {
    "qpu.forte-1": ("gpi", "gpi2", "zz"),
    "qpu.forte-enterprise-1": ("gpi", "gpi2", "zz"),
}
#: One fixed characterization per backend (its id is derived from the backend's name).
_CHARACTERIZATION_NS = uuid.UUID("5d8bb3a6-9d1e-4c1e-8f5e-3c0f6ad1e4a1")
_STARTED = datetime.now(timezone.utc).replace(microsecond=0)


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def backend_views() -> list[dict[str, Any]]:
    """``GET /backends``: the backends jobs run on, then the retired ones."""
    return [backend_view(name) for name in ALL_BACKENDS]


def backend_view(name: str) -> dict[str, Any]:
    """``Backend``: ``last_updated`` is a date-time string; QPUs list native gates."""
    view: dict[str, Any] = {
        "backend": name,
        "status": "retired" if name in RETIRED else "available",
        "qubits": ALL_BACKENDS[name],
        "average_queue_time": 0,
        "last_updated": _stamp(_STARTED),
        "has_access": name not in RETIRED,
        "degraded": False,
        "characterization_id": characterization_id(name),
        "supported_gates": list(QIS_GATES),
    }
    if name != "simulator":  # a QPU's power draw and site (October 2026 document)
        view["kw"] = KW_PER_QPU
        view["location"] = "College Park, MD, USA"
    if name in NATIVE_GATES or name in RETIRED:
        view["supported_native_gates"] = list(NATIVE_GATES.get(name, ("gpi", "gpi2", "ms")))
        view["supported_error_mitigations"] = ["debiasing"]
    return view


def known_backend(name: str) -> str:
    """``name`` if the emulator has that backend, else a 404."""
    if name not in ALL_BACKENDS:
        raise ApiError(404, f"Backend {name[:80]!r} not found")
    return name


def characterization_id(name: str) -> str:
    """The id of a backend's one characterization."""
    return str(uuid.uuid5(_CHARACTERIZATION_NS, name))


def characterization(name: str) -> dict[str, Any]:
    """``Characterization`` of a backend (fixed, plausible figures)."""
    qubits = ALL_BACKENDS[name]
    return {
        "id": characterization_id(name),
        "backend": name,
        "date": _stamp(_STARTED),
        "qubits": qubits,
        "connectivity": [[a, b] for a in range(min(qubits, 4)) for b in range(a + 1, 4)
                         if b < qubits],
        "fidelity": {"spam": {"median": 0.995}},
        "timing": {"readout": 0, "reset": 0, "t1": 10, "t2": 1},
    }


#: ``limit`` of ``GET /backends/{backend}/characterizations``: 1 to 10, 10 by default.
CHARACTERIZATION_LIMIT = 10


def characterizations(name: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """``GET /backends/{backend}/characterizations``: one page with the one there is;
    ``limit`` and ``page`` are checked as IonQ's document bounds them."""
    params = params or {}
    for field, most in (("limit", CHARACTERIZATION_LIMIT), ("page", None)):
        raw = params.get(field)
        if raw is None:
            continue
        if not raw.isdigit() or int(raw) < 1 or (most is not None and int(raw) > most):
            bound = f"1 to {most}" if most is not None else "at least 1"
            raise ApiError(400, f"Query parameter {field!r} must be an integer, {bound}",
                           keys=[field], source="params")
    page = int(params.get("page", "1"))
    return {"characterizations": [characterization(name)] if page == 1 else [], "pages": 1}


def whoami() -> dict[str, Any]:
    """``Whoami`` of any accepted key (the key itself is never echoed)."""
    return {"key_id": "00000000-0000-4000-8000-0000000000e1", "key_name": "emulator key",
            "project_id": PROJECT_ID}


#: Query parameters of ``GET /jobs/estimate`` that are integers: their default and bounds.
ESTIMATE_INTEGERS: dict[str, tuple[int, int, int]] = {
    "qubits": (25, 1, INT32_MAX), "shots": (1000, 1, 1_000_000),
    "1q_gates": (0, 0, INT32_MAX), "2q_gates": (0, 0, INT32_MAX)}
ESTIMATE_PARAMS = frozenset({"backend", "type", "error_mitigation", *ESTIMATE_INTEGERS})


def estimate(params: dict[str, str], prices: Mapping[str, Price],
             lifecycle: Lifecycle) -> dict[str, Any]:
    """``GET /jobs/estimate`` (``GetJobEstimateResponse``): the price of the job the query
    describes, from the emulator's price table (see :mod:`.pricing`). Its times are the
    emulator's own lifecycle, as a job submitted now would show them: the queue time is
    ``predicted_wait_time_ms`` and the execution time ``predicted_execution_duration_ms``.
    The query is checked as the document bounds it (a 400 otherwise)."""
    unknown = sorted(set(params) - ESTIMATE_PARAMS)
    if unknown:
        raise ApiError(400, f"Unknown query parameter(s): {', '.join(unknown)}", keys=unknown,
                       source="params")
    backend = params.get("backend")
    if backend is None:
        raise ApiError(400, "Query parameter 'backend' is required", keys=["backend"],
                       source="params")
    if backend not in BACKENDS:
        raise ApiError(400, f"Unknown backend {backend[:80]!r}: jobs run on "
                            f"{', '.join(BACKENDS)}", keys=["backend"], source="params")
    job_type = params.get("type", "ionq.circuit.v1")
    if job_type not in JOB_TYPES:
        raise ApiError(400, f"Query parameter 'type' must be one of {', '.join(JOB_TYPES)}",
                       keys=["type"], source="params")
    context: dict[str, Any] = {"backend": backend, "type": job_type,
                               "organization": ORGANIZATION_ID, "project": PROJECT_ID}
    for name, (default, least, most) in ESTIMATE_INTEGERS.items():
        raw = params.get(name, str(default))
        if not raw.isdigit() or not least <= int(raw) <= most:
            raise ApiError(400, f"Query parameter {name!r} must be an integer from {least:,} "
                                f"to {most:,}", keys=[name], source="params")
        context[name] = int(raw)
    if context["qubits"] > BACKENDS[backend]:
        raise ApiError(400, f"{backend} has {BACKENDS[backend]} qubits, not "
                            f"{context['qubits']}", keys=["qubits"], source="params")
    mitigation = params.get("error_mitigation", "false")
    if mitigation not in ("true", "false"):
        raise ApiError(400, "Query parameter 'error_mitigation' must be true or false",
                       keys=["error_mitigation"], source="params")
    context["error_mitigation"] = mitigation == "true"
    price = prices.get(backend)
    shots, oneq, twoq = context["shots"], context["1q_gates"], context["2q_gates"]
    answer: dict[str, Any] = {
        "estimate_context": context,
        "estimated_at": _stamp(datetime.now(timezone.utc).replace(microsecond=0)),
        "estimated_unit": price.currency if price is not None else "usd",
        "rate_card": {"id": f"emulator-{backend}",
                      "rates": [price.rate(backend)] if price is not None else []},
        "estimated_total_cost": price.cost(shots, oneq, twoq) if price is not None else 0.0,
        "estimated_execution_time": int(lifecycle.run_time * 1000),
        "current_predicted_queue_time": int((lifecycle.submit_time + lifecycle.queue_time)
                                            * 1000),
    }
    if price is not None and price.unit == "compute_second":
        answer["estimated_quantum_compute_time_us"] = compute_us(shots, oneq, twoq)
    return answer


#: ``group_by`` and ``modality`` of ``GET /organizations/{organization_id}/usage``.
USAGE_GROUPS = ("job", "project", "user")
USAGE_MODALITIES = ("daily", "weekly", "monthly")


def usage(organization: str, params: dict[str, str]) -> dict[str, Any]:
    """``GET /organizations/{organization_id}/usage`` (``Usages``): the emulator bills
    nothing, so every total is zero and there is no usage data. Its document lists
    ``start_date`` and ``end_date`` as required in the answer too: they echo the query."""
    if organization != ORGANIZATION_ID:
        raise ApiError(404, f"Organization {organization[:80]!r} not found")
    dates: dict[str, date] = {}
    for name in ("start_date", "end_date"):
        raw = params.get(name)
        try:
            if raw is None or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
                raise ValueError(raw)
            dates[name] = date.fromisoformat(raw)
        except ValueError:
            raise ApiError(400, f"Query parameter {name!r} must be a date (YYYY-MM-DD)",
                           keys=[name], source="params") from None
    for name, allowed in (("group_by", USAGE_GROUPS), ("modality", USAGE_MODALITIES)):
        if params.get(name) not in allowed:
            raise ApiError(400, f"Query parameter {name!r} must be one of "
                                f"{', '.join(allowed)}", keys=[name], source="params")
    end = dates["end_date"] + timedelta(days=1)  # the end date is inclusive
    return {
        "organization": ORGANIZATION_ID, "group_type": params["group_by"],
        "modality": params["modality"], "start_date": params["start_date"],
        "end_date": params["end_date"],
        "usage_from": f"{dates['start_date'].isoformat()}T00:00:00Z",
        "usage_to": f"{end.isoformat()}T00:00:00Z", "usage_unit": "USD",
        "amount_total": 0.0, "amount_totals": [], "job_count": 0, "time_us_total": 0.0,
        "usage_data": [],
    }
