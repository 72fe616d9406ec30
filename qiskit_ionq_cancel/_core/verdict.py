"""The one judge of a cancel: what a server answer establishes about a job, and what the
answers about a primitive job's IonQ jobs establish about the primitive job.

Every path that reports a job ``CANCELLED`` or a cancel ``True`` (``IonQJob.cancel``,
``cancel``, ``cancel_jobs``, primitive jobs, sessions, ``cancel_on_exit``) comes here: a job is
cancelled only when IonQ named it ``canceled``, in the clean answer to its cancel or in the
job read back; nothing local (a request sent, an event set, a flag) stands in for that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES

from .status import to_job_status

__all__ = ["composite_verdict", "verdict"]


def verdict(job_id: str, answer: object, *, read_back: bool) -> JobStatus | None:
    """The status a server answer establishes for job ``job_id``, or ``None`` when it
    establishes nothing.

    ``read_back=False``: ``answer`` is the body of a ``200`` to ``PUT
    /jobs/{id}/status/cancel``. Only IonQ's clean ``{"id": <job_id>, "status": "canceled"}``
    establishes ``CANCELLED`` (IonQ's word: a server that answers so for a job that had
    finished is believed, unless the caller asks to verify, which reads the job back); any
    other body establishes nothing, and the job must be read back.

    ``read_back=True``: ``answer`` is the job object read back (``GET /jobs/{id}`` or a
    listing): its status, through the one status table (``UnknownJobStatusError`` for a
    status not in it); ``None`` when it is not a job object of ``job_id``.
    """
    if not read_back:
        clean = isinstance(answer, dict) and answer == {"id": job_id, "status": "canceled"}
        return JobStatus.CANCELLED if clean else None
    if not isinstance(answer, Mapping) or answer.get("id", job_id) != job_id:
        return None
    return to_job_status(answer.get("status"), job_id)


def composite_verdict(statuses: Iterable[JobStatus | None], *,
                      stopped_short: bool = False) -> bool | None:
    """Whether a primitive job is cancelled, from the statuses its IonQ jobs were found in
    once its cancel was done (``None`` for a job whose status was not established), its
    later submissions refused: ``True`` when it had submitted none (nothing will run), when
    IonQ named one of them cancelled, or when a submission of its was refused
    (``stopped_short``: it will not finish); ``False`` when every one had already finished
    otherwise (completed or failed: the primitive job's result stands); ``None`` when that
    is not established (some IonQ job's outcome is unknown, or it is not final)."""
    seen = list(statuses)
    if any(status is None or status not in JOB_FINAL_STATES for status in seen):
        return None
    return not seen or stopped_short or JobStatus.CANCELLED in seen
