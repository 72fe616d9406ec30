"""The budget guard's accounting: what a submission is estimated at, what is committed.

:func:`qiskit_ionq_cancel.budget` opens a :class:`BudgetState` (the public class adds the
``with`` block, billing reads and the cancel past the limit). While one is open in this
context, :meth:`IonQCancelClient.submit_job` (the one place every submit passes) calls
:func:`reserve`: the payload about to be sent is counted (qubits, shots, one- and two-qubit
gates; a multi-circuit job circuit by circuit), ``GET /jobs/estimate`` prices it, and the
estimate is reserved in every open guard, or the submit is refused with
:class:`~qiskit_ionq_cancel.exceptions.BudgetExceededError` before ``POST /jobs``.

**Why a contextvar.** As the deadline scope (``_core/deadline.py``): qiskit-ionq's code
between ``backend.run`` and the client knows nothing of a budget. Threads and asyncio tasks
see the guards of the context they run in (a primitive job's worker is handed its caller's).

**Why a registry of job ids too.** A cancel gives a job's estimate back, but cancels run in
``cancel_jobs``'s worker threads, which do not share the submitter's context: every job
status the client reads (a read-back, ``GET /jobs/{id}``, a cancel's answer) is passed to
:func:`observe`, which finds the guard by job id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import re
import threading
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeGuard

from .._core.status import FINAL
from .._redact import redact
from ..exceptions import BudgetExceededError, IonQRequestError, UsageError

if TYPE_CHECKING:
    from .client import IonQCancelClient

__all__ = ["EPSILON", "UNITS", "BudgetState", "BudgetedJob", "Ticket", "count_payload", "current",
           "entered", "money", "observe", "reserve", "watching"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: The units a budget can be kept in: IonQ's ``usd``, or ``credit`` for organizations billed
#: in credits (``GetJobCostResponse``).
UNITS = ("usd", "credit")
#: Slack for float sums of money: a total equal to the limit is within it.
EPSILON = 1e-9

_current: ContextVar[tuple[BudgetState, ...]] = ContextVar("qiskit_ionq_cancel_budgets",
                                                           default=())
_owners: dict[str, list[BudgetState]] = {}  # job id -> the budgets that count it
_owners_lock = threading.Lock()


def money(value: float | None) -> str:
    """An amount as messages show it: ``0.136``, ``10``, ``unknown``."""
    return "unknown" if value is None else f"{round(value, 6):.10g}"


@dataclass(frozen=True)
class Estimate:
    """What ``GET /jobs/estimate`` is asked about a payload: one query per distinct circuit
    (``parts``: the query and how many of the job's circuits it stands for). A multi-circuit
    job is priced circuit by circuit, as IonQ bills it (a job minimum per circuit): one
    estimate of its summed gates would count that minimum once."""

    backend: str
    parts: tuple[tuple[dict[str, str], int], ...]
    approximate: bool  # gates not counted (an OpenQASM 3 program)

    @property
    def params(self) -> dict[str, str]:
        """The first (for a one-circuit job, the only) query."""
        return self.parts[0][0]


def _qasm3_qubits(program: str) -> int:
    """Qubits an OpenQASM 3 program declares (``qubit[5] q;``, ``qubit a;``); a regular
    expression, not a parser: the count only sizes an estimate made without gates."""
    sized = sum(int(n) for n in re.findall(r"\bqubit\s*\[\s*(\d+)\s*\]", program))
    return sized + len(re.findall(r"\bqubit\s+[A-Za-z_]\w*\s*;", program))


def _gates(circuit: object) -> tuple[int, int]:
    """One- and two-qubit gates of an ``ionq.circuit.v1`` gate list, as IonQ counts widths
    (targets plus controls; a wider gate counts as one two-qubit gate)."""
    oneq = twoq = 0
    for gate in circuit if isinstance(circuit, list) else ():
        if not isinstance(gate, Mapping):
            continue
        width = sum(len(v) if isinstance(v, list) else 1 for k, v in gate.items()
                    if k in ("target", "targets", "control", "controls"))
        if width == 1:
            oneq += 1
        elif width > 1:
            twoq += 1
    return oneq, twoq


def count_payload(body: Mapping[str, Any]) -> Estimate:
    """The ``GET /jobs/estimate`` queries describing a ``POST /jobs`` payload: one for each
    distinct circuit of it (its qubits, the job's shots, its one- and two-qubit gates)."""
    backend = str(body.get("backend") or "simulator")
    job_type = str(body.get("type") or "ionq.circuit.v1")
    block = body.get("input")
    block = block if isinstance(block, Mapping) else {}
    approximate = job_type == "ionq.qasm3.v1" or "data" in block
    common = {"backend": backend, "type": job_type}
    shots = body.get("shots")
    if isinstance(shots, int) and not isinstance(shots, bool):
        common["shots"] = str(shots)
    settings = body.get("settings")
    mitigation = settings.get("error_mitigation") if isinstance(settings, Mapping) else None
    if isinstance(mitigation, Mapping) and any(mitigation.values()):
        common["error_mitigation"] = "true"
    qubits = block.get("qubits")
    counted: list[tuple[object, int, int]]  # (a circuit's qubits as given, 1q, 2q gates)
    if approximate:
        if not _is_int(qubits):
            qubits = _qasm3_qubits(str(block.get("data") or ""))
        counted = [(qubits, 0, 0)]
    else:
        circuits = block.get("circuits")
        entries = [c for c in circuits if isinstance(c, Mapping)] \
            if isinstance(circuits, list) else [block]
        counted = [(c.get("qubits") if _is_int(c.get("qubits")) else qubits,
                    *_gates(c.get("circuit"))) for c in entries or [block]]
    parts: dict[tuple[int, int, int], int] = {}
    for width, oneq, twoq in counted:
        key = (max(1, width) if _is_int(width) else 1, oneq, twoq)
        parts[key] = parts.get(key, 0) + 1
    return Estimate(backend, tuple(
        ({**common, "qubits": str(width), "1q_gates": str(oneq), "2q_gates": str(twoq)}, n)
        for (width, oneq, twoq), n in parts.items()), approximate)


def _finite(value: object) -> bool:
    """A finite number (not a bool; an int too large for a float is not finite here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class BudgetedJob:
    """One submission a budget counts.

    Attributes:
        job_id: IonQ's id (``None``: refused, still being sent, or its ``POST`` failed
            without an answer, so a job may exist unseen).
        backend: IonQ's name of the backend.
        estimate: ``GET /jobs/estimate``'s ``estimated_total_cost`` (``None``: it could
            not be had and the budget allowed the submit: counted as unknown).
        approximate: The estimate was made from qubits and shots only (an OpenQASM 3
            program's gates are not counted).
        status: IonQ's status of the job as last read (``"ready"``, ``"completed"``, ...);
            before any read, this package's word: ``"sending"`` until ``POST /jobs``
            answers, then ``"sent"``, or ``"lost"`` when it never answered. (Not
            ``"submitted"``: that is one of IonQ's statuses.)
        billed: ``GET /jobs/{id}/cost``'s ``cost``, once known.
        cancelled: Cancelled inside the block: its estimate was given back.
    """

    job_id: str | None
    backend: str
    estimate: float | None
    approximate: bool = False
    status: str = "sending"
    billed: float | None = None
    cancelled: bool = False

    @property
    def counted(self) -> float:
        """What the job adds to the committed total: the billed cost once known, else
        nothing once cancelled (IonQ releases the credit), else the estimate."""
        if self.billed is not None:
            return self.billed
        if self.cancelled:
            return 0.0
        return self.estimate or 0.0

    @property
    def finished(self) -> bool:
        """IonQ reported it final (completed, failed, canceled)."""
        return self.status in FINAL or self.status == "deleted"


class BudgetState:
    """A spending limit over the jobs submitted while it is open (see :func:`reserve`).

    Args:
        limit: The most the jobs may cost, in ``unit``.
        unit: ``"usd"`` or ``"credit"``.
        client: Count only the submits of this client (``None``: every client's).
        allow_unestimated: Submit a job whose estimate cannot be had (counted as unknown)
            instead of refusing it.
    """

    def __init__(self, limit: float, *, unit: str = "usd",
                 client: IonQCancelClient | None = None,
                 allow_unestimated: bool = False) -> None:
        if not _finite(limit) or limit < 0:
            raise UsageError(f"budget: the limit must be a finite number, 0 or more, not "
                             f"{limit!r}")
        if not isinstance(unit, str) or unit.lower() not in UNITS:
            raise UsageError(f"budget: unknown unit {unit!r}; IonQ prices jobs in "
                             f"{' or '.join(UNITS)}")
        self._limit = float(limit)
        self._unit = unit.lower()
        self._only = client
        self.allow_unestimated = allow_unestimated
        self._lock = threading.Lock()
        self._jobs: list[BudgetedJob] = []
        self._by_id: dict[str, BudgetedJob] = {}  # (one lookup a job read: no scan)
        self._total: float | None = 0.0  # the committed total; None: to be summed again
        self._client_of: dict[str, IonQCancelClient] = {}  # job id -> the client it went by

    # -- where it stands ------------------------------------------------------------------
    @property
    def limit(self) -> float:
        """The most the block's jobs may cost, in :attr:`unit`."""
        return self._limit

    @property
    def unit(self) -> str:
        """``"usd"`` or ``"credit"``."""
        return self._unit

    @property
    def committed(self) -> float:
        """What the jobs are counted at now: billed costs where known, estimates of the
        others (a cancelled job's given back), and submits still being sent."""
        with self._lock:
            return self._committed()

    def _committed(self) -> float:
        """The committed total (the lock held): kept as jobs are added, summed again after
        a change, so a submit costs no scan of the jobs before it."""
        if self._total is None:
            self._total = sum(job.counted for job in self._jobs)
        return round(self._total, 9)

    @property
    def remaining(self) -> float:
        """What is left of the limit (never below 0)."""
        return max(0.0, self._limit - self.committed)

    @property
    def jobs(self) -> list[BudgetedJob]:
        """Every submission counted, in order (copies: what they were when read)."""
        with self._lock:
            return [replace(job) for job in self._jobs]

    @property
    def unknown(self) -> list[BudgetedJob]:
        """Submissions whose cost is not known: not estimated, or sent without an answer."""
        return [job for job in self.jobs if (job.estimate is None and job.billed is None)
                or job.job_id is None]

    def covers(self, client: IonQCancelClient) -> bool:
        """Whether a submit through ``client`` counts here."""
        return self._only is None or self._only is client

    # -- the check ------------------------------------------------------------------------
    def _reserve(self, record: BudgetedJob, query: Estimate) -> None:
        """Count ``record`` or raise :class:`BudgetExceededError`, atomically."""
        estimate = record.estimate
        with self._lock:
            committed = self._committed()
            if estimate is not None and committed + estimate > self._limit + EPSILON:
                raise BudgetExceededError(
                    f"Budget: the job on {query.backend} is estimated at {money(estimate)} "
                    f"{self._unit}{' (approximate: gates not counted)' * query.approximate}; "
                    f"with {money(committed)} {self._unit} committed that is "
                    f"{money(committed + estimate)}, past the limit of {money(self._limit)} "
                    f"{self._unit}. Nothing was sent. Submit less, raise the limit, or read "
                    "the billing of finished jobs (guard.refresh()), which may free some.",
                    estimate=estimate, committed=committed, limit=self._limit,
                    unit=self._unit, backend=query.backend)
            self._jobs.append(record)
            if self._total is not None:
                self._total += record.counted

    def _withdraw(self, record: BudgetedJob) -> None:
        with self._lock:  # by identity: records of one circuit are equal until their ids
            kept = [job for job in self._jobs if job is not record]
            if len(kept) < len(self._jobs):
                self._jobs[:] = kept
                self._total = None

    def _settle(self, job_id: str, status: str) -> None:
        """IonQ reported ``job_id`` as ``status``: a cancel gives its estimate back."""
        with self._lock:
            job = self._by_id.get(job_id)
            if job is not None:
                job.status = status
                if status in ("canceled", "deleted") and not job.cancelled:
                    job.cancelled = True
                    self._total = None

    def _set_billed(self, job_id: str, billed: float) -> None:
        with self._lock:
            job = self._by_id.get(job_id)
            if job is not None:
                job.billed = billed
                self._total = None

    def _claim(self, job_id: str, client: IonQCancelClient) -> None:
        self._client_of[job_id] = client
        with _owners_lock:
            _owners.setdefault(job_id, []).append(self)

    def _release_ids(self) -> None:
        """Cancels after the block no longer change this budget."""
        with _owners_lock:
            for job_id in [i for i, owners in _owners.items() if self in owners]:
                _owners[job_id].remove(self)
                if not _owners[job_id]:
                    del _owners[job_id]


# -- the hooks the client calls ----------------------------------------------------------
def current() -> tuple[BudgetState, ...]:
    """The budgets open in this context, outermost first."""
    return _current.get()


@contextlib.contextmanager
def entered(state: BudgetState | tuple[BudgetState, ...]) -> Iterator[None]:
    """The block runs with ``state`` open (inside the ones already open); a tuple (what
    :func:`current` gave another context) replaces them."""
    previous = _current.get()
    guards = state if isinstance(state, tuple) else (*previous, state)
    try:  # set inside it (as the deadline scope's): a Ctrl-C as it returns leaves none open
        _current.set(guards)
        yield
    finally:
        _current.set(previous)


@dataclass
class Ticket:
    """A submission reserved in the budgets: settle it with the ``POST``'s outcome."""

    client: IonQCancelClient
    entries: list[tuple[BudgetState, BudgetedJob]]

    def submitted(self, job_id: str | None) -> None:
        """``POST /jobs`` answered with ``job_id`` (``None``: no id in the answer)."""
        for state, record in self.entries:
            with state._lock:
                record.job_id = job_id
                record.status = "sent" if job_id else "lost"
                if job_id:
                    state._by_id[job_id] = record
            if job_id:
                state._claim(job_id, self.client)

    def refused(self) -> None:
        """IonQ refused the job: it does not exist, its reservation goes."""
        for state, record in self.entries:
            state._withdraw(record)

    def lost(self) -> None:
        """The ``POST`` failed without an answer: a job may exist; it stays counted."""
        for state, record in self.entries:
            with state._lock:
                record.status = "lost"


def reserve(client: IonQCancelClient, body: str) -> Ticket | None:
    """Before ``POST /jobs`` of ``body`` through ``client``: estimate it and reserve the
    estimate in every open budget that covers ``client`` (``None``: none does).

    Raises:
        BudgetExceededError: The estimate would take a budget past its limit, is in
            another unit, or could not be had (and the budget does not allow that).
            Nothing was sent.
    """
    states = [state for state in _current.get() if state.covers(client)]
    if not states:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        payload = {}
    query = count_payload(payload if isinstance(payload, dict) else {})
    estimate, unit, failure = _ask(client, query)
    ticket = Ticket(client, [])
    try:
        for state in reversed(states):  # innermost first: its limit is usually the tighter
            _check_estimate(state, query, estimate, unit, failure)
            record = BudgetedJob(None, query.backend, estimate if failure is None else None,
                                 query.approximate)
            state._reserve(record, query)
            ticket.entries.append((state, record))
    except BaseException:
        ticket.refused()
        raise
    return ticket


def _ask(client: IonQCancelClient, query: Estimate
         ) -> tuple[float | None, str | None, Exception | None]:
    """``GET /jobs/estimate`` for each distinct circuit, the figures times the circuits
    each stands for, added: (cost, unit, None), or (None, None, why not)."""
    total, units = 0.0, set()
    for params, circuits in query.parts:
        try:
            answer = client.estimate(params)
        except IonQRequestError as exc:
            return None, None, exc
        cost = answer.get("estimated_total_cost") if isinstance(answer, dict) else None
        unit = answer.get("estimated_unit") if isinstance(answer, dict) else None
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) \
                or not math.isfinite(cost) or cost < 0 or not isinstance(unit, str):
            return None, None, ValueError("the answer has no estimated_total_cost and "
                                          "estimated_unit")
        # The server's word, compared lower-cased: redacted first (the key lower-cased is
        # no longer the key the redactor looks for, and the unit is quoted in messages).
        unit = redact(unit, client.key).lower()
        total += float(cost) * circuits
        if cost:  # (nothing is nothing in any unit)
            units.add(unit)
    if len(units) > 1:
        return None, None, ValueError(f"its circuits are estimated in {' and '.join(units)}")
    if not math.isfinite(total):
        return None, None, ValueError("the estimates add up past any number")
    return round(total, 9), units.pop() if units else unit, None


def _check_estimate(state: BudgetState, query: Estimate, estimate: float | None,
                    unit: str | None, failure: Exception | None) -> None:
    if failure is not None:
        if state.allow_unestimated:
            logger.warning("Budget: the job on %s could not be estimated (%s); submitting "
                           "it counted as unknown", query.backend, failure)
            return
        raise BudgetExceededError(
            f"Budget: the job on {query.backend} could not be estimated (GET /jobs/estimate: "
            f"{failure}). Nothing was sent. Try again, or open the budget with "
            "allow_unestimated=True to submit jobs that cannot be estimated, counted as "
            "unknown.", estimate=None, committed=state.committed, limit=state.limit,
            unit=state.unit, backend=query.backend) from failure
    if estimate and unit != state.unit:  # nothing (a free job) is nothing in any unit
        raise BudgetExceededError(
            f"Budget: IonQ estimates the job on {query.backend} at {money(estimate)} {unit}, "
            f"but the budget is kept in {state.unit}. Nothing was sent. Open the budget "
            f"with unit={unit!r}.", estimate=estimate, committed=state.committed,
            limit=state.limit, unit=state.unit, backend=query.backend)


def watching() -> bool:
    """Whether some budget counts jobs whose status matters to it."""
    return bool(_owners)


def observe(job_id: object, status: object) -> None:
    """The client read ``job_id`` as ``status``: tell the budget that counts it."""
    if not _owners or not isinstance(job_id, str) or not isinstance(status, str):
        return  # no budget open: one truth test per job read
    with _owners_lock:
        states = list(_owners.get(job_id, ()))
    for state in states:
        state._settle(job_id, status)
