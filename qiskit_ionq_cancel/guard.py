"""``budget()``: a spending limit over the IonQ jobs a block submits.

::

    with budget(25.0) as guard:                 # usd
        job = backend.run(circuit, shots=1000)  # GET /jobs/estimate first, then POST /jobs
    print(guard.report)                         # billed costs, jobs not finished

Inside the block every job submitted through this package (``backend.run``, multi-circuit
jobs, the primitives, sessions) is estimated first (``GET /jobs/estimate``, from the payload
about to be sent); one that would take the committed total past the limit raises
:class:`~qiskit_ionq_cancel.exceptions.BudgetExceededError`, and nothing is sent. A job
cancelled inside the block gives its estimate back; a billed cost (``GET /jobs/{id}/cost``)
replaces the estimate once known, read when the block exits and on :meth:`Budget.refresh`
(no background poller). When billed costs take the total past the limit, the guard cancels
its unfinished jobs (``cancel_jobs``). A ``Session`` opened inside the block gets the budget's
remainder as its ``cost_limit``, so IonQ enforces it too. The accounting is in
``_http/budget.py``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from ._core.deadline import adopt, completed, current, scope
from ._core.validation import check_deadline
from ._http.budget import EPSILON, BudgetedJob, BudgetState, entered, money
from ._http.client import IonQCancelClient
from ._redact import redact
from .bulk import cancel_jobs
from .exceptions import IonQRequestError, UsageError
from .report import CancelReport

__all__ = ["Budget", "BudgetReport", "BudgetedJob", "budget"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: Cost reads in flight at once, per client, when the billing is read.
COST_READERS = 8


@dataclass(frozen=True)
class _Holder:
    """The ``provider`` argument of ``cancel_jobs``: just a client."""

    client: IonQCancelClient


@dataclass
class BudgetReport:
    """Where a budget stood when its billing was last read.

    Attributes:
        limit: The limit.
        unit: ``"usd"`` or ``"credit"``.
        committed: The committed total: billed costs where known, else estimates (a
            cancelled job's given back).
        billed: Job id -> its billed cost (``GET /jobs/{id}/cost``), where known.
        unfinished: Job id -> its estimate, for the jobs not finished (queued or running)
            when it was read.
        unknown: Submissions of unknown cost: not estimated (``allow_unestimated``), or
            sent without an answer (``None`` for an id never learnt).
        stopped: Jobs the guard cancelled because billed costs took the total past the
            limit.
        cancel_reports: The ``CancelReport`` of each of those cancels.
        errors: Job id (or ``"listing"``) -> what kept its status or cost from being read.
    """

    limit: float
    unit: str
    committed: float
    billed: dict[str, float] = field(default_factory=dict)
    unfinished: dict[str, float | None] = field(default_factory=dict)
    unknown: list[str | None] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    cancel_reports: list[CancelReport] = field(default_factory=list)
    errors: dict[str, Exception] = field(default_factory=dict)

    @property
    def running(self) -> dict[str, float | None]:
        """``unfinished`` under its first name, kept working (it holds queued jobs too, and
        Qiskit's ``RUNNING`` is one status)."""
        return self.unfinished

    @property
    def over_limit(self) -> bool:
        """Whether the committed total is past the limit."""
        return self.committed > self.limit + EPSILON

    def __str__(self) -> str:
        unit = self.unit
        lines = [f"budget: {money(self.committed)} of {money(self.limit)} {unit} committed"
                 f"{' (OVER THE LIMIT)' if self.over_limit else ''}; "
                 f"{len(self.billed)} job(s) billed, {len(self.unfinished)} not finished"]
        lines += [f"  not finished: {job_id}, estimated {money(cost)} {unit}"
                  for job_id, cost in self.unfinished.items()]
        lines += [f"  unknown cost: {job_id or '(id never answered)'}"
                  for job_id in self.unknown]
        if self.stopped:
            lines.append(f"  cancelled past the limit: {', '.join(self.stopped)}")
        lines += [f"  not read: {key}: {error}" for key, error in self.errors.items()]
        return "\n".join(lines)


class Budget(BudgetState):
    """The guard :func:`budget` returns; a context manager.

    Attributes:
        report: The :class:`BudgetReport` of the last billing read (the block's exit, or
            :meth:`refresh`); ``None`` before one.
    """

    report: BudgetReport | None = None

    def __init__(self, limit: float, *, unit: str = "usd", provider: Any = None,
                 allow_unestimated: bool = False, deadline: float | None = 60.0) -> None:
        client = None
        if provider is not None:
            client = getattr(provider, "client", None)
            if not isinstance(client, IonQCancelClient):
                raise UsageError("budget: provider must be an IonQProvider of this package "
                                 f"(qiskit_ionq_cancel.IonQProvider), not {provider!r}")
        super().__init__(limit, unit=unit, client=client, allow_unestimated=allow_unestimated)
        check_deadline(deadline, "budget")
        self.deadline = deadline
        self._entered: contextlib.ExitStack | None = None
        self._owner = os.getpid()  # a child forked inside the block reads no billing

    def __repr__(self) -> str:
        return (f"Budget(limit={money(self.limit)}, unit={self.unit!r}, "
                f"committed={money(self.committed)})")

    def __enter__(self) -> Budget:
        if self._entered is not None:
            raise UsageError("budget: this guard is already open; open a new budget()")
        stack = contextlib.ExitStack()
        try:  # a Ctrl-C as it returns must not leave the budget open in this context
            stack.enter_context(entered(self))
            self._entered = stack
            self._owner = os.getpid()
            return self
        except BaseException:
            self._entered = None
            stack.close()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Read the billing (:meth:`refresh`), unless the block was left by Ctrl-C or
        SIGTERM, or by a child forked inside it (no request then: the jobs are its
        parent's, whose billing read could cancel them); the block's own exception goes
        on."""
        stack, self._entered = self._entered, None
        try:
            if os.getpid() != self._owner or (
                    exc_type is not None and issubclass(exc_type, (KeyboardInterrupt,
                                                                   SystemExit))):
                # Ctrl-C or SIGTERM: leave at once; the report holds what is known, unread
                self.report = self._report({}, [], [])
                return
            self.refresh()
            report = self.report
            if report is not None and (report.unfinished or report.stopped or report.over_limit):
                logger.info("%s", report)
        except Exception:  # the block's own outcome goes on; the report says what was read
            logger.exception("Budget: reading the billing at the block's exit failed")
        finally:
            self._release_ids()
            if stack is not None:
                stack.close()

    def refresh(self) -> BudgetReport:
        """Read the billing: the status of the unfinished jobs (``GET /jobs?ids=...``) and
        the cost of the finished ones not yet billed (``GET /jobs/{id}/cost``); a billed
        cost replaces the estimate. If the committed total is then past the limit, cancel
        the unfinished jobs (``cancel_jobs``). All within ``deadline`` seconds (the
        guard's, 60 by default).

        Returns:
            The :class:`BudgetReport` (also kept in :attr:`report`). It never raises for a
            read that failed: that is in its ``errors``.
        """
        errors: dict[str, Exception] = {}
        with scope(self.deadline):
            self._read_statuses(errors)
            self._read_costs(errors)
            stopped, reports = self._stop_if_over(errors)
        self.report = self._report(errors, stopped, reports)
        return self.report

    def _by_client(self, jobs: list[BudgetedJob]) -> dict[IonQCancelClient, list[str]]:
        groups: dict[IonQCancelClient, list[str]] = defaultdict(list)
        for job in jobs:
            client = self._client_of.get(job.job_id or "")
            if client is not None and job.job_id is not None:
                groups[client].append(job.job_id)
        return groups

    def _unfinished(self) -> list[BudgetedJob]:
        return [job for job in self.jobs if job.job_id and not job.finished]

    def _read_statuses(self, errors: dict[str, Exception]) -> None:
        for client, ids in self._by_client(self._unfinished()).items():
            try:
                found = client.lookup_jobs(ids)
            except IonQRequestError as exc:
                errors["listing"] = exc
                continue
            for job_id, job in found.items():  # also after the block (no longer observed)
                if isinstance(job.get("status"), str):
                    self._settle(job_id, job["status"])

    def _read_costs(self, errors: dict[str, Exception]) -> None:
        """``GET /jobs/{id}/cost`` of each finished job not yet billed, :data:`COST_READERS`
        at a time (one request a job: IonQ has no cost listing), within the refresh's
        deadline."""
        unbilled = [job for job in self.jobs if job.finished and job.billed is None]
        deadline = current()
        assert deadline is not None  # inside refresh()'s scope
        for client, ids in self._by_client(unbilled).items():
            pool = ThreadPoolExecutor(min(COST_READERS, len(ids)),
                                      thread_name_prefix="ionq-budget", initializer=adopt,
                                      initargs=(deadline,))  # the workers work for this call
            try:
                reads = {pool.submit(client.job_cost, job_id): job_id for job_id in ids}
                for read in completed(reads):  # Ctrl-C here interrupts the workers too
                    try:
                        self._take_cost(reads[read], read.result(), errors)
                    except IonQRequestError as exc:
                        errors[reads[read]] = exc
            finally:
                pool.shutdown(wait=not deadline.interrupted, cancel_futures=True)

    def _take_cost(self, job_id: str, answer: Any, errors: dict[str, Exception]) -> None:
        """A ``GetJobCostResponse``: its ``cost`` replaces the job's estimate."""
        cost = answer.get("cost") if isinstance(answer, dict) else None
        if cost is None:
            return  # not billed yet: the estimate stands
        value = cost.get("value") if isinstance(cost, dict) else None
        unit = cost.get("unit") if isinstance(cost, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            errors[job_id] = ValueError(f"GET /jobs/{job_id}/cost: no usable cost")
        elif value and str(unit).lower() != self.unit:
            # (the server's word, in an exception that does not redact itself; the key of
            # the client that read it is live)
            errors[job_id] = ValueError(f"GET /jobs/{job_id}/cost: billed in "
                                        f"{redact(str(unit))}, the budget is in "
                                        f"{self.unit}; its estimate stands")
        else:
            self._set_billed(job_id, float(value))

    def _stop_if_over(self, errors: dict[str, Exception]
                      ) -> tuple[list[str], list[CancelReport]]:
        committed = self.committed
        unfinished = self._unfinished()
        if committed <= self.limit + EPSILON or not unfinished:
            return [], []
        logger.warning("Budget: billed costs take the total to %s %s, past the limit of "
                       "%s; cancelling the %d unfinished job(s)", money(committed), self.unit,
                       money(self.limit), len(unfinished))
        stopped: list[str] = []
        reports: list[CancelReport] = []
        for client, ids in self._by_client(unfinished).items():
            report = cancel_jobs(ids, provider=_Holder(client))
            reports.append(report)
            for job_id in report.cancelled:
                self._settle(job_id, "canceled")
            stopped += report.cancelled
            errors.update(report.errors)
        return stopped, reports

    def _report(self, errors: dict[str, Exception], stopped: list[str],
                reports: list[CancelReport]) -> BudgetReport:
        jobs = self.jobs
        return BudgetReport(
            limit=self.limit, unit=self.unit, committed=self.committed,
            billed={job.job_id: job.billed for job in jobs
                    if job.job_id and job.billed is not None},
            unfinished={job.job_id: job.estimate for job in jobs
                     if job.job_id and not job.finished},
            unknown=[job.job_id for job in jobs
                     if job.job_id is None or (job.estimate is None and job.billed is None)],
            stopped=stopped, cancel_reports=reports, errors=errors)


def budget(limit: float, *, unit: str = "usd", provider: Any = None,
           allow_unestimated: bool = False, deadline: float | None = 60.0) -> Budget:
    """A spending limit over the IonQ jobs submitted inside the ``with`` block.

    Every job submitted through this package inside the block (in its thread or asyncio
    task, and the primitives' workers) is estimated first (``GET /jobs/estimate``) and
    refused, before ``POST /jobs``, when its estimate would take the committed total past
    ``limit``. Budgets nest: a job must fit each open one.

    Args:
        limit: The most the jobs may cost (finite, 0 or more), in ``unit``.
        unit: ``"usd"`` or ``"credit"`` (organizations billed in credits).
        provider: Count only the jobs of this ``IonQProvider`` (default: every provider's).
        allow_unestimated: Submit jobs whose estimate cannot be had (an older server's
            404, a timeout), counted as unknown, instead of refusing them.
        deadline: Seconds each billing read (the block's exit, ``refresh()``) may take.

    Returns:
        The guard: ``committed``, ``limit``, ``remaining``, ``jobs``, ``refresh()``,
        ``report``.

    Raises:
        UsageError: A negative, NaN or infinite limit, an unknown unit, a provider not
            of this package, or a deadline not above 0 (a ``ValueError``; nothing was
            sent).
    """
    return Budget(limit, unit=unit, provider=provider, allow_unestimated=allow_unestimated,
                  deadline=deadline)
