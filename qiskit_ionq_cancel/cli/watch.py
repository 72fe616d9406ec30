"""``ionq-cancel watch``: the watchdog process of ``cancel_on_exit(watchdog=True)``.

Started by the scope (``_core/watchdog.py`` says how), not typed by people. It prints
``ready`` once its imports are done, then reads its stdin, a pipe from the watched program:
JSON lines handing it the API key for each URL (never on its command line or in its
environment), or ``stand down``. At end-of-file without ``stand down`` the program died with
its scope open: it cancels the unfinished jobs the ledger records for ``--label`` (each job
read back, as ``cancel --ledger`` does, the ledger marked), writes its report to the ledger,
says it on stderr, and exits. Exit codes: 0 stood down, or every job cancelled or already
final; 1 some job not cancelled (its outcome unknown, or its id never recorded); 2 the
ledger cannot be read (or is not a ledger: nothing is written to it then).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys

from .._core.deadline import scope
from .._core.ledger import Ledger, locked, read_ledger
from .._core.watchdog import READY
from .._http.client import IonQCancelClient
from ..exceptions import IonQCancelError, UsageError
from ..ledger import cancel_recorded
from ..report import CancelReport, plural
from .messages import plain
from .output import Console

__all__ = ["watch"]

logger = logging.getLogger("qiskit_ionq_cancel")

NAME = "ionq-cancel watch"


def _ready() -> None:
    """Say ``ready`` on stdout, then point stdout at /dev/null: the program stops reading
    it (and may be gone), so nothing else is printed there."""
    with contextlib.suppress(OSError):
        os.write(1, READY)
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)


def _listen() -> dict[str, tuple[str, bool]] | None:
    """Read the pipe to its end: the key (and whether plain http was allowed) for each URL,
    or ``None`` when told to stand down."""
    keys: dict[str, tuple[str, bool]] = {}
    for raw in sys.stdin.buffer:
        try:
            message = json.loads(raw)
        except ValueError:
            logger.warning("%s: skipped a line of the pipe that is not JSON", NAME)
            continue
        if not isinstance(message, dict):
            continue
        if message.get("stand_down"):
            return None
        url, key = message.get("url"), message.get("key")
        if isinstance(url, str) and isinstance(key, str):
            keys.setdefault(url, (key, bool(message.get("insecure"))))
    return keys


def watch(args: argparse.Namespace, console: Console) -> int:
    """Run the watchdog; returns the exit code."""
    _ready()
    keys = _listen()
    if keys is None:  # stood down: exit now. The interpreter's teardown of Qiskit's modules
        # takes a few hundred ms the scope's end would wait for, and nothing needs flushing
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os._exit(0)
    for key, _ in keys.values():
        console.hide(key)
    with scope(args.deadline) as deadline, locked(args.ledger):  # a second cleanup waits
        try:
            contents = read_ledger(args.ledger).only(label=args.label)
        except UsageError as exc:
            console.err(f"{NAME}: {plain(str(exc))}")
            return 2
        report = CancelReport()
        for url in sorted(contents.urls()):
            part = contents.only(url=url)
            if url not in keys:
                for job_id in part.jobs:
                    report.not_reached[job_id] = (f"no API key for {url} reached the "
                                                  "watchdog: run 'ionq-cancel --ledger "
                                                  f"{args.ledger}' with that key")
                continue
            key, insecure = keys[url]
            try:
                client = IonQCancelClient(key, url, allow_insecure_http=insecure)
            except IonQCancelError as exc:
                for job_id in part.jobs:
                    report.not_reached[job_id] = plain(str(exc))
                continue
            try:
                report.merge(cancel_recorded(args.ledger, part, client, args.deadline))
            finally:
                client.close()
        report.elapsed = deadline.elapsed
    _write_report(args, report, console)
    return 0 if report.ok else 1


def _write_report(args: argparse.Namespace, report: CancelReport, console: Console) -> None:
    """The report, in the ledger (the program is gone: nobody reads stdout), then on
    stderr if it is still there."""
    jobs = {job_id: status.name for job_id, status in report.statuses.items()}
    jobs.update((job_id, "UNKNOWN") for job_id in report.errors)
    jobs.update((job_id, "NOT_REACHED") for job_id in report.not_reached)
    ledger = Ledger(args.ledger, "", secret=None)
    try:
        ledger.note("watchdog_report", label=args.label, summary=report.summary(),
                    counts=report.counts, jobs=jobs, saved=report.saved.to_dict())
    except UsageError as exc:
        console.err(f"{NAME}: {plain(str(exc))}")
    finally:
        ledger.close()
    with contextlib.suppress(OSError):
        console.err(f"{NAME}: the watched program ended with its scope open; "
                    f"{plain(report.summary())}; report written to {args.ledger}")
        if not report.ok:
            console.err(f"{NAME}: {plural(len(report.errors) + len(report.not_reached), 'job')}"
                        f" not settled: run 'ionq-cancel --ledger {args.ledger}' to try again "
                        "and see each one")
