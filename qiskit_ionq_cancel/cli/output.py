"""What the ``ionq-cancel`` cancel and status commands print: job tables, JSON, and a console
that keeps the API key out of everything written."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from qiskit.providers import JobStatus

from .._core.status import CANCELLABLE, to_job_status
from .._redact import redact, worth_hiding
from ..exceptions import (
    InvalidJobIdError,
    JobNotFoundError,
    JobNotSubmittedError,
    UnknownJobStatusError,
)
from ..report import REPORT_VERSION, CancelReport, money, plural
from .messages import Why, row_note

__all__ = ["ROWS_SHOWN", "Console", "JobLine", "Outcome", "fit_line", "fit_table",
           "jobs_json", "jobs_table", "terminal_width"]

#: Rows of a cancel's table shown at most (``--json`` has all).
ROWS_SHOWN = 20


class Console:
    """Writes to the current ``sys.stdout`` / ``sys.stderr`` with every secret replaced."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def hide(self, secret: str | None) -> None:
        """Never write ``secret``."""
        if worth_hiding(secret) and secret not in self.secrets:
            self.secrets.append(secret)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        return redact(text, *self.secrets)

    def out(self, text: str) -> None:
        """A line on stdout, as given: the tables and summaries fit themselves to the
        terminal, and ``--json`` is never wrapped."""
        print(self.redact(text), file=sys.stdout, flush=True)

    def err(self, text: str, *, end: str = "\n", wrap: bool = True) -> None:
        """A message (or, with ``end=""``, a prompt) on stderr, each line wider than the
        terminal wrapped at words (:func:`fit_line`), after the secrets are taken out.
        Left whole: a prompt's last line (the answer is typed after it), and everything
        with ``wrap=False`` (the ``--debug`` traceback)."""
        lines = self.redact(text).split("\n")  # redacted, then wrapped: "***" changes lengths
        last = [lines.pop()] if end == "" else []
        width = terminal_width(sys.stderr)
        lines = [part for line in lines for part in (fit_line(line, width) if wrap else [line])]
        print("\n".join([*lines, *last]), file=sys.stderr, end=end, flush=True)


@dataclass(frozen=True)
class JobLine:
    """One job as IonQ lists it, or ``job=None`` when IonQ did not return it; or, with
    ``intent`` (a job ledger's record of a submit whose id never came back), a job whose id
    is unknown, keyed by its ``job_id`` (``#<n> submitted at <time>, id unknown``)."""

    job_id: str
    job: dict[str, Any] | None
    intent: dict[str, Any] | None = None

    @property
    def found(self) -> bool:
        """IonQ returned the job."""
        return self.job is not None

    @property
    def ionq_status(self) -> str | None:
        """IonQ's own status string."""
        status = None if self.job is None else self.job.get("status")
        return status if isinstance(status, str) else None

    @property
    def status(self) -> str | None:
        """The Qiskit ``JobStatus`` name, or ``None`` (not found, or a status not in the
        table)."""
        if self.job is None:
            return None
        try:
            return str(to_job_status(self.job.get("status"), self.job_id).name)
        except UnknownJobStatusError:
            return None

    @property
    def cancellable(self) -> bool:
        """A cancel would still stop it."""
        return self.ionq_status in CANCELLABLE

    @property
    def action(self) -> str:
        """What a cancel would do with it, in the words of a real cancel's report: a job
        already cancelled counts as cancelled there, one completed or failed as already
        finished; a ledger's submit whose id is unknown cannot be cancelled by id."""
        if self.intent is not None:
            return "id unknown"
        if not self.found:
            return "not found"
        if self.cancellable:
            return "would cancel"
        return "already cancelled" if self.ionq_status == "canceled" else "already finished"

    def to_dict(self, *, dry_run: bool) -> dict[str, Any]:
        """JSON-able data."""
        job = self.job or {}
        data: dict[str, Any] = {"id": self.job_id, "found": self.found, "status": self.status,
                                "ionq_status": self.ionq_status,
                                "backend": job.get("backend"), "name": job.get("name")}
        if dry_run:
            data["would_cancel"] = self.cancellable
        if self.intent is not None:
            data.update(backend=self.intent.get("backend"), id_unknown=True,
                        submitted_at=self.intent.get("time"))
        return data


def _counts(lines: Sequence[JobLine], *, dry_run: bool) -> dict[str, int]:
    unknown = sum(line.intent is not None for line in lines)
    missing = sum(not line.found for line in lines) - unknown
    if not dry_run:
        counts = {"found": len(lines) - missing - unknown, "not_found": missing}
        return {**counts, **({"id_unknown": unknown} if unknown else {}), "total": len(lines)}
    would = sum(line.cancellable for line in lines)
    cancelled = sum(line.ionq_status == "canceled" for line in lines)
    return {"would_cancel": would, "already_cancelled": cancelled,
            "already_final": len(lines) - missing - unknown - would - cancelled,
            "not_found": missing, **({"id_unknown": unknown} if unknown else {}),
            "total": len(lines)}


