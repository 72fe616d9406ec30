"""An adaptive limit on the requests in flight, shared by every thread of one client.

Hand-written because the libraries that do this (Netflix's ``concurrency-limits``, Envoy's
adaptive concurrency filter) are not Python; this is their latency-gradient idea, kept
small, with an AIMD response to overload:

- the limit grows while answers come back within :data:`TOLERANCE` times the fastest one
  seen (the server is not queueing them), and shrinks by one (not below
  :data:`LATENCY_FLOOR`) when they take more than :data:`QUEUEING` times as long;
- an overload answer (503) to a request sent with N in flight cuts the limit
  below N, by a tenth at least and by half at most, and makes N the ceiling; an overload
  answer to a request sent before the limit was cut below its N is old news and changes
  nothing (so a burst of them cuts once, and a limit far too high still comes down within a
  few round trips);
- it starts in "slow start" (one more per good answer: it doubles every round trip) until
  the first sign of queueing or overload; then it grows by about one per round trip up to
  a step below the ceiling, and near the ceiling by one per ``limit`` round trips (so a
  server that refuses past N in flight sees a probe past N seldom).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from .._core.deadline import SIGNAL_POLL, Deadline

__all__ = ["ConcurrencyLimit"]

#: Below this many in flight, slower answers alone never shrink the limit (only overload
#: answers do): on a busy machine the time of one answer varies more than queueing does.
LATENCY_FLOOR = 4
#: Answers within this many times the fastest one let the limit grow.
TOLERANCE = 1.5
#: Answers slower than this many times the fastest one shrink it.
QUEUEING = 5.0


class ConcurrencyLimit:
    """How many requests may be in flight; :meth:`acquire` blocks until one more may go."""

    def __init__(self, initial: int = 16, maximum: int = 64,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 1 <= initial <= maximum:
            raise ValueError("need 1 <= initial <= maximum")
        self.maximum = maximum
        self.clock = clock
        self._cond = threading.Condition()
        self._limit = float(initial)
        self._in_flight = 0
        self._min_rtt: dict[str, float] = {}  # the fastest answer of each kind of request
        self._slow_start = True
        self._ceiling = math.inf

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
        taken = self.acquire_by(None)
        assert taken is not None
        return taken

    def acquire_by(self, deadline: Deadline | None) -> float | None:
        """:meth:`acquire`, or ``None`` when ``deadline`` passes or is interrupted first (no
        slot taken)."""
        with self._cond:
            while self._in_flight >= self.limit:
                if deadline is not None and (deadline.expired or deadline.interrupted):
                    self._cond.notify()  # a wake-up meant for a slot goes to the next one
                    return None
                # never without a timeout: a Ctrl-C must reach a main thread waiting here
                self._cond.wait(SIGNAL_POLL if deadline is None or not deadline.bounded
                                else min(SIGNAL_POLL, deadline.remaining))
            self._in_flight += 1
            return self.clock()

    def wake(self) -> None:
        """Wake every thread waiting for a slot (to see that its call was interrupted)."""
        with self._cond:
            self._cond.notify_all()

    def release(self, started: float, *, overloaded: bool = False,
                measured: bool = True, kind: str = "", load: int | None = None) -> None:
        """Give the slot back. ``overloaded``: the answer said "too much" (a 503);
        ``measured=False``: the answer says nothing about load (its time is not used);
        ``kind``: requests of one kind are compared with each other only (a bulk cancel
        of 1,000 ids is not a queued single cancel); ``load``: requests in flight when this
        one was sent."""
        with self._cond:
            self._in_flight -= 1
            now = self.clock()
            if overloaded:
                level = float(load) if load is not None else self._limit
                if level <= self._limit:  # else: sent before a cut below its level
                    self._ceiling = level
                    self._limit = max(1.0, self._limit / 2,
                                      min(self._limit * 0.9, level - 1.0))
                    self._slow_start = False
            elif measured:
                self._adapt(now - started, kind)
            # Wake as many waiters as there are free slots, not all of them: with 64
            # threads waiting, waking all on every answer costs more CPU than the requests.
            free = self.limit - self._in_flight
            if free > 0:
                self._cond.notify(free)

    def _adapt(self, rtt: float, kind: str) -> None:
        """Grow or shrink by how this answer's time compares with the fastest one's."""
        if rtt <= 0:
            return
        fastest = self._min_rtt[kind] = min(self._min_rtt.get(kind, rtt), rtt)
        limit = self._limit
        ratio = rtt / fastest
        if ratio <= TOLERANCE:
            if self._slow_start:
                limit += 1.0
            elif limit < self._ceiling - 1:
                limit += 1.0 / limit
            else:
                limit += 1.0 / (limit * limit)
        elif ratio > QUEUEING and limit > LATENCY_FLOOR:
            limit = max(float(LATENCY_FLOOR), limit - 1.0)
            self._slow_start = False
        self._limit = min(float(self.maximum), limit)
