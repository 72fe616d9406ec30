"""Which thread started which, so a ``cancel_on_exit(track_threads=True)`` scope can own the
jobs of the threads it starts.

Python records no thread's parent. Between :func:`install` and the matching
:func:`uninstall` (a scope that tracks threads calls them as it opens and closes), every
``threading.Thread`` created remembers the thread that created it; when the last such scope
closes, ``Thread.__init__`` is the interpreter's own again. Hand-written because no library
offers it: it wraps ``Thread.__init__``, adding one weak dictionary entry per thread and
changing nothing else.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["install", "lineage", "uninstall"]

logger = logging.getLogger("qiskit_ionq_cancel")

_parents: weakref.WeakKeyDictionary[threading.Thread, threading.Thread] = \
    weakref.WeakKeyDictionary()
_lock = threading.Lock()
_users = 0  # install() calls not yet matched by uninstall()
_original: Callable[..., None] | None = None
_wrapper: Callable[..., None] | None = None


def install() -> None:
    """Record the parents of threads created from now on, until the matching
    :func:`uninstall` (calls nest)."""
    global _users, _original, _wrapper
    with _lock:
        _users += 1
        if _wrapper is not None:
            return
        original = threading.Thread.__init__

        def init_recording_parent(self: threading.Thread, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            _parents[self] = threading.current_thread()

        threading.Thread.__init__ = init_recording_parent  # type: ignore[method-assign]
        _original, _wrapper = original, init_recording_parent


def uninstall() -> None:
    """Undo one :func:`install`; the last one puts ``Thread.__init__`` back."""
    global _users, _original, _wrapper
    with _lock:
        _users = max(0, _users - 1)
        if _users or _wrapper is None:
            return
        if threading.Thread.__init__ is not _wrapper:  # someone wrapped ours: keep it working
            logger.debug("threadtree: Thread.__init__ was wrapped again; left as it is")
            return
        threading.Thread.__init__ = _original  # type: ignore[method-assign,assignment]
        _original = _wrapper = None


def lineage(thread: threading.Thread) -> Iterator[threading.Thread]:
    """``thread``, then the thread that created it, and so on, as far as is known."""
    seen: set[int] = set()
    current: threading.Thread | None = thread
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = _parents.get(current)
