"""Safety nets: jobs are not left running by accident.

``with cancel_on_exit():`` tracks every job submitted through this package's backends inside
the block (from any thread) and, if the block ends through an exception, ``KeyboardInterrupt``
or SIGTERM (as batch schedulers send), cancels the unfinished ones in bulk before the
exception goes on.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from . import upstream
from .bulk import cancel_jobs
from .composite import CompositeJob
from .report import CancelReport

__all__ = ["CancelScope", "cancel_on_exit", "submissions_to"]

logger = logging.getLogger("qiskit_ionq_cancel")

_active: list[CancelScope] = []
_active_lock = threading.Lock()
_listeners = threading.local()  # per thread: callbacks for the jobs it submits


def track_submitted(job: StockIonQJob | CompositeJob) -> None:
    """Called by this package's backends for every job they submit (and by its primitives
    for every primitive job), then by the listeners of this thread (IonQ jobs only)."""
    with _active_lock:
        scopes = list(_active)
    for scope in scopes:
        scope.track(job)
    if isinstance(job, StockIonQJob):
        for listener in list(getattr(_listeners, "stack", ())):
            listener(job)


@contextmanager
def submissions_to(listener: Callable[[StockIonQJob], None]) -> Iterator[None]:
    """Inside the block, every IonQ job this thread submits is passed to ``listener``
    (right after its submission; an exception it raises leaves ``backend.run``)."""
    stack: list[Callable[[StockIonQJob], None]] = _listeners.__dict__.setdefault("stack", [])
    stack.append(listener)
    try:
        yield
    finally:
        stack.remove(listener)


class CancelScope:
    """The context manager returned by :func:`cancel_on_exit`.

    After the block, ``report`` holds the :class:`CancelReport` of what was cancelled
    (``None`` when nothing needed cancelling).
    """

    def __init__(self, *, on_success: bool = False, deadline: float | None = 60.0,
                 handle_sigterm: bool = True) -> None:
        self.on_success = on_success
        self.deadline = deadline
        self.handle_sigterm = handle_sigterm
        self.jobs: list[StockIonQJob | CompositeJob] = []
        self.report: CancelReport | None = None
        self._lock = threading.Lock()
        self._previous_handler: Callable[[int, FrameType | None], Any] | int | None = None
        self._installed = False

    def track(self, job: StockIonQJob | CompositeJob) -> StockIonQJob | CompositeJob:
        """Track a job submitted some other way (a plain qiskit-ionq job, or a primitive
        job of this package: it is cancelled with the IonQ jobs it submitted)."""
        with self._lock:
            self.jobs.append(job)
        return job

    def __enter__(self) -> CancelScope:
        with _active_lock:
            _active.append(self)
        if self.handle_sigterm and threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGTERM, _raise_system_exit)
            self._installed = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with _active_lock:
            _active.remove(self)
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._installed = False
        if exc_type is None and not self.on_success:
            return
        with self._lock:
            tracked = list(self.jobs)
        composites = [j for j in tracked if isinstance(j, CompositeJob)]
        ionq = {id(j): j for j in tracked if isinstance(j, StockIonQJob)}
        for composite in composites:  # their later submissions are cancelled at once
            if not composite.in_final_state():
                ionq.update((id(j), j) for j in composite.claim_for_cancel())
        unfinished = [j for j in ionq.values()
                      if j.job_id() and upstream.local_status(j) not in JOB_FINAL_STATES]
        if not unfinished:
            return
        why = "the block ended normally" if exc_type is None else \
            f"the block ended with {exc_type.__name__}"
        logger.warning("Cancelling %d unfinished IonQ job(s): %s", len(unfinished), why)
        self.report = _cancel_grouped(unfinished, self.deadline)
        logger.warning("cancel_on_exit: %s", self.report.summary())


def cancel_on_exit(*, on_success: bool = False, deadline: float | None = 60.0,
                   handle_sigterm: bool = True) -> CancelScope:
    """Cancel, in bulk, the jobs submitted inside the block if it does not end normally.

    ``on_success=True`` cancels them on a normal end too (for "run, collect what finished,
    drop the rest" code). ``deadline`` bounds the cancelling. With ``handle_sigterm`` (and in
    the main thread), SIGTERM inside the block raises ``SystemExit(143)`` so the same cleanup
    runs; the previous handler is restored afterwards. The exception always goes on.
    """
    return CancelScope(on_success=on_success, deadline=deadline, handle_sigterm=handle_sigterm)


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _cancel_grouped(jobs: list[StockIonQJob], deadline: float | None) -> CancelReport:
    """Cancel jobs through their own clients (they may come from several providers)."""
    groups: dict[int, list[StockIonQJob]] = {}
    for job in jobs:
        groups.setdefault(id(upstream.job_client(job)), []).append(job)
    merged = CancelReport()
    for group in groups.values():
        part = cancel_jobs(group, deadline=deadline)
        merged.statuses.update(part.statuses)
        merged.errors.update(part.errors)
        merged.elapsed += part.elapsed
        merged.requests += part.requests
    return merged
