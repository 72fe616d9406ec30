"""A Ctrl-C the kernel hands to another thread reaches the main thread's waits at once.

Python runs a signal's handler in the main thread only, and the kernel may deliver Ctrl-C's
SIGINT to any thread: a main thread blocked without a timeout sees it only once it wakes.
Each test holds the main thread in one of the package's waits (a ``cancel_on_exit`` scope
with ``deadline=None`` waiting for a submit in flight, a primitive job's wait for its
submit, a ``Session``'s end told by a 429 to wait 20 s), then sends a real SIGINT to another
thread (``pthread_kill``). Before, the main thread saw it only when the held request was let
go (here: when the server gave up holding it)."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from contract.observed import Emulator
from hostile_server import HostileServer
from support import KEY, bell, wait_for
from support.hold import HoldRequests

from qiskit_ionq_cancel import IonQProvider, SamplerV2, Session, cancel_on_exit
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.emulator.faults import Fault

#: Seconds the server holds a request before giving up: the main thread that does not see
#: the Ctrl-C waits this long.
HOLD = 30.0
SLACK = 3.0  # the loose bound past a Ctrl-C

pytestmark = pytest.mark.emu(queue_time=100)


def posting(seen: object) -> bool:
    return getattr(seen, "method", "") == "POST" and getattr(seen, "path", "").endswith("/jobs")


@pytest.fixture
def held_posts(emu: Emulator) -> Iterator[tuple[HoldRequests, HostileServer]]:
    """A server in front of the emulator that holds every ``POST /jobs`` unanswered."""
    hold = HoldRequests(HOLD, posting)
    server = HostileServer(emu.url, hold)
    yield hold, server
    hold.release()
    server.close()


def main_thread_in(function: str, file: str) -> bool:
    """The main thread is blocked in a ``threading`` wait called (at some depth) from
    ``function`` of ``file``."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    if frame is None or Path(frame.f_code.co_filename).name != "threading.py":
        return False
    while frame is not None:
        if frame.f_code.co_name == function and frame.f_code.co_filename.endswith(file):
            return True
        frame = frame.f_back
    return False


def ctrl_c_to_another_thread(ready: Callable[[], bool], sent: list[float]) -> threading.Thread:
    """A thread that, once ``ready()``, sends SIGINT to itself (not to the main thread)."""
    def run() -> None:
        wait_for(ready, "the main thread waiting", timeout=HOLD / 2)
        sent.append(time.monotonic())
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    thread = threading.Thread(target=run, name="ctrl-c")
    thread.start()
    return thread


def test_a_scope_without_deadline_waiting_for_a_submit_sees_a_ctrl_c(
        emu: Emulator, held_posts: tuple[HoldRequests, HostileServer]) -> None:
    hold, server = held_posts
    backend = IonQProvider(KEY, url=server.url).get_backend("simulator")
    direct = IonQProvider(KEY, url=emu.url).get_backend("simulator")  # not held

    def submit() -> None:
        with contextlib.suppress(Exception):  # the held submit fails when let go
            backend.run(bell())

    submitter = threading.Thread(target=submit)
    sent: list[float] = []
    timer: threading.Thread | None = None
    try:
        with pytest.raises(KeyboardInterrupt), cancel_on_exit(deadline=None):
            known = direct.run(bell())
            submitter.start()  # its job belongs to this scope (the innermost open)
            wait_for(lambda: bool(hold.held), "a submit in flight")
            timer = ctrl_c_to_another_thread(lambda: main_thread_in("__exit__", "scope.py"),
                                             sent)
            raise RuntimeError("the block fails while a submit is in flight")
        returned = time.monotonic()
        assert hold.gave_up == []  # before: the wait ended only when the server gave up
        assert returned - sent[0] < 1 + SLACK
        # The Ctrl-C ended the wait, not the cancel: the job already known was cancelled.
        assert emu.store.status_of(known.job_id()) == "canceled"
    finally:
        hold.release()
        submitter.join(HOLD)
        if timer is not None:
            timer.join(HOLD)


def test_a_wait_for_a_primitive_jobs_submit_sees_a_ctrl_c(
        held_posts: tuple[HoldRequests, HostileServer]) -> None:
    hold, server = held_posts
    job = SamplerV2(backend=IonQProvider(KEY, url=server.url).get_backend("simulator")).run(
        [bell()], shots=10)
    wait_for(lambda: bool(hold.held), "the sampler's submit in flight")
    sent: list[float] = []
    timer = ctrl_c_to_another_thread(
        lambda: main_thread_in("wait_for_submission", "primitives.py"), sent)
    try:
        with pytest.raises(KeyboardInterrupt):
            job.wait_for_submission()  # no timeout
        returned = time.monotonic()
        assert hold.gave_up == []
        assert returned - sent[0] < 1 + SLACK
    finally:
        hold.release()
        timer.join(HOLD)
        with contextlib.suppress(Exception):
            job.result()  # the worker ends (its submit failed)


def test_a_session_end_told_to_wait_20_s_sees_a_ctrl_c(emu: Emulator) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    emu.faults.inject(Fault.http(429, "20"), times=1000, method="POST", path="/end$")
    sent: list[float] = []
    timer = ctrl_c_to_another_thread(lambda: main_thread_in("pause", "retry.py"), sent)
    try:
        with pytest.raises(KeyboardInterrupt), Session(backend):
            pass  # the block succeeds: the session is ended, and IonQ says "in 20 s"
        returned = time.monotonic()
        assert returned - sent[0] < 1 + SLACK  # before: 20 s, the rest of the Retry-After
        ends = [e for e in emu.log.entries if e.path.endswith("/end")]
        assert [e.status for e in ends] == [429]  # no second try after the Ctrl-C
    finally:
        timer.join(HOLD)


def test_a_lookup_of_jobs_sees_a_ctrl_c(emu: Emulator) -> None:
    # ionq-cancel status (and its --ledger form) and the read before a cancel
    hold = HoldRequests(HOLD, lambda seen: seen.method == "GET" and "ids=" in seen.path)
    server = HostileServer(emu.url, hold)
    ids = emu.store.add_jobs(2)
    client = IonQCancelClient(KEY, server.url)
    sent: list[float] = []
    timer = ctrl_c_to_another_thread(lambda: main_thread_in("lookup_jobs", "client.py"), sent)
    try:
        with pytest.raises(KeyboardInterrupt):
            client.lookup_jobs(ids)
        returned = time.monotonic()
        assert hold.gave_up == []
        assert returned - sent[0] < 1 + SLACK
    finally:
        hold.release()
        timer.join(HOLD)
        client.close()
        server.close()
