"""Connections that can be cut from another thread: Ctrl-C stops requests in flight, and a
server that drips its status line and headers a byte at a time is cut at the deadline.

A thread blocked reading a socket wakes only when data comes, its timeout passes, or the
socket is shut down. ``requests`` and ``urllib3`` keep no list of the connections in use, so
this registers every socket their pools open (weakly) and :meth:`Sockets.abort` shuts them
all down; and while a thread waits for an answer's head with a deadline set
(:func:`answer_by`), one watchdog thread shuts its socket down when the deadline passes.
Hand-written: neither library offers a way to cancel a request in flight, nor a deadline
for the whole head of an answer (their timeouts apply to each socket read).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection

from .._compat import urllib3_seam
from .._core.deadline import current

__all__ = ["Sockets", "answer_by"]

_deadline = threading.local()


@contextlib.contextmanager
def answer_by(end: float) -> Iterator[None]:
    """Within the block, this thread's requests must have their answer's head by ``end``
    (``time.monotonic()``), or their connection is shut down."""
    _deadline.end = end
    try:
        yield
    finally:
        _deadline.end = None


class _Watchdog:
    """One daemon thread shutting down the sockets whose deadline passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._live: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, sock: socket.socket, end: float) -> int:
        with self._cond:
            token = next(self._tokens)
            heapq.heappush(self._heap, (end, token, sock))
            self._live.add(token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ionq-watchdog",
                                                daemon=True)
                self._thread.start()
            # The thread sleeps until the earliest deadline: only one that comes before it
            # needs to wake it (waking it for every request cost a thread switch each).
            if self._heap[0][1] == token:
                self._cond.notify()
            return token

    def disarm(self, token: int) -> None:
        with self._cond:
            self._live.discard(token)
            # The thread drops disarmed entries as it reaches them, which may be minutes
            # away: drop them here once they outnumber the armed ones.
            if len(self._heap) > 2 * len(self._live) + 64:
                self._heap = [entry for entry in self._heap if entry[1] in self._live]
                heapq.heapify(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                _, token, sock = heapq.heappop(self._heap)
                self._live.discard(token)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()


def _head_by_deadline(connection: HTTPConnection, read_head: Any) -> Any:
    end = getattr(_deadline, "end", None)
    sock = urllib3_seam.socket_of(connection)
    token = _WATCHDOG.arm(sock, end) if end is not None and sock is not None else None
    try:
        return read_head()
    finally:
        if token is not None:
            _WATCHDOG.disarm(token)


class Sockets:
    """The sockets of one session's pools; :meth:`adapter` makes an adapter that uses it."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def _add(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(sock)
        # A thread that was connecting when its call was interrupted registers its socket
        # after abort() took the list: shut it down now, or its read waits out its timeout.
        # (Checked after the add: an abort that comes later sees it in the list.)
        deadline = current()
        if deadline is not None and deadline.interrupted:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return sock

    def adapter(self, **kwargs: Any) -> HTTPAdapter:
        """An ``HTTPAdapter`` (``kwargs`` as its own) whose connections are registered."""
        registry = self

        class Connection(urllib3_seam.Connection):
            def on_socket(self, sock: socket.socket) -> socket.socket:
                return registry._add(sock)

            def getresponse(self) -> Any:
                return _head_by_deadline(self, super().getresponse)

        class SecureConnection(urllib3_seam.SecureConnection):
            def on_socket(self, sock: socket.socket) -> socket.socket:
                return registry._add(sock)

            def getresponse(self) -> Any:
                return _head_by_deadline(self, super().getresponse)

        adapter = HTTPAdapter(**kwargs)
        urllib3_seam.use_connections(adapter, Connection, SecureConnection)
        return adapter

    def abort(self) -> int:
        """Shut down every open socket (a blocked read then fails at once); how many."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return len(sockets)