def jobs_json(lines: Sequence[JobLine], *, dry_run: bool) -> str:
    """The ``--json`` output of ``status`` and of ``cancel --dry-run``."""
    data: dict[str, Any] = {"counts": _counts(lines, dry_run=dry_run),
                            "jobs": [line.to_dict(dry_run=dry_run) for line in lines],
                            "not_found": [line.job_id for line in lines
                                          if not line.found and line.intent is None]}
    if dry_run:
        data = {"dry_run": True, **data}
    return json.dumps(data, indent=2)


def terminal_width(stream: TextIO | None = None) -> int:
    """Columns of the terminal ``stream`` (default: stdout) writes to: ``COLUMNS`` if set,
    80 when it is no terminal. (``shutil.get_terminal_size`` asks stdout only: stderr may
    be a terminal while stdout is piped, or the other way round.)"""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    stream = sys.__stdout__ if stream is None else stream
    if columns <= 0 and stream is not None:
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, ValueError, OSError):  # no fileno, or not a terminal
            columns = 0
    return columns if columns > 0 else 80


def fit_line(line: str, width: int | None = None) -> list[str]:
    """``line`` as it is if it fits in ``width`` columns (default: the terminal's); else
    wrapped at spaces, never inside a word (an id, a URL, a path or a flag stays whole,
    even wider than ``width``), its continuation lines indented two spaces more than it
    is (a listed item's under the item), so that it reads as one message."""
    width = terminal_width() if width is None else width
    if len(line) <= width:
        return [line]
    text = line.lstrip()
    lead = line[:len(line) - len(text)]
    return textwrap.wrap(text, max(width, _MIN_WRAP), initial_indent=lead,
                         subsequent_indent=lead + "  ", break_long_words=False,
                         break_on_hyphens=False) or [line]


_MIN_WRAP = 10


def fit_table(head: Sequence[str], rows: Sequence[Sequence[str]], *,
              width: int | None = None, optional: Sequence[int] = ()) -> list[str]:
    """Rows in columns two spaces apart, each as wide as its widest cell, within ``width``
    columns (default: the terminal's). When that is too wide, the ``optional`` columns are
    left out (in that order, until it fits), then the last column is wrapped at words, then
    the middle ones are shortened (a cell cut ends in "..."; ``--json`` has the full text).
    The first column (the job id, to be copied) is never cut."""
    width = terminal_width() if width is None else width
    table = [[str(cell) for cell in row] for row in [head, *rows]]
    widths = [max(len(row[c]) for row in table) for c in range(len(head))]

    def excess() -> int:
        return sum(widths) + 2 * (len(widths) - 1) - width

    dropped: set[int] = set()
    for column in optional:
        if excess() <= 0:
            break
        dropped.add(column)
        widths[column] = -2  # with its two spaces
    if dropped:
        table = [[cell for c, cell in enumerate(row) if c not in dropped] for row in table]
        widths = [w for c, w in enumerate(widths) if c not in dropped]

    longest_word = max((len(w) for row in table for w in row[-1].split()), default=1)
    if excess() > 0:  # wrap the last column, down to its longest word
        widths[-1] = max(widths[-1] - excess(), min(longest_word, widths[-1]))
    while excess() > 0:  # then shorten the widest middle column, down to 6
        middle = max(range(1, len(widths) - 1), key=widths.__getitem__, default=None)
        if middle is None or widths[middle] <= _MIN_CELL:
            break
        widths[middle] -= 1
    if excess() > 0:  # and at last cut words of the last column
        widths[-1] = max(widths[-1] - excess(), _MIN_CELL)
    lines: list[str] = []
    for row in table:
        cells = [_cut(cell, w) if c else cell.ljust(w)
                 for c, (cell, w) in enumerate(zip(row[:-1], widths, strict=False))]
        wrapped = textwrap.wrap(row[-1], widths[-1], break_long_words=False,
                                break_on_hyphens=False) or [""]
        wrapped = [_cut(w, widths[-1]).rstrip() for w in wrapped]
        lines.append("  ".join([*cells, wrapped[0]]).rstrip())
        lines += ["  ".join([*(" " * w for w in widths[:-1]), more]).rstrip()
                  for more in wrapped[1:]]
    return lines


_MIN_CELL = 6


def _cut(cell: str, width: int) -> str:
    """``cell`` padded to ``width``, or cut to it, ending in "..."."""
    return cell.ljust(width) if len(cell) <= width else cell[:width - 3] + "..."


