"""What the jobs a cancel stopped were expected to cost: IonQ's own figures, fetched beside
the cancel (``CancelReport.saved``).

A job's figure is the ``estimated_cost`` of ``GET /jobs/{id}/cost`` (IonQ's estimate of what
the job would cost, omitted for a job never priced). Jobs of one shape (backend, type,
qubits, shots, one- and two-qubit gate counts, error mitigation) share a price: the first
job of a shape is asked for its own figure, and one ``GET /jobs/estimate`` prices the
others of that shape, so 1,000 jobs of one shape cost two requests. Each figure says where
it came from (``job`` or ``estimate``). Simulator jobs are not asked: IonQ's document says
free targets such as simulators carry no price.

Nothing here changes a verdict: a price that cannot be had (no cost endpoint, a timeout, an
answer not understood, the deadline) leaves that job unpriced, with the reason.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .._core.deadline import SIGNAL_POLL, Deadline, adopt
from .._redact import redact
from ..exceptions import IonQRequestError, RetriesExhaustedError
from ..report import JobPrice, Saved
from ..retry import RetryPolicy
from .client import IonQCancelClient

__all__ = ["CLOCK_TOLERANCE", "PRICE_LIMIT", "PRICE_WAIT", "Pricer", "Shape",
           "cancelled_before", "shape_of"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: ``price=None`` (the default) prices a cancel of at most this many jobs, none above.
PRICE_LIMIT = 1000
#: Seconds the pricing may go on once every verdict is in (less when the call's deadline
#: comes first).
PRICE_WAIT = 10.0
#: A job IonQ shows canceled more than this many seconds before the call began was canceled
#: before it (the allowance is for the clocks of this machine and IonQ's).
CLOCK_TOLERANCE = 2.0
#: Requests in flight for prices at most, by default (they share the client's limit on
#: requests in flight with the cancel; ``cancel_jobs`` gives its own ``concurrency``).
PRICE_CONCURRENCY = 64
_JOB, _ESTIMATE = "job", "estimate"
#: Backends IonQ's document calls free ("free targets such as simulators"): never asked.
_FREE = ("simulator",)


@dataclass(frozen=True)
class Shape:
    """What ``GET /jobs/estimate`` prices a job by."""

    backend: str
    type: str
    qubits: int
    shots: int
    oneq: int
    twoq: int
    error_mitigation: bool

    def query(self) -> dict[str, str]:
        """The estimate's query."""
        return {"backend": self.backend, "type": self.type, "qubits": str(self.qubits),
                "shots": str(self.shots), "1q_gates": str(self.oneq),
                "2q_gates": str(self.twoq),
                "error_mitigation": "true" if self.error_mitigation else "false"}


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else None


def shape_of(job: Mapping[str, Any]) -> Shape | None:
    """The shape of a job object, or ``None`` when an estimate cannot stand for its price:
    several circuits, gates on three qubits or more, a dry run, figures missing."""
    stats = job.get("stats")
    if not isinstance(stats, Mapping) or job.get("dry_run") not in (False, None):
        return None
    counts = stats.get("gate_counts")
    backend, kind = job.get("backend"), job.get("type", "ionq.circuit.v1")
    qubits, shots = _count(stats.get("qubits")), _count(job.get("shots"))
    if not isinstance(counts, Mapping) or not isinstance(backend, str) or \
            not isinstance(kind, str) or not qubits or not shots or \
            stats.get("circuits", 1) != 1 or set(counts) - {"0q", "1q", "2q"}:
        return None
    oneq, twoq = _count(counts.get("1q", 0)), _count(counts.get("2q", 0))
    settings = job.get("settings")
    mitigation = settings.get("error_mitigation") if isinstance(settings, Mapping) else None
    if oneq is None or twoq is None or not isinstance(mitigation, (bool, type(None), Mapping)):
        return None
    on = bool(mitigation.get("debiasing")) if isinstance(mitigation, Mapping) else \
        bool(mitigation)
    return Shape(backend, kind, qubits, shots, oneq, twoq, on)


def predicted_seconds(job: Mapping[str, Any]) -> float | None:
    """``stats.predicted_quantum_compute_time_us`` in seconds, or ``None``; 0 on a simulator
    (its time is no QPU's: counted, 600 s simulator jobs made a cancel say it saved hours
    of quantum compute time)."""
    if str(job.get("backend") or job.get("target") or "").startswith("simulator"):
        return 0.0
    stats = job.get("stats")
    value = stats.get("predicted_quantum_compute_time_us") if isinstance(stats, Mapping) \
        else None
    micros = _count(value)
    return None if micros is None else micros / 1e6


def cancelled_before(job: Mapping[str, Any], started_wall: float) -> bool:
    """True when IonQ shows the job canceled (``completed_at``) more than
    :data:`CLOCK_TOLERANCE` seconds before ``started_wall`` (a POSIX time): before the call."""
    stamp = job.get("completed_at")
    when = _posix(stamp) if isinstance(stamp, str) else None
    return when is not None and when < started_wall - CLOCK_TOLERANCE


