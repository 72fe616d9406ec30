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
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any, NamedTuple, cast

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._core.composite import CompositeJob, HasIonQJobs
from ._core.deadline import adopt, derive, entered
from ._core.progress import Progress
from ._core.status import to_job_status
from ._core.validation import check_selection, validate_job_id
from ._http.client import READ_CHUNK, CancelOutcome, IonQCancelClient
from ._redact import redact
from .exceptions import (
    AuthenticationError,
    CancelNotConfirmedError,
    InvalidJobIdError,
    IonQRequestError,
    JobNotSubmittedError,
    NoAnswerError,
    UnknownJobStatusError,
)
from .report import CancelReport
from .single import HasClient, apply_outcome, client_for, env_api_key

__all__ = ["BULK_CHUNK", "CONCURRENCY", "VERIFY_CHUNK", "cancel_jobs"]

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
) -> CancelReport:
    """Cancel many IonQ jobs and report what each one really is afterwards.

    Give jobs, or instead a filter (``status``, ``target``, ``session_id``), which lists the
    matching jobs first. Every job is read back before it is reported. Job objects passed in
    get their local status updated. It never raises for one job's failure: see
    ``CancelReport.raise_for_errors()``. On ``KeyboardInterrupt`` (or ``SystemExit``) the
    requests in flight are stopped and the exception goes on, carrying the partial report
    as its ``report`` attribute (jobs not settled are in its ``errors``).

    Args:
        jobs_or_ids: ``IonQJob`` objects and/or ids, in any mix (or a single one);
            duplicates count once; an invalid id is reported, not fatal to the others. A
            primitive job of this package stands for the IonQ jobs it submitted; one that
            has submitted none yet is reported ``CANCELLED`` under its own id (it will
            submit nothing that is not cancelled at once). A primitive job of
            qiskit-ionq's ``IonQSampler`` / ``IonQEstimator`` stands for its ``ionq_jobs``.
        provider: Gives the URL and key; ``None``: the first job's own, else
            ``IONQ_API_KEY`` / ``IONQ_API_URL``.
        status: Filter: jobs with this IonQ status (``"submitted"``, ``"ready"`` or
            ``"started"``).
        target: Filter: jobs on this backend (such as ``"simulator"``).
        session_id: Filter: jobs of this session.
        progress: Show a tqdm progress bar.
        deadline: Seconds the whole call may take, a filter's listing included; jobs not
            settled by then are reported in ``errors``. ``None``: no bound on the whole
            call (each request keeps the retry policy's deadline).
        chunk_size: Ids per bulk cancel request.
        concurrency: Requests in flight at most (the client's adaptive limit decides how
            many below that).

    Returns:
        The `CancelReport`: every job given, exactly once, in input order.

    Raises:
        InvalidSelectionError: Both jobs and a filter, neither, or a filter that cannot
            select a cancellable job (nothing was sent).
        ValueError: ``chunk_size`` or ``concurrency`` is below 1.
        IonQRequestError: With a filter, the listing failed (no job was cancelled).
    """
    if chunk_size < 1 or concurrency < 1:
        raise ValueError("chunk_size and concurrency must be at least 1")
    check_selection(jobs_or_ids is not None, status, target, session_id,
                    secret=provider.client.key if provider else env_api_key())
    filtering = jobs_or_ids is None

    given: Iterable[StockIonQJob | CompositeJob | HasIonQJobs | str]
    if jobs_or_ids is None:
        given = ()
    elif isinstance(jobs_or_ids, (str, StockIonQJob, CompositeJob)):
        given = [jobs_or_ids]
    elif (parts := upstream.primitive_ionq_jobs(jobs_or_ids)) is not None:
        given = parts  # one qiskit-ionq IonQPrimitiveJob: its IonQ jobs
    else:
        given = cast("Iterable[StockIonQJob | CompositeJob | HasIonQJobs | str]", jobs_or_ids)
    claimed: list[str] = []  # primitive jobs that had submitted nothing yet
    items = _expand(given, claimed)
    # Peek at the first item (its client may serve the batch) without losing it, even if
    # it is a falsy id such as None or "" (those are reported as invalid, like any other).
    peek = iter(items)
    head = list(itertools.islice(peek, 1))
    items = itertools.chain(head, peek)
    client, own = client_for(provider, head[0] if head else None)
    batch = _Batch(client, deadline, concurrency, chunk_size, progress)
    try:
        if filtering:
            # All ids are listed before any is cancelled: cancelling while paging could make
            # a cursor skip jobs, depending on how IonQ's cursors work (undocumented).
            with entered(batch.deadline):
                listed = [job["id"] for job in client.cancellable_jobs(
                    status=status, target=target, session_id=session_id)]
            batch.progress.start(len(listed))
            batch.run(listed)
        else:
            batch.progress.start(len(jobs_or_ids) if isinstance(jobs_or_ids, Sized) else None)
            batch.run(items)
    except Exception as exc:  # a bug or an unforeseen failure: still report every job
        if not batch.accepted:
            raise  # nothing to report (the listing failed, say)
        logger.exception("cancel_jobs stopped early; the jobs not settled are reported")
        batch.unsettled_failed(f"cancel_jobs stopped early ({type(exc).__name__})")
    except BaseException as exc:  # Ctrl-C, SIGTERM: stop the requests in flight at once
        batch.deadline.interrupt()  # every worker's wait ends, every request is cut
        batch.stop(f"interrupted ({type(exc).__name__})")
        exc.report = batch.report  # type: ignore[attr-defined]  # the partial report
        raise
    finally:
        batch.close()
        if own:
            client.close()
    batch.report.statuses.update(dict.fromkeys(claimed, JobStatus.CANCELLED))
    return batch.report


