"""A rate gate shared by every request of one client, so a 429 anywhere slows them all.

Hand-written because it has to be shared across threads and adapt to a limit nobody
publishes (IonQ documents 429 but no numbers and no headers). It learns the allowed rate
from what gets through, the way a token bucket behaves: a 429 says the bucket is empty, so
between two 429s every answer that got through used a token that came in meanwhile, and
the answers between them divided by the time between them *are* the rate.

- Free-running until the first 429. Then the rate starts at half of what got through in the
  last second (a whole second's count: a burst at the very start must not read as a huge
  rate), and climbs towards the pace that emptied the bucket (the answers of the last
  second over the time they took: the limit is below it) until the next 429: doubling
  every eighth of a second while below an eighth of that pace (a first 429 moments after
  the start says little, and the guess may be far too low), every quarter second up to
  half of it, then every half second, so it passes the limit slowly and the 429s that find
  it are few.
- Each later 429 (one per burst of them) sets the rate to 90 % of what got through since
  the previous one. (Except at the end of the doubling, when the pace has outrun that
  average more than twice: the bucket overflowed while the pace was low, so the last
  quarter second is the better measure.)
- From then on, without a 429, the rate is probed upwards, slowly at first and faster the
  longer it stays quiet (so a good estimate costs few 429s, and a rising limit is found).
- A slot is reserved only when it is near: a request told to wait longer asks again after
  the wait, and so does one whose slot was reserved before the rate was cut (:attr:`cuts`
  changed), so a rate cut meanwhile applies to it too.
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
CUT_EVERY = 0.1
#: Share of the measured rate paced at after a 429.
BACKOFF = 0.9
#: Probing: after q quiet seconds, each answer raises the rate by PROBE * q / rate of itself
#: (so about PROBE * q per second, compounding: 5 % after 1 s, 22 % after 2 s).
PROBE = 0.1
#: Before the rate was ever measured under pacing (only the first guess), it doubles every
#: this many seconds; twice as fast below an eighth of the pace that emptied the bucket, and
#: every SLOW_DOUBLE_EVERY past half of it.
DOUBLE_EVERY = 0.25
SLOW_DOUBLE_EVERY = 0.5
#: The window (seconds) of "the last quarter second".
RECENT = 0.25
#: A slot this near (seconds) is reserved; a later one is only waited for, then asked again.
HORIZON = 0.05


class RateGate:
    """Paces requests after the server has said "too many"; free-running until then."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._open_at = 0.0
        self._rate: float | None = None  # requests a second allowed; None: no limit seen yet
        self._emptied_at = math.inf  # the free-running pace when the first 429 came
        self._measured = False
        self._next_slot = 0.0
        self._since_cut = 0  # answers since the last counted 429
        self._successes: deque[float] = deque()
        self._throttled_at = -FORGET_AFTER
        self._cut_at = -FORGET_AFTER
        self.cuts = 0  # times the rate was set or cut: a slot reserved before is stale

    @property
    def rate(self) -> float | None:
        """The current allowed rate (requests a second), or ``None`` when unlimited."""
        return self._rate

    def delay(self) -> float:
        """The seconds to wait before sending (see :meth:`turn`)."""
        return self.turn()[0]

    def turn(self) -> tuple[float, bool]:
        """The seconds to wait, and whether a slot was reserved for then: it is when it is
        within :data:`HORIZON` (or the next one at the current rate); if not, wait, then
        ask again."""
        with self._lock:
            now = self._clock()
            start = max(now, self._open_at)
            if self._rate is not None and now - self._throttled_at > FORGET_AFTER:
                self._rate = None
            if self._rate is not None:
                start = max(start, self._next_slot)
                if start - now > max(HORIZON, 1.0 / self._rate):
                    return start - now, False
                self._next_slot = start + 1.0 / self._rate
            return start - now, True

    def success(self) -> None:
        """Count an answered request; probe the allowed rate upwards."""
        with self._lock:
            now = self._clock()
            self._successes.append(now)
            self._since_cut += 1
            while self._successes and self._successes[0] < now - 1.0:
                self._successes.popleft()
            if self._rate is not None:
                if self._measured:
                    quiet = min(now - self._throttled_at, FORGET_AFTER)
                    self._rate += PROBE * quiet
                else:
                    ceiling = self._emptied_at
                    every = (DOUBLE_EVERY / 2 if self._rate < ceiling / 8 else
                             DOUBLE_EVERY if self._rate < ceiling / 2 else SLOW_DOUBLE_EVERY)
                    self._rate += math.log(2) / every

    def throttled(self, retry_after: float | None) -> None:
        """The server answered 429: slow everyone down, and hold off until the next token."""
        with self._lock:
            now = self._clock()
            while self._successes and self._successes[0] < now - 1.0:
                self._successes.popleft()
            if self._rate is None:
                # The answers of the last second (a count, not divided by a shorter span:
                # a burst at the very start must not read as a huge rate).
                count = len(self._successes)
                self._rate = max(1.0, 0.5 * count)
                took = now - self._successes[0] if self._successes else 0.0
                self._emptied_at = count / took if count > 1 and took > 0 else math.inf
                self._measured = False
                self._cut_at, self._since_cut = now, 0
                self.cuts += 1
            elif now - self._cut_at > CUT_EVERY:  # one cut per burst of 429s
                got = self._since_cut / (now - self._cut_at)
                if not self._measured and self._rate > 2 * got:
                    recent = sum(1 for t in self._successes if t > now - RECENT) / RECENT
                    got = max(got, recent)
                self._rate = max(1.0, BACKOFF * got)
                self._measured = True
                self._cut_at, self._since_cut = now, 0
                self.cuts += 1
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