@functools.lru_cache(maxsize=1024)  # the jobs of one bulk cancel share their completed_at
def _posix(stamp: str) -> float | None:
    """An ISO-8601 time with a zone as POSIX seconds (``None``: not one)."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if when.tzinfo is None else when.timestamp()


def _failure(what: str, error: IonQRequestError) -> str:
    """Why a price request failed, in words shared by every job it failed for (no id)."""
    status = error.status_code
    if status is None and isinstance(error, RetriesExhaustedError) and error.history:
        status = error.history[-1].status  # the last attempt's answer, if one came
    if status is not None:
        return f"{what} answered HTTP {status}"
    return f"{what} got no answer in time"


class PriceUnreadable(ValueError):
    """An answer of the cost or estimate endpoint that says no price this client can read."""


def _figure(value: object, unit: object, source: str, what: str) -> JobPrice:
    # Only the types of what came back are named: an answer may echo anything.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0:
        raise PriceUnreadable(f"{what} gave a value ({type(value).__name__}) that is not a "
                              "price")
    if not isinstance(unit, str) or not unit.strip().isalpha() or len(unit) > 20:
        raise PriceUnreadable(f"{what} gave a unit ({type(unit).__name__}) that is not a "
                              "currency")
    # (redacted before it is lower-cased: the key lower-cased is not what the redactor
    # looks for; the live clients' keys are the ones a price request was sent with)
    return JobPrice(float(value), redact(unit.strip()).lower(), source)


def parse_cost(answer: object) -> JobPrice | None:
    """A job's figure from ``GET /jobs/{id}/cost``; ``None`` when IonQ gives it no price."""
    what = "GET /jobs/{id}/cost"
    if not isinstance(answer, Mapping):
        raise PriceUnreadable(f"{what} answered something that is not an object")
    estimated = answer.get("estimated_cost")
    if estimated is None:
        return None
    if not isinstance(estimated, Mapping):
        raise PriceUnreadable(f"{what} answered an estimated_cost that is not an object")
    return _figure(estimated.get("value"), estimated.get("unit"), _JOB, what)


def parse_estimate(answer: object, shape: Shape) -> JobPrice:
    """The figure of ``GET /jobs/estimate`` for one job of ``shape``."""
    what = f"GET /jobs/estimate for {shape.backend}"
    if not isinstance(answer, Mapping):
        raise PriceUnreadable(f"{what} answered something that is not an object")
    return _figure(answer.get("estimated_total_cost"), answer.get("estimated_unit"),
                   _ESTIMATE, what)


@dataclass
class _Group:
    """Jobs of one shape: the first asked for its own figure, the rest by one estimate."""

    probe: Future[JobPrice | None]
    members: list[str] = field(default_factory=list)
    estimate: Future[JobPrice] | None = None


