"""An adaptive limit on the requests in flight, shared by every thread of one client.

Hand-written because the libraries that do this (Netflix's ``concurrency-limits``, Envoy's
adaptive concurrency filter) are not Python; this is their "Vegas" limit, kept small. The
limit grows while answers come back about as fast as the fastest one seen (the server is not
queueing them), shrinks by one when they come back slower (requests are queueing), and drops
by a tenth on each overload answer (503, 429, no answer: as many cuts as requests went past
what the server takes, so a limit far too high comes down within one round trip). It starts
in "slow start" (one more per good answer, so it doubles every round trip) until the first
sign of queueing or overload, then grows by about one per round trip.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["ConcurrencyLimit"]

#: Below this many in flight, slower answers alone never shrink the limit (only overload
#: answers do): on a busy machine the time of one answer varies more than queueing does.
LATENCY_FLOOR = 4


class ConcurrencyLimit:
    """How many requests may be in flight; :meth:`acquire` blocks until one more may go."""

    def __init__(self, initial: int = 16, maximum: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 1 <= initial <= maximum:
            raise ValueError("need 1 <= initial <= maximum")
        self.maximum = maximum
        self._clock = clock
        self._cond = threading.Condition()
        self._limit = float(initial)
        self._in_flight = 0
        self._min_rtt = math.inf
        self._slow_start = True

    @property
    def limit(self) -> int:
        """Requests allowed in flight now."""
        return max(1, int(self._limit))

    @property
    def in_flight(self) -> int:
        """Requests in flight now."""
        return self._in_flight

    def acquire(self) -> float:
        """Wait for a free slot and take it; the time it was taken (for :meth:`release`)."""
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
            return self._clock()

    def release(self, started: float, *, overloaded: bool = False,
                measured: bool = True) -> None:
        """Give the slot back. ``overloaded``: the answer said "too much" (503, 429, none);
        ``measured=False``: the answer says nothing about load (its time is not used)."""
        with self._cond:
            self._in_flight -= 1
            now = self._clock()
            if overloaded:
                self._limit = max(1.0, self._limit * 0.9)
                self._slow_start = False
            elif measured:
                self._adapt(now - started)
            self._cond.notify_all()

    def _adapt(self, rtt: float) -> None:
        """Vegas: estimate the requests queued at the server from this answer's time."""
        if rtt <= 0:
            return
        self._min_rtt = min(self._min_rtt, rtt)
        limit = self._limit
        queued = limit * (1.0 - self._min_rtt / rtt)
        size = max(1.0, math.log10(limit))
        if queued < 3 * size:
            limit += 1.0 if self._slow_start else 1.0 / limit
        elif queued > 6 * size and limit > LATENCY_FLOOR:
            limit = max(float(LATENCY_FLOOR), limit - size)
            self._slow_start = False
        self._limit = min(float(self.maximum), limit)
