"""A small raw-socket HTTP server for faults the emulator cannot commit: an answer cut short
mid-body, a bad gzip body, a redirect, a body that drips, a huge body, an echo of the key.

It sits in front of an emulator: every request is forwarded to it unchanged (one request
per connection, ``Connection: close``) unless ``rule(request)`` returns something else to do:
``bytes`` to send raw, or a callable that gets the client socket (and the emulator's honest
answer, already applied to its store, when ``forward_first`` is set on the rule's result).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from qiskit_ionq_cancel.emulator.server import PromptShutdown


@dataclass
class Seen:
    """One request the hostile server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """The emulator's honest answer to a forwarded request."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def raw(self, body: bytes | None = None, extra: str = "") -> bytes:
        """The answer as bytes on the wire (``body`` replaced if given)."""
        body = self.body if body is None else body
        head = [f"HTTP/1.1 {self.status} {self.reason}"]
        head += [f"{k}: {v}" for k, v in self.headers
                 if k.lower() not in ("content-length", "connection", "transfer-encoding")]
        head += [f"Content-Length: {len(body)}", "Connection: close"]
        if extra:
            head.append(extra)
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Tamper:
    """What to do instead of the honest answer: ``act(sock, answer)`` where ``answer`` is
    the emulator's (the request *was* applied) or ``None`` when ``forward`` is off."""

    act: Callable[[socket.socket, Answer | None], None]
    forward: bool = True


Rule = Callable[[Seen], "Tamper | None"]


@dataclass
class HostileServer:
    """``url`` (with the emulator's ``/v0.4`` path) fronts ``upstream``; see the module."""

    upstream: str
    rule: Rule = field(default=lambda seen: None)
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(PromptShutdown, socketserver.ThreadingTCPServer):  # close() at once
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self._session = requests.Session()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # a bound AF_INET socket's address (typeshed: str | bytes)
        path = self.upstream.split("/", 3)[3] if self.upstream.count("/") >= 3 else ""
        return f"http://{host}:{port}/{path}".rstrip("/")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._session.close()

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"),
                          "0"))
        while len(body) < length:
            body += sock.recv(65536)
        seen = Seen(method, target, headers, body)
        with self._lock:
            self.seen.append(seen)
        tamper = self.rule(seen)
        try:
            if tamper is None:
                answer = self._forward(seen)
                sock.sendall(answer.raw())
            else:
                tamper.act(sock, self._forward(seen) if tamper.forward else None)
        except OSError:
            pass  # the client gave up: nothing to answer
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _forward(self, seen: Seen) -> Answer:
        base = self.upstream.split("/v0.4")[0]
        headers = {k: v for k, v in seen.headers.items()
                   if k.lower() in ("authorization", "content-type", "user-agent")}
        response = self._session.request(seen.method, base + seen.path, data=seen.body or None,
                                         headers=headers, timeout=30, allow_redirects=False)
        return Answer(response.status_code, response.reason or "OK",
                      [(k, v) for k, v in response.headers.items()
                       if k.lower() != "content-encoding"], response.content)


def send(raw: bytes) -> Callable[[socket.socket, Any], None]:
    """An act that sends ``raw`` as it is."""
    def act(sock: socket.socket, answer: Any) -> None:
        sock.sendall(raw)
    return act