class Pricer:
    """Prices the jobs a ``cancel_jobs`` call cancelled, beside the cancel, in its own
    pool (so a price never waits in line before a cancel), on the call's client (its rate
    gate and limit on requests in flight) and under the call's deadline."""

    def __init__(self, client: IonQCancelClient, deadline: Deadline,
                 concurrency: int = PRICE_CONCURRENCY) -> None:
        self.client = client
        self.deadline = deadline
        policy = client.retry_policy
        # An optional read: two attempts, 10 s at most (within the call's deadline).
        self.policy: RetryPolicy = replace(
            policy, max_attempts=min(2, policy.max_attempts or 2)).with_deadline(
            min(policy.deadline, PRICE_WAIT))
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="ionq-price",
                                        initializer=adopt, initargs=(deadline,))
        self._lock = threading.Lock()
        self._own: dict[str, Future[JobPrice | None]] = {}  # job -> its own figure
        self._groups: dict[Shape, _Group] = {}
        self._member: dict[str, Shape] = {}  # job -> its shape, when an estimate prices it
        self._free: list[str] = []
        self.missing: str | None = None  # the cost endpoint is missing: why
        # Prices asked for and not settled (answered, failed or dropped): the wait sleeps on
        # this count, where futures.wait would hook into every pending future each 0.1 s.
        self._idle = threading.Condition()
        self._open = 0

    def add(self, job_id: str, job: Mapping[str, Any]) -> None:
        """Price ``job_id`` (its job object as read back), without waiting."""
        if job.get("backend") in _FREE:
            with self._lock:
                self._free.append(job_id)
            return
        shape = shape_of(job)
        with self._lock:
            group = self._groups.get(shape) if shape is not None else None
            if shape is None or group is None:
                probe = self._submit(self._own_figure, job_id)
                if probe is None:
                    return
                self._own[job_id] = probe
                if shape is not None:
                    self._groups[shape] = _Group(probe)
                return
            group.members.append(job_id)
            self._member[job_id] = shape
            if group.estimate is None:
                group.estimate = self._submit(self._estimate, shape)

    def _submit(self, fn: Any, arg: Any) -> Future[Any] | None:
        try:
            future: Future[Any] = self._pool.submit(fn, arg)
        except RuntimeError:  # the pool was shut down: the call is stopping
            return None
        with self._idle:
            self._open += 1
        future.add_done_callback(self._settled)  # (at once if it is done already)
        return future

    def _settled(self, _: Future[Any]) -> None:
        with self._idle:
            self._open -= 1
            if not self._open:
                self._idle.notify_all()

    def _own_figure(self, job_id: str) -> JobPrice | None:
        if self.missing is not None:
            raise PriceUnreadable(self.missing)
        try:
            return parse_cost(self.client.job_cost(job_id, policy=self.policy))
        except IonQRequestError as exc:
            if exc.status_code in (404, 405):  # an existing job: the endpoint is missing
                self.missing = (f"the server has no cost endpoint (GET /jobs/{{id}}/cost "
                                f"answered HTTP {exc.status_code})")
                raise PriceUnreadable(self.missing) from exc
            raise PriceUnreadable(_failure("GET /jobs/{id}/cost", exc)) from exc

    def _estimate(self, shape: Shape) -> JobPrice:
        try:
            return parse_estimate(self.client.estimate(shape.query(), policy=self.policy),
                                  shape)
        except IonQRequestError as exc:
            raise PriceUnreadable(_failure("GET /jobs/estimate", exc)) from exc

    def stop(self) -> None:
        """Drop the prices not asked for yet (the call is stopping)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wait(self) -> None:
        """Wait for the prices asked for, :data:`PRICE_WAIT` seconds at most (less when the
        call's deadline comes first); an estimate that failed has its jobs asked one by
        one, if time is left. Ctrl-C is let in every 0.1 s."""
        limit = self.deadline.within(PRICE_WAIT)
        self._wait(limit)
        if limit.expired or limit.interrupted:
            return
        # An estimate that failed: its jobs are asked one by one, if time is left.
        with self._lock:
            retry = [g for g in self._groups.values() if g.estimate is not None and
                     g.estimate.done() and g.estimate.exception() is not None]
            for group in retry:
                for job_id in group.members:
                    self._member.pop(job_id, None)
                    own = self._submit(self._own_figure, job_id)
                    if own is not None:
                        self._own[job_id] = own
                group.members = []
        if retry:
            self._wait(limit)

    def result(self, counted: list[str]) -> Saved:
        """The figures of the ``counted`` jobs, as far as they are in (call :meth:`wait`
        first); the prices not in are dropped. A price request still in flight is left to
        end on its own (10 s at most): cutting it would cut every request of the client,
        whoever sent it."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        return self._saved(counted)

    def _wait(self, limit: Deadline) -> None:
        """Wait for every price asked for, until ``limit`` (waking to let Ctrl-C in)."""
        with self._idle:
            while self._open and not limit.expired and not limit.interrupted:
                self._idle.wait(min(SIGNAL_POLL, limit.remaining))

    def _figure_of(self, job_id: str) -> tuple[JobPrice | None, str | None]:
        """A job's figure, or ``None`` and why (``None`` too: IonQ gives it no price)."""
        own = self._own.get(job_id)
        if own is not None:
            return self._outcome(own)
        shape = self._member.get(job_id)
        group = None if shape is None else self._groups[shape]
        if shape is None or group is None or group.estimate is None:
            return None, "not asked for"
        figure, why = self._outcome(group.probe)
        if why is None and figure is None:
            return None, None  # IonQ gives the first job of this shape no price
        estimate, why_not = self._outcome(group.estimate)
        if estimate is None:
            return None, why_not or f"no estimate for {shape.backend}"
        return estimate, None

    def _outcome(self, future: Future[Any]) -> tuple[Any, str | None]:
        if not future.done():
            return None, "no answer before the deadline"
        if future.cancelled():
            return None, "not asked for: the call stopped"
        error = future.exception()
        if error is None:
            return future.result(), None
        if isinstance(error, PriceUnreadable):
            return None, str(error)
        return None, f"pricing failed ({type(error).__name__})"

    def _saved(self, counted: list[str]) -> Saved:
        saved = Saved()
        free = set(self._free)
        failures: dict[str, int] = {}
        with self._lock:
            for job_id in counted:
                if job_id in free:
                    saved.free.append(job_id)
                    continue
                figure, why = self._figure_of(job_id)
                if figure is not None:
                    saved.figures[job_id] = figure
                elif why is None:
                    saved.free.append(job_id)
                else:
                    failures[why] = failures.get(why, 0) + 1
        if self.deadline.interrupted and failures:
            failures = {"the call was interrupted": sum(failures.values())}
        saved.settle(failures)
        return saved