def _expand(items: Iterable[StockIonQJob | CompositeJob | HasIonQJobs | str],
            claimed: list[str]) -> Iterator[StockIonQJob | str]:
    """The inputs with each primitive job replaced by the IonQ jobs it submitted (lazily);
    the ids of those that submitted none go to ``claimed``."""
    for item in items:
        if isinstance(item, CompositeJob):
            jobs = item.claim_for_cancel()
            if not jobs:
                claimed.append(item.job_id())
            yield from jobs
        elif (parts := upstream.primitive_ionq_jobs(item)) is not None:
            yield from parts  # qiskit-ionq's IonQPrimitiveJob: its jobs were all submitted
        else:
            yield cast("StockIonQJob | str", item)  # anything else is checked as an id


class Entry(NamedTuple):  # a tuple, not a frozen dataclass: 10,000 of them are 5x cheaper
    """One input of ``cancel_jobs``, checked: its report ``key``; its ``job_id`` when valid;
    the job object it came from, if any; the ``error`` that rules it out, if any; and
    whether the same id came earlier (``duplicate``)."""

    key: str
    job_id: str | None = None
    local: StockIonQJob | None = None
    error: Exception | None = None
    duplicate: bool = False


def normalise(items: Iterable[StockIonQJob | str], secret: str | None) -> Iterator[Entry]:
    """Check and deduplicate the inputs of ``cancel_jobs``, lazily and without a request.

    Job objects give their id; an unsubmitted job or an invalid id becomes an entry with an
    ``error`` (its key with ``secret`` taken out, in case the key was pasted as an id).
    """
    seen: set[str] = set()
    invalid: dict[str, type] = {}  # report key of an invalid input -> its type
    unsubmitted = 0
    for item in items:
        local: StockIonQJob | None = None
        raw: object = item
        if isinstance(item, StockIonQJob):
            local, raw = item, item.job_id()
            if not raw:
                unsubmitted += 1
                yield Entry(f"<job without id #{unsubmitted}>", local=local,
                            error=JobNotSubmittedError("This job was never submitted, so "
                                                       "there is nothing to cancel."))
                continue
        try:
            job_id = validate_job_id(raw, secret)
        except InvalidJobIdError as exc:
            key = redact(raw if isinstance(raw, str) else repr(raw), secret)
            if invalid.setdefault(key, type(raw)) is not type(raw):  # "1" and 1: two rows
                key = f"{key} ({type(raw).__name__})"
            yield Entry(key, error=exc)
            continue
        yield Entry(job_id, job_id, local, duplicate=job_id in seen)
        seen.add(job_id)


