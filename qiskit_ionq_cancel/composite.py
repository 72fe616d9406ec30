"""``CompositeJob``: a job made of IonQ jobs, such as this package's primitive jobs.

The operations (``cancel``, ``cancel_jobs``, ``cancel_on_exit``) sit below the primitives in
the package's layers, so they know such a job only by this shape.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

__all__ = ["CompositeJob"]


@runtime_checkable
class CompositeJob(Protocol):
    """A job that submits IonQ jobs of its own (a ``SamplerV2`` / ``EstimatorV2`` job)."""

    def job_id(self) -> str:
        """Its own id (not an IonQ id)."""

    def cancel(self, *, deadline: float | None = None) -> bool:
        """Cancel it and the IonQ jobs it submitted: ``True`` if it is cancelled afterwards."""

    def claim_for_cancel(self) -> list[StockIonQJob]:
        """Mark it cancelled, so that any IonQ job it submits from now on is cancelled at
        once, and return the IonQ jobs it has submitted so far (the caller cancels those)."""

    def in_final_state(self) -> bool:
        """Whether it has finished (done, failed or cancelled)."""
