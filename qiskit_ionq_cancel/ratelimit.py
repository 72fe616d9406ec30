"""A rate gate shared by every request of one client, so a 429 anywhere slows them all.

Hand-written because it has to be shared across threads and adapt to a limit nobody
publishes (IonQ documents 429 but no numbers and no headers): it is the "adaptive" idea of
the AWS SDKs' retry mode, kept small. The first 429 sets the allowed rate to 80 % of what was
getting through, each later burst of 429s cuts it by 15 %, each success raises it by 1 % (up
to 1.25 times what gets through), and a ``Retry-After`` closes the gate for everyone until
then. Five seconds without a 429 and the gate runs free again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateGate"]

#: Seconds without a 429 after which the gate forgets the limit and runs free again.
FORGET_AFTER = 5.0
#: 429s that arrive together (several requests were in flight) cut the rate only once.
CUT_EVERY = 0.2


class RateGate:
    """Paces requests after the server has said "too many"; free-running until then."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._open_at = 0.0
        self._rate: float | None = None  # requests a second allowed; None: no limit seen yet
        self._next_slot = 0.0
        self._successes: deque[float] = deque()
        self._throttled_at = -FORGET_AFTER
        self._cut_at = -FORGET_AFTER

    @property
    def rate(self) -> float | None:
        """The current allowed rate (requests a second), or ``None`` when unlimited."""
        return self._rate

    def delay(self) -> float:
        """Reserve the next slot; return the seconds to wait before sending."""
        with self._lock:
            now = self._clock()
            start = max(now, self._open_at)
            if self._rate is not None and now - self._throttled_at > FORGET_AFTER:
                self._rate = None
            if self._rate is not None:
                start = max(start, self._next_slot)
                self._next_slot = start + 1.0 / self._rate
            return start - now

    def success(self) -> None:
        """Count an answered request; raise the allowed rate a little."""
        with self._lock:
            now = self._clock()
            self._successes.append(now)
            while self._successes and self._successes[0] < now - 1.0:
                self._successes.popleft()
            if self._rate is not None:
                # Probe upwards, but not far past what actually gets through.
                span = max(now - self._successes[0], 0.1)
                self._rate = min(self._rate * 1.01, 1.25 * len(self._successes) / span)
                self._rate = max(self._rate, 1.0)

    def throttled(self, retry_after: float | None) -> None:
        """The server answered 429: slow everyone down, and hold off until ``retry_after``."""
        with self._lock:
            now = self._clock()
            while self._successes and self._successes[0] < now - 1.0:
                self._successes.popleft()
            # What got through lately, per second (over at least 0.1 s, so that a burst at
            # the very start does not read as a huge rate).
            span = now - self._successes[0] if self._successes else 1.0
            recent = len(self._successes) / max(span, 0.1)
            if self._rate is None:
                self._rate = max(1.0, 0.8 * recent)
                self._cut_at = now
            elif now - self._cut_at > CUT_EVERY:  # one cut per burst of 429s
                self._rate = max(1.0, 0.85 * self._rate)
                self._cut_at = now
            self._throttled_at = now
            self._next_slot = max(self._next_slot, now + 1.0 / self._rate)
            if retry_after is not None:
                self._open_at = max(self._open_at, now + retry_after)
