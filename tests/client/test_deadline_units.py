"""Issue 21: the deadline scope itself (``_core/deadline.py``): nesting narrows, one
interrupt wakes every wait and runs each hook once."""

from __future__ import annotations

import socket
import threading
import time
from concurrent import futures

import pytest
from support import wait_for

from qiskit_ionq_cancel._core.deadline import (
    Deadline,
    Interrupted,
    completed,
    current,
    result_of,
    scope,
)
from qiskit_ionq_cancel._http.concurrency import ConcurrencyLimit


def test_a_nested_scope_never_extends_the_outer_one_and_shares_its_interrupt() -> None:
    with scope(0.5) as outer:
        with scope(60) as inner:
            assert inner is outer  # the outer one binds: messages quote its 0.5 s
            assert current() is outer
        with scope(0.1) as shorter:
            assert shorter is not outer and shorter.seconds == 0.1
            outer.interrupt()
            assert shorter.interrupted and shorter.wait(10)  # wakes at once
    assert current() is None


def test_the_interrupt_runs_each_hook_once_and_a_late_hook_at_once() -> None:
    deadline = Deadline(None)
    calls: list[str] = []
    hook = lambda: calls.append("a")  # noqa: E731
    deadline.on_interrupt(hook)
    deadline.on_interrupt(hook)
    deadline.interrupt()
    deadline.on_interrupt(lambda: calls.append("late"))
    assert calls == ["a", "late"]


def test_ctrl_c_leaving_a_scope_interrupts_it() -> None:
    with pytest.raises(KeyboardInterrupt), scope(None) as deadline:
        raise KeyboardInterrupt
    assert deadline.interrupted


def test_an_interrupt_wakes_a_thread_waiting_for_a_concurrency_slot() -> None:
    limit = ConcurrencyLimit(1, 1)
    limit.acquire()  # the only slot, never given back
    deadline = Deadline(None)  # no deadline: only the interrupt can end the wait
    deadline.on_interrupt(limit.wake)  # as the transport registers its abort()
    got: list[float | None] = []
    waiter = threading.Thread(target=lambda: got.append(limit.acquire_by(deadline)))
    waiter.start()
    wait_for(lambda: waiter.is_alive(), "the waiter blocked")
    deadline.interrupt()
    waiter.join(timeout=10)
    assert not waiter.is_alive() and got == [None]  # woken, no slot taken
    assert limit.in_flight == 1


def test_a_socket_registered_after_the_interrupt_is_cut_at_once() -> None:
    # A worker that was connecting when Ctrl-C came registers its socket after abort()
    # took the list of sockets to shut down; its read would wait out the read timeout.
    from qiskit_ionq_cancel._http.sockets import Sockets

    registry = Sockets()
    ours, theirs = socket.socketpair()
    try:
        with scope(60) as deadline:
            deadline.interrupt()
            registry._add(ours)  # what the connection's on_socket hook does
        ours.settimeout(5)
        assert ours.recv(1) == b""  # shut down: the read ends at once, with no data
    finally:
        ours.close()
        theirs.close()


def test_a_socket_registered_before_any_interrupt_stays_open() -> None:
    from qiskit_ionq_cancel._http.sockets import Sockets

    registry = Sockets()
    ours, theirs = socket.socketpair()
    try:
        with scope(60):
            registry._add(ours)
        theirs.sendall(b"x")
        ours.settimeout(5)
        assert ours.recv(1) == b"x"
    finally:
        ours.close()
        theirs.close()


def test_the_watchdog_cuts_an_earlier_deadline_armed_after_a_later_one() -> None:
    # The watchdog thread sleeps until the earliest deadline, and only a deadline that comes
    # before it wakes the thread (not every request's).
    from qiskit_ionq_cancel._http.sockets import _Watchdog

    watchdog = _Watchdog()
    late, late_peer = socket.socketpair()
    soon, soon_peer = socket.socketpair()
    try:
        watchdog.arm(late, time.monotonic() + 600)
        # (the stdlib's list of a Condition's waiters: the thread is asleep until then)
        wait_for(lambda: len(watchdog._cond._waiters) == 1,  # type: ignore[attr-defined]
                 "the watchdog asleep until the late deadline")
        watchdog.arm(soon, time.monotonic() + 0.2)
        soon.settimeout(10)
        assert soon.recv(1) == b""  # shut down at its deadline, not 600 s later
        late_peer.sendall(b"x")
        late.settimeout(5)
        assert late.recv(1) == b"x"  # the late one still open
    finally:
        for sock in (late, late_peer, soon, soon_peer):
            sock.close()


def test_a_wait_for_workers_stops_when_another_thread_interrupts_its_call() -> None:
    # The asyncio forms interrupt the call from the event loop's thread: the thread
    # running cancel_jobs must stop waiting for a worker that nothing can wake.
    stuck: futures.Future[None] = futures.Future()  # a worker that never finishes
    with scope(None) as deadline:
        threading.Timer(0.2, deadline.interrupt).start()
        with pytest.raises(Interrupted):
            result_of(stuck)
        with pytest.raises(Interrupted):
            list(completed([stuck]))
    done: futures.Future[int] = futures.Future()
    done.set_result(1)
    with scope(None) as deadline:
        deadline.interrupt()
        assert result_of(done) == 1  # a finished worker's result is still taken


def test_arming_the_watchdog_for_each_request_does_not_wake_its_thread_each_time() -> None:
    # Every request arms it; waking its thread for each cost two thread switches a request
    # (bench_cancel.py's single cancel). A later deadline needs no wake-up, nor one a few
    # microseconds earlier (workers sharing a call's deadline), and the entries of finished
    # requests do not pile up.
    from qiskit_ionq_cancel._http.sockets import _Watchdog

    dog = _Watchdog()
    notified: list[int] = []
    notify = dog._cond.notify

    def counted(n: int = 1) -> None:
        notified.append(n)
        notify(n)

    dog._cond.notify = counted  # type: ignore[method-assign]
    ours, theirs = socket.socketpair()
    try:
        start = time.monotonic()
        first = dog.arm(ours, start + 60)  # a request in flight all along
        for i in range(1000):
            dog.disarm(dog.arm(ours, start + 60 + (i % 3 - 1) * 1e-5 + i / 1000))
        assert len(notified) == 1  # the first arm only
        assert len(dog._heap) <= 2 * len(dog._live) + 64
        dog.disarm(first)
    finally:
        ours.close()
        theirs.close()
