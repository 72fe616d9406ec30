"""Which thread started which, so a ``cancel_on_exit()`` scope can own the jobs of the
threads it starts.

Python records no thread's parent. Once :func:`install` has run (the first scope does it),
every ``threading.Thread`` created remembers the thread that created it. Hand-written
because no library offers it: it wraps ``Thread.__init__`` once, adding one weak
dictionary entry per thread and changing nothing else.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from typing import Any

__all__ = ["install", "lineage"]

_parents: weakref.WeakKeyDictionary[threading.Thread, threading.Thread] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()
_installed = False


def install() -> None:
    """Start recording parents of threads created from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        original = threading.Thread.__init__

        def init_recording_parent(self: threading.Thread, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            _parents[self] = threading.current_thread()

        threading.Thread.__init__ = init_recording_parent  # type: ignore[method-assign]
        _installed = True


def lineage(thread: threading.Thread) -> Iterator[threading.Thread]:
    """``thread``, then the thread that created it, and so on, as far as is known."""
    seen: set[int] = set()
    current: threading.Thread | None = thread
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = _parents.get(current)
