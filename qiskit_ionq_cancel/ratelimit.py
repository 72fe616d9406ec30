"""A rate gate shared by every request of one client, so a 429 anywhere slows them all.

Hand-written because it has to be shared across threads and adapt to a limit nobody
publishes (IonQ documents 429 but no numbers and no headers). It learns the allowed rate
from what gets through, the way a token bucket behaves: once a 429 has said the bucket is
empty, every answer that still gets through used a token that came in since, so the answers
a second just before a 429 *are* the rate.

- Free-running until the first 429. Then the rate starts at what got through in the last
  second (a whole second's count: a 1 s burst then reads as about the rate itself).
- Each later 429 (one per burst of them) sets the rate to 95 % of what got through over
  the last quarter second, when that was measured while being paced.
- Without a 429 the rate is probed upwards, slowly at first and faster the longer it stays
  quiet (so a low first guess is outgrown within seconds, and a good one costs few 429s).
- ``Retry-After`` is an upper bound when it is in whole seconds (servers round up: "1"
  means "within a second"), so it holds everyone off only for what the learned rate says
  the next token needs, and at least its value minus one second. A fractional value is
  honoured as given.
- Five seconds without a 429 and the gate runs free again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateGate"]

#: Seconds without a 429 after which the gate forgets the limit and runs free again.
FORGET_AFTER = 5.0
#: 429s that arrive together (several requests were in flight) count as one.
CUT_EVERY = 0.2
#: The window over which what gets through is measured at a 429, in seconds.
MEASURE = 0.25
#: Share of the measured rate paced at after a 429.
BACKOFF = 0.95
#: Probing: after q quiet seconds, each answer raises the rate by PROBE * q / rate of itself
#: (so about PROBE * q per second, compounding: 5 % after 1 s, 22 % after 2 s).
PROBE = 0.1
#: Before the rate was ever measured under pacing (only the first guess), probe this much
#: faster: the first guess may be far below the limit.
FIRST_GUESS_PROBE = 8.0


class RateGate:
    """Paces requests after the server has said "too many"; free-running until then."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._open_at = 0.0
        self._rate: float | None = None  # requests a second allowed; None: no limit seen yet
        self._measured = False
        self._next_slot = 0.0
        self._paced_since = 0.0
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
        """Count an answered request; probe the allowed rate upwards."""
        with self._lock:
            now = self._clock()
            self._successes.append(now)
            while self._successes and self._successes[0] < now - 1.0:
                self._successes.popleft()
            if self._rate is not None:
                quiet = min(now - self._throttled_at, FORGET_AFTER)
                probe = PROBE * (1.0 if self._measured else FIRST_GUESS_PROBE)
                self._rate *= 1.0 + probe * quiet / self._rate

    def throttled(self, retry_after: float | None) -> None:
        """The server answered 429: slow everyone down, and hold off until the next token."""
        with self._lock:
            now = self._clock()
            while self._successes and self._successes[0] < now - 1.0:
                self._successes.popleft()
            if self._rate is None:
                # The answers of the last second (a count, not divided by a shorter span:
                # a burst at the very start must not read as a huge rate).
                self._rate = max(1.0, float(len(self._successes)))
                self._measured = False
                self._cut_at = self._paced_since = now
            elif now - self._cut_at > CUT_EVERY:  # one cut per burst of 429s
                window = min(MEASURE, now - self._paced_since)
                if window >= 0.1:
                    got = sum(1 for t in self._successes if t >= now - window) / window
                    self._rate = max(1.0, BACKOFF * got)
                    self._measured = True
                else:
                    self._rate = max(1.0, BACKOFF * self._rate)
                self._cut_at = now
            self._throttled_at = now
            self._next_slot = max(self._next_slot, now + 1.0 / self._rate)
            if retry_after is not None:
                self._open_at = max(self._open_at, now + self._hold(retry_after))

    def _hold(self, retry_after: float) -> float:
        """How long a ``Retry-After`` holds everyone off."""
        if retry_after != math.floor(retry_after):
            return retry_after  # a precise value: as given
        assert self._rate is not None
        return max(retry_after - 1.0, min(retry_after, 1.0 / self._rate))
