"""What the ``ionq-cancel`` cancel and status commands print: job tables, JSON, and a console
that keeps the API key out of everything written."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._core.status import CANCELLABLE, to_job_status
from .._redact import redact, worth_hiding
from ..exceptions import UnknownJobStatusError
from ..report import CancelReport, plural

__all__ = ["Console", "JobLine", "jobs_json", "jobs_table", "report_table"]



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
        """A line on stdout."""
        print(self.redact(text), file=sys.stdout, flush=True)

    def err(self, text: str, *, end: str = "\n") -> None:
        """A line (or, with ``end=""``, a prompt) on stderr."""
        print(self.redact(text), file=sys.stderr, end=end, flush=True)


@dataclass(frozen=True)
class JobLine:
    """One job as IonQ lists it, or ``job=None`` when IonQ did not return it."""

    job_id: str
    job: dict[str, Any] | None

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
        finished."""
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
        return data


def _counts(lines: Sequence[JobLine], *, dry_run: bool) -> dict[str, int]:
    missing = sum(not line.found for line in lines)
    if not dry_run:
        return {"found": len(lines) - missing, "not_found": missing, "total": len(lines)}
    would = sum(line.cancellable for line in lines)
    cancelled = sum(line.ionq_status == "canceled" for line in lines)
    return {"would_cancel": would, "already_cancelled": cancelled,
            "already_final": len(lines) - missing - would - cancelled,
            "not_found": missing, "total": len(lines)}


def jobs_json(lines: Sequence[JobLine], *, dry_run: bool) -> str:
    """The ``--json`` output of ``status`` and of ``cancel --dry-run``."""
    data: dict[str, Any] = {"counts": _counts(lines, dry_run=dry_run),
                            "jobs": [line.to_dict(dry_run=dry_run) for line in lines],
                            "not_found": [line.job_id for line in lines if not line.found]}
    if dry_run:
        data = {"dry_run": True, **data}
    return json.dumps(data, indent=2)


def jobs_table(lines: Sequence[JobLine], *, dry_run: bool) -> str:
    """The table of ``status`` and of ``cancel --dry-run``: every job, one row each."""
    c = _counts(lines, dry_run=dry_run)
    if dry_run:
        head = (f"Dry run, nothing was changed. {plural(c['total'], 'job')}: "
                f"{c['would_cancel']} would be cancelled, {c['already_cancelled']} already "
                f"cancelled, {c['already_final']} already finished, {c['not_found']} not found")
    else:
        head = f"{plural(c['total'], 'job')}: {c['found']} found, {c['not_found']} not found"
    if not lines:
        return head  # no table without rows
    rows = [(line.job_id, line.status or ("NOT FOUND" if not line.found else "?"),
             line.ionq_status or "-", str((line.job or {}).get("backend") or "-"),
             line.action if dry_run else "") for line in lines]
    width = max((len(r[0]) for r in rows), default=6)
    cells = ("job id", "status", "ionq status", "backend", "action" if dry_run else "")
    return "\n".join([head, *(
        f"{i:<{width}}  {s:<12}  {n:<11}  {b:<16}  {a}".rstrip()
        for i, s, n, b, a in [cells, *rows])])


def report_table(report: CancelReport) -> str:
    """``str(report)``, pointing at ``--json`` for the rows it leaves out."""
    return str(report).replace("(report.to_dict() has all)", "(--json shows all)")
