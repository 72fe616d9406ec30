"""``acancel()`` and ``acancel_jobs()``: the cancels, awaitable from asyncio.

They are ``cancel()`` and ``cancel_jobs()`` themselves, run in worker threads (the same
transport: one pooled session per client, its rate gate, retries and deadline scope); the
awaiting task waits on an asyncio future and the event loop never blocks.

**Coalescing.** The ``acancel()`` calls made before the event loop comes round again (as a
DataLoader gathers the loads of one tick; :data:`COALESCE_WINDOW` seconds more, if set) are
one ``cancel_jobs()`` call: a ``gather()`` of 100 ``acancel()`` calls costs about what
``cancel_jobs()`` of the 100 ids costs, where 100 single cancels would send 200 requests.
Calls are gathered only when they share the event loop, the client (the provider's, the
job's own, or the environment's) and the ``deadline`` argument; the batch's deadline starts
with its first call, so no call waits past its own deadline. ``verify`` is not part of that
key: ``cancel_jobs()`` reads every job back, which is what ``verify=True`` asks for. Each
caller gets the verdict of its own job's row, or that row's error. Inputs that are not
plain ids or jobs of this package's client (primitive jobs, qiskit-ionq's own clients, a
call inside an open deadline scope) are cancelled alone, with ``cancel()`` in a thread.

**Cancellation.** Cancelling the awaiting task (``asyncio.timeout``, ``wait_for``,
``task.cancel()``) interrupts the call's deadline scope, as Ctrl-C does for the blocking
forms: every wait wakes, every request in flight is cut, and the worker threads stop within
about a second. The jobs whose cancel was in flight are then reported, never left silently
running: a WARNING names the jobs not settled, and ``acancel_jobs()``'s ``CancelledError``
carries the partial report as its ``report`` (with ``asyncio.timeout`` and ``wait_for``, the
``TimeoutError``'s ``__cause__``; on Python 3.10, that one's ``__context__``). A coalesced
``acancel()`` whose task is cancelled leaves its batch running for the other callers; when
every caller of a batch is gone, the batch is interrupted.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.helpers import resolve_credentials
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._core import offload
from ._core.composite import CompositeJob, HasIonQJobs
from ._core.deadline import Deadline, current, derive, entered
from ._core.validation import validate_job_id
from ._http.client import IonQCancelClient
from .bulk import BULK_CHUNK, CONCURRENCY, cancel_jobs
from .exceptions import InvalidJobIdError, IonQRequestError, NoAnswerError
from .report import CancelReport
from .single import HasClient, cancel

__all__ = ["COALESCE_WINDOW", "acancel", "acancel_jobs"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: Seconds an ``acancel()`` waits for other calls to share its requests with, past the
#: calls made before the event loop comes round again (0: those only, as a DataLoader's
#: tick). A ``gather()`` makes all its calls in one turn of the loop; a wait of 2 ms added
#: 2 ms to a 100-job ``cancel_jobs()`` of 4 to 6 ms on loopback (benchmarks/bench_async.py).
COALESCE_WINDOW = 0.0
#: Job ids named in one warning at most.
_NAMED = 20

T = TypeVar("T")
Cancellable = StockIonQJob | CompositeJob | HasIonQJobs | str


async def acancel(job_or_id: Cancellable, *, provider: HasClient | None = None,
                  deadline: float | None = None, verify: bool = False) -> bool:
    """Cancel one IonQ job and say what really happened: `cancel`, awaitable.

    Same arguments, verdict and exceptions as `cancel`. Concurrent calls are gathered into
    bulk requests (see the module's docstring); each still gets its own job's verdict, or
    the error about its own job. Input that names no job raises before anything is sent.

    Args:
        job_or_id: A job of this package, a plain ``qiskit_ionq.IonQJob``, a primitive job
            (this package's, or qiskit-ionq's own), or a job id.
        provider: For a job id: the provider whose URL and key to use; ``None``:
            ``IONQ_API_KEY`` / ``IONQ_API_URL`` from the environment.
        deadline: Seconds the whole call may take, from the call; ``None``: the retry
            policy's deadline.
        verify: Read the job back even after IonQ's clean answer (a gathered call always
            is: ``cancel_jobs`` reads every job back).

    Returns:
        ``True`` if the job is cancelled afterwards, ``False`` if it had already finished
        otherwise (completed or failed).

    Raises:
        asyncio.CancelledError: The awaiting task was cancelled: the cancel is interrupted
            (unless other calls share it) and a WARNING says what became of the job.
        IonQCancelError: As `cancel`: `InvalidJobIdError`, `JobNotSubmittedError`,
            `NoAnswerError` (the outcome is unknown), `RefusedError`,
            `CancelNotConfirmedError`, `BatchCancelError`.
    """
    joined = _join(job_or_id, provider, deadline, verify)
    if isinstance(joined, bool):
        return joined  # final locally: no request, as cancel()
    if joined is None:
        return await _offloaded(
            lambda: cancel(job_or_id, provider=provider, deadline=deadline, verify=verify),
            lambda outcome: _stopped_alone(job_or_id, outcome))
    batch, waiter = joined
    try:
        return await waiter
    except asyncio.CancelledError:
        batch.left(waiter)
        raise


async def acancel_jobs(
    jobs_or_ids: Iterable[Cancellable] | Cancellable | None = None,
    *,
    provider: HasClient | None = None,
    status: str | None = None,
    target: str | None = None,
    session_id: str | None = None,
    progress: bool = False,
    deadline: float | None = None,
    chunk_size: int = BULK_CHUNK,
    concurrency: int = CONCURRENCY,
    price: bool | None = None,
) -> CancelReport:
    """Cancel many IonQ jobs and report what each one really is afterwards: `cancel_jobs`,
    awaitable.

    Same arguments, report and exceptions as `cancel_jobs`; it runs in a worker thread.
    When the awaiting task is cancelled, the call stops as on Ctrl-C: the requests in
    flight are cut, the worker threads stop, and the ``CancelledError`` goes on carrying
    the partial report as its ``report`` (every input in it: the jobs not settled in its
    ``errors`` if a cancel was sent, else in ``not_reached``), named in a WARNING too.

    Args:
        jobs_or_ids: Jobs and/or ids, as for `cancel_jobs` (an iterable is read in the
            worker thread).
        provider: Gives the URL and key; ``None``: the first job's own, else
            ``IONQ_API_KEY`` / ``IONQ_API_URL``.
        status: Filter: jobs with this IonQ status.
        target: Filter: jobs on this backend.
        session_id: Filter: jobs of this session.
        progress: Show a tqdm progress bar.
        deadline: Seconds the whole call may take.
        chunk_size: Ids per bulk cancel request.
        concurrency: Requests in flight at most.
        price: Say what the cancel saved (``report.saved``), as for `cancel_jobs`:
            ``None`` on for up to 1,000 jobs to cancel.

    Returns:
        The `CancelReport`: every job given, exactly once, in input order.

    Raises:
        asyncio.CancelledError: The awaiting task was cancelled (with ``report``).
        InvalidSelectionError: As `cancel_jobs` (nothing was sent).
        ValueError: ``chunk_size`` or ``concurrency`` is below 1.
        IonQRequestError: With a filter, the listing failed (no job was cancelled).
    """
    return await _offloaded(
        lambda: cancel_jobs(jobs_or_ids, provider=provider, status=status, target=target,
                            session_id=session_id, progress=progress, deadline=deadline,
                            chunk_size=chunk_size, concurrency=concurrency, price=price),
        _stopped_batch)


# -- a call in a thread of its own -------------------------------------------------------------

async def _offloaded(call: Callable[[], T],
                     stopped: Callable[[T | BaseException], object]) -> T:
    """``call()`` in a worker thread, under a deadline scope of its own (within any open
    one). If the awaiting task is cancelled, the scope is interrupted, the thread waited
    for (it stops within about a second), ``stopped`` told what it came to, and the
    ``CancelledError`` raised, with whatever ``stopped`` returned as ``report`` if not
    ``None``."""
    stop = derive(None)

    def work() -> T:
        with entered(stop):
            return call()

    running = offload.start(work, "ionq-cancel-aio")
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError as cancelled:
        stop.interrupt()  # every wait wakes, every request in flight is cut
        await offload.wait_out(running)  # a second cancellation: this one is raised
        error = running.exception()
        report = stopped(running.result() if error is None else error)
        if report is not None:
            cancelled.report = report  # type: ignore[attr-defined]  # the partial report
        raise


def _stopped_batch(outcome: CancelReport | BaseException) -> CancelReport | None:
    """What a cancelled ``acancel_jobs`` came to, logged; its report, if it has one (an
    exception of ``cancel_jobs`` carries its report when it has begun)."""
    if not isinstance(outcome, CancelReport) and isinstance(
            carried := getattr(outcome, "report", None), CancelReport):
        outcome = carried
    if not isinstance(outcome, CancelReport):
        logger.warning("acancel_jobs stopped, its task cancelled, before it cancelled any "
                       "job (%s: %s)", type(outcome).__name__, outcome)
        return None
    _warn_unsettled("acancel_jobs", outcome)
    return outcome


def _stopped_alone(job: object, outcome: bool | BaseException) -> None:
    """What a cancelled ``acancel`` of one job (not gathered) came to, logged."""
    name = _name(job)
    if isinstance(outcome, bool):
        logger.info("acancel of %s: its task was cancelled, but the cancel had gone "
                    "through (%s)", name, "cancelled" if outcome else "it had finished")
    else:
        logger.warning("acancel of %s stopped, its task cancelled, before the outcome was "
                       "known (%s: %s); the job may still be running: cancel it again", name,
                       type(outcome).__name__, outcome)


def _name(job: object) -> str:
    """How a log record names a job: its id (never the input as given, which could be the
    API key pasted where an id belongs)."""
    if isinstance(job, str):
        try:
            return f"job {validate_job_id(job)}"
        except InvalidJobIdError:
            return "an invalid job id"
    job_id = getattr(job, "job_id", None)
    return f"job {job_id()}" if callable(job_id) else f"a {type(job).__name__}"


def _warn_unsettled(what: str, report: CancelReport, *, only: Iterable[str] | None = None
                    ) -> None:
    """Log the jobs of ``report`` (of ``only`` those) not settled when the awaiting task was
    cancelled: a WARNING naming them (they may still be running), else an INFO line."""
    keys = report.failed + list(report.not_reached)  # not the not-found or invalid ones
    if only is not None:
        wanted = set(only)
        keys = [k for k in keys if k in wanted]
    if not keys:
        logger.info("%s: its task was cancelled after every job was settled (%s)", what,
                    report.summary())
        return
    named = ", ".join(keys[:_NAMED]) + (f" and {len(keys) - _NAMED} more"
                                        if len(keys) > _NAMED else "")
    logger.warning("%s stopped, its task cancelled: %s. Not settled, so possibly still "
                   "running (cancel them again): %s", what, report.summary(), named)


# -- coalescing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Via:
    """A provider-like holder of the client a batch sends with."""

    client: IonQCancelClient


class _Gathered:
    """``acancel()`` calls gathered into one ``cancel_jobs()`` call. Gathered, flushed and
    answered on the loop's thread; the call runs in a worker thread, which also reports
    the jobs of the callers that left (their loop may be gone by then)."""

    def __init__(self, key: tuple[object, ...], client: IonQCancelClient, own: bool,
                 deadline: float | None) -> None:
        self.key = key
        self.client = client
        self.own = own  # made for this batch (from the environment): closed after it
        seconds = client.retry_policy.with_deadline(deadline).deadline  # checked, as cancel()
        #: The batch's deadline: from its first call, so that none waits past its own.
        self.limit = Deadline(seconds, client.retry_policy.clock)
        self.items: list[StockIonQJob | str] = []
        self.waiters: list[tuple[str, asyncio.Future[bool]]] = []
        self._lock = threading.Lock()
        self._gone: list[str] = []  # the jobs of the callers whose task was cancelled
        self._done = False
        self._report: CancelReport | None = None
        self._error: BaseException | None = None
        self.loop = asyncio.get_running_loop()
        self.loop.call_later(COALESCE_WINDOW, self._flush)

    def join(self, item: StockIonQJob | str, job_id: str) -> asyncio.Future[bool]:
        waiter: asyncio.Future[bool] = self.loop.create_future()
        self.items.append(item)
        self.waiters.append((job_id, waiter))
        return waiter

    def left(self, waiter: asyncio.Future[bool]) -> None:
        """A caller's task was cancelled: its job is reported once the batch is done; once
        no caller is left, the batch is interrupted (before it is sent: it sends nothing)."""
        job_id = next(job_id for job_id, mine in self.waiters if mine is waiter)
        with self._lock:
            self._gone.append(job_id)
            done, everyone = self._done, len(self._gone) == len(self.waiters)
        if done:
            _report_gone(self._report, self._error, [job_id])
        elif everyone:
            if _gathering.get(self.key) is self:  # a call coming now starts a batch anew
                del _gathering[self.key]
            self.limit.interrupt()

    def _flush(self) -> None:
        if _gathering.get(self.key) is self:
            del _gathering[self.key]
        offload.start(self._work, "ionq-cancel-acancel").add_done_callback(self._deliver)

    def _work(self) -> CancelReport:
        report: CancelReport | None = None
        error: BaseException | None = None
        try:
            with entered(self.limit):
                report = cancel_jobs(self.items, provider=_Via(self.client))
            return report
        except BaseException as exc:
            error = exc
            raise
        finally:
            if self.own:
                self.client.close()
            with self._lock:
                self._done, self._report, self._error = True, report, error
                gone = list(self._gone)
            if gone:
                _report_gone(report, error, gone)

    def _deliver(self, running: asyncio.Future[CancelReport]) -> None:
        """Each caller still waiting gets its own job's verdict, or the error about it."""
        error = running.exception()
        for job_id, waiter in self.waiters:
            if waiter.done():
                continue
            outcome = _own(error, job_id) if error is not None else _outcome(
                running.result(), job_id)
            if isinstance(outcome, bool):
                waiter.set_result(outcome)
            else:
                waiter.set_exception(outcome)


