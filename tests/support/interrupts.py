"""Where a ``KeyboardInterrupt`` landed, and putting one on a chosen line."""

from __future__ import annotations

import inspect
import linecache
import os
from collections.abc import Callable
from types import FrameType
from typing import Any

from qiskit_ionq_cancel import CancelReport


def interrupt_at_line(n: int, covers: Callable[[str], bool]
                      ) -> tuple[Callable[..., Any], list[int], list[str]]:
    """A trace function (for ``sys.settrace``) raising ``KeyboardInterrupt`` at the ``n``-th
    line run in this thread in a file ``covers(filename)`` accepts, as the interpreter does
    when a signal is handled there; a one-item list counting the lines seen; and a list that
    gets the place of the line interrupted. A sweep over ``n`` from 1 tries every line, and
    has tried them all once a run sees fewer than ``n``.

    A ``with`` line is passed over: the tracer sees it again as the block ends, before its
    ``__exit__`` runs, where no signal is ever handled (the interpreter checks for one after
    the call, once the lock is released), and an exception raised there would leave a lock
    held for good."""
    seen, place = [0], []

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        name = frame.f_code.co_filename
        if not covers(name):
            return None
        if event == "line" and not linecache.getline(name, frame.f_lineno).lstrip().startswith(
                "with "):
            seen[0] += 1
            if seen[0] == n:
                place.append(f"{os.path.basename(name)}:{frame.f_lineno} "
                             f"({frame.f_code.co_name})")
                raise KeyboardInterrupt
        return trace

    return trace, seen, place


def landed_before_the_body(exc: BaseException, function: Callable[..., Any]) -> bool:
    """Whether ``exc`` was raised while ``function`` was on a line before its first
    ``try:`` (in it or in what that line called): a signal handled on the function's entry,
    before any of its work. No code can catch that one (a ``try`` protects the lines after
    its own), so no report can come with it; nothing was read or sent by then."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code is not getattr(function, "__code__", None):
        tb = tb.tb_next
    if tb is None:
        return False
    lines, first = inspect.getsourcelines(function)
    body = next(first + n for n, line in enumerate(lines) if line.strip() == "try:")
    return tb.tb_lineno <= body


def report_in(error: BaseException) -> CancelReport | None:
    """The partial report a cancelled ``acancel_jobs`` (or scope) left on its
    ``CancelledError``, wherever the timeout put that in the chain (the ``TimeoutError``'s
    ``__cause__``; on Python 3.10, that one's ``__context__``); ``None`` if none."""
    seen: BaseException | None = error
    for _ in range(4):
        if seen is None:
            return None
        report = getattr(seen, "report", None)
        if isinstance(report, CancelReport):
            return report
        seen = seen.__cause__ or seen.__context__
    return None
