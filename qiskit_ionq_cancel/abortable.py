"""Connections that can be cut from another thread, so Ctrl-C stops requests in flight.

A thread blocked reading a socket wakes only when data comes, its timeout passes, or the
socket is shut down. ``requests`` and ``urllib3`` keep no list of the connections in use, so
this registers every socket their pools open (weakly) and :meth:`Sockets.abort` shuts them
all down. Hand-written: neither library offers a way to cancel a request in flight.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Sockets"]


class Sockets:
    """The sockets of one session's pools; :meth:`adapter` makes an adapter that uses it."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._lock = threading.Lock()

    def _add(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(sock)
        return sock

    def adapter(self, **kwargs: Any) -> HTTPAdapter:
        """An ``HTTPAdapter`` (``kwargs`` as its own) whose connections are registered."""
        registry = self

        class Connection(HTTPConnection):
            def _new_conn(self) -> socket.socket:
                return registry._add(super()._new_conn())

        class SecureConnection(HTTPSConnection):
            def _new_conn(self) -> socket.socket:
                return registry._add(super()._new_conn())

        class Pool(HTTPConnectionPool):
            ConnectionCls = Connection

        class SecurePool(HTTPSConnectionPool):
            ConnectionCls = SecureConnection

        adapter = HTTPAdapter(**kwargs)
        adapter.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}
        return adapter

    def abort(self) -> int:
        """Shut down every open socket (a blocked read then fails at once); how many."""
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return len(sockets)
