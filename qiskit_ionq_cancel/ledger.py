"""``cancel_ledger``: cancel every unfinished job a job ledger records.

The cleanup step for programs that died without cleaning up (SIGKILL, the OOM killer, a
Slurm allocation killed whole): their provider's ledger (``IonQProvider(ledger=...)`` or
``IONQ_CANCEL_LEDGER``) names every job they submitted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qiskit.providers import JobStatus

from ._core.deadline import scope
from ._core.ledger import (
    FINAL_MARKS,
    Ledger,
    LedgerContents,
    default_label,
    locked,
    read_ledger,
)
from ._core.status import CANCELLABLE, to_job_status
from ._core.validation import is_loopback
from ._http.client import IonQCancelClient
from .bulk import cancel_jobs
from .exceptions import JobNotFoundError, UsageError
from .report import CancelReport
from .single import HasClient, env_api_key

__all__ = ["cancel_ledger", "cancel_recorded", "ledger_url", "unknown_key", "unknown_note"]

logger = logging.getLogger("qiskit_ionq_cancel")

DEFAULT_URL = "https://api.ionq.co/v0.4"
#: What to do about a job submitted but whose id the ledger never got.
CHECK_READY = "check `ionq-cancel status --status ready`"


@dataclass
class _Holder:
    client: IonQCancelClient


def _env_url() -> str | None:
    return os.environ.get("IONQ_API_URL") or os.environ.get("QISKIT_IONQ_API_URL") or None


def ledger_url(contents: LedgerContents, given: str | None) -> str:
    """The one API URL a cleanup of ``contents`` sends to: ``given`` (a provider's, the
    command's ``--url`` or ``IONQ_API_URL``), which every record must share, else the
    ledger's own, if it names one on IonQ's host (``*.ionq.co``) or this machine.

    A ledger naming jobs at another URL is refused, never sent there with this key unless
    that URL is given: a key belongs to one account at one URL, and a ledger is a file
    anyone who can write it can point at any host.

    Raises:
        UsageError: Records at another URL than ``given``, or, without ``given``, at
            several URLs (nothing was sent).
    """
    urls = contents.urls()
    if given is not None:
        others = sorted(urls - {given.rstrip("/")})
        if others:
            raise UsageError(
                f"The job ledger names jobs submitted to {', '.join(others)}, not to "
                f"{given.rstrip('/')}: refusing to send this key there. Run the cleanup once "
                "per URL, with that URL (--url, or IONQ_API_URL) and its key; nothing was "
                "sent.")
        return given.rstrip("/")
    if len(urls) > 1:
        raise UsageError(
            f"The job ledger names jobs at {len(urls)} API URLs ({', '.join(sorted(urls))}): "
            "run the cleanup once per URL, with that URL (--url, or IONQ_API_URL) and its "
            "key; nothing was sent.")
    url = urls.pop() if urls else DEFAULT_URL
    host = urlsplit(url).hostname or ""
    if not (host == "ionq.co" or host.endswith(".ionq.co") or is_loopback(host)):
        raise UsageError(
            f"The job ledger names jobs at {url}, not IonQ's host: to send the key there, "
            "name that URL yourself (--url, or IONQ_API_URL); nothing was sent.")
    return url


def unknown_key(position: int) -> str:
    """The report key of the ``position``-th intent without an id (short: it is a table's
    first column, never cut; the submit's time is in its note)."""
    return f"#{position} (id unknown)"


def unknown_note(record: dict[str, Any]) -> str:
    """What is known of an intent without an id, and what to do about it."""
    return (f"submitted at {record.get('time')} to {record.get('backend')} (pid "
            f"{record.get('pid')} on {record.get('host')}), id unknown: "
            f"{CHECK_READY}")


def cancel_ledger(path: str | os.PathLike[str], *, provider: HasClient | None = None,
                  dry_run: bool = False, deadline: float | None = None,
                  price: bool | None = None) -> CancelReport:
    """Cancel every job a job ledger records that is not final, and report each one.

    Each job is cancelled and verified as by `cancel_jobs`, and what was found is appended
    to the ledger (``cancelled``, ``already_final``, ``not_found``), so a second run sends
    nothing for the jobs settled before and reports them as done (with a note). A job
    submitted but whose id never reached the ledger (the program died during its
    ``POST /jobs``) cannot be cancelled by id: it is in ``not_reached``, keyed ``#<n> (id
    unknown)``, its note saying when it was submitted and to which backend.

    Args:
        path: The ledger: a file, or a directory of them (``IonQProvider(ledger=...)``).
        provider: Gives the URL and key; every record must name its URL. ``None``: the key
            from ``IONQ_API_KEY``, the URL from ``IONQ_API_URL`` if set (every record must
            name it), else the one URL the ledger names.
        dry_run: Send no cancel: the jobs that would be cancelled are in ``not_reached``
            (with their status), the final ones in ``statuses``; the ledger is not written.
        deadline: Seconds the cancel may take (as `cancel_jobs`'s).
        price: Say what the jobs this call cancelled were expected to cost
            (``report.saved``), as `cancel_jobs`'s ``price``: ``None`` (default), on for
            up to 1,000 jobs to cancel.

    Returns:
        The `CancelReport`: every job of the ledger once, in the order submitted, with
        ``saved`` (the jobs settled by an earlier cleanup in its ``already_cancelled``) and
        every request sent (prices included).

    Raises:
        UsageError: The ledger does not exist or cannot be read, is not a ledger (a file
            with no record but lines that are not), has a record of a format version this
            package does not read, or names jobs at another URL than the provider's (or
            several URLs without one); ``price`` is not a bool or ``None``: nothing was
            sent.
        KeyboardInterrupt: Ctrl-C (or SIGTERM's ``SystemExit``) stopped the cancel: what
            was established is marked in the ledger, and the exception's ``report`` holds
            every job of the ledger (those not settled as not reached or unknown).
    """
    if price is not None and not isinstance(price, bool):
        raise UsageError(f"price must be True, False or None, not a {type(price).__name__}; "
                         "nothing was sent")
    # The whole call is one deadline: the wait for another cleanup's lock counts too.
    with scope(deadline), locked(path):  # another cleanup of this ledger finishes first
        contents = read_ledger(path)
        if not contents.records:
            logger.info("Job ledger %s: no ledger records (nothing was submitted with it)",
                        path)
        given = provider.client.url if provider is not None else _env_url()
        url = ledger_url(contents, given)
        own = provider is None
        holder: HasClient = provider if provider is not None else _Holder(
            IonQCancelClient(env_api_key(), url))
        try:
            return _cancel(Path(path), contents, holder.client, holder, dry_run, deadline,
                           price)
        finally:
            if own:
                holder.client.close()


def cancel_recorded(path: str | os.PathLike[str], contents: LedgerContents,
                    client: IonQCancelClient, deadline: float | None) -> CancelReport:
    """As `cancel_ledger`, for ``contents`` (read from ``path`` under :func:`locked`, every
    record at ``client``'s URL: a watchdog's share of a ledger) through ``client``."""
    return _cancel(Path(path), contents, client, _Holder(client), False, deadline, None)


def _cancel(path: Path, contents: LedgerContents, client: IonQCancelClient,
            holder: HasClient, dry_run: bool, deadline: float | None,
            price: bool | None) -> CancelReport:
    sent = client.requests_sent
    settled = {job_id: mark for job_id, mark in contents.marks.items()
               if mark.get("event") in FINAL_MARKS}
    pending = [job_id for job_id in contents.jobs if job_id not in settled]
    if dry_run:
        return _whole(contents, settled, _dry_run(client, pending), client.requests_sent - sent)
    report: CancelReport | None = None
    marked = False
    try:
        report = cancel_jobs(pending, provider=holder, deadline=deadline, price=price) \
            if pending else CancelReport()
        _mark(path, client, report)
        marked = True
        return _whole(contents, settled, report, client.requests_sent - sent)
    except (KeyboardInterrupt, SystemExit) as exc:  # mark what was done, then go on
        partial = getattr(exc, "report", None)
        if not isinstance(partial, CancelReport):
            partial = report  # the cancel had returned: the Ctrl-C came after it
        if isinstance(partial, CancelReport):
            if not marked:
                _mark(path, client, partial)  # (again, if cut short: a mark is idempotent)
            exc.report = _whole(  # type: ignore[union-attr]
                contents, settled, partial, client.requests_sent - sent)
        raise


def _whole(contents: LedgerContents, settled: dict[str, dict[str, Any]],
           report: CancelReport, requests: int) -> CancelReport:
    """Every job of the ledger once, in the order submitted: those settled by an earlier
    cleanup, then ``report``'s, then the intents whose id is unknown; with ``report``'s
    ``saved`` and ``requests``, every request this cleanup sent."""
    earlier = CancelReport()
    for job_id, mark in settled.items():
        status = JobStatus.__members__.get(str(mark.get("status")), JobStatus.CANCELLED)
        earlier.statuses[job_id] = status
        earlier.notes[job_id] = f"settled by an earlier cleanup at {mark.get('time')}"
    saved = report.saved  # not counted: the jobs an earlier cleanup cancelled
    saved.already_cancelled = [job_id for job_id, status in earlier.statuses.items()
                               if status is JobStatus.CANCELLED] + [
        job_id for job_id in saved.already_cancelled if job_id not in earlier.statuses]
    earlier.merge(report)
    order = {job_id: n for n, job_id in enumerate(contents.jobs)}
    final = CancelReport(
        statuses=dict(sorted(earlier.statuses.items(), key=lambda kv: order.get(kv[0], 0))),
        errors=earlier.errors, not_reached=earlier.not_reached, notes=earlier.notes,
        elapsed=report.elapsed, requests=requests, saved=saved)
    for record in contents.unknown:
        final.not_reached[unknown_key(contents.number(record))] = unknown_note(record)
    return final


def _dry_run(client: IonQCancelClient, pending: list[str]) -> CancelReport:
    report = CancelReport()
    requests = client.requests_sent
    found = client.lookup_jobs(pending) if pending else {}
    for job_id in pending:
        job = found.get(job_id)
        if job is None:
            report.errors[job_id] = JobNotFoundError(job_id)
        elif job.get("status") in CANCELLABLE:
            report.not_reached[job_id] = f"dry run: would be cancelled (it is {job['status']})"
        else:
            report.statuses[job_id] = to_job_status(job.get("status"), job_id)
    report.requests = client.requests_sent - requests
    return report


def _mark(path: Path, client: IonQCancelClient, report: CancelReport) -> None:
    """Append what the cleanup established to the ledger; a failure to write it only
    means the next cleanup asks IonQ again, so it is logged, not raised."""
    ledger = Ledger(path, client.url, secret=client.key)
    label = default_label()
    try:
        for job_id, status in report.statuses.items():
            outcome = "cancelled" if status is JobStatus.CANCELLED else "already_final"
            ledger.mark(job_id, outcome, label, status.name)
        for job_id in report.not_found:
            ledger.mark(job_id, "not_found", label)
    except UsageError as exc:
        logger.warning("%s; the cleanup's outcome is not recorded there", exc)
    finally:
        ledger.close()
