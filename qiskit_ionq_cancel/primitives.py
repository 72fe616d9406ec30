"""Qiskit's ``BackendSamplerV2`` / ``BackendEstimatorV2`` on IonQ, with a ``cancel()`` that
reaches IonQ.

Qiskit's primitive job runs the primitive in a worker thread and its ``cancel()`` is
``Future.cancel()``: once the work has started it returns ``False`` and every IonQ job the
primitive submitted runs on. Here the worker records every IonQ job it submits (through
:func:`~qiskit_ionq_cancel.scope.submissions_to`), and ``cancel()``:

* before the work starts: nothing was submitted, nothing will be; ``True``;
* while it runs: cancels (in bulk, read back) the IonQ jobs submitted so far, and any job
  the worker submits afterwards (still transpiling, or the next batch of circuits) is
  cancelled at once and stops the worker; ``True``;
* after it finished (done or failed): ``False``, as ``IonQJob.cancel()`` for a finished job.

A cancelled primitive job's ``status()`` is ``CANCELLED`` and its ``result()`` raises
:class:`~qiskit_ionq_cancel.exceptions.PrimitiveJobCancelledError`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
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
from .bulk import cancel_jobs
from .exceptions import PrimitiveJobCancelledError
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
        self._submitted = threading.Condition(self._lock)
        self._ionq: list[StockIonQJob] = []
        self._cancel_requested = False
        self._stop = threading.Event()  # ends the worker's waits on its IonQ jobs
        #: What the last ``cancel()`` established for the IonQ jobs (``None``: none to cancel).
        self.cancel_report: CancelReport | None = None

    def _submit(self) -> None:
        if self._future is not None:
            raise JobError("Primitive job has been submitted already.")
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ionq-primitive")
        self._future = executor.submit(self._work)
        executor.shutdown(wait=False)

    def _work(self) -> Any:
        with submissions_to(self._adopt):
            return self._function(*self._args, **self._kwargs)

    def _adopt(self, job: StockIonQJob) -> None:
        """Called in the worker right after each IonQ submission."""
        if isinstance(job, IonQJob):
            job.cancel_event, job.cancel_worker = self._stop, threading.current_thread()
        with self._lock:
            self._ionq.append(job)  # a cancel from now on finds it
            late = self._cancel_requested
            if not late:
                self._submitted.notify_all()
        if late:
            logger.warning("Primitive job %s was cancelled; cancelling IonQ job %s it "
                           "submitted afterwards", self.job_id(), job.job_id())
            try:
                cancel(job)
            finally:
                with self._lock:  # waiters see it once it is cancelled
                    self._submitted.notify_all()
            raise PrimitiveJobCancelledError(
                f"Primitive job {self.job_id()} was cancelled; IonQ job {job.job_id()} "
                "submitted afterwards was cancelled at once")

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
            self._submitted.wait_for(
                lambda: len(self._ionq) >= count or (self._future is not None
                                                     and self._future.done()),
                timeout)
            return list(self._ionq)

    # -- cancel -------------------------------------------------------------------------
    def claim_for_cancel(self) -> list[StockIonQJob]:
        """Mark this job cancelled (later submissions are cancelled at once) unless it has
        finished; return the IonQ jobs submitted so far."""
        self._check_submitted()
        assert self._future is not None
        self._future.cancel()  # if the work has not started, it never will
        with self._lock:
            if not self._future.done() or self._future.cancelled():
                self._cancel_requested = True
                self._stop.set()  # the worker stops waiting, sends nothing more
            return list(self._ionq) if self._cancel_requested else []

    def cancel(self, *, deadline: float | None = None) -> bool:
        """Cancel the primitive job and the IonQ jobs it submitted.

        Before the work starts, nothing is sent; while it runs, the IonQ jobs so far are
        cancelled in bulk and read back (``cancel_report`` says what each is), and any job
        it submits afterwards is cancelled at once.

        Args:
            deadline: Seconds the cancelling may take.

        Returns:
            ``True`` if it is cancelled afterwards, ``False`` if it had already finished
            (done or failed).

        Raises:
            BatchCancelError: Some IonQ job's outcome could not be established.
        """
        jobs = self.claim_for_cancel()
        if not self._cancel_requested:
            return False
        unfinished = [j for j in jobs if upstream.local_status(j) not in JOB_FINAL_STATES]
        if unfinished:
            self.cancel_report = cancel_jobs(unfinished, deadline=deadline)
            logger.info("Primitive job %s: %s", self.job_id(), self.cancel_report.summary())
            self.cancel_report.raise_for_errors()
        return True

    def status(self) -> JobStatus:
        """Return Qiskit's status of the job: ``CANCELLED`` once ``cancel()`` succeeded."""
        if self._cancel_requested:
            return JobStatus.CANCELLED
        status: JobStatus = super().status()
        return status

    def result(self) -> Any:
        """Return the primitive's result.

        Raises:
            PrimitiveJobCancelledError: The job was cancelled; it has no result.
        """
        if self._cancel_requested:
            ids = ", ".join(str(j.job_id()) for j in self.ionq_jobs()) or "none yet"
            raise PrimitiveJobCancelledError(
                f"Primitive job {self.job_id()} was cancelled (IonQ jobs: {ids}); it has no "
                "result")
        return super().result()


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
