"""Qiskit's ``BackendSamplerV2`` / ``BackendEstimatorV2`` on IonQ, with a ``cancel()`` that
reaches IonQ.

Qiskit's primitive job runs the primitive in a worker thread and its ``cancel()`` is
``Future.cancel()``: once the work has started it returns ``False`` and every IonQ job the
primitive submitted runs on. Here the worker's submits go through the job
(:func:`~qiskit_ionq_cancel.scope.submissions_to`), and ``cancel()`` first refuses any
further submit (nothing more is sent), waits for a submit already in flight, then cancels
(in bulk, every job read back) the IonQ jobs submitted. Its answer is the one verdict
(:func:`~qiskit_ionq_cancel._core.verdict.composite_verdict`):

* ``True`` when it had submitted no IonQ job (nothing will run; ``cancel_report`` notes that
  no IonQ job existed), or when IonQ named one of its IonQ jobs cancelled;
* ``False`` when it had finished (done or failed), or when every IonQ job it submitted had
  already completed or failed: its result stands (its submits are allowed again);
* it raises when some IonQ job's outcome could not be established (``BatchCancelError``) or
  a submit was still in flight at the deadline (``NoAnswerError``): nothing is reported
  cancelled, and ``cancel()`` may be called again.

A cancelled primitive job's ``status()`` is ``CANCELLED`` and its ``result()`` raises
:class:`~qiskit_ionq_cancel.exceptions.PrimitiveJobCancelledError`; until the verdict, both
are Qiskit's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.primitives.primitive_job import PrimitiveJob
from qiskit.providers import JobError, JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from . import _deprecated
from ._compat import upstream
from ._core.composite import CompositeJob
from ._core.deadline import scope, wait_until
from ._core.verdict import composite_verdict
from ._http import budget
from .bulk import NO_IONQ_JOB, cancel_jobs
from .exceptions import NoAnswerError, PrimitiveJobCancelledError
from .job import IonQJob
from .report import CancelReport
from .scope import submissions_to, track_submitted
from .single import cancel

__all__ = ["EstimatorV2", "IonQCancelPrimitiveJob", "SamplerV2"]

logger = logging.getLogger("qiskit_ionq_cancel")


class IonQCancelPrimitiveJob(PrimitiveJob, CompositeJob):  # type: ignore[misc]
    """Qiskit's ``PrimitiveJob`` whose ``cancel()`` cancels the IonQ jobs it submitted.

    Returned by `SamplerV2.run` and `EstimatorV2.run`. (Called ``IonQPrimitiveJob`` in 0.1,
    the name of a different class of qiskit-ionq's own primitives; the old name works, with
    a ``DeprecationWarning``, until 0.3.0.)

    Attributes:
        cancel_report: What the last ``cancel()`` established for the IonQ jobs (``None``:
            there were none to cancel).
    """

    _future: Future[Any] | None

    def __init__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(function, *args, **kwargs)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a submit began or ended
        self._ionq: list[StockIonQJob] = []
        self._in_flight = 0  # submits sent and not returned
        self._cancel_requested = False  # submits are refused
        self._refused = False  # a submit was refused: the work stopped short
        self._collecting = 0  # cancels waiting for the submits in flight
        self._cancelled = False  # the verdict: cancelled
        self._stop = threading.Event()  # ends the worker's waits on its IonQ jobs
        #: What the last ``cancel()`` established for the IonQ jobs.
        self.cancel_report: CancelReport | None = None

    def _submit(self) -> None:
        if self._future is not None:
            raise JobError("Primitive job has been submitted already.")
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ionq-primitive")
        # a pool's thread does not share this context: the open budgets are handed over
        self._future = executor.submit(self._work, budget.current())
        self._future.add_done_callback(self._ended)
        executor.shutdown(wait=False)

    def _ended(self, _: Future[Any]) -> None:
        with self._lock:  # wait_for_submission() waits no more
            self._changed.notify_all()

    def _work(self, budgets: tuple[budget.BudgetState, ...] = ()) -> Any:
        with budget.entered(budgets), submissions_to(self):
            return self._function(*self._args, **self._kwargs)

    # -- its submits (the worker's thread) ------------------------------------------------
    def before_submit(self) -> None:
        """Refuse a submit once a cancel was asked for: nothing is sent."""
        with self._lock:
            if self._cancel_requested:
                self._refused = True
                raise PrimitiveJobCancelledError(
                    f"Primitive job {self.job_id()} is being cancelled; it submits no more "
                    "IonQ jobs")
            self._in_flight += 1

    def after_submit(self, job: StockIonQJob | None) -> None:
        """A submit returned ``job`` (``None``: it failed). A cancel waiting for this submit
        cancels the job with the others; if none waits any more (its deadline ran out), the
        job is cancelled here, at once, and the worker stops."""
        if job is not None and isinstance(job, IonQJob):
            job.cancel_event, job.cancel_worker = self._stop, threading.current_thread()
        with self._lock:
            self._in_flight -= 1
            if job is not None:
                self._ionq.append(job)  # a cancel from now on finds it
            orphan = self._cancel_requested and not self._collecting and job is not None
            self._changed.notify_all()
        if job is None or not orphan:
            return
        logger.warning("Primitive job %s: cancelling IonQ job %s, whose submit returned after "
                       "the cancel stopped waiting for it", self.job_id(), job.job_id())
        cancel(job)  # a failure leaves the worker with it: status() ERROR, not CANCELLED
        raise PrimitiveJobCancelledError(
            f"Primitive job {self.job_id()} is being cancelled; it stopped after submitting "
            f"IonQ job {job.job_id()} (see its cancel's outcome)")

    # -- what it submitted --------------------------------------------------------------
    def ionq_jobs(self) -> list[StockIonQJob]:
        """Return the IonQ jobs submitted so far (none while still transpiling)."""
        with self._lock:
            return list(self._ionq)

    def wait_for_submission(self, count: int = 1, timeout: float | None = None
                            ) -> list[StockIonQJob]:
        """Wait until IonQ jobs were submitted, or the work ended.

        Args:
            count: How many IonQ jobs to wait for.
            timeout: Seconds to wait at most; ``None``: no limit.

        Returns:
            The IonQ jobs submitted so far.
        """
        with self._lock:
            wait_until(self._changed,
                       lambda: len(self._ionq) >= count or (self._future is not None
                                                            and self._future.done()),
                       timeout)
            return list(self._ionq)

    # -- cancel -------------------------------------------------------------------------
    def claim_for_cancel(self, deadline: float | None = None) -> list[StockIonQJob] | None:
        """Refuse its submits from now on, wait (up to ``deadline`` seconds) for those in
        flight, and return the IonQ jobs it submitted; ``None`` if it had finished."""
        self._check_submitted()
        assert self._future is not None
        self._future.cancel()  # if the work has not started, it never will
        with self._lock:
            if self._future.done() and not self._future.cancelled() \
                    and not self._cancel_requested:
                return None  # done or failed before the cancel
            self._cancel_requested = True
            if self._in_flight:
                logger.info("Primitive job %s: waiting for %d IonQ submit(s) in flight "
                            "before cancelling", self.job_id(), self._in_flight)
            self._collecting += 1
            try:
                wait_until(self._changed, lambda: self._in_flight == 0, deadline)
            finally:
                self._collecting -= 1
            return list(self._ionq)

    def settle_cancel(self, statuses: Mapping[str, JobStatus | None]) -> bool | None:
        """The verdict (:func:`~qiskit_ionq_cancel._core.verdict.composite_verdict`) from
        what its IonQ jobs were found to be. Cancelled: the worker stops waiting. Not
        cancelled (every IonQ job had finished): its submits are allowed again and its
        result stands. Not established: it stays as it is, its submits refused."""
        with self._lock:
            if self._cancelled:
                return True
            found = [statuses.get(str(job.job_id())) or _final(job) for job in self._ionq]
            outcome = None if self._in_flight else composite_verdict(
                found, stopped_short=self._refused)
            if outcome is True:
                self._cancelled = True
                self._stop.set()  # the worker stops waiting, sends nothing more
            elif outcome is False:
                self._cancel_requested = False
            self._changed.notify_all()
            return outcome

    def cancel(self, *, deadline: float | None = None) -> bool:
        """Cancel the primitive job and the IonQ jobs it submitted (in bulk, each read back).

        ``True`` when IonQ named one of its IonQ jobs cancelled, or when it had submitted
        none (it submits none afterwards: ``cancel_report`` notes that no IonQ job
        existed). A submit in flight is waited for, and its job cancelled with the others.

        Args:
            deadline: Seconds the cancelling may take, the wait for a submit in flight
                included.

        Returns:
            ``True`` if it is cancelled afterwards; ``False`` if it had already finished
            (done or failed), or every IonQ job it submitted had (its result stands).

        Raises:
            BatchCancelError: Some IonQ job's outcome could not be established; it is not
                reported cancelled, and ``cancel()`` may be called again.
            NoAnswerError: A submit was still in flight at the deadline.
        """
        if self._cancelled:
            return True
        with scope(deadline) as clock:  # one deadline: the wait for submits and the cancel
            jobs = self.claim_for_cancel(clock.remaining if clock.bounded else None)
            if jobs is None:
                return False
            unfinished = [j for j in jobs if upstream.local_status(j) not in JOB_FINAL_STATES]
            report = CancelReport()
            if unfinished:
                report = cancel_jobs(unfinished, deadline=deadline)  # within this scope
        self.cancel_report = report
        outcome = self.settle_cancel(report.statuses)
        if not jobs and outcome:
            report.statuses[self.job_id()] = JobStatus.CANCELLED
            report.notes[self.job_id()] = NO_IONQ_JOB
        logger.info("Primitive job %s: %s", self.job_id(), report.summary())
        if outcome is None:
            report.raise_for_errors()
            raise NoAnswerError(
                f"Primitive job {self.job_id()}: its cancel was not established (an IonQ "
                "submit was still in flight when the deadline ran out; its job is cancelled "
                "when the submit returns)", hint="Call cancel() again to learn the outcome")
        return outcome

    def status(self) -> JobStatus:
        """Return Qiskit's status of the job: ``CANCELLED`` once a cancel's verdict said so."""
        if self._cancelled:
            return JobStatus.CANCELLED
        status: JobStatus = PrimitiveJob.status(self)
        return status

    def result(self) -> Any:
        """Return the primitive's result.

        Raises:
            PrimitiveJobCancelledError: The job was cancelled; it has no result.
        """
        if self._cancelled:
            ids = ", ".join(str(j.job_id()) for j in self.ionq_jobs()) or "none"
            raise PrimitiveJobCancelledError(
                f"Primitive job {self.job_id()} was cancelled (IonQ jobs: {ids}); it has no "
                "result")
        return super().result()


def _final(job: StockIonQJob) -> JobStatus | None:
    """The job's local status if final (settled before, or by a wait), else ``None``."""
    local = upstream.local_status(job)
    return local if local in JOB_FINAL_STATES else None


