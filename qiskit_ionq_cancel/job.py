"""``IonQJob``: qiskit-ionq's job whose ``cancel()`` tells the truth."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from qiskit.providers import JobStatus, JobTimeoutError
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._compat.memory import complete_memory
from ._core.deadline import Deadline, scope
from ._http.client import IonQCancelClient
from .exceptions import PrimitiveJobCancelledError, RetriesExhaustedError
from .retry import RetryPolicy
from .single import cancel

__all__ = ["IonQJob"]

logger = logging.getLogger("qiskit_ionq_cancel")


class IonQJob(StockIonQJob):
    """A ``qiskit_ionq.IonQJob`` whose ``cancel()`` returns what really happened.

    Its waits (``result()``, ``wait_for_final_state()``) can cancel the job when they time
    out or are interrupted. It adds methods only (no ``__init__``), so a stock job can be
    turned into one.
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
        """Cancel the job and say what really happened.

        Its local status is updated, so ``status()``, ``cancelled()`` and ``done()`` answer
        without another request. A job already final locally sends no request. ``True``
        rests on IonQ's clean answer ``{"id": ..., "status": "canceled"}`` or the job read
        back as ``canceled``.

        Args:
            deadline: Seconds the whole call may take (the cancel, and a read-back when its
                answer must be checked), retries and waits included; ``None``: the
                provider's ``RetryPolicy.deadline``.
            verify: Read the job back after IonQ's clean answer too (one more request) and
                report what it is then.

        Returns:
            ``True`` if the job is cancelled afterwards, ``False`` if it had already
            finished otherwise (completed or failed).

        Raises:
            JobNotSubmittedError: The job was never submitted.
            NoAnswerError: IonQ could not be reached, or gave no usable answer, within the
                deadline; the outcome is unknown.
            RefusedError: IonQ refused the request (the key, the job, the URL).
            CancelNotConfirmedError: The cancel was answered, but the job read back is
                still not final.
        """
        return cancel(self, deadline=deadline, verify=verify)

    def result(self, *args: Any, cancel_on_timeout: bool | None = None,
               cancel_on_interrupt: bool | None = None, **kwargs: Any) -> Any:
        """Wait for the job and return its result, as qiskit-ionq's ``result()``.

        Args:
            *args: qiskit-ionq's arguments, as the installed version has them.
            cancel_on_timeout: Cancel the job when the wait times out, before
                ``JobTimeoutError`` is raised; ``None``: the provider's setting.
            cancel_on_interrupt: Cancel the job on Ctrl-C (``KeyboardInterrupt``) during the
                wait, before the exception goes on; ``None``: the provider's setting.
            **kwargs: qiskit-ionq's keyword arguments (``sharpen``, ``aggregation`` on newer
                versions, ``timeout``, ``wait``, ...).

        Returns:
            The job's Qiskit ``Result``.

        Raises:
            JobTimeoutError: The wait timed out (Qiskit's exception).
            IonQJobStateError: The job was cancelled (qiskit-ionq's exception).
        """
        # By thread: another thread's result() on the same job must not read or reset them.
        options = self.__dict__.setdefault("_wait_options", {})
        me = threading.get_ident()
        options[me] = (cancel_on_timeout, cancel_on_interrupt)
        try:
            result = super().result(*args, **kwargs)
        finally:
            del options[me]
        if getattr(self, "memory", False):  # run(memory=True), as BackendSamplerV2 does
            complete_memory(result)
        return result

    def status(self, detailed: bool = False) -> Any:
        """qiskit-ionq's ``status()``, safe while other threads poll the same job.

        A primitive's worker and its user may both wait on one job. qiskit-ionq's own
        ``status()`` sets the status before it stores the results that go with it, and sets
        it whatever it was: another thread could see ``DONE`` with no results stored yet, or
        an answer read while the job still ran, digested late, turned ``DONE`` back into
        ``RUNNING`` under a ``result()`` (a ``Result`` that was not successful). Here the
        job read is digested aside and taken in at once (``_compat.upstream.replay_status``).

        Args:
            detailed: Return the children's statuses (a dict), as qiskit-ionq's.

        Returns:
            Qiskit's ``JobStatus`` (or, with ``detailed``, qiskit-ionq's dict).

        Raises:
            IonQJobFailureError: The job failed (qiskit-ionq's exception).
        """
        job_id = self.job_id()
        if not job_id or upstream.local_status(self) in JOB_FINAL_STATES:
            return super().status(detailed)  # known here: no request (but detailed's)
        status = upstream.replay_status(self, upstream.job_client(self).retrieve_job(job_id))
        return upstream.children_status(self) if detailed else status

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 5,
        callback: Callable[..., Any] | None = None,
        *,
        cancel_on_timeout: bool | None = None,
        cancel_on_interrupt: bool | None = None,
    ) -> None:
        """Wait until the job is final, as Qiskit's wait; no sleep goes past the timeout.

        Args:
            timeout: Seconds to wait at most; ``None``: no limit.
            wait: Seconds between status polls.
            callback: Called with ``(job_id, status, job)`` at each poll.
            cancel_on_timeout: As for `result`.
            cancel_on_interrupt: As for `result`.

        Raises:
            JobTimeoutError: The wait timed out (Qiskit's exception).
        """
        from_result = getattr(self, "_wait_options", {}).get(threading.get_ident(),
                                                             (None, None))
        on_timeout = self._option("cancel_on_timeout", cancel_on_timeout, from_result[0])
        on_interrupt = self._option("cancel_on_interrupt", cancel_on_interrupt, from_result[1])
        client = upstream.job_client(self)
        policy = client.retry_policy if isinstance(client, IonQCancelClient) else RetryPolicy()
        try:
            # left before a cancel: that has a deadline of its own
            with scope(timeout, policy.clock) as deadline:
                self._poll(deadline, policy, wait, callback)
        except JobTimeoutError:
            if on_timeout:
                self._cancel_because("the wait timed out")
            raise
        except KeyboardInterrupt:
            if on_interrupt:
                self._cancel_because("the wait was interrupted")
            raise

    def _poll(self, deadline: Deadline, policy: RetryPolicy, wait: float,
              callback: Callable[..., Any] | None) -> None:
        """Qiskit's ``JobV1.wait_for_final_state`` loop, except that no sleep goes past the
        timeout (``deadline``): ``result(timeout=3)`` with the default 5 s between polls
        returns at 3 s; and the sleep (the client's policy's pause) ends at once on Ctrl-C."""
        status = self._status_within(deadline)
        while status not in JOB_FINAL_STATES:
            if callback:
                callback(self.job_id(), status, self)
            stop = self._worker_stop()
            if stop is None:
                policy.pause(wait, deadline)
            else:
                stop.wait(min(wait, deadline.remaining))
            if deadline.expired:  # no poll once the time is up: nothing is sent past it
                raise JobTimeoutError(f"Timeout while waiting for job {self.job_id()}.")
            status = self._status_within(deadline)

    def _worker_stop(self) -> threading.Event | None:
        """The primitive job's stop event when this thread is its worker, else ``None``."""
        return self.cancel_event if threading.current_thread() is self.cancel_worker else None

    def _status_within(self, deadline: Deadline) -> JobStatus:
        """``status()``, its request bounded by the wait's ``deadline`` (a poll that hangs must not
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
        if not deadline.bounded or not isinstance(client, IonQCancelClient) or \
                local in JOB_FINAL_STATES:
            status: JobStatus = self.status()
            return status
        try:  # each poll within the policy's deadline, all within the wait's
            job = client.retrieve_job(self.job_id(), policy=client.retry_policy)
        except RetriesExhaustedError as exc:
            if deadline.expired:  # cut by the wait's timeout
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
