"""``cancel()``: the truthful cancel, for this package's jobs, stock qiskit-ionq jobs and ids."""

from __future__ import annotations

import logging
from typing import Protocol

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.helpers import resolve_credentials
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from ._compat import upstream
from ._core.composite import CompositeJob, refuse_foreign_primitive_job
from ._core.validation import validate_job_id
from ._http.client import CancelOutcome, IonQCancelClient
from .exceptions import JobNotSubmittedError

__all__ = ["HasClient", "apply_outcome", "cancel", "client_for", "env_api_key"]

logger = logging.getLogger("qiskit_ionq_cancel")


class HasClient(Protocol):
    """Anything that carries this package's client (its ``IonQProvider``, for one)."""

    @property
    def client(self) -> IonQCancelClient:
        """The client to send with."""


def cancel(job_or_id: StockIonQJob | CompositeJob | str, *, provider: HasClient | None = None,
           deadline: float | None = None, verify: bool = False) -> bool:
    """Cancel one IonQ job; return ``True`` if it is cancelled afterwards, ``False`` if it
    had already finished otherwise (completed or failed). A failure to establish which
    raises (the typed errors of :mod:`qiskit_ionq_cancel.exceptions`); it is never reported
    as cancelled.

    ``job_or_id`` is a job of this package, a plain ``qiskit_ionq.IonQJob`` (its own URL and
    key are used, and its local status is updated), or a job id (then ``provider``, or
    ``IONQ_API_KEY`` / ``IONQ_API_URL`` from the environment). ``deadline`` bounds the seconds
    spent retrying transient failures. A job already final locally sends no request.

    ``True`` rests on IonQ's word: its clean answer ``{"id": ..., "status": "canceled"}``
    to the cancel, or the job read back as ``canceled``. ``verify=True`` reads the job back
    even after that clean answer (one more request) and reports what it is then: for a
    server that might answer ``canceled`` for a job that had already finished; a job known
    cancelled locally is then asked again too. A primitive job of this package cancels the
    IonQ jobs it submitted (its ``cancel()``), always reading them back.
    """
    if isinstance(job_or_id, StockIonQJob):
        return _cancel_job(job_or_id, deadline, verify)
    if isinstance(job_or_id, CompositeJob):
        return _cancel_composite(job_or_id, deadline)
    refuse_foreign_primitive_job(job_or_id)
    if provider is None:  # checked before anything else, even the URL
        validate_job_id(job_or_id, env_api_key())
    client, own = client_for(provider, None)
    try:
        return client.cancel(job_or_id, deadline=deadline, verify=verify).cancelled
    finally:
        if own:
            client.close()


def env_api_key() -> str | None:
    """The key a call without a provider would use (``IONQ_API_KEY``), to keep it out of
    error messages before that client exists."""
    token: str | None = resolve_credentials()["token"]
    return token


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