def _start(function: Callable[..., Any], pubs: Any) -> IonQCancelPrimitiveJob:
    # Qiskit's run() bodies, with this job class: they build and submit their PrimitiveJob
    # in one method, so there is no hook to give them another class.
    job = IonQCancelPrimitiveJob(function, pubs)
    job._submit()
    track_submitted(job)  # a cancel_on_exit() block around run() tracks it
    return job


class SamplerV2(BackendSamplerV2):  # type: ignore[misc]
    """Qiskit's ``BackendSamplerV2``, whose jobs cancel the IonQ jobs they submitted.

    Same arguments: ``SamplerV2(backend=backend, options=...)``, with a backend of this
    package.
    """

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> IonQCancelPrimitiveJob:
        """Run the pubs, as ``BackendSamplerV2.run``.

        Args:
            pubs: Qiskit's sampler pubs (circuits, with parameter values and shots).
            shots: Shots for pubs that set none; ``None``: the options' default.

        Returns:
            An `IonQCancelPrimitiveJob`, whose ``cancel()`` reaches IonQ.
        """
        if shots is None:
            shots = self._options.default_shots
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        self._validate_pubs(coerced)
        return _start(self._run, coerced)


class EstimatorV2(BackendEstimatorV2):  # type: ignore[misc]
    """Qiskit's ``BackendEstimatorV2``, whose jobs cancel the IonQ jobs they submitted.

    Same arguments: ``EstimatorV2(backend=backend, options=...)``, with a backend of this
    package.
    """

    def run(self, pubs: Iterable[Any], *, precision: float | None = None
            ) -> IonQCancelPrimitiveJob:
        """Run the pubs, as ``BackendEstimatorV2.run``.

        Args:
            pubs: Qiskit's estimator pubs (circuits, observables, parameter values).
            precision: Precision for pubs that set none; ``None``: the options' default.

        Returns:
            An `IonQCancelPrimitiveJob`, whose ``cancel()`` reaches IonQ.
        """
        if precision is None:
            precision = self._options.default_precision
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        self._validate_pubs(coerced)
        return _start(self._run, coerced)


def __getattr__(name: str) -> object:
    if name == "IonQPrimitiveJob":  # its old name, for one release
        return _deprecated.warn_renamed(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