def _report_gone(report: CancelReport | None, error: BaseException | None,
                 gone: list[str]) -> None:
    """Log what became of the jobs of ``acancel`` calls whose task was cancelled."""
    if report is not None:
        _warn_unsettled("acancel", report, only=gone)
        return
    logger.warning("acancel stopped, its task cancelled (%s: %s). Not settled, so possibly "
                   "still running (cancel them again): %s", type(error).__name__, error,
                   ", ".join(gone[:_NAMED]))


#: The batches gathering calls now, by (loop, client, deadline argument).
_gathering: dict[tuple[object, ...], _Gathered] = {}


def _join(job_or_id: Cancellable, provider: HasClient | None, deadline: float | None,
          verify: bool) -> bool | tuple[_Gathered, asyncio.Future[bool]] | None:
    """Check the input and join (or start) its batch: the batch and this call's future; a
    verdict already known locally; ``None`` when the call is not gathered."""
    if current() is not None:  # inside an open deadline scope: cancel() nests in it
        return None
    client: IonQCancelClient | None
    item: StockIonQJob | str
    creds: dict[str, str | None] = {}
    key: tuple[object, ...]
    if isinstance(job_or_id, StockIonQJob):
        job_id = job_or_id.job_id()
        mine = upstream.job_client(job_or_id)
        if not job_id or not isinstance(mine, IonQCancelClient):
            return None  # not submitted (cancel() says so), or qiskit-ionq's own client
        local = upstream.local_status(job_or_id)
        if local in JOB_FINAL_STATES:
            if not (verify and local is JobStatus.CANCELLED):
                return local is JobStatus.CANCELLED
            return None  # asked again: cancel() does (cancel_jobs takes it as settled)
        client, item, key = mine, job_or_id, (id(mine),)
    elif isinstance(job_or_id, str):
        if provider is None:
            creds = resolve_credentials()  # (it reads .env files: 80 us, once a call)
            job_id = validate_job_id(job_or_id, creds["token"])
            client, key = None, ("environment", creds["token"], creds["url"])  # made below
        else:
            client = provider.client
            job_id = client.check_id(job_or_id)
            key = (id(client),)
        item = job_id
    else:
        return None  # primitive jobs, and anything cancel() refuses
    loop = asyncio.get_running_loop()
    key = (loop, *key, deadline)
    batch = _gathering.get(key)
    if batch is None:
        own = client is None
        if client is None:  # as cancel() makes one from the environment
            client = IonQCancelClient(creds["token"], creds["url"])
        try:
            batch = _Gathered(key, client, own, deadline)
        except BaseException:
            if own:
                client.close()
            raise
        _gathering[key] = batch
    return batch, batch.join(item, job_id)


def _outcome(report: CancelReport, job_id: str) -> bool | BaseException:
    """One job's verdict from a batch's report, or the error about it."""
    status = report.statuses.get(job_id)
    if status is not None:
        return status is JobStatus.CANCELLED
    error = report.errors.get(job_id)
    if error is not None:
        return _own(error, job_id)
    why = report.not_reached.get(job_id, "no outcome was recorded")
    return NoAnswerError(f"Cancelling job: no cancel was sent ({why})", job_id=job_id,
                         hint="The job is as it was: cancel it again (with a longer deadline "
                         "if it ran out)")


def _own(error: BaseException, job_id: str) -> BaseException:
    """A request's error as one caller's: a copy naming its job when the request served
    several (a refused key fails every job of a bulk cancel with one error). One object
    raised in several tasks would also share, and grow, one traceback."""
    if not isinstance(error, IonQRequestError) or error.job_id == job_id:
        return error
    own = copy.copy(error)
    own.job_id = job_id
    own.args = (f"Job {job_id}, sent in one request with other jobs: {error.message}",)
    own.message = own.args[0]
    return own
