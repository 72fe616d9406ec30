"""``CompositeJob``: a job made of IonQ jobs, such as this package's primitive jobs.

The operations (``cancel``, ``cancel_jobs``, ``cancel_on_exit``) sit below the primitives in
the package's layers, so they know such a job only by this base class. A base class, not a
runtime-checkable Protocol: the operations ask ``isinstance`` of every input, and a
Protocol's structural check cost tens of microseconds a call (0.3 s of a 10,000-id
``cancel_jobs``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Protocol

from qiskit.primitives import BasePrimitiveJob
from qiskit.providers import JobStatus
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

__all__ = ["CompositeJob", "HasIonQJobs", "refuse_foreign_primitive_job"]


class CompositeJob(ABC):
    """A job that submits IonQ jobs of its own (a ``SamplerV2`` / ``EstimatorV2`` job).

    Cancelling one takes two steps, so that the IonQ jobs can be cancelled in bulk with
    others: :meth:`claim_for_cancel`, then, once those IonQ jobs' outcomes are known,
    :meth:`settle_cancel`, which gives its verdict.
    """

    @abstractmethod
    def job_id(self) -> str:
        """Its own id (not an IonQ id)."""

    @abstractmethod
    def status(self) -> JobStatus:
        """Its status (``CANCELLED`` only once a cancel's verdict said so)."""

    @abstractmethod
    def cancel(self, *, deadline: float | None = None) -> bool:
        """Cancel it and the IonQ jobs it submitted: ``True`` if it is cancelled afterwards."""

    @abstractmethod
    def ionq_jobs(self) -> list[StockIonQJob]:
        """The IonQ jobs it has submitted so far."""

    @abstractmethod
    def claim_for_cancel(self, deadline: float | None = None) -> list[StockIonQJob] | None:
        """Refuse its submissions from now on and wait (up to ``deadline`` seconds) for any
        still in flight; return the IonQ jobs it has submitted (the caller cancels those),
        or ``None`` if it had already finished (nothing to cancel)."""

    @abstractmethod
    def settle_cancel(self, statuses: Mapping[str, JobStatus | None]) -> bool | None:
        """Its verdict, from the status each IonQ job returned by :meth:`claim_for_cancel`
        was found in (by IonQ id; ``None`` or missing: not established): ``True``
        cancelled, ``False`` not (every IonQ job had finished: its result stands), ``None``
        not established (then it stays as it was, its submissions still refused)."""

    @abstractmethod
    def in_final_state(self) -> bool:
        """Whether it has finished (done, failed or cancelled)."""


class HasIonQJobs(Protocol):
    """What qiskit-ionq's own ``IonQPrimitiveJob`` (pull request #237) is to type checkers,
    where its module may be missing: a job that shows its IonQ jobs as ``ionq_jobs``. Only
    for annotations; at run time the seam (``_compat/upstream.py``) recognises the class."""

    @property
    def ionq_jobs(self) -> list[StockIonQJob]:
        """Its IonQ jobs, in submission order."""

    def job_id(self) -> str:
        """Its first IonQ job's id ("" if it has none)."""


def refuse_foreign_primitive_job(job: object) -> None:
    """Raise a ``TypeError`` that says what to do for a primitive job of Qiskit's own
    (``BackendSamplerV2(...).run(...)``): it keeps no record of the IonQ jobs it submitted."""
    if isinstance(job, BasePrimitiveJob) and not isinstance(job, CompositeJob):
        raise TypeError(
            f"{type(job).__name__} is a primitive job of Qiskit's own: it does not record "
            "the IonQ jobs it submitted, so they cannot be cancelled through it. Use "
            "qiskit_ionq_cancel.SamplerV2 / EstimatorV2 (same arguments), whose jobs can, or "
            "run it inside `with cancel_on_exit():`.")
