"""``CancelReport``: what a batch cancel established, job by job."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from qiskit.providers import JobStatus

from .exceptions import (
    BatchCancelError,
    InvalidJobIdError,
    JobNotFoundError,
    JobNotSubmittedError,
)

__all__ = ["REPORT_VERSION", "CancelReport", "plural"]

#: The version of :meth:`CancelReport.to_dict`'s shape (and ``--json``'s). 2: input keys
#: that cannot collide (``#<position> <repr>`` for anything but a valid id), ``not_reached``,
#: the ``note`` of a job row.
REPORT_VERSION = 2

_ROWS_SHOWN = 20
_ERROR_WIDTH = 90  # error text is wrapped at words to this width, never cut
_INPUT_ERRORS = (InvalidJobIdError, JobNotSubmittedError)  # nothing was sent for these


def plural(count: int, noun: str) -> str:
    """``"1 job"``, ``"2 jobs"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class CancelReport:
    """What a batch cancel established, job by job.

    Every input a batch cancel was given appears in exactly one of ``statuses``, ``errors``
    and ``not_reached``, in input order, under its key: a valid job id is its own key;
    anything else (an invalid id, a job never submitted) is keyed ``#<position> <repr>``,
    its position in the input counted from 0, so two inputs never share a key. A job given
    twice is one job, one row. ``str(report)`` is a table, ``to_dict()`` JSON-able data.

    Attributes:
        statuses: Key -> the job's Qiskit status, as IonQ answered it (or known locally).
        errors: Key -> the exception that kept its outcome from being established.
        not_reached: Key -> why no cancel request was sent for it (the deadline ran out,
            the call was interrupted or stopped first): its state is as it was.
        notes: Key -> a remark on a row (a primitive job that had submitted no IonQ job).
        elapsed: Seconds the call took.
        requests: Requests the call sent.
    """

    statuses: dict[str, JobStatus] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    not_reached: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
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
    def invalid(self) -> list[str]:
        """Input that names no job: malformed ids, jobs never submitted (nothing was sent)."""
        return [i for i, e in self.errors.items() if isinstance(e, _INPUT_ERRORS)]

    @property
    def failed(self) -> list[str]:
        """Jobs whose outcome is unknown: IonQ could not be asked or did not say (retries
        or the deadline ran out, the key was refused, a wrong URL, an odd answer)."""
        return [i for i, e in self.errors.items()
                if not isinstance(e, (JobNotFoundError, *_INPUT_ERRORS))]

    @property
    def total(self) -> int:
        """How many distinct inputs the batch was given."""
        return len(self.statuses) + len(self.errors) + len(self.not_reached)

    @property
    def ok(self) -> bool:
        """True when every job is cancelled or had already finished."""
        return not self.errors and not self.not_reached

    @property
    def counts(self) -> dict[str, int]:
        """How many jobs ended in each group."""
        return {"cancelled": len(self.cancelled), "already_final": len(self.already_final),
                "not_found": len(self.not_found), "invalid": len(self.invalid),
                "failed": len(self.failed), "not_reached": len(self.not_reached),
                "total": self.total}

    def summary(self) -> str:
        """One line: how many jobs ended in each group."""
        c = self.counts
        reached = f", {c['not_reached']} not reached" if c["not_reached"] else ""
        return (f"{plural(c['total'], 'job')}: {c['cancelled']} cancelled, "
                f"{c['already_final']} already finished, {c['not_found']} not found, "
                f"{c['invalid']} invalid, {c['failed']} unknown{reached} "
                f"({plural(self.requests, 'request')}, {self.elapsed:.2f} s)")

    def raise_for_errors(self) -> None:
        """Raise unless every job is cancelled or already finished.

        Raises:
            BatchCancelError: Some jobs are in ``errors`` (not found, invalid ids, jobs
                whose outcome is unknown) or ``not_reached``. Its ``report`` is this report.
        """
        if self.errors or self.not_reached:
            raise BatchCancelError(self)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data (shape version :data:`REPORT_VERSION`).

        Returns:
            ``version``, ``counts``, ``elapsed_s``, ``requests``, ``jobs`` (each key with its
            Qiskit status name, and a ``note`` if any), ``errors`` (each key with its
            error's type and message) and ``not_reached`` (each key with the reason).
        """
        return {
            "version": REPORT_VERSION,
            "counts": self.counts,
            "elapsed_s": round(self.elapsed, 3),
            "requests": self.requests,
            "jobs": [{"id": i, "status": s.name,
                      **({"note": self.notes[i]} if i in self.notes else {})}
                     for i, s in self.statuses.items()],
            "errors": [{"id": i, "error": type(e).__name__, "message": str(e)}
                       for i, e in self.errors.items()],
            "not_reached": [{"id": i, "reason": r} for i, r in self.not_reached.items()],
        }

    def merge(self, other: CancelReport) -> None:
        """Add ``other``'s rows and counters to this report (a row of ``other`` replaces
        this report's row for the same key)."""
        for key in (*other.statuses, *other.errors, *other.not_reached):
            self.statuses.pop(key, None)
            self.errors.pop(key, None)
            self.not_reached.pop(key, None)
        self.statuses.update(other.statuses)
        self.errors.update(other.errors)
        self.not_reached.update(other.not_reached)
        self.notes.update(other.notes)
        self.elapsed += other.elapsed
        self.requests += other.requests

    def __str__(self) -> str:
        lines = [self.summary()]
        rows = [(i, s.name, self.notes.get(i, "")) for i, s in self.statuses.items()]
        rows += [(i, _group(e), f"{type(e).__name__}: {e}") for i, e in self.errors.items()]
        rows += [(i, "NOT REACHED", r) for i, r in self.not_reached.items()]
        if not rows:
            return lines[0]  # no table without rows
        width = max(len(r[0]) for r in rows)
        lines.append(f"{'job id':<{width}}  {'status':<12}  error")
        for i, s, e in rows[:_ROWS_SHOWN]:
            wrapped = textwrap.wrap(e, _ERROR_WIDTH, break_long_words=False,
                                    break_on_hyphens=False) or [""]
            lines.append(f"{i:<{width}}  {s:<12}  {wrapped[0]}".rstrip())
            lines += [f"{'':<{width}}  {'':<12}  {more}" for more in wrapped[1:]]
        if len(rows) > _ROWS_SHOWN:
            lines.append(f"... and {len(rows) - _ROWS_SHOWN} more (report.to_dict() has all)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"CancelReport({self.counts}, elapsed={self.elapsed:.2f}s)"


def _group(error: Exception) -> str:
    """The status column of a job in ``errors``."""
    if isinstance(error, JobNotFoundError):
        return "NOT FOUND"
    return "INVALID" if isinstance(error, _INPUT_ERRORS) else "UNKNOWN"