def jobs_table(lines: Sequence[JobLine], *, dry_run: bool) -> str:
    """The table of ``status`` and of ``cancel --dry-run``: every job, one row each."""
    c = _counts(lines, dry_run=dry_run)
    if dry_run:
        head = (f"Dry run, nothing was changed. {plural(c['total'], 'job')}: "
                f"{c['would_cancel']} would be cancelled, {c['already_cancelled']} already "
                f"cancelled, {c['already_final']} already finished, {c['not_found']} not found")
        head += f", {c['id_unknown']} id unknown" if c.get("id_unknown") else ""
    else:
        head = f"{plural(c['total'], 'job')}: {c['found']} found, {c['not_found']} not found"
        head += f", {c['id_unknown']} id unknown" if c.get("id_unknown") else ""
    if not lines:
        return "\n".join(fit_line(head))  # no table without rows
    rows = [[line.job_id, line.status or ("ID UNKNOWN" if line.intent is not None else
                                          "NOT FOUND" if not line.found else "?"),
             line.ionq_status or "-",
             str((line.job or line.intent or {}).get("backend") or "-"),
             *([line.action] if dry_run else [])] for line in lines]
    cells = ["job id", "status", "ionq status", "backend", *(["action"] if dry_run else [])]
    return "\n".join([*fit_line(head), *fit_table(cells, rows, optional=(2, 3))])


@dataclass
class Outcome:
    """What ``ionq-cancel cancel`` established: the library's report, the jobs that were
    already cancelled before it (read first, no cancel sent), and why it stopped."""

    report: CancelReport
    already_cancelled: set[str]
    why: Why
    _earlier: set[str] | None = field(default=None, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        """How many jobs ended in each group (``cancelled``: by this command)."""
        counts = dict(self.report.counts)
        earlier = self.already_cancelled | set(self.report.saved.already_cancelled)
        before = sum(job in earlier for job in self.report.cancelled)
        counts["cancelled"] -= before
        return {"cancelled": counts.pop("cancelled"), "already_cancelled": before, **counts}

    def action(self, job_id: str, status: JobStatus) -> str:
        """A settled job's row: cancelled, already cancelled or already finished."""
        if status is JobStatus.CANCELLED:
            if self._earlier is None:  # (a set once: asked for each row)
                self._earlier = self.already_cancelled | set(
                    self.report.saved.already_cancelled)
            return "already cancelled" if job_id in self._earlier else "cancelled"
        return "already finished"

    def _note(self, job_id: str, status: JobStatus) -> str:
        """A settled job's note: its action, and what it was expected to cost."""
        price = self.report.saved.figures.get(job_id)
        if price is None:
            return self.action(job_id, status)
        return (f"{self.action(job_id, status)}; saved {money(price.value, price.unit)} "
                f"({price.source})")

    def summary(self) -> str:
        """One line: how many jobs ended in each group, the requests and the time taken."""
        c = self.counts()
        parts = [f"{c['cancelled']} cancelled"]
        parts += [f"{c[k]} {words}" for k, words in (
            ("already_cancelled", "already cancelled"), ("already_final", "already finished"),
            ("not_found", "not found"), ("invalid", "invalid"), ("failed", "unknown"),
            ("not_reached", "not reached"))
            if c[k]]
        return (f"{plural(c['total'], 'job')}: {', '.join(parts)} "
                f"({plural(self.report.requests, 'request')}, {self.why.elapsed:.2f} s)")

    def table(self) -> str:
        """The summary, then one row a job (at most :data:`ROWS_SHOWN`), fit to the
        terminal."""
        report = self.report
        rows = [[i, s.name, self._note(i, s)] for i, s in report.statuses.items()]
        rows += [[i, _group(e), row_note(e, self.why)] for i, e in report.errors.items()]
        rows += [[i, "NOT REACHED", f"no cancel sent: {why}"]
                 for i, why in report.not_reached.items()]
        head = fit_line(self.summary())
        if report.saved.jobs or report.saved.already_cancelled:
            head += fit_line(report.saved.describe())
        if not rows:
            return "\n".join(head)
        lines = [*head, *fit_table(["job id", "status", "note"], rows[:ROWS_SHOWN])]
        if len(rows) > ROWS_SHOWN:
            lines.append(f"... and {len(rows) - ROWS_SHOWN} more (--json shows all)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` output: every job with its status and what happened, every error
        with its full text."""
        report = self.report
        return {
            "version": REPORT_VERSION,
            "counts": self.counts(),
            "elapsed_s": round(self.why.elapsed, 3),
            "deadline_s": self.why.deadline,
            "requests": report.requests,
            "jobs": [{"id": i, "status": s.name, "action": self.action(i, s),
                      **({"note": report.notes[i]} if i in report.notes else {}),
                      **report.saved_row(i)}
                     for i, s in report.statuses.items()],
            "errors": [{"id": i, "error": type(e).__name__, "reason": row_note(e, self.why),
                        "message": str(e)} for i, e in report.errors.items()],
            "not_reached": [{"id": i, "reason": why} for i, why in report.not_reached.items()],
            "saved": report.saved.to_dict(),
        }


def _group(error: Exception) -> str:
    """The status column of a job that was not settled."""
    if isinstance(error, JobNotFoundError):
        return "NOT FOUND"
    return "INVALID" if isinstance(error, (InvalidJobIdError, JobNotSubmittedError)) \
        else "UNKNOWN"
