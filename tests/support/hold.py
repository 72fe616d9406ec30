"""A rule for ``hostile_server.HostileServer`` that holds requests unanswered: the
interrupt tests' "the server is silent" (a Ctrl-C or SIGTERM while a request hangs)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from hostile_server import Answer, Seen, Tamper


class HoldRequests:
    """Holds every request that ``which`` picks (default: every ``PUT``, the cancels)
    without an answer, until :meth:`release` or ``limit`` seconds; the others go through.

    Attributes:
        held: The requests held so far.
        gave_up: Those still held after ``limit`` seconds (then let go unanswered): a client
            the test meant to stop did not stop.
    """

    def __init__(self, limit: float, which: Callable[[Seen], bool] | None = None) -> None:
        self.limit = limit
        self.which = which or (lambda seen: seen.method == "PUT")
        self.gate = threading.Event()
        self.held: list[Seen] = []
        self.gave_up: list[Seen] = []

    def __call__(self, seen: Seen) -> Tamper | None:
        if not self.which(seen):
            return None
        self.held.append(seen)
        return Tamper(lambda sock, answer: self._hold(seen, sock, answer), forward=False)

    def _hold(self, seen: Seen, sock: socket.socket, answer: Answer | None) -> None:
        if not self.gate.wait(self.limit):
            self.gave_up.append(seen)

    def release(self) -> None:
        """Let every held request go (unanswered); later ones it picks get no answer
        either, but are not held."""
        self.gate.set()
