"""``cancel()``: the truthful cancel, for this package's jobs, stock qiskit-ionq jobs and ids."""

from __future__ import annotations

import logging
from typing import NamedTuple, Protocol, cast

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.helpers import resolve_credentials
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._core.composite import CompositeJob, HasIonQJobs, refuse_foreign_primitive_job
from ._core.deadline import scope
from ._core.validation import validate_job_id
from ._http.client import CancelOutcome, IonQCancelClient
from .exceptions import JobNotSubmittedError, NoAnswerError
from .report import CancelReport

__all__ = ["HasClient", "PartsCancelled", "apply_outcome", "cancel", "cancel_parts", "client_for",
           "env_api_key"]

logger = logging.getLogger("qiskit_ionq_cancel")


class HasClient(Protocol):
    """Anything that carries this package's client (its ``IonQProvider``, for one)."""

    @property
    def client(self) -> IonQCancelClient:
        """The client to send with."""


def cancel(job_or_id: StockIonQJob | CompositeJob | HasIonQJobs | str, *,
           provider: HasClient | None = None, deadline: float | None = None,
           verify: bool = False) -> bool:
    """Cancel one IonQ job and say what really happened.

    ``True`` rests on IonQ's word: its clean answer ``{"id": ..., "status": "canceled"}``
    to the cancel, or the job read back as ``canceled``. A failure to establish which
    raises; it is never reported as cancelled. A job already final locally sends no
    request. A primitive job of this package cancels the IonQ jobs it submitted (its
    ``cancel()``), always reading them back. A primitive job of qiskit-ionq's own
    ``IonQSampler`` / ``IonQEstimator`` (qiskit-ionq with pull request #237) cancels each of
    its ``ionq_jobs``: ``True`` if at least one is cancelled afterwards, ``False`` if none is
    (all had finished, or it has none).

    Args:
        job_or_id: A job of this package, a plain ``qiskit_ionq.IonQJob`` (its own URL and
            key are used, and its local status is updated), a primitive job (this
            package's, or qiskit-ionq's own), or a job id.
        provider: For a job id: the provider whose URL and key to use; ``None``:
            ``IONQ_API_KEY`` / ``IONQ_API_URL`` from the environment.
        deadline: Seconds the whole call may take (the cancel, and a read-back when its
            answer must be checked), retries and waits included; ``None``: the retry
            policy's deadline.
        verify: Read the job back even after IonQ's clean answer (one more request) and
            report what it is then: for a server that might answer ``canceled`` for a job
            that had already finished. A job known cancelled locally is asked again too.

    Returns:
        ``True`` if the job is cancelled afterwards, ``False`` if it had already finished
        otherwise (completed or failed).

    Raises:
        InvalidJobIdError: The id is not a canonical UUID (nothing was sent).
        JobNotSubmittedError: The job was never submitted.
        NoAnswerError: IonQ could not be reached, or gave no usable answer, within the
            deadline; the outcome is unknown.
        RefusedError: IonQ refused the request (the key, the job, the URL).
        CancelNotConfirmedError: The cancel was answered, but the job read back is still
            not final.
        BatchCancelError: For qiskit-ionq's primitive job, some IonQ job's outcome is
            unknown (raised after every job was tried; its ``report`` names each).
    """
    if isinstance(job_or_id, StockIonQJob):
        return _cancel_job(job_or_id, deadline, verify)
    if isinstance(job_or_id, CompositeJob):
        return _cancel_composite(job_or_id, deadline)
    parts = upstream.primitive_ionq_jobs(job_or_id)
    if parts is not None:  # qiskit-ionq's own IonQPrimitiveJob (IonQSampler / IonQEstimator)
        return cancel_parts(parts, deadline).verdict
    refuse_foreign_primitive_job(job_or_id)
    job_id = cast(str, job_or_id)  # anything else is an id (checked: a non-string is refused)
    if provider is None:  # checked before anything else, even the URL
        validate_job_id(job_id, env_api_key())
    client, own = client_for(provider, None)
    try:
        return client.cancel(job_id, deadline=deadline, verify=verify).cancelled
    finally:
        if own:
            client.close()


def env_api_key() -> str | None:
    """The key a call without a provider would use (``IONQ_API_KEY``), to keep it out of
    error messages before that client exists."""
    token: str | None = resolve_credentials()["token"]
    return token


