"""``CancelReport``: what a batch cancel established, job by job."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from qiskit.providers import JobStatus

from .exceptions import (
    BatchCancelError,
    InvalidJobIdError,
    JobNotFoundError,
    JobNotSubmittedError,
)

__all__ = ["REPORT_VERSION", "CancelReport", "JobPrice", "Saved", "money", "plural"]

#: The version of :meth:`CancelReport.to_dict`'s shape (and ``--json``'s). 2: input keys
#: that cannot collide (``#<position> <repr>`` for anything but a valid id), ``not_reached``,
#: the ``note`` of a job row. 3: ``saved`` (what the jobs cancelled were expected to cost),
#: and the ``saved`` figure of a job row.
REPORT_VERSION = 3

#: What ``saved`` is, in the words every output uses.
SAVED_MEANING = ("IonQ's estimate of what the jobs this call cancelled would have cost; "
                 "not a refund")

#: Where ``str(report)`` wraps its ``Saved`` line (an 80-column terminal, less a margin).
_LINE_WIDTH = 78
_ROWS_SHOWN = 20
_ERROR_WIDTH = 90  # error text is wrapped at words to this width, never cut
_INPUT_ERRORS = (InvalidJobIdError, JobNotSubmittedError)  # nothing was sent for these


def plural(count: int, noun: str) -> str:
    """``"1 job"``, ``"2 jobs"``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


class JobPrice(NamedTuple):
    """One job's expected cost: ``value`` in ``unit`` (``usd``, or ``credit`` for an
    organization billed in credits), and where it came from: ``"job"`` (the job's own
    ``estimated_cost``, ``GET /jobs/{id}/cost``) or ``"estimate"`` (``GET /jobs/estimate``
    for a job of the same shape)."""

    value: float
    unit: str
    source: str


def money(value: float, unit: str) -> str:
    """``12.34 usd``; a figure below 1 with its first four digits (``0.088 usd``)."""
    return f"{value:,.2f} {unit}" if value >= 1 or value == 0 else f"{value:.4g} {unit}"


