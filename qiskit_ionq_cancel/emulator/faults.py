"""Fault injection: what the emulator does instead of (or after) answering honestly.

Faults come from four places, checked in this order for every request:

1. scripted faults (:meth:`FaultInjector.inject`), for tests that need an exact sequence;
2. overload: more than ``max_in_flight`` requests being handled at once, answering 503;
3. the rate limit (a token bucket over real time), answering 429;
4. random faults at ``fault_rate``, drawn from a seeded generator so a run repeats.

Added latency applies to every request. Nothing here touches the job store.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Literal

FaultKind = Literal["status", "drop", "garbage", "hang", "json"]
RetryAfterMode = Literal["seconds", "date", "none"]
RANDOM_KINDS: tuple[str, ...] = ("500", "502", "503", "504", "drop", "garbage")


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour.

    ``status``: answer this HTTP status with IonQ's error body (and ``retry_after``, when
    given, as the ``Retry-After`` header). ``drop``: close the connection without answering.
    ``garbage``: answer 200 with a non-JSON body, as a misbehaving proxy would. ``hang``: wait
    ``delay`` seconds before answering normally (a read timeout for the client).
    ``json``: answer 200 with ``body`` as JSON (well-formed, of a shape the document does not
    give: ``{"estimated_cost": "cheap"}`` for a cost).
    ``after``: apply the request to the job store first, then misbehave (the change happened
    but the client cannot know it).
    """

    kind: FaultKind
    status: int = 0
    retry_after: str | None = None
    delay: float = 0.0
    after: bool = False
    body: Any = None

    @classmethod
    def http(cls, status: int, retry_after: str | None = None, *, after: bool = False) -> Fault:
        """An error answer with this status."""
        return cls("status", status=status, retry_after=retry_after, after=after)

    @classmethod
    def drop(cls, *, after: bool = False) -> Fault:
        """A connection closed without an answer."""
        return cls("drop", after=after)

    @classmethod
    def garbage(cls) -> Fault:
        """A 200 answer whose body is not JSON (the request did reach the service)."""
        return cls("garbage", after=True)

    @classmethod
    def json(cls, body: Any) -> Fault:
        """A 200 answer whose body is ``body`` as JSON (the request did reach the service)."""
        return cls("json", after=True, body=body)

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """An answer that comes ``seconds`` late."""
        return cls("hang", delay=seconds)


@dataclass(frozen=True)
class FaultConfig:
    """Standing fault settings of an emulator (the CLI's ``--latency`` etc.)."""

    latency: float = 0.0
    rate_limit: float | None = None
    rate_burst: float | None = None
    retry_after: RetryAfterMode = "seconds"
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = RANDOM_KINDS
    seed: int | None = None
    max_in_flight: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError("rate_limit must be positive")
        if self.rate_burst is not None and self.rate_burst < 1:
            raise ValueError("rate_burst must be at least 1")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        unknown = set(self.fault_kinds) - set(RANDOM_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {RANDOM_KINDS}")


@dataclass
class _Script:
    fault: Fault
    remaining: int
    method: str | None
    path: re.Pattern[str] | None


@dataclass
class _Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``capacity`` saved up."""

    rate: float
    capacity: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """Take a token; return 0 if there was one, else the seconds until there will be."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class FaultInjector:
    """Decides, request by request, which fault (if any) the emulator commits."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._scripts: list[_Script] = []
        self._in_flight = 0
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        """Replace the standing settings (the scripted faults stay)."""
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._bucket = (
                _Bucket(
                    rate=config.rate_limit,
                    capacity=config.rate_burst or max(1.0, config.rate_limit / 10),
                    tokens=config.rate_burst or max(1.0, config.rate_limit / 10),
                )
                if config.rate_limit
                else None
            )

    def inject(self, fault: Fault, *, times: int = 1, method: str | None = None,
               path: str | None = None) -> None:
        """Commit ``fault`` on the next ``times`` requests matching ``method`` and the
        regular expression ``path`` (searched in the path without the query)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._scripts.append(
                _Script(fault, times, method, re.compile(path) if path is not None else None)
            )

    def clear(self) -> None:
        """Forget every scripted fault not yet committed."""
        with self._lock:
            self._scripts.clear()

    def enter(self) -> None:
        """A request arrived (counted until :meth:`leave`, for ``max_in_flight``)."""
        with self._lock:
            self._in_flight += 1

    def leave(self) -> None:
        """A request's answer went out."""
        with self._lock:
            self._in_flight -= 1

    @property
    def latency(self) -> float:
        """Seconds added to every answer."""
        return self.config.latency

    def decide(self, method: str, path: str) -> Fault | None:
        """The fault to commit for this request, or ``None`` to answer honestly."""
        with self._lock:
            for script in self._scripts:
                if (script.method is None or script.method == method) and (
                    script.path is None or script.path.search(path)
                ):
                    script.remaining -= 1
                    if script.remaining <= 0:
                        self._scripts.remove(script)
                    return script.fault
            cap = self.config.max_in_flight
            if cap is not None and self._in_flight > cap:
                return Fault.http(503)
            if self._bucket is not None:
                wait = self._bucket.take()
                if wait > 0:
                    return Fault.http(429, self._retry_after(wait))
            cfg = self.config
            if cfg.fault_rate and self._rng.random() < cfg.fault_rate:
                kind = self._rng.choice(cfg.fault_kinds)
                after = self._rng.random() < 0.5
                if kind == "drop":
                    return Fault.drop(after=after)
                if kind == "garbage":
                    return Fault.garbage()
                return Fault.http(int(kind), after=after)
            return None

    def _retry_after(self, wait: float) -> str | None:
        mode = self.config.retry_after
        if mode == "none":
            return None
        if mode == "date":
            # HTTP dates have whole seconds: round up so a client never comes back early.
            return formatdate(math.ceil(time.time() + wait), usegmt=True)
        return str(max(1, math.ceil(wait)))
