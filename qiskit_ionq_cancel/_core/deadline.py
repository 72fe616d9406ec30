"""One deadline scope per public call: its deadline and its interrupt, owned in one place.

Each entry point (``cancel``, ``cancel_jobs``, ``IonQJob.cancel/result/wait_for_final_state``,
the primitives' and ``Session``'s cancels, the CLI's commands) opens :func:`scope`. Every
request and every wait below it uses what is left of that one :class:`Deadline`: the rate
gate's and the back-off's sleeps, the wait for a concurrency slot, each socket read, page
loops, read-backs and joins of worker threads. No request starts a deadline of its own
while a bounded scope is open; a nested entry point (a ``cancel`` inside a ``cancel_jobs``,
or inside the CLI's command) narrows the open scope, never extends it.

**Why a contextvar, not a parameter.** qiskit-ionq's own code (``status()``, ``result()``,
``Session``) calls our client's ``get_with_retry``/``post``/``put``/... knowing nothing of a
deadline; a parameter could not reach those requests, a contextvar set by the entry point
does. Threads do not inherit it (``ThreadPoolExecutor.submit`` does not copy the context),
so pools are handed the scope explicitly: :func:`adopt` as their ``initializer``.

**Interrupts.** A scope holds one ``threading.Event``, shared by the scopes nested in it.
Ctrl-C (``KeyboardInterrupt``) or SIGTERM (``SystemExit(143)``, see ``sigterm.py``) leaving
a scope sets it (:meth:`Deadline.interrupt`), and so does ``cancel_jobs`` before it joins its
workers. Every wait below a scope is :meth:`Deadline.wait` (``event.wait(timeout)``, never
``time.sleep``), so a worker asleep on a 20 s ``Retry-After`` wakes at once; the hooks
registered with :meth:`Deadline.on_interrupt` (the transport's: shut down its sockets, wake
the threads waiting for a concurrency slot) cut the requests in flight; every request
checks the event before it is sent. The call then re-raises within a second.

Where one second cannot hold: a blocking DNS lookup (``getaddrinfo`` cannot be interrupted,
and its socket does not exist yet), and a connect in progress (its socket is shut down
as soon as it is registered, once connected): both are bounded by the connect timeout,
itself cut to what is left of the deadline; a thread stuck there is left behind
(``cancel_jobs`` stops waiting for its workers ``bulk.STOP_GRACE`` (0.5 s) after the
interrupt, reports their jobs as not settled, and the interpreter joins them at exit).
Python runs a signal's handler in the main thread only, and the kernel may deliver Ctrl-C's
SIGINT to any thread: a main thread blocked on a lock with no timeout would see it only when
that lock is released (6 s later, seen when a worker waited out a 429). So the main thread
never blocks without a timeout: its waits for workers (:func:`result_of`, :func:`completed`),
for submits in flight (:func:`wait_until`) and its sleeps (:meth:`Deadline.wait`) wake every
:data:`SIGNAL_POLL` seconds to let a signal in.
Signals reach only the main thread: a call made off the main thread sees no
``KeyboardInterrupt``, and stops only at its deadline, or when another thread calls
:meth:`Deadline.interrupt` (the asyncio forms do, when the awaiting task is cancelled): then
those waits raise :class:`Interrupted` within :data:`SIGNAL_POLL` seconds, for the call to
stop as on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent import futures
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["SIGNAL_POLL", "Deadline", "Interrupted", "adopt", "completed", "current", "derive",
           "entered", "result_of", "scope", "wait_until"]

#: Seconds a wait of the main thread sleeps at most before it lets a pending signal in.
SIGNAL_POLL = 0.1

T = TypeVar("T")

_current: ContextVar[Deadline | None] = ContextVar("qiskit_ionq_cancel_deadline",
                                                   default=None)


@dataclass(frozen=True)
class Deadline:
    """A point in time on ``clock``; ``seconds=None`` never expires. ``seconds`` is the
    number the user gave (messages quote it); ``stop`` is the interrupt event, shared with
    the deadlines made by :meth:`within`."""

    seconds: float | None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    started: float = field(default=-1.0, compare=False)
    stop: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    _hooks: dict[Callable[[], None], None] = field(default_factory=dict, repr=False,
                                                   compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

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
            return math.inf
        return max(0.0, self.seconds - self.elapsed)

    @property
    def expired(self) -> bool:
        """True once no time is left."""
        return self.seconds is not None and self.elapsed >= self.seconds

    @property
    def bounded(self) -> bool:
        """True when it expires at some point."""
        return self.seconds is not None

    def cap(self, seconds: float) -> float:
        """``seconds``, cut to what is left (at least a millisecond, so it stays usable as a
        socket timeout). For timeouts only, never for what a message reports."""
        return max(0.001, min(seconds, self.remaining))

    def within(self, seconds: float | None) -> Deadline:
        """A deadline ``seconds`` from now that ends no later than this one, sharing its
        interrupt: this one itself when it ends first (or ``seconds`` is ``None``), so
        messages quote the deadline that binds."""
        if seconds is None or (self.bounded and self.remaining <= seconds):
            return self
        return Deadline(seconds, self.clock, stop=self.stop, _hooks=self._hooks,
                        _lock=self._lock)

    # -- interrupts -----------------------------------------------------------------------
    @property
    def interrupted(self) -> bool:
        """True once :meth:`interrupt` was called (here or on a related deadline)."""
        return self.stop.is_set()

    def interrupt(self) -> None:
        """Wake every wait below this scope and run the hooks (once each)."""
        self.stop.set()
        with self._lock:
            hooks = list(self._hooks)
            self._hooks.clear()
        for hook in hooks:
            hook()

    def on_interrupt(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` on :meth:`interrupt` (at once if it already happened); a hook
        registered twice runs once."""
        with self._lock:
            if not self.stop.is_set():
                self._hooks[hook] = None
                return
        hook()

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds``, cut to what is left, waking at once on an interrupt; True when
        interrupted. In the main thread the sleep wakes every :data:`SIGNAL_POLL` seconds to
        let a pending signal in (a retry's 20 s pause, say)."""
        left = max(0.0, min(seconds, self.remaining))
        if threading.current_thread() is not threading.main_thread():
            return self.stop.wait(left)
        end = time.monotonic() + left
        while not self.stop.wait(min(SIGNAL_POLL, max(0.0, end - time.monotonic()))):
            if time.monotonic() >= end:
                return False
        return True


def current() -> Deadline | None:
    """The deadline of the call running in this context, if any."""
    return _current.get()


def adopt(deadline: Deadline | None) -> None:
    """Make ``deadline`` this thread's current one (a pool's ``initializer``)."""
    _current.set(deadline)


def derive(seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Deadline:
    """A call's deadline, ``seconds`` from now: within the open scope's, if there is one."""
    outer = _current.get()
    return outer.within(seconds) if outer is not None else Deadline(seconds, clock)


@contextlib.contextmanager
def entered(deadline: Deadline) -> Iterator[Deadline]:
    """The block runs under ``deadline``; ``KeyboardInterrupt`` or ``SystemExit`` leaving it
    interrupts it."""
    # Set inside the try, the one before restored by value: a signal is handled as the call
    # setting it returns, and a Ctrl-C there left the scope set for good (no token to reset).
    previous = _current.get()
    try:
        _current.set(deadline)
        yield deadline
    except (KeyboardInterrupt, SystemExit):
        deadline.interrupt()
        raise
    finally:
        _current.set(previous)


def scope(seconds: float | None, clock: Callable[[], float] = time.monotonic
          ) -> contextlib.AbstractContextManager[Deadline]:
    """The block is one call: its deadline ``seconds`` from now, within any open scope
    (:func:`derive`, :func:`entered`)."""
    return entered(derive(seconds, clock))


class Interrupted(BaseException):  # a signal, as KeyboardInterrupt is, not an error
    """Raised by :func:`result_of` and :func:`completed` when the current deadline was
    interrupted from another thread while they waited: the waiting thread stops as it
    would on Ctrl-C. A ``BaseException`` (as ``KeyboardInterrupt``), so that no
    ``except Exception`` takes it for a failure."""


def _stop_if_interrupted() -> None:
    deadline = _current.get()
    if deadline is not None and deadline.interrupted:
        raise Interrupted("interrupted")


def result_of(future: futures.Future[T]) -> T:
    """``future.result()``, waking every :data:`SIGNAL_POLL` seconds so that a Ctrl-C the
    kernel delivered to another thread is raised here without waiting for the worker, and
    so is :class:`Interrupted` once the current deadline is interrupted."""
    while not future.done():
        futures.wait([future], timeout=SIGNAL_POLL)
        if not future.done():
            _stop_if_interrupted()
    return future.result()


def wait_until(condition: threading.Condition, predicate: Callable[[], bool],
               timeout: float | None) -> bool:
    """``condition.wait_for(predicate, timeout)`` (``condition``'s lock held; ``None``: no
    limit), waking every :data:`SIGNAL_POLL` seconds (see :func:`result_of`)."""
    end = None if timeout is None else time.monotonic() + timeout
    while not (done := predicate()):
        left = SIGNAL_POLL if end is None else min(SIGNAL_POLL, end - time.monotonic())
        if left <= 0:
            return done
        condition.wait(left)
    return done


def completed(pending: Iterable[futures.Future[T]]) -> Iterator[futures.Future[T]]:
    """``concurrent.futures.as_completed``, waking every :data:`SIGNAL_POLL` seconds (see
    :func:`result_of`)."""
    left = set(pending)
    while left:
        done, left = futures.wait(left, timeout=SIGNAL_POLL,
                                  return_when=futures.FIRST_COMPLETED)
        yield from done
        if left and not done:
            _stop_if_interrupted()