@dataclass
class Saved:
    """What the jobs that a cancel moved to canceled were expected to cost: IonQ's estimate
    of what they would have cost, **not a refund** (IonQ releases a job's reserved credit
    when it is cancelled; work it had already done may still be billed).

    Only jobs this call moved to canceled count: not those already canceled before it
    (``already_cancelled``), nor those that had finished, were not found, are unknown or
    were not reached (the report's other groups).

    Attributes:
        cost: The sum of the figures, in ``unit``; ``None`` when it is not known (see
            ``reason``): pricing was off, a price could not be had, the units are mixed,
            or no job had a price.
        unit: ``"usd"`` or ``"credit"`` (IonQ's word), or ``None`` with ``cost``.
        by_unit: Unit -> the sum of the figures in it (mixed units are never added).
        quantum_seconds: Predicted quantum compute time of the jobs counted, from their
            ``stats.predicted_quantum_compute_time_us`` (``None`` unless every one has it; a
            simulator job counts 0).
        priced: How many of the jobs counted had a price.
        jobs: How many jobs this call moved to canceled (the jobs counted).
        unpriced: How many jobs counted IonQ gives no price (simulator jobs).
        counted: Job id -> its predicted quantum compute seconds (or ``None``): the jobs
            counted. ``jobs``, ``unpriced`` and ``quantum_seconds`` are worked out from
            the ids, so a job in two merged reports counts once.
        free: The jobs counted that IonQ gives no price, in order.
        figures: Job id -> its `JobPrice` (which says where it came from).
        already_cancelled: Jobs found canceled before this call: not counted.
        failed: Why a price could not be had -> how many jobs.
        off: Why pricing was off, if it was.
        reason: Why ``cost`` is ``None`` (``None`` when it is known).
    """

    cost: float | None = None
    unit: str | None = None
    by_unit: dict[str, float] = field(default_factory=dict)
    quantum_seconds: float | None = None
    priced: int = 0
    jobs: int = 0
    unpriced: int = 0
    counted: dict[str, float | None] = field(default_factory=dict)
    free: list[str] = field(default_factory=list)
    figures: dict[str, JobPrice] = field(default_factory=dict)
    already_cancelled: list[str] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)
    off: str | None = None
    reason: str | None = None

    def settle(self, failed: dict[str, int] | None = None) -> Saved:
        """Work out ``jobs``, ``unpriced`` and ``quantum_seconds`` from the jobs counted, and
        ``cost``, ``unit``, ``by_unit``, ``priced`` and ``reason`` from the figures
        (``failed``: why prices could not be had, added to those known)."""
        for why, count in (failed or {}).items():
            self.failed[why] = self.failed.get(why, 0) + count
        self.jobs, self.unpriced = len(self.counted), len(self.free)
        seconds = list(self.counted.values())
        self.quantum_seconds = None if not seconds or None in seconds else \
            round(sum(s for s in seconds if s is not None), 6)
        by_unit: dict[str, float] = {}
        for price in self.figures.values():
            by_unit[price.unit] = by_unit.get(price.unit, 0.0) + price.value
        self.by_unit = {unit: round(total, 6) for unit, total in sorted(by_unit.items())}
        self.priced = len(self.figures)
        self.cost, self.unit, self.reason = None, None, None
        if not self.jobs:
            self.reason = "this call cancelled no job"
        elif self.off is not None:
            self.reason = f"pricing was off: {self.off}"
        elif self.failed:
            self.reason = "no price for " + "; ".join(
                f"{plural(n, 'job')}: {why}" for why, n in self.failed.items())
        elif len(self.by_unit) > 1:
            self.reason = (f"the prices are in {' and '.join(self.by_unit)}, which are never "
                           "added: see by_unit")
        elif not self.by_unit:
            self.reason = (f"free: IonQ prices no simulator job, and the "
                           f"{plural(self.unpriced, 'job')} this call cancelled had no price")
        elif not all(math.isfinite(total) for total in self.by_unit.values()):
            self.reason = "the prices add up past any number: the server's figures are wrong"
        else:
            (self.unit, self.cost), = self.by_unit.items()
        return self

    @property
    def sources(self) -> dict[str, int]:
        """How many figures came from each source (``job``, ``estimate``)."""
        counts = {"job": 0, "estimate": 0}
        for price in self.figures.values():
            counts[price.source] = counts.get(price.source, 0) + 1
        return counts

    def describe(self) -> str:
        """One line: the figures, where they came from, what was not counted."""
        if self.cost is not None and self.unit is not None:
            head = f"{money(self.cost, self.unit)} for {self.priced} of {plural(self.jobs, 'job')}"
        elif len(self.by_unit) > 1:
            head = " and ".join(money(v, u) for u, v in self.by_unit.items()) + \
                f" (never added) for {self.priced} of {plural(self.jobs, 'job')}"
        elif self.reason is not None and self.reason.startswith("free:"):
            head = self.reason  # not unknown: there was nothing to price
        else:
            head = f"unknown ({self.reason})"
        parts = [head]
        src = self.sources
        if self.priced:
            parts.append(f"{src['job']} from the job's own cost, {src['estimate']} from "
                         "GET /jobs/estimate")
        if self.unpriced and self.cost is not None:
            parts.append(f"{self.unpriced} without a price (simulator)")
        if self.quantum_seconds:  # (0 when every job was on a simulator: no QPU time)
            parts.append(f"{self.quantum_seconds:,.2f} s of quantum compute time")
        if self.already_cancelled:
            parts.append(f"not counted: {len(self.already_cancelled)} already cancelled "
                         "before this call")
        return f"Saved ({SAVED_MEANING}): " + "; ".join(parts)

    def merge(self, other: Saved) -> None:
        """Add ``other``'s jobs and figures to these (a job in both counts once)."""
        self.counted.update(other.counted)
        self.free += [i for i in other.free if i not in self.free]
        self.figures.update(other.figures)
        self.already_cancelled += [i for i in other.already_cancelled
                                   if i not in self.already_cancelled]
        self.off = self.off or other.off
        self.settle(other.failed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able data (the figures of each job are in the report's job rows)."""
        return {"what": SAVED_MEANING, "cost": self.cost, "unit": self.unit,
                "by_unit": self.by_unit, "quantum_seconds": self.quantum_seconds,
                "priced": self.priced, "jobs": self.jobs, "unpriced": self.unpriced,
                "sources": self.sources, "already_cancelled": self.already_cancelled,
                "reason": self.reason}


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
        saved: What the jobs this call cancelled were expected to cost (`Saved`): IonQ's
            estimate, not a refund.
    """

    statuses: dict[str, JobStatus] = field(default_factory=dict)
    errors: dict[str, Exception] = field(default_factory=dict)
    not_reached: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    requests: int = 0
    saved: Saved = field(default_factory=lambda: Saved().settle())

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
            Qiskit status name, a ``note`` if any, and its ``saved`` figure: ``value``,
            ``unit``, ``source``), ``errors`` (each key with its error's type and message),
            ``not_reached`` (each key with the reason) and ``saved`` (`Saved.to_dict`).
        """
        return {
            "version": REPORT_VERSION,
            "counts": self.counts,
            "elapsed_s": round(self.elapsed, 3),
            "requests": self.requests,
            "jobs": [{"id": i, "status": s.name,
                      **({"note": self.notes[i]} if i in self.notes else {}),
                      **self.saved_row(i)}
                     for i, s in self.statuses.items()],
            "errors": [{"id": i, "error": type(e).__name__, "message": str(e)}
                       for i, e in self.errors.items()],
            "not_reached": [{"id": i, "reason": r} for i, r in self.not_reached.items()],
            "saved": self.saved.to_dict(),
        }

    def saved_row(self, job_id: str) -> dict[str, Any]:
        """``{"saved": {value, unit, source}}`` for a job with a figure, else ``{}``."""
        price = self.saved.figures.get(job_id)
        return {} if price is None else {"saved": price._asdict()}

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
        self.saved.merge(other.saved)

    def __str__(self) -> str:
        lines = [self.summary()]
        if self.saved.jobs or self.saved.already_cancelled:  # wrapped as the CLI's table is
            lines += textwrap.wrap(self.saved.describe(), _LINE_WIDTH, break_long_words=False,
                                   break_on_hyphens=False, subsequent_indent="  ")
        rows = [(i, s.name, self.notes.get(i) or self._saved_text(i))
                for i, s in self.statuses.items()]
        rows += [(i, _group(e), f"{type(e).__name__}: {e}") for i, e in self.errors.items()]
        rows += [(i, "NOT REACHED", r) for i, r in self.not_reached.items()]
        if not rows:
            return "\n".join(lines)  # no table without rows
        width = max(len(r[0]) for r in rows)
        lines.append(f"{'job id':<{width}}  {'status':<12}  note")
        for i, s, e in rows[:_ROWS_SHOWN]:
            wrapped = textwrap.wrap(e, _ERROR_WIDTH, break_long_words=False,
                                    break_on_hyphens=False) or [""]
            lines.append(f"{i:<{width}}  {s:<12}  {wrapped[0]}".rstrip())
            lines += [f"{'':<{width}}  {'':<12}  {more}" for more in wrapped[1:]]
        if len(rows) > _ROWS_SHOWN:
            lines.append(f"... and {len(rows) - _ROWS_SHOWN} more (report.to_dict() has all)")
        return "\n".join(lines)

    def _saved_text(self, job_id: str) -> str:
        price = self.saved.figures.get(job_id)
        if price is None:
            return "already cancelled before this call" \
                if job_id in self.saved.already_cancelled else ""
        return f"saved {money(price.value, price.unit)} ({price.source})"

    def __repr__(self) -> str:
        return f"CancelReport({self.counts}, elapsed={self.elapsed:.2f}s)"


def _group(error: Exception) -> str:
    """The status column of a job in ``errors``."""
    if isinstance(error, JobNotFoundError):
        return "NOT FOUND"
    return "INVALID" if isinstance(error, _INPUT_ERRORS) else "UNKNOWN"
