"""``IonQJob``: qiskit-ionq's job whose ``cancel()`` tells the truth."""

from __future__ import annotations

from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from .cancel import cancel

__all__ = ["IonQJob"]


class IonQJob(StockIonQJob):
    """A ``qiskit_ionq.IonQJob`` with a ``cancel()`` that returns what really happened.

    It adds methods only, no state, so a stock job can be turned into one.
    """

    # qiskit-ionq declares cancel() -> None; returning what happened is the point here.
    def cancel(self, *, deadline: float | None = None) -> bool:  # type: ignore[override]
        """Cancel the job: ``True`` if it is cancelled afterwards, ``False`` if it had already
        finished otherwise. Its local status is updated, so ``status()``, ``cancelled()`` and
        ``done()`` answer without another request.

        Raises :class:`~qiskit_ionq_cancel.exceptions.JobNotSubmittedError` for a job never
        submitted, and the typed errors of :mod:`qiskit_ionq_cancel.exceptions` when IonQ
        cannot be reached within ``deadline`` seconds or refuses the request.
        """
        return cancel(self, deadline=deadline)
