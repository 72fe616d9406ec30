"""Issue 21, promise 3 (every input in the report), wherever a Ctrl-C lands.

A real SIGINT lands where the scheduler puts it: the chaos suite sends them at random times
and once found one that landed before ``cancel_jobs`` had built its batch (the exception then
carried no report). Here the Ctrl-C is put on each line ``cancel_jobs`` runs in the calling
thread in turn: a trace function raises ``KeyboardInterrupt`` there, as the interpreter does
when a signal arrives (the Ctrl-C itself, sent for real, is the chaos suite's and the CLI's
tests' business). The sweep ends when a call runs to its end with no line left to interrupt.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import pytest
from qiskit.providers import JobStatus
from support import KEY, Api, interrupt_at_line, landed_before_the_body

import qiskit_ionq_cancel
from qiskit_ionq_cancel import CancelReport, IonQProvider, cancel_jobs
from qiskit_ionq_cancel.emulator import Emulator

PACKAGE = os.path.dirname(qiskit_ionq_cancel.__file__)
EMULATOR = os.path.join(PACKAGE, "emulator")


def ours(name: str) -> bool:
    """The package's files, not its emulator's."""
    return name.startswith(PACKAGE) and not name.startswith(EMULATOR)


def test_a_ctrl_c_on_any_line_of_cancel_jobs_carries_every_input(
        emu: Emulator, api_for: Callable[..., Api]) -> None:
    api = api_for(emu)
    provider = IonQProvider(KEY, url=emu.url)
    interrupted = 0
    try:
        for n in range(1, 5_000):
            ids = [api.submit() for _ in range(3)]
            given = [ids[0], "not-an-id", ids[1], ids[0], ids[2]]
            trace, seen, place = interrupt_at_line(n, ours)
            report: CancelReport | None = None
            sys.settrace(trace)
            try:
                report = cancel_jobs(given, provider=provider)
            except KeyboardInterrupt as exc:
                interrupted += 1
                report = getattr(exc, "report", None)
                if report is None and landed_before_the_body(exc, cancel_jobs):
                    assert api.job(ids[0])["status"] != "canceled"  # indeed nothing was sent
                    continue
                assert isinstance(report, CancelReport), f"no report: Ctrl-C at {place}"
            finally:
                sys.settrace(None)
            rows = [*report.statuses, *report.errors, *report.not_reached]
            assert len(rows) == len(set(rows)), f"a row twice: Ctrl-C at {place}"
            assert set(rows) == {*ids, "#1 'not-an-id'"}, f"Ctrl-C at {place}: {rows}"
            for job_id, status in report.statuses.items():  # a verdict is the server's word
                assert status is not JobStatus.CANCELLED or api.job(job_id)["status"] == \
                    "canceled", f"Ctrl-C at {place}: {job_id}"
            if seen[0] < n:  # the call ran to its end before line n: every line was tried
                assert report.statuses == dict.fromkeys(ids, JobStatus.CANCELLED)
                break
        else:
            pytest.fail("cancel_jobs never ran to its end")
    finally:
        provider.client.close()
    assert interrupted > 100  # the sweep went through the call, not around it
