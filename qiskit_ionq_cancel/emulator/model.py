"""The emulator's records: a job, the timings of its lifecycle, IonQ's statuses and backends,
and the error the API answers with. The store (``state.py``) keeps and changes them; the
views (``views.py``) write them down as IonQ does; the bodies (``bodies.py``) read requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .samples import sample_shots

API_PREFIX = "/v0.4"
FINAL_STATUSES = frozenset({"completed", "failed", "canceled"})
CANCELLABLE_STATUSES = frozenset({"submitted", "ready", "started"})
#: ``submitter_id`` and ``project_id`` of every job: the emulator has one user in one project.
SUBMITTER_ID = "emulator-user-0000000000000001"
PROJECT_ID = "00000000-0000-4000-8000-00000000e4a1"
#: The one organization (a UUID, as ``GET /organizations/{organization_id}/usage`` takes).
ORGANIZATION_ID = "00000000-0000-4000-8000-0000000000a1"

#: Backends the emulator knows, with their qubit counts: the list of IonQ's v0.4 document
#: (``JobBackends``: ``simulator``, ``qpu.forte-1``, ``qpu.forte-enterprise-1``).
BACKENDS: dict[str, int] = {
    "simulator": 29,
    "qpu.forte-1": 36,
    "qpu.forte-enterprise-1": 36,
}
#: ``Failure.code`` values of IonQ's v0.4 document.
FAILURE_CODES = frozenset({
    "InvalidInput", "CompilationError", "ContractExpiredError", "DebiasingError",
    "InternalError", "NotEnoughQubits", "OptimizationError", "PreflightError",
    "QuantumCircuitComplexityError", "QuantumComputerError", "QuotaExhaustedError",
    "SimulationError", "SimulationTimeout", "SystemCancel", "TooLongPredictedExecutionTime",
    "TooManyControls", "TooManyGates", "TooManyShots", "UnknownBillingError", "UnsupportedGate",
})


class ApiError(Exception):
    """Raised by the emulator's store and body readers for a request the API refuses; the
    HTTP layer answers it as IonQ's error body. It holds the HTTP status plus IonQ's
    message, and for a 400 the ``validation`` IonQ adds: the offending ``keys`` and their
    ``source`` (``"params"`` for the query, ``"payload"`` for the body)."""

    def __init__(self, status: int, message: str, *, keys: Iterable[str] = (),
                 source: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.keys = list(keys)
        self.source = source
        self.off_contract = False  # set when a setting makes this answer break the document


class ManualClock:
    """A clock that moves only when told to, for tests of the lifecycle without sleeping."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class Lifecycle:
    """How long a job spends in each state before it moves on (seconds)."""

    submit_time: float = 0.0
    queue_time: float = 1.0
    run_time: float = 0.5



@dataclass
class Job:
    """One job as the emulator stores it. Its status is derived from the clock."""

    id: str
    seq: int
    backend: str
    type: str
    name: str | None
    shots: int
    input: dict[str, Any]
    metadata: dict[str, Any]
    session_id: str | None
    parent_job_id: str | None
    dry_run: bool
    noise: dict[str, Any] | None
    settings: dict[str, Any]
    created: float
    probabilities: dict[str, float]
    qubits: int
    will_fail: dict[str, str] | None = None
    fixed_status: str | None = None
    fixed_at: float | None = None
    failure: dict[str, str] | None = None
    cancel_requests: int = field(default=0)
    forbidden: bool = False  # every request on it answers 403 (another project's job)
    gate_counts: dict[str, int] = field(default_factory=dict)
    children: list[Job] = field(default_factory=list)  # of a multi-circuit parent
    shot_seed: int = 0
    register_shots: list[dict[str, Any]] | None = None  # of an ionq.qasm3.v1 job
    # Kept by JobViews.encoded to encode the job's listing view again (see there): the
    # template of that view, with what it was made from: completed or not, the store's
    # results style and lifecycle.
    template: tuple[bool, str, Lifecycle, bytes, bytes, bytes] | None = field(
        default=None, repr=False, compare=False)

    @property
    def stats(self) -> dict[str, Any]:
        """``stats`` of the job object (``CircuitJobStats``); a parent's sums its children's."""
        if not self.children:
            return {"qubits": self.qubits, "circuits": 1,
                    "gate_counts": dict(self.gate_counts)}
        counts: dict[str, int] = {}
        for child in self.children:
            for width, count in child.gate_counts.items():
                counts[width] = counts.get(width, 0) + count
        return {"qubits": max(c.qubits for c in self.children),
                "circuits": len(self.children), "gate_counts": counts}

    def shots_drawn(self) -> list[str]:
        """This job's per-shot outcomes (the same on every call)."""
        return sample_shots(self.probabilities, self.shots, self.shot_seed)

    def status_at(self, now: float, lifecycle: Lifecycle) -> str:
        """The job's status at clock time ``now``. A multi-circuit parent's follows its
        children: the least advanced while any runs; once all are final, ``completed`` if
        all completed, ``failed`` if any failed, else ``canceled``."""
        if self.fixed_status is not None:
            return self.fixed_status
        if self.children:
            states = {child.status_at(now, lifecycle) for child in self.children}
            if states <= FINAL_STATUSES:
                return ("completed" if states == {"completed"}
                        else "failed" if "failed" in states else "canceled")
            return next(s for s in ("submitted", "ready", "started") if s in states)
        age = now - self.created
        if age < lifecycle.submit_time:
            return "submitted"
        if age < lifecycle.submit_time + lifecycle.queue_time:
            return "ready"
        if age < lifecycle.submit_time + lifecycle.queue_time + lifecycle.run_time:
            return "started"
        return "failed" if self.will_fail else "completed"
