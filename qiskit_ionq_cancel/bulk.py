"""``cancel_jobs()``: cancel many jobs fast, then read every one back before reporting it.

The plan for each window of ids:

1. bulk ``PUT /jobs/status/cancel`` in chunks, several in flight;
2. read every job back with ``GET /jobs?ids=...`` in short chunks (the bulk answer's echo of
   ids proves nothing about any one job);
3. single-job cancels, concurrent, for whatever the bulk path did not settle: a chunk the bulk
   endpoint refused, jobs still not final when read back, chunks that could not be read back.
   When the bulk endpoint is missing (404/405), every later chunk goes straight to step 3.

All requests share one client, so one rate gate: a 429 anywhere slows the whole batch.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sized
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, NamedTuple, cast

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._core.composite import CompositeJob, HasIonQJobs
from ._core.deadline import Interrupted, adopt, completed, derive, entered, result_of
from ._core.progress import Progress
from ._core.validation import check_selection, validate_job_id
from ._core.verdict import verdict
from ._http.client import READ_CHUNK, CancelOutcome, IonQCancelClient
from ._http.pricing import PRICE_LIMIT, Pricer, cancelled_before, predicted_seconds
from ._redact import redact
from .exceptions import (
    AuthenticationError,
    CancelNotConfirmedError,
    InvalidJobIdError,
    IonQRequestError,
    JobNotSubmittedError,
    NoAnswerError,
    UnknownJobStatusError,
    UsageError,
)
from .report import CancelReport, Saved
from .single import HasClient, apply_outcome, client_for, env_api_key

__all__ = ["BULK_CHUNK", "CONCURRENCY", "PRICE_LIMIT", "VERIFY_CHUNK", "cancel_jobs"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: Ids per bulk cancel request (a 37 kB body). IonQ publishes no limit: a chunk it refuses
#: is split in halves, down to SPLIT_MIN ids, below which its jobs are cancelled one by one.
BULK_CHUNK = 1000
SPLIT_MIN = 16
#: Ids per read-back ``GET /jobs?ids=...`` (fewer once the server is seen to cap its pages).
VERIFY_CHUNK = READ_CHUNK
#: Requests in flight at most (the client's adaptive limit decides how many below that).
CONCURRENCY = 64
#: Ids handled per window: bounds memory for very long inputs.
WINDOW = 20_000
#: Seconds the workers get, once the call is interrupted, to wake and stop (each wait wakes
#: at once, each request in flight is cut): past it, a worker stuck where nothing can wake it
#: (a DNS lookup) is left behind and its jobs reported as not settled.
STOP_GRACE = 0.5


def cancel_jobs(
    jobs_or_ids: Iterable[StockIonQJob | CompositeJob | HasIonQJobs | str] | StockIonQJob
    | CompositeJob | HasIonQJobs | str | None = None,
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
    """Cancel many IonQ jobs and report what each one really is afterwards.

    Give jobs, or instead a filter (``status``, ``target``, ``session_id``), which lists the
    matching jobs first. Every job is read back before it is reported. Job objects passed in
    get their local status updated. It never raises for one job's failure: see
    ``CancelReport.raise_for_errors()``. On ``KeyboardInterrupt`` (or ``SystemExit``) the
    requests in flight are stopped and the exception goes on, carrying the partial report
    as its ``report`` attribute: every input is in it, the jobs not settled in its
    ``errors`` (a cancel was sent) or ``not_reached`` (none was).

    Args:
        jobs_or_ids: ``IonQJob`` objects and/or ids, in any mix (or a single one); a job
            given twice is one row; an invalid id is reported (keyed ``#<position>
            <repr>``), not fatal to the others. A primitive job of this package stands for
            the IonQ jobs it submitted; one that has submitted none is reported
            ``CANCELLED`` under its own id with a note that no IonQ job existed (it will
            submit nothing). A primitive job of
            qiskit-ionq's ``IonQSampler`` / ``IonQEstimator`` stands for its ``ionq_jobs``.
        provider: Gives the URL and key; ``None``: the first job's own, else
            ``IONQ_API_KEY`` / ``IONQ_API_URL``.
        status: Filter: jobs with this IonQ status (``"submitted"``, ``"ready"`` or
            ``"started"``).
        target: Filter: jobs on this backend (such as ``"simulator"``).
        session_id: Filter: jobs of this session.
        progress: Show a tqdm progress bar.
        deadline: Seconds the whole call may take, a filter's listing included; jobs
            whose cancel was sent but not settled by then are reported in ``errors``, jobs
            never sent a cancel in ``not_reached``. ``None``: no bound on the whole
            call (each request keeps the retry policy's deadline).
        chunk_size: Ids per bulk cancel request.
        concurrency: Requests in flight at most (the client's adaptive limit decides how
            many below that).
        price: Say what the jobs this call cancelled were expected to cost
            (``report.saved``: IonQ's estimate, not a refund), from ``GET /jobs/{id}/cost``
            and ``GET /jobs/estimate``, fetched beside the cancel within its deadline; it
            never delays or changes a verdict. ``None`` (default): on for up to
            :data:`PRICE_LIMIT` (1,000) jobs to cancel, off above that; ``True``: always;
            ``False``: never (``saved`` still counts the jobs and their predicted quantum
            compute time, which need no request).

    Returns:
        The `CancelReport`: every job given, exactly once, in input order.

    Raises:
        InvalidSelectionError: Both jobs and a filter, neither, or a filter that cannot
            select a cancellable job (nothing was sent).
        ValueError: ``chunk_size`` or ``concurrency`` is below 1.
        UsageError: ``price`` is not ``True``, ``False`` or ``None``.
        IonQRequestError: With a filter, the listing failed (no job was cancelled).
    """
    inputs, started = _Inputs(), list[_Batch]()  # (nothing read or sent before the try)
    try:
        if chunk_size < 1 or concurrency < 1:
            raise ValueError("chunk_size and concurrency must be at least 1")
        if price is not None and not isinstance(price, bool):
            raise UsageError(f"price must be True, False or None (on for up to "
                             f"{PRICE_LIMIT:,} jobs), not a {type(price).__name__}; nothing "
                             "was sent")
        check_selection(jobs_or_ids is not None, status, target, session_id,
                        secret=provider.client.key if provider else env_api_key())
        return _cancel_batch(inputs, jobs_or_ids, started, provider=provider, status=status,
                             target=target, session_id=session_id, progress=progress,
                             deadline=deadline, chunk_size=chunk_size,
                             concurrency=concurrency, price=price)
    except BaseException as exc:
        # The one place a Ctrl-C or SIGTERM gets its report, wherever it landed: before the
        # batch began (nothing sent: every input not reached), in it, or while it closed.
        if not isinstance(exc, Exception) and not isinstance(getattr(exc, "report", None),
                                                             CancelReport):
            why = f"interrupted ({type(exc).__name__})"
            exc.report = (  # type: ignore[attr-defined]
                started[0].close_interrupted(why) if started else _unstarted(
                    inputs.items(jobs_or_ids),
                    provider.client.key if provider else env_api_key(), why))
        raise


def _cancel_batch(inputs: _Inputs, jobs_or_ids: Iterable[StockIonQJob | CompositeJob |
                                                         HasIonQJobs | str] | StockIonQJob
                  | CompositeJob | HasIonQJobs | str | None, started: list[_Batch], *,
                  provider: HasClient | None, status: str | None, target: str | None,
                  session_id: str | None, progress: bool, deadline: float | None,
                  chunk_size: int, concurrency: int, price: bool | None) -> CancelReport:
    """``cancel_jobs`` once its arguments are checked; the batch it starts is appended to
    ``started`` as soon as it exists."""
    filtering = jobs_or_ids is None
    first = inputs.read(jobs_or_ids)
    if isinstance(first, CompositeJob):
        jobs = first.ionq_jobs()
        first = jobs[0] if jobs else None
    elif (parts := upstream.primitive_ionq_jobs(first)) is not None:
        first = parts[0] if parts else None
    client, own = client_for(provider, cast("StockIonQJob | str | None", first))
    items = inputs.items(jobs_or_ids)
    try:
        batch = _Batch(client, deadline, concurrency, chunk_size, progress, price, items)
        started.append(batch)
    except BaseException:
        if own:
            client.close()
        raise
    try:
        if filtering:
            # All ids are listed before any is cancelled: cancelling while paging could make
            # a cursor skip jobs, depending on how IonQ's cursors work (undocumented).
            with entered(batch.deadline):
                listed = [job["id"] for job in client.cancellable_jobs(
                    status=status, target=target, session_id=session_id)]
            batch.progress.start(len(listed))
            batch.run(enumerate(listed))
        else:
            batch.progress.start(len(jobs_or_ids) if isinstance(jobs_or_ids, Sized) else None)
            batch.run(items)
        if batch.pricer is not None:  # every verdict is in: the prices still coming
            batch.pricer.wait()
    except Interrupted:  # from another thread (the task awaiting acancel_jobs cancelled)
        batch.stop("interrupted")  # as on Ctrl-C, but the report is returned
    except Exception as exc:  # a bug or an unforeseen failure: still report every job
        if not batch.accepted:
            raise  # nothing to report (the listing failed, say)
        logger.exception("cancel_jobs stopped early; the jobs not settled are reported")
        batch.stop(f"cancel_jobs stopped early ({type(exc).__name__})")
    except BaseException as exc:  # Ctrl-C, SIGTERM: stop the requests in flight at once
        batch.deadline.interrupt()  # every worker's wait ends, every request is cut
        batch.stop(f"interrupted ({type(exc).__name__})")
        exc.report = batch.report  # type: ignore[attr-defined]  # the partial report
        raise
    finally:
        try:
            batch.close()
        finally:
            if own:
                client.close()
    return batch.report


def _given(jobs_or_ids: Iterable[StockIonQJob | CompositeJob | HasIonQJobs | str]
           | StockIonQJob | CompositeJob | HasIonQJobs | str | None
           ) -> Iterable[StockIonQJob | CompositeJob | HasIonQJobs | str]:
    """The inputs of ``cancel_jobs`` as one iterable (nothing read yet)."""
    if jobs_or_ids is None:
        return ()
    if isinstance(jobs_or_ids, (str, StockIonQJob, CompositeJob)):
        return [jobs_or_ids]
    if (parts := upstream.primitive_ionq_jobs(jobs_or_ids)) is not None:
        return parts  # one qiskit-ionq IonQPrimitiveJob: its IonQ jobs
    return cast("Iterable[StockIonQJob | CompositeJob | HasIonQJobs | str]", jobs_or_ids)


class _Inputs:
    """The inputs of one ``cancel_jobs`` call, read once. The first is peeked at (its client
    may serve the batch) without losing it, even if it is a falsy id such as None or ""
    (those are reported as invalid, like any other)."""

    def __init__(self) -> None:
        self.head: list[StockIonQJob | CompositeJob | HasIonQJobs | str] = []
        self.rest: Iterator[StockIonQJob | CompositeJob | HasIonQJobs | str] | None = None

    def read(self, jobs_or_ids: Any) -> StockIonQJob | CompositeJob | HasIonQJobs | str | None:
        """Start reading; the first input (``None`` if there is none)."""
        self.rest = iter(_given(jobs_or_ids))
        self.head.extend(itertools.islice(self.rest, 1))
        return self.head[0] if self.head else None

    def items(self, jobs_or_ids: Any
              ) -> Iterator[tuple[int, StockIonQJob | CompositeJob | HasIonQJobs | str]]:
        """Each input with its position, from the first (none read yet: all of them)."""
        rest = iter(_given(jobs_or_ids)) if self.rest is None else self.rest
        return enumerate(itertools.chain(self.head, rest))


def _unread(index: int, item: StockIonQJob | CompositeJob | HasIonQJobs | str,
            secret: str | None) -> Iterator[tuple[str, Exception | None]]:
    """The report rows of an input no request was sent for: each key, with the error that
    rules it out (an invalid id is still invalid) or ``None``."""
    if isinstance(item, CompositeJob):
        yield item.job_id(), None
        return
    if not isinstance(item, (str, StockIonQJob)) and (
            parts := upstream.primitive_ionq_jobs(item)) is not None:
        for sub in parts:
            yield from _unread(index, sub, secret)
        return
    found = entry(index, cast("StockIonQJob | str", item), secret)
    yield found.key, found.error


def _unstarted(items: Iterator[tuple[int, StockIonQJob | CompositeJob | HasIonQJobs | str]],
               secret: str | None, why: str) -> CancelReport:
    """The report of a call stopped before its batch began: no request was sent."""
    report = CancelReport()
    for index, item in items:
        for key, error in _unread(index, item, secret):
            if key in report.errors or key in report.not_reached:
                continue
            if error is not None:
                report.errors[key] = error
            else:
                report.not_reached[key] = why
    return report


#: The note of a primitive job's row when it had submitted no IonQ job.
NO_IONQ_JOB = ("no IonQ job existed: it was cancelled before it submitted any, and it "
               "submits none")


class Entry(NamedTuple):  # a tuple, not a frozen dataclass: 10,000 of them are 5x cheaper
    """One input of ``cancel_jobs``, checked: its report ``key``; its ``job_id`` when valid;
    the job object it came from, if any; the ``error`` that rules it out, if any."""

    key: str
    job_id: str | None = None
    local: StockIonQJob | None = None
    error: Exception | None = None


def entry(index: int, item: StockIonQJob | str, secret: str | None) -> Entry:
    """Check one input of ``cancel_jobs`` (at position ``index``), without a request.

    A valid id (or a job's) is its own report key. Anything else (an invalid id, a job never
    submitted) is keyed ``#<index> <repr>``, with ``secret`` taken out in case the key was
    pasted as an id: no two inputs share a key (``"1"``, ``1`` and ``"1 (int)"`` are three),
    and none can be taken for a job id.
    """
    local: StockIonQJob | None = None
    raw: object = item
    if isinstance(item, StockIonQJob):
        local, raw = item, item.job_id()
        if not raw:
            return Entry(f"#{index} <{type(item).__name__} without id>", local=local,
                         error=JobNotSubmittedError("This job was never submitted, so "
                                                    "there is nothing to cancel."))
    try:
        job_id = validate_job_id(raw, secret)
    except InvalidJobIdError as exc:
        return Entry(f"#{index} {redact(repr(raw), secret)}", error=exc)
    return Entry(job_id, job_id, local)


class _Batch:
    """One ``cancel_jobs`` call: its report, pool, deadline and progress bar."""

    def __init__(self, client: IonQCancelClient, deadline: float | None, concurrency: int,
                 chunk_size: int, progress: bool, price: bool | None = None,
                 source: Iterator[tuple[int, StockIonQJob | CompositeJob | HasIonQJobs | str]]
                 | None = None, /) -> None:
        self.client = client
        self.chunk_size = chunk_size
        self._concurrency = concurrency
        self.report = CancelReport()
        self.jobs: dict[str, list[StockIonQJob]] = {}
        self.bulk_available = True
        self.refused: AuthenticationError | None = None  # the key was refused: stop sending
        #: The call's deadline (within the open scope's): every request of the batch, in
        #: whichever worker, runs under it.
        self.deadline = derive(deadline, client.retry_policy.clock)
        self._started = client.retry_policy.clock()  # the report's time: this call's own
        self._started_wall = time.time()  # to tell a job IonQ shows canceled before it
        #: Pricing: ``None`` until the first window says whether it is on (``price=None``).
        self._price = price
        self._price_off: str | None = None if price is not False else "price=False"
        self.pricer: Pricer | None = None
        #: Jobs this call moved to canceled -> their predicted quantum compute seconds.
        self._counted: dict[str, float | None] = {}
        self._asked: set[str] = set()  # the jobs counted whose price was asked for
        self._before: set[str] = set()  # jobs found canceled before this call
        self._requests_before = client.requests_sent
        self._workers: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="ionq-cancel",
                                        initializer=self._start_worker)
        self.progress = Progress(progress)
        self._order: list[str] = []  # every key of the report, in input order
        self._seen: set[str] = set()  # every key of the report
        self._sent: set[str] = set()  # ids a cancel request was sent for
        #: The inputs not read yet (each with its position): reported if the batch stops.
        self._source = iter(()) if source is None else source
        #: The input being read, until it has its row: reported with the unread ones if
        #: the batch stops in between (read and held in one C call, so no line between).
        self._reading: list[tuple[int, StockIonQJob | CompositeJob | HasIonQJobs | str]] = []
        #: Primitive jobs given, with the IonQ jobs each had submitted: their verdicts come
        #: from those jobs' rows once the batch is done.
        self.composites: list[tuple[CompositeJob, list[StockIonQJob]]] = []

    # -- bookkeeping ----------------------------------------------------------------------
    def _start_worker(self) -> None:
        adopt(self.deadline)  # contextvars do not follow a pool's threads: handed over here
        self._workers.append(threading.current_thread())

    def settle(self, job_id: str, status: JobStatus, job: dict[str, Any] | None = None) -> None:
        self.report.statuses[job_id] = status
        if status is JobStatus.CANCELLED:
            self._count(job_id, job)
        for local in self.jobs.get(job_id, ()):
            apply_outcome(local, CancelOutcome(job_id, status, job))
        self.progress.update()

    def fail(self, key: str, error: Exception) -> None:
        self.report.errors[key] = error
        self.progress.fail()

    def skip(self, key: str, why: str) -> None:
        """No cancel request was sent for this job: ``not_reached``, with the reason."""
        self.report.not_reached[key] = why
        self.progress.update()

    @property
    def accepted(self) -> bool:
        """True once some input has a place in the report."""
        return bool(self._order)

    def _has_row(self, key: str) -> bool:
        report = self.report
        return key in report.statuses or key in report.errors or key in report.not_reached

    def unsettled(self, why: str) -> None:
        """Report every input without a row yet, and every input not yet read: a job sent a
        cancel has an unknown outcome (``errors``), any other was not reached."""
        for index, item in itertools.chain(self._reading, self._source):  # not read yet
            self._not_reached(index, item, why)
        for key in self._order:
            if self._has_row(key):
                continue
            if key in self._sent:
                self.fail(key, NoAnswerError(
                    f"Outcome unknown: {why}", job_id=key,
                    hint="Run cancel_jobs again with the ids in report.errors"))
            else:
                self.skip(key, why)

    def stop(self, why: str) -> None:
        """Drop the work not started, give the workers :data:`STOP_GRACE` to stop (the
        deadline was interrupted: they wake at once), report every input left."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.pricer is not None:
            self.pricer.stop()
        end = time.monotonic() + STOP_GRACE
        for worker in list(self._workers):
            worker.join(max(0.0, end - time.monotonic()))
        self.unsettled(why)

    def _count(self, job_id: str, job: dict[str, Any] | None) -> None:
        """A job found cancelled: counted in ``saved`` when this call moved it there (a
        cancel was sent, and IonQ does not show it canceled before the call began)."""
        if job_id not in self._sent:
            if job_id not in self.report.notes:  # (a primitive job that submitted none)
                self._before.add(job_id)  # final locally, before this call: no request
            return
        if job is None:  # (every path that settles a job sent a cancel reads it back)
            return
        if cancelled_before(job, self._started_wall):
            self._before.add(job_id)
            return
        self._counted[job_id] = predicted_seconds(job)  # (a dict's item set is atomic)
        if self.pricer is not None:
            self._asked.add(job_id)
            self.pricer.add(job_id, job)

    def _pricing(self, to_cancel: int) -> None:
        """Whether this call prices its jobs (``price=None``: up to PRICE_LIMIT of them)."""
        if self._price is None and to_cancel > PRICE_LIMIT:
            many = f"at least {to_cancel:,}" if to_cancel == WINDOW else f"{to_cancel:,}"
            self._price_off = (f"{many} jobs to cancel, above {PRICE_LIMIT:,} (pass "
                               "price=True, or --price, to price them)")
        if self._price_off is None and self.pricer is None:
            self.pricer = Pricer(self.client, self.deadline, self._concurrency)

    def _saved(self) -> Saved:
        if self.pricer is not None:
            saved = self.pricer.result([k for k in self._order if k in self._asked])
        else:
            saved = Saved(off=self._price_off or "no job was sent a cancel")
        saved.counted = {k: self._counted[k] for k in self._order if k in self._counted}
        saved.already_cancelled = [k for k in self._order if k in self._before] \
            if self._before else []
        return saved.settle()

    def close(self) -> None:
        self._order = list(dict.fromkeys(self._order))  # see _record
        self._pool.shutdown(wait=not self.deadline.interrupted)
        self.progress.close()
        self.unsettled("no outcome was recorded")
        self._settle_composites()
        self.report.saved = self._saved()
        # Rows in the order the jobs were given, not the order threads finished them.
        report = self.report
        report.statuses = {k: report.statuses[k] for k in self._order if k in report.statuses}
        report.errors = {k: report.errors[k] for k in self._order if k in report.errors}
        report.not_reached = {k: report.not_reached[k] for k in self._order
                              if k in report.not_reached}
        self.report.elapsed = self.client.retry_policy.clock() - self._started
        self.report.requests = self.client.requests_sent - self._requests_before

    def close_interrupted(self, why: str) -> CancelReport:
        """The report of a call interrupted at any point of its batch (its close included):
        the workers are stopped and every input has its row."""
        self.deadline.interrupt()
        self.unsettled(why)
        self.close()
        return self.report

    def _settle_composites(self) -> None:
        """Each primitive job's verdict, from the rows of the IonQ jobs it had submitted
        (once: a close interrupted is closed again)."""
        composites, self.composites = self.composites, []
        for composite, jobs in composites:
            composite.settle_cancel({
                job.job_id(): self.report.statuses.get(job.job_id()) for job in jobs})

    # -- input ----------------------------------------------------------------------------
    def _accept(self) -> Iterator[str]:
        """Ids still to cancel; settles or reports the rest. Each input has its row key from
        the moment it is read."""
        reading = self._reading
        while True:
            if not reading:
                reading.extend(itertools.islice(self._source, 1))
                if not reading:
                    break
            ids = self._take(*reading[0])
            reading.clear()  # it has its row(s)
            yield from ids
        self.progress.set_total(len(self._order))  # the input is all read: distinct jobs

    def _record(self, key: str) -> bool:
        """Give ``key`` its place in the report; ``False`` if it has one already."""
        if key in self._seen:
            return False
        # The order first: a Ctrl-C between the two lines may list the key twice there
        # (its row is one dict entry all the same), never not at all.
        self._order.append(key)
        self._seen.add(key)
        return True

    def _take(self, index: int, item: StockIonQJob | CompositeJob | HasIonQJobs | str
              ) -> list[str]:
        """One input: the ids of it still to cancel (a primitive job's may be several)."""
        if isinstance(item, CompositeJob):
            return self._take_composite(index, item)
        if not isinstance(item, (str, StockIonQJob)) and (
                parts := upstream.primitive_ionq_jobs(item)) is not None:
            # qiskit-ionq's own IonQPrimitiveJob: its IonQ jobs, all submitted by now
            return [i for sub in parts for i in self._take(index, sub)]
        found = entry(index, cast("StockIonQJob | str", item), self.client.key)
        if found.error is not None:
            if self._record(found.key):
                self.fail(found.key, found.error)
            return []
        job_id = found.job_id
        assert job_id is not None
        if found.local is not None:
            self.jobs.setdefault(job_id, []).append(found.local)
        if not self._record(job_id):
            return []  # given before: one job, one row
        local = None if found.local is None else upstream.local_status(found.local)
        if local in JOB_FINAL_STATES:
            assert local is not None
            self.settle(job_id, local)  # final locally: no request, as cancel()
            return []
        return [job_id]

    def _take_composite(self, index: int, job: CompositeJob) -> list[str]:
        """A primitive job: claimed for cancelling (its later submissions refused); the IonQ
        jobs it submitted are cancelled as any other input."""
        key = job.job_id()
        if key in self._seen:
            return []
        jobs = job.claim_for_cancel(
            None if self.deadline.seconds is None else self.deadline.remaining)
        if jobs is None:  # it had finished: nothing to cancel
            self._record(key)
            self.settle(key, job.status())
            return []
        self.composites.append((job, jobs))
        if not jobs:
            self._record(key)
            if job.settle_cancel({}):
                self.report.notes[key] = NO_IONQ_JOB
                self.settle(key, JobStatus.CANCELLED)
            else:
                self.fail(key, NoAnswerError(
                    "A submit of this primitive job was still in flight when the deadline "
                    "ran out; its IonQ job is cancelled when the submit returns",
                    job_id=key, hint="Cancel the primitive job again to learn the outcome"))
            return []
        self._seen.add(key)  # given again: not claimed twice
        return [i for sub in jobs for i in self._take(index, sub)]

    def _not_reached(self, index: int, item: StockIonQJob | CompositeJob | HasIonQJobs | str,
                     why: str) -> None:
        """An input not read before the batch stopped: its row, without a request (an
        invalid one is still invalid)."""
        for key, error in _unread(index, item, self.client.key):
            if not self._record(key):
                continue
            if error is not None:
                self.fail(key, error)
            else:
                self.skip(key, why)

    # -- the three steps ------------------------------------------------------------------
    def run(self, items: Iterator[tuple[int, StockIonQJob | CompositeJob | HasIonQJobs | str]]
            ) -> None:
        self._source = items
        ids = self._accept()
        while window := list(itertools.islice(ids, WINDOW)):
            self._pricing(len(window))
            if self.stopped:
                self._give_up(window)
                self.unsettled(self._out_of_time())
                return
            self._window(window)

    def _window(self, window: list[str]) -> None:
        chunks = [window[i:i + self.chunk_size] for i in range(0, len(window), self.chunk_size)]
        singles: list[str] = []
        verifying: list[Future[list[str]]] = []

        def read_back(chunk: list[str], refused: list[str]) -> None:
            # Each chunk is read back as soon as its own bulk answer is in.
            singles.extend(refused)
            taken = set(refused)
            rest = [i for i in chunk if i not in taken]
            step = self.client.read_chunk
            verifying.extend(self._pool.submit(self._verify, rest[i:i + step])
                             for i in range(0, len(rest), step))

        # Every chunk goes at once, without first probing whether the bulk endpoint exists:
        # a probe costs every call a round trip, while a server without it costs at most one
        # refused request per chunk of this first window (later windows skip the endpoint).
        cancelling = {self._pool.submit(self._bulk, chunk): chunk for chunk in chunks}
        for done in completed(cancelling):  # (waits that let a Ctrl-C in: see result_of)
            read_back(cancelling[done], done.result())
        for unsettled in verifying:
            still: list[str] = result_of(unsettled)
            singles.extend(still)
        # A single cancel's answer alone is not trusted: those jobs are read back, batched.
        answered = [job_id for job_id in map(result_of, [self._pool.submit(self._single, i)
                                                         for i in singles]) if job_id]
        step = self.client.read_chunk
        for confirming in [self._pool.submit(self._confirm, answered[i:i + step])
                           for i in range(0, len(answered), step)]:
            result_of(confirming)

    def _bulk(self, chunk: list[str]) -> list[str]:
        """Bulk-cancel a chunk; return the ids that must go to single cancels instead."""
        if not self.bulk_available or self.refused is not None or self.stopped:
            return chunk  # (stopped: the single cancels report them, none sent)
        self._sent.update(chunk)
        try:
            self.client.bulk_cancel(chunk)
        except AuthenticationError as exc:
            if exc.status_code != 403:  # 403 is per resource (IonQ): the singles will tell
                self.refused = exc  # the key is refused: every other request would be too
            return chunk
        except IonQRequestError as exc:
            if exc.status_code in (404, 405):
                if self.bulk_available:
                    logger.info("The bulk cancel endpoint is not available (HTTP %s); "
                                "cancelling job by job", exc.status_code)
                self.bulk_available = False
                return chunk
            if exc.status_code is not None and 400 <= exc.status_code < 500:
                if len(chunk) > SPLIT_MIN:  # too many ids, or one it dislikes: halve it
                    half = len(chunk) // 2
                    return self._bulk(chunk[:half]) + self._bulk(chunk[half:])
                logger.info("Bulk cancel of %d jobs refused (%s); cancelling them one by one",
                            len(chunk), exc)
                return chunk
            # No clear answer (retries ran out): the read-back tells what happened.
            logger.info("Bulk cancel of %d jobs got no clear answer: %s", len(chunk), exc)
        except Exception as exc:  # anything else: the read-back still tells
            logger.info("Bulk cancel of %d jobs failed: %r", len(chunk), exc)
        return []

    def _verify(self, chunk: list[str]) -> list[str]:
        """Read a chunk back; settle the final jobs; return those still to cancel."""
        if self.stopped:
            self._give_up(chunk)
            return []
        if self.refused is not None:
            return chunk
        try:
            found = self.client.read_jobs(chunk)
        except Exception as exc:  # typed or not, the single cancels settle them
            logger.info("Reading back %d jobs failed (%s); cancelling them one by one",
                        len(chunk), exc)
            return chunk
        unsettled: list[str] = []
        for job_id in chunk:
            job = found.get(job_id)
            if job is None:
                unsettled.append(job_id)  # the single cancel says 404 or what it is
                continue
            status = self._settle_if_final(job_id, job)
            if status is not None:
                unsettled.append(job_id)
        return unsettled

    def _settle_if_final(self, job_id: str, job: dict[str, Any]) -> JobStatus | None:
        """Settle a job read back if it is final; its status if it is not (``None`` when it
        was settled, or reported for an unknown status)."""
        try:
            status = verdict(job_id, job, read_back=True)
        except UnknownJobStatusError as exc:
            self.fail(job_id, exc)
            return None
        if status is None:  # not this job's object: read as unsettled
            return JobStatus.QUEUED
        if status in JOB_FINAL_STATES:
            self.settle(job_id, status, job)
            return None
        return status

    def _single(self, job_id: str) -> str | None:
        """Cancel one job; its id when only the answer says it is cancelled (to confirm)."""
        if self.stopped:
            self._give_up([job_id])
            return None
        if self.refused is not None:
            self.fail(job_id, self.refused)
            return None
        self._sent.add(job_id)
        try:
            outcome = self.client.cancel(job_id)
        except AuthenticationError as exc:
            if exc.status_code != 403:  # a 403 is this job's alone; a 401 refuses the key
                self.refused = exc
            self.fail(job_id, exc)
        except Exception as exc:  # one job's failure must not sink the batch
            self.fail(job_id, exc)
        else:
            if outcome.job is None:
                return job_id
            self.settle(job_id, outcome.status, outcome.job)
        return None

    def _confirm(self, chunk: list[str]) -> None:
        """Read back jobs whose cancel was answered ``canceled``; settle what they are."""
        if self.stopped:
            self._give_up(chunk)
            return
        try:
            found = self.client.read_jobs(chunk)
        except Exception as exc:
            logger.info("Reading back %d cancelled jobs failed (%s); reading them one by one",
                        len(chunk), exc)
            found = {}
        for job_id in chunk:
            job = found.get(job_id)
            if job is None:  # not in the listing: read on its own
                try:
                    job = self.client.retrieve_job(job_id)
                except Exception as exc:
                    self.fail(job_id, NoAnswerError(
                        f"Cancel answered, but the job could not be read back to confirm it "
                        f"({exc})", job_id=job_id, hint="Read its status, or cancel it again"))
                    continue
            status = self._settle_if_final(job_id, job)
            if status is not None:
                self.fail(job_id, CancelNotConfirmedError(job_id, status, "canceled"))

    @property
    def stopped(self) -> bool:
        """True once the deadline ran out or the call was interrupted (Ctrl-C, SIGTERM, or
        the task awaiting ``acancel_jobs`` cancelled): nothing more is sent."""
        return self.deadline.expired or self.deadline.interrupted

    def _out_of_time(self) -> str:
        if self.deadline.interrupted:
            return "the call was interrupted before a cancel was sent for it"
        return (f"the batch's deadline of {self.deadline.seconds:g} s ran out before a "
                "cancel was sent for it")

    def _give_up(self, ids: list[str]) -> None:
        for job_id in ids:
            if job_id not in self._sent:
                self.skip(job_id, self._out_of_time())
                continue
            if self.deadline.interrupted:
                self.fail(job_id, NoAnswerError(
                    f"Not settled: the call was interrupted ({self.deadline.elapsed:.1f} s "
                    "in); a cancel already sent may have taken effect", job_id=job_id,
                    hint="Run cancel_jobs again with the ids in report.errors"))
                continue
            self.fail(job_id, NoAnswerError(
                f"Not settled: the batch's deadline of {self.deadline.seconds:g} s "
                f"ran out ({self.deadline.elapsed:.1f} s)", job_id=job_id,
                hint="Run cancel_jobs again with the ids in report.errors, or with a longer "
                "deadline"))
