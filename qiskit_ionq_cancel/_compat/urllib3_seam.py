"""The seam with ``requests`` and ``urllib3``: every use of their internals, in one module.

``_http/sockets.py`` registers every socket a session's pools open and cuts a connection
still waiting for its answer's head at the deadline; ``_http/bodyread.py`` reads a body
within a time budget and stores it as ``response.content``. Neither library offers that, so
both lean on attributes the libraries do not document: urllib3's ``_new_conn`` (where a
connection opens its socket), a connection's ``sock``, a response's ``connection``, a pool
manager's ``pool_classes_by_scheme`` and a pool's ``ConnectionCls``; requests' ``_content``
and ``_content_consumed``. Nothing else in this package touches them: when either library
changes, this module (and ``tests/client/test_urllib3_seam.py``, which fails when what we
read or write changes) is where to look.
"""

from __future__ import annotations

import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Connection", "SecureConnection", "response_socket", "set_content", "socket_of",
           "use_connections"]


class Connection(HTTPConnection):
    """urllib3's plain connection, with :meth:`on_socket` called on each socket it opens."""

    def on_socket(self, sock: socket.socket) -> socket.socket:
        """The socket the connection uses (a subclass may register it); this one as is."""
        return sock

    def _new_conn(self) -> socket.socket:
        return self.on_socket(super()._new_conn())


class SecureConnection(HTTPSConnection):
    """urllib3's TLS connection, with :meth:`on_socket` called on each socket it opens."""

    def on_socket(self, sock: socket.socket) -> socket.socket:
        """As :meth:`Connection.on_socket`."""
        return sock

    def _new_conn(self) -> socket.socket:
        return self.on_socket(super()._new_conn())


def use_connections(adapter: HTTPAdapter, plain: type[Connection],
                    secure: type[SecureConnection]) -> None:
    """Make the pools of ``adapter`` open connections of these classes."""

    class Pool(HTTPConnectionPool):
        ConnectionCls = plain

    class SecurePool(HTTPSConnectionPool):
        ConnectionCls = secure

    adapter.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}


def socket_of(connection: HTTPConnection) -> socket.socket | None:
    """The socket of a connection (``None`` when it has none open)."""
    sock = connection.sock
    return sock if isinstance(sock, socket.socket) else None


def response_socket(response: requests.Response) -> socket.socket | None:
    """The socket a streamed response's body is read from (``None`` once released)."""
    connection = getattr(response.raw, "connection", None)
    return socket_of(connection) if isinstance(connection, HTTPConnection) else None


def set_content(response: requests.Response, content: bytes) -> None:
    """Store a body read by hand as ``response.content`` (as ``requests`` stores it)."""
    response._content = content
    response._content_consumed = True  # type: ignore[attr-defined]
