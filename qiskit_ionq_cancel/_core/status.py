"""The one table from IonQ's job status strings to Qiskit's :class:`JobStatus`, and the
statuses a cancel can still act on."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from qiskit.providers import JobStatus

from ..exceptions import UnknownJobStatusError

__all__ = ["CANCELLABLE", "FINAL", "IONQ_TO_QISKIT", "to_job_status"]

#: IonQ status string -> Qiskit status. ``running`` is API v0.3's name for ``started``.
#: ``deleted`` (the answer to ``DELETE /jobs/{id}``; cirq-ionq treats it as final) is
#: CANCELLED: the job is final, will not run and has no results; Qiskit has no closer status.
IONQ_TO_QISKIT: Mapping[str, JobStatus] = MappingProxyType({
    "submitted": JobStatus.INITIALIZING,
    "ready": JobStatus.QUEUED,
    "started": JobStatus.RUNNING,
    "running": JobStatus.RUNNING,
    "canceled": JobStatus.CANCELLED,
    "completed": JobStatus.DONE,
    "failed": JobStatus.ERROR,
    "deleted": JobStatus.CANCELLED,
})

#: IonQ statuses of jobs that have not finished, so a cancel can still stop them.
CANCELLABLE: tuple[str, ...] = ("submitted", "ready", "started")
#: IonQ's final statuses (API v0.4).
FINAL: tuple[str, ...] = ("completed", "failed", "canceled")


def to_job_status(ionq_status: object, job_id: str | None = None) -> JobStatus:
    """Map an IonQ status string to Qiskit's ``JobStatus``; raise on anything unknown."""
    if isinstance(ionq_status, str) and ionq_status in IONQ_TO_QISKIT:
        return IONQ_TO_QISKIT[ionq_status]
    raise UnknownJobStatusError(ionq_status, job_id)
