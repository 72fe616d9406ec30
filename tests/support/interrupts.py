"""Where a ``KeyboardInterrupt`` landed."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


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
