"""``cancel()``: the truthful cancel, for this package's jobs, stock qiskit-ionq jobs and ids."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.helpers import resolve_credentials
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from .client import CancelOutcome, IonQCancelClient
from .exceptions import JobNotSubmittedError
from .validation import validate_job_id

if TYPE_CHECKING:
    from .provider import IonQProvider

__all__ = ["cancel"]

logger = logging.getLogger("qiskit_ionq_cancel")


def cancel(job_or_id: StockIonQJob | str, *, provider: IonQProvider | None = None,
           deadline: float | None = None) -> bool:
    """Cancel one IonQ job; return ``True`` if it is cancelled afterwards, ``False`` if it
    had already finished otherwise (completed or failed).

    ``job_or_id`` is a job of this package, a plain ``qiskit_ionq.IonQJob`` (its own URL and
    key are used, and its local status is updated), or a job id (then ``provider``, or
    ``IONQ_API_KEY`` / ``IONQ_API_URL`` from the environment). ``deadline`` bounds the seconds
    spent retrying transient failures. A job already final locally sends no request.
    """
    if isinstance(job_or_id, StockIonQJob):
        return _cancel_job(job_or_id, deadline)
    if provider is None:  # checked before anything else, even the URL
        validate_job_id(job_or_id, resolve_credentials()["token"])
    client, own = client_for(provider, None)
    try:
        return client.cancel(job_or_id, deadline=deadline).cancelled
    finally:
        if own:
            client.close()


def client_for(provider: IonQProvider | None,
               job: StockIonQJob | str | None) -> tuple[IonQCancelClient, bool]:
    """The client to use, and whether it was made here (and must be closed): the provider's,
    else the job's own (ours as it is, a stock one rebuilt with the same URL, key and
    headers), else one from the environment (``IONQ_API_KEY`` / ``IONQ_API_URL``)."""
    if provider is not None:
        return provider.client, False
    if isinstance(job, StockIonQJob):
        stock = job._client
        if isinstance(stock, IonQCancelClient):
            return stock, False
        return IonQCancelClient(stock._token, stock._url, stock._custom_headers), True
    creds = resolve_credentials()
    return IonQCancelClient(creds["token"], creds["url"]), True


def _cancel_job(job: StockIonQJob, deadline: float | None) -> bool:
    job_id = job._job_id
    if not job_id:
        raise JobNotSubmittedError(
            "This job has no id: it was never submitted, so there is nothing to cancel. "
            "Submit it with backend.run(...) first."
        )
    local = job._status
    if local in JOB_FINAL_STATES:
        logger.debug("Job %s is already %s locally; no request sent", job_id, local)
        return local is JobStatus.CANCELLED
    client, own = client_for(None, job)
    try:
        outcome = client.cancel(job_id, deadline=deadline)
    finally:
        if own:
            client.close()
    _apply(job, outcome)
    return outcome.cancelled


def _apply(job: StockIonQJob, outcome: CancelOutcome) -> None:
    """Bring the job's local state up to date with what the cancel established."""
    if outcome.job is None or outcome.status is not JobStatus.DONE:
        job._status = outcome.status
        if outcome.job is not None:
            job._save_metadata(outcome.job)  # type: ignore[no-untyped-call]
        return
    # A completed job: let qiskit-ionq's own status() digest the job object we read (result
    # URLs, qubit counts, headers) so that result() works, without a second request.
    real = job._client
    job._client = _Replay(real, outcome.job)  # type: ignore[assignment]
    try:
        job.status()
    finally:
        job._client = real


class _Replay:
    """Stands in for a client for one ``retrieve_job`` call, answering with a known job."""

    def __init__(self, client: Any, job: dict[str, Any]) -> None:
        self._client = client
        self._job = job

    def retrieve_job(self, job_id: str) -> dict[str, Any]:
        return self._job

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
