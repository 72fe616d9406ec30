"""Retry behaviour as one small policy object, in the spirit of ``urllib3.util.Retry``.

Why not urllib3's ``Retry`` or a retry library: none of them both (a) holds one total deadline
that no wait may cross, honouring ``Retry-After`` in seconds *or* HTTP-date form, and (b)
retries a ``200`` whose body is not JSON (a misbehaving proxy). The loop that uses this policy
lives in exactly one place, :meth:`qiskit_ionq_cancel._http.transport.Transport.send`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime

from ._core.deadline import Deadline

__all__ = ["CONNECT_ATTEMPTS", "RETRY_STATUSES", "UNREACHABLE_FOR", "RetryPolicy",
           "parse_retry_after"]

#: Answers worth another try: rate limited, or a server/gateway having a bad moment
#: (520-529: Cloudflare's "origin unreachable" family, which IonQ's own SDKs retry too).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, *range(520, 530)})
#: Attempts at most when the server cannot be reached at all (connection refused, unknown
#: host; a connect timeout counts as two): nothing was sent, and waiting rarely brings a
#: server back.
CONNECT_ATTEMPTS = 3
#: Seconds during which, once the server could not be reached, other requests of the same
#: client fail at once with the same error instead of each trying again.
UNREACHABLE_FOR = 10.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried: give it as ``IonQProvider(retry_policy=...)``.

    Retried: 429, 500, 502, 503, 504 and 520-529, dropped connections, timeouts and a 200
    that is not JSON (a submission only on 429). Without ``Retry-After`` the n-th wait is
    ``min(backoff_max, backoff_initial * backoff_multiplier ** (n - 1))``, reduced by a
    random share of up to ``jitter`` so that many clients do not retry in step.

    Attributes:
        deadline: Total seconds one operation (all attempts and waits) may take; no wait is
            ever started that would end past it.
        max_attempts: Attempts at most (``None``: only the deadline limits); a 429 does not
            count.
        backoff_initial: The first wait, in seconds.
        backoff_multiplier: Each wait is this many times the one before.
        backoff_max: The longest wait, in seconds.
        jitter: The largest share (0 to 1) taken off a wait at random.
        retry_after_max: A server asking for a longer wait than this is not waited for.
        retry_statuses: The HTTP statuses retried.
        connect_attempts: Attempts at most while the server cannot be reached at all (a
            connect timeout counts as two).
        unreachable_for: Seconds during which, once the server could not be reached, the
            client's other requests fail at once with the same error.
        clock: The monotonic clock (tests replace it, with ``sleep``).
        sleep: How a wait is slept; ``None`` (the default): the call's interruptible
            :meth:`~qiskit_ionq_cancel._core.deadline.Deadline.wait`, which Ctrl-C ends.
        rng: The random source of the jitter.
    """

    deadline: float = 60.0
    max_attempts: int | None = 10
    backoff_initial: float = 0.25
    backoff_multiplier: float = 2.0
    backoff_max: float = 8.0
    jitter: float = 0.5
    retry_after_max: float = 120.0
    retry_statuses: frozenset[int] = RETRY_STATUSES
    connect_attempts: int = CONNECT_ATTEMPTS
    unreachable_for: float = UNREACHABLE_FOR
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    sleep: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.deadline <= 0:
            raise ValueError("deadline must be positive")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.connect_attempts < 1:
            raise ValueError("connect_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    def with_deadline(self, deadline: float | None) -> RetryPolicy:
        """Return the same policy with another deadline.

        Args:
            deadline: The new deadline in seconds; ``None``: unchanged.

        Returns:
            The policy with that deadline.
        """
        return self if deadline is None else replace(self, deadline=deadline)

    def backoff(self, attempt: int) -> float:
        """Return the wait after a failed attempt, with jitter.

        Args:
            attempt: The failed attempt's number, from 1.

        Returns:
            Seconds to wait.
        """
        base = min(self.backoff_max,
                   self.backoff_initial * self.backoff_multiplier ** (attempt - 1))
        return base * (1.0 - self.jitter * self.rng.random())

    def begin(self, deadline: Deadline | None = None) -> Attempts:
        """Start counting attempts of one operation, under ``deadline`` (the call's; default:
        one of this policy's ``deadline`` from now)."""
        deadline = Deadline(self.deadline, self.clock) if deadline is None else deadline
        return Attempts(self, deadline, started=deadline.clock())

    def pause(self, seconds: float, deadline: Deadline) -> None:
        """Wait ``seconds`` (cut to what is left of ``deadline``): ``sleep`` if one was given,
        else :meth:`Deadline.wait`, which an interrupt ends at once."""
        if self.sleep is None:
            deadline.wait(seconds)
        else:
            self.sleep(max(0.0, min(seconds, deadline.remaining)))


@dataclass
class Attempts:
    """The attempts of one operation under a :class:`RetryPolicy`."""

    policy: RetryPolicy
    deadline: Deadline  # the call's (or the policy's, from when the operation began)
    started: float = 0.0  # on the deadline's clock
    count: int = 0
    throttles: int = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the operation began (not the call: messages say what it took)."""
        return self.deadline.clock() - self.started

    @property
    def remaining(self) -> float:
        """Seconds left before the deadline (never below 0)."""
        return self.deadline.remaining

    def next_wait(self, retry_after: str | None,
                  throttled: bool = False) -> tuple[float | None, str]:
        """Count a failed attempt; return the wait before the next one, or ``None`` and why
        not to try again.

        ``throttled`` (a 429): being asked to slow down is not a failure of the request, so
        it does not use up ``max_attempts`` (the deadline still holds), and without a
        ``Retry-After`` the wait is left to the client's shared rate gate (0 here).
        """
        self.count += 1
        self.throttles += throttled
        policy = self.policy
        if policy.max_attempts is not None and \
                self.count - self.throttles >= policy.max_attempts:
            return None, f"no attempts left (max_attempts={policy.max_attempts})"
        asked = parse_retry_after(retry_after)
        if asked is not None and asked > policy.retry_after_max:
            return None, f"the server asked to wait {asked:.0f} s (retry_after_max is " \
                         f"{policy.retry_after_max:.0f} s)"
        wait = asked if asked is not None else 0.0 if throttled else policy.backoff(self.count)
        if wait >= self.remaining:
            return None, f"waiting {wait:.2f} s more would pass the " \
                         f"{self.deadline.seconds:g} s deadline"
        return wait, ""
