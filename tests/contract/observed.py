"""Emulators whose every answer the running test's contract monitor checks.

The package's :class:`~qiskit_ionq_cancel.emulator.Emulator` takes an ``observer`` through
its constructor. The tests build emulators through this module's :class:`Emulator` (and
:func:`running`), which passes :func:`observe`: that forwards each answer to the monitor the
autouse ``api_contract`` fixture of ``tests/conftest.py`` made for the test now running.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from qiskit_ionq_cancel import emulator

from .validate import ContractMonitor

if TYPE_CHECKING:
    from typing_extensions import Self

_lock = threading.Lock()
_active: list[ContractMonitor] = []


@contextmanager
def monitoring(monitor: ContractMonitor) -> Iterator[ContractMonitor]:
    """Make ``monitor`` the one :func:`observe` reports to, for the ``with`` block."""
    with _lock:
        _active.append(monitor)
    try:
        yield monitor
    finally:
        with _lock:
            _active.remove(monitor)


def observe(exchange: emulator.Exchange) -> None:
    """An emulator ``observer``: hand the answer to the active monitor, if there is one."""
    with _lock:
        monitor = _active[-1] if _active else None
    if monitor is not None:
        monitor.observe_answer(exchange)


def observer() -> emulator.AnswerObserver:
    """The observer for an emulator made now: the monitor active now, if there is one (so
    an emulator of an earlier test whose handler answers late, say after a hang fault,
    never counts in a later test's monitor); else :func:`observe` (an emulator made
    outside any test, such as a module-scoped fixture's, reports to whichever test runs)."""
    with _lock:
        monitor = _active[-1] if _active else None
    return observe if monitor is None else monitor.observe_answer


class Emulator(emulator.Emulator):
    """The package's emulator, observed by :func:`observer` unless told otherwise."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("observer", observer())
        super().__init__(**settings)

    # The base class's start() and __enter__ return ``self`` typed as the base class; these
    # say so for this subclass, so ``with Emulator(...) as emu`` gives this class.
    def start(self) -> Self:
        super().start()
        return self

    def __enter__(self) -> Self:
        return self.start()


@contextmanager
def running(**settings: Any) -> Iterator[str]:
    """:func:`qiskit_ionq_cancel.emulator.running`, observed."""
    with Emulator(**settings) as started:
        yield started.url
