"""Safety nets: jobs are not left running by accident.

``with cancel_on_exit():`` tracks every job submitted through this package's backends inside
the block and, if the block ends through an exception, ``KeyboardInterrupt`` or SIGTERM (as
batch schedulers send), cancels the unfinished ones in bulk before the exception goes on.

A scope owns the jobs submitted where it was opened: in its thread, or in its asyncio task
(and the tasks and ``asyncio.to_thread`` calls that task starts: scopes follow
``contextvars``). A job submitted where no scope is open belongs to the
``track_threads=True`` scopes of the thread that started its thread (or of that thread's
starter, and so on), else to the innermost scope open in the process. Nothing of the
interpreter is changed, except while a ``track_threads=True`` scope is open:
``threading.Thread.__init__`` then records each new thread's parent (``_core.threadtree``).
A submit still in flight when the scope ends is waited for (up to the scope's deadline), and
a job whose id arrives later still is cancelled as soon as it arrives.

With ``watchdog=True`` a separate process (``_core/watchdog.py``) also cancels the scope's
jobs if the process dies with the scope open; ``start()`` / ``close()`` open and end a scope
without a ``with`` block (a Jupyter kernel's life).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import logging
import os
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Protocol

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._core import offload, threadtree
from ._core.composite import CompositeJob, HasIonQJobs
from ._core.deadline import Deadline, derive, entered, wait_until
from ._core.sigterm import SigtermAsExit
from ._core.validation import check_deadline
from ._core.watchdog import Watchdog, watching
from ._http.client import posts_begun
from .bulk import NO_IONQ_JOB, cancel_jobs
from .exceptions import UsageError
from .report import CancelReport

__all__ = ["CancelScope", "SubmitWatcher", "cancel_on_exit", "submissions_to"]

logger = logging.getLogger("qiskit_ionq_cancel")

_active: list[CancelScope] = []  # open scopes, innermost (last opened) last
_active_lock = threading.Lock()
_listeners = threading.local()  # per thread: callbacks for the jobs it submits
# The scopes opened in this thread or asyncio task (a new thread starts with none).
_opened_here: contextvars.ContextVar[tuple[CancelScope, ...]] = \
    contextvars.ContextVar("qiskit_ionq_cancel_scopes", default=())


def _forget_in_child() -> None:
    """In a child forked from this process: the open scopes' copies own none of the
    parent's jobs, which the parent still owns and cancels if need be (a child unwinding the
    block by ``sys.exit()``, an exception or the inherited SIGTERM handler cancelled them),
    nor its threads' submits in flight (those threads do not exist here); they own what the
    child submits. The locks are new: a parent thread may have held one at the fork."""
    global _active_lock
    _active_lock = threading.Lock()
    for open_scope in _active:
        open_scope._lock = threading.Lock()
        open_scope._settled = threading.Condition(open_scope._lock)
        open_scope.jobs = []
        open_scope._in_flight = 0
        open_scope.interrupted_submits = 0


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_in_child)


def _owners() -> list[CancelScope]:
    """The open scopes that own a job submitted from the current thread or task."""
    with _active_lock:
        scopes = list(_active)
    mine = [scope for scope in _opened_here.get() if scope in scopes]
    if mine:
        return mine
    tracking = [scope for scope in scopes if scope.track_threads]
    if tracking:
        for thread in threadtree.lineage(threading.current_thread()):
            mine = [scope for scope in tracking if scope.thread is thread]
            if mine:
                return mine
    return scopes[-1:]


class SubmitWatcher(Protocol):
    """Watches the submits of one thread (:func:`submissions_to`)."""

    def before_submit(self) -> None:
        """Before the submit is sent; raising refuses it (nothing is sent)."""

    def after_submit(self, job: StockIonQJob | None) -> None:
        """Once the submit returned (``job``) or failed (``None``); raising leaves
        ``backend.run`` with that exception."""


@contextlib.contextmanager
def submitting() -> Iterator[Callable[[StockIonQJob], None]]:
    """Around a submit (this package's backends use it): this thread's watchers may refuse
    it first; the owning scopes count it as in flight until it returns, and the function
    yielded tracks the job it made."""
    watchers: list[SubmitWatcher] = []
    try:
        for watcher in list(getattr(_listeners, "stack", ())):
            watcher.before_submit()
            watchers.append(watcher)
    except BaseException:
        for watcher in watchers:
            watcher.after_submit(None)
        raise
    made: list[StockIonQJob] = []
    owners = _owners()
    begun = posts_begun()
    for scope in owners:
        scope._begin_submit()

    def track(job: StockIonQJob) -> None:
        made.append(job)
        _deliver(job, owners)

    try:
        with watching([s._watchdog for s in owners if s._watchdog is not None]):
            yield track  # the submit is recorded in the ledgers of the scopes' watchdogs
    except (KeyboardInterrupt, SystemExit):
        if posts_begun() != begun:  # its POST began: IonQ may have made a job, id unknown
            for scope in owners:
                scope.interrupted_submits += 1
        raise
    finally:
        for scope in owners:
            scope._end_submit()
        for watcher in watchers:
            watcher.after_submit(made[0] if made else None)


def track_submitted(job: StockIonQJob | CompositeJob) -> None:
    """Track a job submitted outside :func:`submitting` (this package's primitives, for each
    primitive job) in the scopes that own the current thread's jobs."""
    _deliver(job, _owners())


def _tell_watchdog(watchdog: Watchdog, job: StockIonQJob | CompositeJob | HasIonQJobs
                   ) -> None:
    """Write the IonQ jobs of a job tracked by hand (submitted some other way) in the
    watchdog's ledger, as a submit through the package is written, so that a death of the
    program cancels them too. A job of this package's primitives is not: its IonQ jobs are
    written as they are submitted, when its caller is inside the scope."""
    plain = [job] if isinstance(job, StockIonQJob) else upstream.primitive_ionq_jobs(job) or []
    for each in plain:
        job_id = each.job_id()
        if not job_id:
            continue
        key, url, _ = upstream.client_settings(upstream.job_client(each))
        if not url:
            continue
        try:
            ledger = watchdog.ledger_for(url, None if key is None else str(key))
            backend = getattr(each.backend(), "name", None)
            ledger.submitted(ledger.intent(str(backend or "unknown"), None), job_id)
        except (OSError, UsageError) as exc:  # the scope itself still cancels it
            logger.warning("cancel_on_exit: job %s could not be written in the watchdog's "
                           "ledger (%s): a death of the program would leave it running",
                           job_id, exc)


def _deliver(job: StockIonQJob | CompositeJob, owners: list[CancelScope]) -> None:
    """A new job: to its owning scopes."""
    for scope in owners:
        scope._add(job, by_hand=False)


@contextlib.contextmanager
def submissions_to(watcher: SubmitWatcher) -> Iterator[None]:
    """Inside the block, every submit of an IonQ job from this thread goes through
    ``watcher``: before it is sent (it may refuse it) and once it returned or failed."""
    stack: list[SubmitWatcher] = _listeners.__dict__.setdefault("stack", [])
    stack.append(watcher)
    try:
        yield
    finally:
        stack.remove(watcher)


class CancelScope:
    """The context manager returned by `cancel_on_exit`.

    Attributes:
        report: After the block, the `CancelReport` of what was cancelled (``None`` when
            nothing needed cancelling).
        jobs: The jobs tracked so far.
        interrupted_submits: Submits cut short by Ctrl-C or SIGTERM before IonQ answered:
            their jobs, if created, have ids nobody knows, so they cannot be cancelled here.
        ledger: With ``watchdog=True``, the job ledger the watchdog holds (while the scope
            is open), else ``None``.
        watchdog_pid: The watchdog's process id while the scope is open, else ``None``.
    """

    def __init__(self, *, on_success: bool = False, deadline: float | None = 60.0,
                 handle_sigterm: bool = True, track_threads: bool = False,
                 watchdog: bool = False, ledger: str | os.PathLike[str] | None = None
                 ) -> None:
        if ledger is not None and not watchdog:
            raise UsageError("cancel_on_exit(ledger=...) is the watchdog's ledger: pass "
                             "watchdog=True with it (a provider's own ledger is "
                             "IonQProvider(ledger=...))")
        if ledger is not None and not os.fspath(ledger):
            raise UsageError("cancel_on_exit(ledger=...) is empty: give a file, or None for "
                             "a temporary one")
        check_deadline(deadline, "cancel_on_exit")  # now, not at the exit it serves
        self.watchdog = watchdog
        self._ledger_given = ledger
        self._watchdog: Watchdog | None = None
        self.on_success = on_success
        self.track_threads = track_threads
        self.deadline = deadline
        self.handle_sigterm = handle_sigterm
        self.jobs: list[StockIonQJob | CompositeJob | HasIonQJobs] = []
        self.report: CancelReport | None = None
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._in_flight = 0  # submits begun in this scope and not returned
        self._closed = False
        #: Submits cut short by Ctrl-C or SIGTERM before IonQ answered (their jobs, if
        #: created, have ids nobody knows, so they cannot be cancelled here).
        self.interrupted_submits = 0
        self._cancel_late = False  # whether a job tracked after the end is cancelled
        self.thread = threading.current_thread()
        self._sigterm = SigtermAsExit()

    def track(self, job: StockIonQJob | CompositeJob | HasIonQJobs
              ) -> StockIonQJob | CompositeJob | HasIonQJobs:
        """Track a job submitted some other way.

        Args:
            job: A plain qiskit-ionq job, or a primitive job of this package or of
                qiskit-ionq's ``IonQSampler`` / ``IonQEstimator`` (it is cancelled with the
                IonQ jobs it submitted).

        Returns:
            The job. Tracked after the block ended (its submit was still in flight), it is
            cancelled at once. With a watchdog, its IonQ jobs are written in the
            watchdog's ledger.
        """
        return self._add(job, by_hand=True)

    def _add(self, job: StockIonQJob | CompositeJob | HasIonQJobs, *, by_hand: bool
             ) -> StockIonQJob | CompositeJob | HasIonQJobs:
        """Track ``job`` (``by_hand``: through :meth:`track`; the package's own submits are
        in the watchdog's ledger already)."""
        with self._lock:
            self.jobs.append(job)
            late = self._closed and self._cancel_late
            watchdog = self._watchdog
        if watchdog is not None and by_hand and not late:
            _tell_watchdog(watchdog, job)
        if late:  # its submit was still in flight when the block ended
            logger.warning("cancel_on_exit: job %s was submitted after the block ended; "
                           "cancelling it now", job.job_id())
            part = cancel_jobs([job], deadline=self.deadline)
            with self._lock:
                self.report = _merged([self.report, part])
            logger.warning("cancel_on_exit: %s", part.summary())
        return job

    def _begin_submit(self) -> None:
        with self._lock:
            self._in_flight += 1

    def _end_submit(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._settled.notify_all()

    @property
    def ledger(self) -> str | None:
        """The job ledger the watchdog holds, while the scope is open."""
        return None if self._watchdog is None else str(self._watchdog.path)

    @property
    def watchdog_pid(self) -> int | None:
        """The watchdog's process id, while the scope is open."""
        return None if self._watchdog is None else self._watchdog.pid

    def start(self) -> CancelScope:
        """Open the scope without a ``with`` block, until :meth:`close` or the interpreter's
        exit: for a Jupyter kernel, where a ``with`` block ends with its cell.

        At the interpreter's exit with the scope still open (a kernel restarted or shut
        down, a script ending without ``close()``), the scope's unfinished jobs are
        cancelled by its watchdog (``watchdog=True``). No SIGTERM handler is installed
        (the scope spans no block to unwind): with a watchdog, SIGTERM is a death like any.

        Returns:
            The scope, open.

        Raises:
            UsageError: The scope is open already.
        """
        with _active_lock:
            if self in _active:
                raise UsageError("this cancel_on_exit scope is open already: start() it once, "
                                 "and close() it before starting it again")
        self.__enter__()
        self._sigterm.restore()
        atexit.register(self._at_exit)
        return self

    def close(self) -> None:
        """End a scope opened by :meth:`start`, as a ``with`` block ending normally: its
        watchdog stands down, and with ``on_success=True`` the unfinished jobs are cancelled.
        Closing a scope that is not open does nothing."""
        atexit.unregister(self._at_exit)
        with _active_lock:
            if self not in _active:
                return
        self.__exit__(None, None, None)

    def _at_exit(self) -> None:
        if self._watchdog is not None:  # its pipe closes unannounced: it cancels
            self._watchdog.abandon()

    def _stand_down(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.stand_down()

    def __enter__(self) -> CancelScope:
        if self.watchdog:  # before anything of the scope is open: it may fail to start
            try:
                self._watchdog = Watchdog(self._ledger_given, self.deadline or 60.0)
            except OSError as exc:  # no temporary ledger (TMPDIR missing, read-only, full):
                # the program goes on without a watchdog, warned (a failed start with a
                # ledger is the watchdog's own warning)
                logger.warning("cancel_on_exit: the watchdog could not be started (no "
                               "temporary job ledger: %s): if this process dies now, the "
                               "scope's jobs are not cancelled. Give the scope a ledger= "
                               "to record them.", exc.strerror or exc)
        if self.track_threads:
            threadtree.install()
        self.thread = threading.current_thread()
        with _active_lock:
            _active.append(self)
        _opened_here.set((*_opened_here.get(), self))
        if self.handle_sigterm:
            self._sigterm.install()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with _active_lock:
            _active.remove(self)
        _opened_here.set(tuple(scope for scope in _opened_here.get() if scope is not self))
        if self.track_threads:
            threadtree.uninstall()
        self._sigterm.restore()
        if exc_type is None and not self.on_success:
            with self._lock:
                self._closed = True
            self._stand_down()
            return
        limit = derive(self.deadline)  # one deadline for the wait and the cancel together
        stopped: KeyboardInterrupt | None = None
        with self._lock:
            # Submits in flight in other threads: their jobs are about to exist.
            try:
                wait_until(self._settled, lambda: self._in_flight == 0,
                           limit.remaining if limit.bounded else None)  # a Ctrl-C gets in
            except KeyboardInterrupt as interrupt:
                # A Ctrl-C ends the wait, not the cancel: the jobs known are still cancelled
                # below (a second Ctrl-C stops that), and a submit still in flight has its
                # job cancelled as soon as it returns (_cancel_late), in its own thread.
                stopped = interrupt
            self._closed = self._cancel_late = True
            pending = self._in_flight
            tracked = list(self.jobs)
        ionq = {id(j): j for j in tracked if isinstance(j, StockIonQJob)}
        claims: list[tuple[CompositeJob, list[StockIonQJob]]] = []
        for composite in tracked:  # their later submissions are refused
            if isinstance(composite, CompositeJob) and not composite.in_final_state():
                claimed = composite.claim_for_cancel(limit.remaining if limit.bounded
                                                     else None)
                if claimed is not None:
                    claims.append((composite, claimed))
                    ionq.update((id(j), j) for j in claimed)
        for other in tracked:  # qiskit-ionq's IonQPrimitiveJob: its IonQ jobs
            if not isinstance(other, (StockIonQJob, CompositeJob)):
                ionq.update((id(j), j) for j in upstream.primitive_ionq_jobs(other) or ())
        unfinished = [j for j in ionq.values()
                      if j.job_id() and upstream.local_status(j) not in JOB_FINAL_STATES]
        try:
            self._cancel_unfinished(unfinished, pending, exc_type, limit)
            if stopped is None and not pending:
                # The scope cancelled all it knew: its watchdog has nothing left to do. With
                # a submit still in flight it stays, so a death before that job's late cancel
                # is still covered; it cancels (harmlessly, again) when the program ends.
                self._stand_down()
        finally:  # each primitive job's verdict, from what its IonQ jobs were found to be
            for composite, claimed in claims:
                cancelled = composite.settle_cancel(
                    {j.job_id(): _found(j, self.report) for j in claimed})
                if cancelled and not claimed:  # a row of its own: it submitted nothing
                    with self._lock:
                        self.report = self.report or CancelReport()
                        self.report.statuses[composite.job_id()] = JobStatus.CANCELLED
                        self.report.notes[composite.job_id()] = NO_IONQ_JOB
        if stopped is not None:
            raise stopped

    async def __aenter__(self) -> CancelScope:
        """``async with cancel_on_exit():``: the scope belongs to this task (``contextvars``)
        and to the tasks and ``asyncio.to_thread`` calls it starts."""
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        """As ``__exit__``, for a task: the cancel (which blocks: it waits for submits in
        flight, then sends) runs in a worker thread, shielded from the task's own
        cancellation; a cancellation that comes meanwhile is raised once it is done."""
        # What belongs to this task and thread, here: the task's scopes, and the SIGTERM
        # handler (only the main thread may set one). __exit__ finds them done.
        _opened_here.set(tuple(scope for scope in _opened_here.get() if scope is not self))
        self._sigterm.restore()
        if exc_type is None and not self.on_success:
            self.__exit__(exc_type, exc, tb)  # nothing to cancel, nothing blocks
            return
        running = offload.start(lambda: self.__exit__(exc_type, exc, tb),
                                "ionq-cancel-on-exit")
        cancelled = await offload.wait_out(running)
        running.result()  # its exception, if it raised one
        if cancelled is not None:
            raise cancelled

    def _cancel_unfinished(self, unfinished: list[StockIonQJob], pending: int,
                           exc_type: type[BaseException] | None, limit: Deadline) -> None:
        if pending:
            logger.warning("cancel_on_exit: %d submit(s) still in flight; each job is "
                           "cancelled as soon as its submit returns", pending)
        if self.interrupted_submits:
            logger.warning("cancel_on_exit: %d submit(s) were interrupted before IonQ "
                           "answered; a job may have been created with an id nobody knows: "
                           "check with 'ionq-cancel status --status ready'",
                           self.interrupted_submits)
        if not unfinished:
            return
        why = "the block ended normally" if exc_type is None else \
            f"the block ended with {exc_type.__name__}"
        logger.warning("Cancelling %d unfinished IonQ job(s): %s", len(unfinished), why)
        with entered(limit):
            try:
                report = _cancel_grouped(unfinished, self.deadline)
            except BaseException as exc:  # a second Ctrl-C: what it came to is the scope's
                partial = getattr(exc, "report", None)
                if isinstance(partial, CancelReport):
                    with self._lock:
                        self.report = _merged([self.report, partial])
                raise
        with self._lock:
            self.report = _merged([self.report, report])
        logger.warning("cancel_on_exit: %s", report.summary())


def cancel_on_exit(*, on_success: bool = False, deadline: float | None = 60.0,
                   handle_sigterm: bool = True, track_threads: bool = False,
                   watchdog: bool = False, ledger: str | os.PathLike[str] | None = None
                   ) -> CancelScope:
    """Cancel, in bulk, the jobs submitted inside the block if it does not end normally.

    Every job submitted through this package's backends inside the block is tracked (see
    the module's docstring for which scope owns which job). When the block ends with an
    exception, ``KeyboardInterrupt`` or SIGTERM, the unfinished ones are cancelled with
    ``cancel_jobs``; the exception always goes on.

    Args:
        on_success: Cancel the unfinished jobs on a normal end too (for "run, collect what
            finished, drop the rest" code).
        deadline: Seconds to wait for submits still in flight in other threads, then
            seconds the cancelling may take (for each provider the jobs came from).
        handle_sigterm: In the main thread, SIGTERM inside the block raises
            ``SystemExit(143)`` so the same cleanup runs; the previous handler is restored
            afterwards.
        track_threads: Also own the jobs of the threads started inside the block (and those
            they start), by recording thread parents while the scope is open; without it the
            package changes nothing in the interpreter.
        watchdog: Also start a watchdog process (``ionq-cancel watch``) that cancels the
            scope's unfinished jobs if this process dies with the scope open, in any way,
            SIGKILL and a kernel restart included; the scope's normal end stands it down.
            Each submit in the scope is recorded in its ledger first. For a Jupyter kernel,
            ``scope = cancel_on_exit(watchdog=True).start()`` keeps it open until
            ``scope.close()`` or the kernel's end. See docs/programs-that-die.md.
        ledger: The watchdog's job ledger, a file (``None``: a temporary one, logged at
            the scope's start and removed at its end). The watchdog writes its report
            there; ``ionq-cancel --ledger`` reads it if the watchdog could not.

    Returns:
        The `CancelScope` to use in a ``with`` statement (or to `CancelScope.start`); its
        ``report`` says what was cancelled.

    Raises:
        UsageError: ``ledger`` without ``watchdog=True``, or empty; a ``deadline`` that
            is not a number of seconds above 0 (or ``None``).
    """
    return CancelScope(on_success=on_success, deadline=deadline, handle_sigterm=handle_sigterm,
                       track_threads=track_threads, watchdog=watchdog, ledger=ledger)


def _cancel_grouped(jobs: list[StockIonQJob], deadline: float | None) -> CancelReport:
    """Cancel jobs through their own clients (they may come from several providers)."""
    groups: dict[int, list[StockIonQJob]] = {}
    for job in jobs:
        groups.setdefault(id(upstream.job_client(job)), []).append(job)
    done: list[CancelReport] = []
    order = list(groups.values())
    for index, group in enumerate(order):
        try:
            done.append(cancel_jobs(group, deadline=deadline))
        except BaseException as exc:  # Ctrl-C, SIGTERM: every job still in the report
            partial = getattr(exc, "report", None)
            merged = _merged([*done, partial if isinstance(partial, CancelReport) else None])
            for job in (job for later in order[index + 1:] for job in later):
                merged.not_reached[str(job.job_id())] = (
                    f"the cancel was stopped ({type(exc).__name__}) before it reached this "
                    "job's provider: the job is as it was")
            with contextlib.suppress(AttributeError):  # (an exception refusing attributes)
                exc.report = merged  # type: ignore[attr-defined]
            raise
    return _merged([*done])


def _merged(parts: list[CancelReport | None]) -> CancelReport:
    merged = CancelReport()
    for part in parts:
        if part is not None:
            merged.merge(part)
    return merged


def _found(job: StockIonQJob, report: CancelReport | None) -> JobStatus | None:
    """What a cancel found an IonQ job to be: its row, else its local status if final."""
    row = None if report is None else report.statuses.get(str(job.job_id()))
    if row is not None:
        return row
    local = upstream.local_status(job)
    return local if local in JOB_FINAL_STATES else None
