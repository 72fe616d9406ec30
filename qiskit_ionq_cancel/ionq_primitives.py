"""qiskit-ionq's own primitives, ``IonQSampler`` and ``IonQEstimator`` (qiskit-ionq pull
request #237, after 1.1.1), whose jobs' ``cancel()`` says what happened.

qiskit-ionq's ``IonQPrimitiveJob.cancel()`` calls each IonQ job's ``cancel()``, swallows every
exception and returns ``None``: nobody can tell whether anything was cancelled. The classes
here take the same arguments and give the same jobs and results (a
:class:`TruthfulIonQPrimitiveJob` is a ``qiskit_ionq.IonQPrimitiveJob``), and the job's
``cancel()`` gives a verdict:

* ``True``: at least one of its IonQ jobs is cancelled afterwards, on the server;
* ``False``: none is (all had finished, or it submitted none);
* :class:`~qiskit_ionq_cancel.exceptions.BatchCancelError` when some IonQ job's outcome is
  unknown, after every job was tried.

``cancel_report`` then names every IonQ job. ``cancel()``, ``cancel_jobs()`` and
``cancel_on_exit()`` give the same for a job of qiskit-ionq's own classes.

Importing this module with a qiskit-ionq that lacks those primitives (1.1.1, main@220daa6)
raises ``ImportError`` saying which qiskit-ionq is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._compat import upstream
from .exceptions import BatchCancelError
from .report import CancelReport
from .scope import track_submitted
from .single import cancel_parts

__all__ = ["IonQEstimator", "IonQSampler", "TruthfulIonQPrimitiveJob"]

if TYPE_CHECKING:  # what mypy sees (Any where qiskit-ionq has no such module)
    from qiskit_ionq.ionq_primitives import IonQEstimator as _StockEstimator
    from qiskit_ionq.ionq_primitives import IonQPrimitiveJob as _StockPrimitiveJob
    from qiskit_ionq.ionq_primitives import IonQSampler as _StockSampler
else:  # at run time: an ImportError that says what is needed, where it is missing
    _StockSampler, _StockEstimator, _StockPrimitiveJob = upstream.require_primitive_classes()


class TruthfulIonQPrimitiveJob(_StockPrimitiveJob):  # type: ignore[misc, unused-ignore]
    """qiskit-ionq's ``IonQPrimitiveJob`` whose ``cancel()`` returns a verdict."""

    #: What the last ``cancel()`` established for each IonQ job (``None`` before).
    cancel_report: CancelReport | None = None

    def cancel(self, *, deadline: float | None = None  # type: ignore[override, unused-ignore]
               ) -> bool:
        """Cancel every IonQ job of this primitive job: ``True`` if at least one is
        cancelled afterwards, ``False`` if none is (they had all finished). ``deadline``
        bounds the seconds spent. Raises
        :class:`~qiskit_ionq_cancel.exceptions.BatchCancelError` when some job's outcome is
        unknown; ``cancel_report`` names every job either way."""
        try:
            outcome = cancel_parts(self.ionq_jobs, deadline)
        except BatchCancelError as exc:
            self.cancel_report = exc.report
            raise
        self.cancel_report = outcome.report
        return outcome.verdict


def _truthful(job: Any) -> TruthfulIonQPrimitiveJob:
    # qiskit-ionq's run() builds its IonQPrimitiveJob itself, with no hook for another class.
    upstream.adopt_job(job, TruthfulIonQPrimitiveJob)
    track_submitted(job)  # a cancel_on_exit() block around run() tracks it
    return job  # type: ignore[no-any-return]


class IonQSampler(_StockSampler):  # type: ignore[misc, unused-ignore]
    """qiskit-ionq's ``IonQSampler`` (same arguments: ``IonQSampler(backend=backend,
    default_shots=..., run_options=...)``), whose jobs' ``cancel()`` returns a verdict."""

    def run(self, pubs: Iterable[Any], **options: Any) -> TruthfulIonQPrimitiveJob:
        """As ``qiskit_ionq.IonQSampler.run``; the job is a
        :class:`TruthfulIonQPrimitiveJob`."""
        return _truthful(super().run(pubs, **options))


class IonQEstimator(_StockEstimator):  # type: ignore[misc, unused-ignore]
    """qiskit-ionq's ``IonQEstimator`` (same arguments: ``IonQEstimator(backend=backend,
    options=..., run_options=...)``), whose jobs' ``cancel()`` returns a verdict."""

    def run(self, pubs: Iterable[Any], **options: Any) -> TruthfulIonQPrimitiveJob:
        """As ``qiskit_ionq.IonQEstimator.run``; the job is a
        :class:`TruthfulIonQPrimitiveJob`."""
        return _truthful(super().run(pubs, **options))
