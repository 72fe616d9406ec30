"""SIGTERM as ``SystemExit(143)``, so a ``with`` block's cleanup runs as it does on Ctrl-C.

Python's default SIGTERM ends the process at once: no ``finally``, no ``__exit__``, so jobs
submitted in the block would run on (and bill). :class:`SigtermAsExit` makes SIGTERM raise
``SystemExit(128 + 15)`` while it is installed, and puts the previous handler back after.
Signal handlers belong to the main thread: elsewhere it does nothing.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

__all__ = ["TERMINATED", "SigtermAsExit"]

#: The exit code after SIGTERM (128 + 15), as shells report it.
TERMINATED = 128 + signal.SIGTERM


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: cleanup, then exit 143


class SigtermAsExit:
    """Installs the SIGTERM handler (main thread only) and restores the previous one; also a
    context manager. Restoring twice, or without installing, does nothing."""

    def __init__(self) -> None:
        self._previous: Any = None
        self._installed = False

    def install(self) -> None:
        if not self._installed and threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, _raise_system_exit)
            self._installed = True

    def restore(self) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def __enter__(self) -> SigtermAsExit:
        self.install()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.restore()
