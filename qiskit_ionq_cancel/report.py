"""``CancelReport``: what a batch cancel established, job by job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qiskit.providers import JobStatus

from .exceptions import BatchCancelError, JobNotFoundError

__all__ = ["CancelReport"]

_ROWS_SHOWN = 20


@dataclass
class CancelReport:
    """Every job a batch cancel was given appears in exactly one of two places:

    ``statuses``: id -> the job's Qiskit status, read back from IonQ (or known locally);
    ``errors``: id -> the exception that kept its outcome from being established (an
    invalid id is keyed by its ``repr``).
    """

    statuses: dict[str, JobStatus] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    elapsed: float = 0.0
    requests: int = 0

    @property
    def cancelled(self) -> list[str]:
        """Jobs that are cancelled."""
        return [i for i, s in self.statuses.items() if s is JobStatus.CANCELLED]

    @property
    def already_final(self) -> list[str]:
        """Jobs that had already completed or failed, so there was nothing to cancel."""
        return [i for i, s in self.statuses.items() if s in (JobStatus.DONE, JobStatus.ERROR)]

    @property
    def not_found(self) -> list[str]:
        """Ids IonQ does not know (for this key)."""
        return [i for i, e in self.errors.items() if isinstance(e, JobNotFoundError)]

    @property
    def failed(self) -> list[str]:
        """Jobs whose outcome could not be established (errors other than not found)."""
        return [i for i, e in self.errors.items() if not isinstance(e, JobNotFoundError)]

    @property
    def total(self) -> int:
        """How many distinct jobs the batch was given."""
        return len(self.statuses) + len(self.errors)

    @property
    def ok(self) -> bool:
        """True when every job is cancelled or had already finished."""
        return not self.errors

    @property
    def counts(self) -> dict[str, int]:
        """How many jobs ended in each group."""
        return {"cancelled": len(self.cancelled), "already_final": len(self.already_final),
                "not_found": len(self.not_found), "failed": len(self.failed),
                "total": self.total}

    def raise_for_errors(self) -> None:
        """Raise :class:`BatchCancelError` if any job's outcome is unknown."""
        if self.errors:
            raise BatchCancelError(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able data: every job with its Qiskit status name or its error."""
        return {
            "counts": self.counts,
            "elapsed_s": round(self.elapsed, 3),
            "requests": self.requests,
            "jobs": [{"id": i, "status": s.name} for i, s in self.statuses.items()],
            "errors": [{"id": i, "error": type(e).__name__, "message": str(e)}
                       for i, e in self.errors.items()],
        }

    def __str__(self) -> str:
        c = self.counts
        lines = [f"{c['total']} jobs: {c['cancelled']} cancelled, {c['already_final']} "
                 f"already finished, {c['not_found']} not found, {c['failed']} unknown "
                 f"({self.requests} requests, {self.elapsed:.2f} s)"]
        rows = [(i, s.name, "") for i, s in self.statuses.items()]
        rows += [(i, "?", f"{type(e).__name__}: {e}") for i, e in self.errors.items()]
        width = max((len(r[0]) for r in rows), default=2)
        lines.append(f"{'job id':<{width}}  {'status':<12}  error")
        lines += [f"{i:<{width}}  {s:<12}  {e[:100]}".rstrip()
                  for i, s, e in rows[:_ROWS_SHOWN]]
        if len(rows) > _ROWS_SHOWN:
            lines.append(f"... and {len(rows) - _ROWS_SHOWN} more (report.to_dict() has all)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"CancelReport({self.counts}, elapsed={self.elapsed:.2f}s)"