class PartsCancelled(NamedTuple):
    """What :func:`cancel_parts` established: the verdict and the report of every job."""

    verdict: bool
    report: CancelReport


def cancel_parts(jobs: list[StockIonQJob], deadline: float | None) -> PartsCancelled:
    """Cancel the IonQ jobs of one primitive job, one by one (a primitive submits one job per
    PUB or per chunk of circuits: a few, where a batch's bulk path would cost more round
    trips), each with what is left of ``deadline``. Every job is tried and reported; the
    verdict is ``True`` if at least one is cancelled afterwards. Raises
    :class:`BatchCancelError` (after trying all) when some job's outcome is unknown."""
    report = CancelReport()
    unsubmitted = 0
    ours = {id(c): c for j in jobs if isinstance(j, StockIonQJob)
            and isinstance(c := upstream.job_client(j), IonQCancelClient)}
    sent_before = sum(c.requests_sent for c in ours.values())
    with scope(deadline) as left:  # one deadline for all the jobs, within any open call's
        for job in jobs:
            key = job.job_id()
            if not key:
                unsubmitted += 1
                key = f"<job without id #{unsubmitted}>"
            try:
                if left.expired:
                    raise NoAnswerError(
                        f"Not tried: the deadline of {left.seconds:g} s ran out", job_id=key,
                        hint="Cancel it again, or with a longer deadline")
                _cancel_job(job, None if deadline is None else left.remaining, False)
                status = upstream.local_status(job)
                assert status is not None  # the cancel settled it
                report.statuses[key] = status
            except Exception as exc:  # one job's failure must not keep the others from it
                report.errors[key] = exc
        report.elapsed = left.elapsed
    # Counted on this package's clients (a stock job's client is rebuilt for the call).
    report.requests = sum(c.requests_sent for c in ours.values()) - sent_before
    logger.info("Primitive job's IonQ jobs: %s", report.summary())
    report.raise_for_errors()
    return PartsCancelled(bool(report.cancelled), report)


def _cancel_composite(job: CompositeJob, deadline: float | None) -> bool:
    return job.cancel(deadline=deadline)


def client_for(provider: HasClient | None,
               job: StockIonQJob | str | None) -> tuple[IonQCancelClient, bool]:
    """The client to use, and whether it was made here (and must be closed): the provider's,
    else the job's own (ours as it is, a stock one rebuilt with the same URL, key and
    headers), else one from the environment (``IONQ_API_KEY`` / ``IONQ_API_URL``)."""
    if provider is not None:
        return provider.client, False
    if isinstance(job, StockIonQJob):
        stock = upstream.job_client(job)
        if isinstance(stock, IonQCancelClient):
            return stock, False
        return IonQCancelClient(*upstream.client_settings(stock)), True
    creds = resolve_credentials()
    return IonQCancelClient(creds["token"], creds["url"]), True


def _cancel_job(job: StockIonQJob, deadline: float | None, verify: bool) -> bool:
    job_id = job.job_id()
    if not job_id:
        raise JobNotSubmittedError(
            "This job has no id: it was never submitted, so there is nothing to cancel. "
            "Submit it with backend.run(...) first."
        )
    local = upstream.local_status(job)
    if local in JOB_FINAL_STATES and not (verify and local is JobStatus.CANCELLED):
        logger.debug("Job %s is already %s locally; no request sent", job_id, local)
        return local is JobStatus.CANCELLED
    client, own = client_for(None, job)
    try:
        outcome = client.cancel(job_id, deadline=deadline, verify=verify)
    finally:
        if own:
            client.close()
    apply_outcome(job, outcome)
    return outcome.cancelled


def apply_outcome(job: StockIonQJob, outcome: CancelOutcome) -> None:
    """Bring the job's local state up to date with what the cancel established.

    Never raises: a job object qiskit-ionq cannot digest (``"stats": null``, say) must not
    cost the truth about the server, so then only the status is recorded."""
    try:
        if outcome.job is None or outcome.status is not JobStatus.DONE:
            upstream.set_local_status(job, outcome.status, outcome.job)
            return
        # A completed job: qiskit-ionq's own status() digests the job object we read.
        upstream.replay_status(job, outcome.job)
    except Exception as exc:
        logger.warning("Job %s is %s, but qiskit-ionq could not take in the job as read "
                       "(%s: %s); only its status is recorded", outcome.job_id,
                       outcome.status.name, type(exc).__name__, exc)
        upstream.set_local_status(job, outcome.status)
