"""``IonQJob``: qiskit-ionq's job whose ``cancel()`` tells the truth."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from qiskit.providers import JobStatus, JobTimeoutError
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._compat.memory import complete_memory
from ._http.client import IonQCancelClient
from .exceptions import PrimitiveJobCancelledError, RetriesExhaustedError
from .single import cancel

__all__ = ["IonQJob"]

logger = logging.getLogger("qiskit_ionq_cancel")


class IonQJob(StockIonQJob):
    """A ``qiskit_ionq.IonQJob`` with a ``cancel()`` that returns what really happened, and
    waits that can cancel the job when they time out or are interrupted.

    It adds methods only (no ``__init__``), so a stock job can be turned into one.
    """

    #: Set by a primitive job of this package for the jobs it submits, with the worker thread
    #: that waits on them: the primitive job sets the event once its cancel's verdict is
    #: "cancelled", which ends that worker's wait on this job at once
    #: (``PrimitiveJobCancelledError``), without another request. Waits in other threads are
    #: not affected.
    cancel_event: threading.Event | None = None
    cancel_worker: threading.Thread | None = None

    # qiskit-ionq declares cancel() -> None; returning what happened is the point here.
    def cancel(self, *, deadline: float | None = None,  # type: ignore[override]
               verify: bool = False) -> bool:
        """Cancel the job: ``True`` if it is cancelled afterwards, ``False`` if it had already
        finished otherwise. Its local status is updated, so ``status()``, ``cancelled()`` and
        ``done()`` answer without another request.

        ``True`` rests on IonQ's clean answer ``{"id": ..., "status": "canceled"}`` (or the
        job read back as ``canceled``); ``verify=True`` reads the job back after that answer
        too, one more request, and reports what it is then.

        Raises :class:`~qiskit_ionq_cancel.exceptions.JobNotSubmittedError` for a job never
        submitted, and the typed errors of :mod:`qiskit_ionq_cancel.exceptions` when IonQ
        cannot be reached within ``deadline`` seconds or refuses the request.
        """
        return cancel(self, deadline=deadline, verify=verify)

    def result(self, *args: Any, cancel_on_timeout: bool | None = None,
               cancel_on_interrupt: bool | None = None, **kwargs: Any) -> Any:
        """qiskit-ionq's ``result()``, with its arguments as the installed version has them
        (``sharpen``, ``aggregation`` on newer versions, ``timeout``, ``wait``, ...).

        With ``cancel_on_timeout=True`` a timeout cancels the job before ``JobTimeoutError``
        is raised, and with ``cancel_on_interrupt=True`` so does Ctrl-C
        (``KeyboardInterrupt``). ``None``: the provider's setting."""
        self._wait_options = (cancel_on_timeout, cancel_on_interrupt)
        try:
            result = super().result(*args, **kwargs)
        finally:
            self._wait_options = (None, None)
        if getattr(self, "memory", False):  # run(memory=True), as BackendSamplerV2 does
            complete_memory(result)
        return result

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 5,
        callback: Callable[..., Any] | None = None,
        *,
        cancel_on_timeout: bool | None = None,
        cancel_on_interrupt: bool | None = None,
    ) -> None:
        """Qiskit's wait, with the same two options as :meth:`result`."""
        from_result = getattr(self, "_wait_options", (None, None))
        on_timeout = self._option("cancel_on_timeout", cancel_on_timeout, from_result[0])
        on_interrupt = self._option("cancel_on_interrupt", cancel_on_interrupt, from_result[1])
        try:
            self._poll(timeout, wait, callback)
        except JobTimeoutError:
            if on_timeout:
                self._cancel_because("the wait timed out")
            raise
        except KeyboardInterrupt:
            if on_interrupt:
                self._cancel_because("the wait was interrupted")
            raise

    def _poll(self, timeout: float | None, wait: float,
              callback: Callable[..., Any] | None) -> None:
        """Qiskit's ``JobV1.wait_for_final_state`` loop, except that no sleep goes past the
        timeout: ``result(timeout=3)`` with the default 5 s between polls returns at 3 s."""
        start = time.monotonic()
        status = self._status_within(timeout)
        while status not in JOB_FINAL_STATES:
            left = None if timeout is None else timeout - (time.monotonic() - start)
            if left is not None and left <= 0:
                raise JobTimeoutError(f"Timeout while waiting for job {self.job_id()}.")
            if callback:
                callback(self.job_id(), status, self)
            pause = wait if left is None else min(wait, left)
            stop = self._worker_stop()
            if stop is None:
                time.sleep(pause)
            else:
                stop.wait(pause)
            status = self._status_within(
                None if timeout is None else timeout - (time.monotonic() - start))

    def _worker_stop(self) -> threading.Event | None:
        """The primitive job's stop event when this thread is its worker, else ``None``."""
        return self.cancel_event if threading.current_thread() is self.cancel_worker else None

    def _status_within(self, left: float | None) -> JobStatus:
        """``status()``, its request bounded by ``left`` seconds (a poll that hangs must not
        hold a wait past its timeout; a poll cut short is a ``JobTimeoutError``), except for
        a job this package already knows is cancelled: no request, and none of qiskit-ionq's
        warnings about reading a canceled job. The primitive job's worker, once its
        ``cancel_event`` is set (the primitive job was cancelled, from another thread), stops with
        :class:`PrimitiveJobCancelledError`, sending nothing."""
        local = upstream.local_status(self)
        if local is JobStatus.CANCELLED:
            return local
        stop = self._worker_stop()
        if stop is not None and stop.is_set():
            if local in JOB_FINAL_STATES:
                return local
            raise PrimitiveJobCancelledError(
                f"The primitive job that submitted IonQ job {self.job_id()} was cancelled; "
                "it stopped waiting for it")
        client = upstream.job_client(self)
        if left is None or not isinstance(client, IonQCancelClient) or \
                local in JOB_FINAL_STATES:
            status: JobStatus = self.status()
            return status
        policy = client.retry_policy
        try:
            job = client.retrieve_job(self.job_id(), policy=policy.with_deadline(
                max(0.001, min(left, policy.deadline))))
        except RetriesExhaustedError as exc:
            if left < policy.deadline:  # cut by the wait's timeout
                raise JobTimeoutError(f"Timeout while waiting for job {self.job_id()} "
                                      f"(its last status poll: {exc})") from exc
            raise
        # qiskit-ionq's own status() digests it: no second request past the timeout.
        return upstream.replay_status(self, job)

    def _option(self, name: str, *choices: bool | None) -> bool:
        for choice in choices:
            if choice is not None:
                return choice
        provider = getattr(self.backend(), "provider", None)
        return bool(getattr(provider, name, False))

    def _cancel_because(self, why: str) -> None:
        try:
            cancelled = self.cancel()
        except Exception:
            logger.exception("Job %s: %s, and cancelling it failed", self.job_id(), why)
            raise
        logger.warning("Job %s: %s; %s", self.job_id(), why,
                       "cancelled it" if cancelled else "it had already finished")