class _Batch:
    """One ``cancel_jobs`` call: its report, pool, deadline and progress bar."""

    def __init__(self, client: IonQCancelClient, deadline: float | None, concurrency: int,
                 chunk_size: int, progress: bool) -> None:
        self.client = client
        self.chunk_size = chunk_size
        self.report = CancelReport()
        self.jobs: dict[str, list[StockIonQJob]] = {}
        self.bulk_available = True
        self.refused: AuthenticationError | None = None  # the key was refused: stop sending
        #: The call's deadline (within the open scope's): every request of the batch, in
        #: whichever worker, runs under it.
        self.deadline = derive(deadline, client.retry_policy.clock)
        self._started = client.retry_policy.clock()  # the report's time: this call's own
        self._requests_before = client.requests_sent
        self._workers: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="ionq-cancel",
                                        initializer=self._start_worker)
        self.progress = Progress(progress)
        self._order: list[str] = []  # every key of the report, in input order

    # -- bookkeeping ----------------------------------------------------------------------
    def _start_worker(self) -> None:
        adopt(self.deadline)  # contextvars do not follow a pool's threads: handed over here
        self._workers.append(threading.current_thread())

    def settle(self, job_id: str, status: JobStatus, job: dict[str, Any] | None = None) -> None:
        self.report.statuses[job_id] = status
        for local in self.jobs.get(job_id, ()):
            apply_outcome(local, CancelOutcome(job_id, status, job))
        self.progress.update()

    def fail(self, key: str, error: Exception) -> None:
        self.report.errors[key] = error
        self.progress.fail()

    @property
    def accepted(self) -> bool:
        """True once some input has a place in the report."""
        return bool(self._order)

    def unsettled_failed(self, why: str) -> None:
        """Report every job without a row yet as not settled (its outcome unknown)."""
        for key in self._order:
            if key not in self.report.statuses and key not in self.report.errors:
                self.fail(key, NoAnswerError(
                    f"Outcome unknown: {why}", job_id=key,
                    hint="Run cancel_jobs again with the ids in report.errors"))

    def stop(self, why: str) -> None:
        """Drop the work not started, give the workers :data:`STOP_GRACE` to stop (the
        deadline was interrupted: they wake at once), report every job left."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        end = time.monotonic() + STOP_GRACE
        for worker in list(self._workers):
            worker.join(max(0.0, end - time.monotonic()))
        self.unsettled_failed(why)

    def close(self) -> None:
        self._pool.shutdown(wait=not self.deadline.interrupted)
        self.progress.close()
        self.unsettled_failed("no outcome was recorded")
        # Rows in the order the jobs were given, not the order threads finished them.
        report = self.report
        report.statuses = {k: report.statuses[k] for k in self._order if k in report.statuses}
        report.errors = {k: report.errors[k] for k in self._order if k in report.errors}
        self.report.elapsed = self.client.retry_policy.clock() - self._started
        self.report.requests = self.client.requests_sent - self._requests_before

    # -- input ----------------------------------------------------------------------------
    def _accept(self, items: Iterable[StockIonQJob | str]) -> Iterator[str]:
        """Ids still to cancel; settles or reports the rest."""
        for entry in normalise(items, self.client.key):
            if entry.error is not None:
                if entry.key not in self.report.errors:
                    self._order.append(entry.key)
                    self.fail(entry.key, entry.error)
                continue
            job_id = entry.job_id
            assert job_id is not None
            if entry.local is not None:
                self.jobs.setdefault(job_id, []).append(entry.local)
            if entry.duplicate:
                continue
            self._order.append(job_id)
            local = None if entry.local is None else upstream.local_status(entry.local)
            if local in JOB_FINAL_STATES:
                assert local is not None
                self.settle(job_id, local)  # final locally: no request, as cancel()
                continue
            yield job_id
        self.progress.set_total(len(self._order))  # the input is all read: distinct jobs

    # -- the three steps ------------------------------------------------------------------
    def run(self, items: Iterable[StockIonQJob | str]) -> None:
        ids = self._accept(items)
        while window := list(itertools.islice(ids, WINDOW)):
            if self.deadline.expired:
                self._give_up(window)
                continue
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
        for done in as_completed(cancelling):
            read_back(cancelling[done], done.result())
        for unsettled in verifying:
            singles.extend(unsettled.result())
        # A single cancel's answer alone is not trusted: those jobs are read back, batched.
        answered = [job_id for job_id in self._pool.map(self._single, singles) if job_id]
        step = self.client.read_chunk
        list(self._pool.map(self._confirm, [answered[i:i + step]
                                            for i in range(0, len(answered), step)]))

    def _bulk(self, chunk: list[str]) -> list[str]:
        """Bulk-cancel a chunk; return the ids that must go to single cancels instead."""
        if not self.bulk_available or self.refused is not None:
            return chunk
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
        if self.deadline.expired:
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
            status = to_job_status(job.get("status"), job_id)
        except UnknownJobStatusError as exc:
            self.fail(job_id, exc)
            return None
        if status in JOB_FINAL_STATES:
            self.settle(job_id, status, job)
            return None
        return status

    def _single(self, job_id: str) -> str | None:
        """Cancel one job; its id when only the answer says it is cancelled (to confirm)."""
        if self.deadline.expired:
            self._give_up([job_id])
            return None
        if self.refused is not None:
            self.fail(job_id, self.refused)
            return None
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
        if self.deadline.expired:
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

    def _give_up(self, ids: list[str]) -> None:
        for job_id in ids:
            self.fail(job_id, NoAnswerError(
                f"Not settled: the batch's deadline of {self.deadline.seconds:g} s "
                f"ran out ({self.deadline.elapsed:.1f} s)", job_id=job_id,
                hint="Run cancel_jobs again with the ids in report.errors, or with a longer "
                "deadline"))
