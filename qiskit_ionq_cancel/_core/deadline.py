"""One deadline value, shared by every step of an operation (a cancel, a batch, a listing)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Deadline"]


@dataclass(frozen=True)
class Deadline:
    """A point in time on ``clock``; ``seconds=None`` never expires."""

    seconds: float | None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    started: float = field(default=-1.0, compare=False)

    def __post_init__(self) -> None:
        if self.started < 0:
            object.__setattr__(self, "started", self.clock())

    @property
    def elapsed(self) -> float:
        """Seconds since the deadline was set."""
        return self.clock() - self.started

    @property
    def remaining(self) -> float:
        """Seconds left (``inf`` without a deadline; never below 0)."""
        if self.seconds is None:
            return float("inf")
        return max(0.0, self.seconds - self.elapsed)

    @property
    def expired(self) -> bool:
        """True once no time is left."""
        return self.seconds is not None and self.elapsed >= self.seconds

    def cap(self, seconds: float) -> float:
        """``seconds``, cut to what is left (at least a millisecond, so it stays usable as a
        timeout)."""
        return max(0.001, min(seconds, self.remaining))
