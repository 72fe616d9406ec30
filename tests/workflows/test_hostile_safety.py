"""Issue 12, ``cancel_on_exit()``: a submit in flight when the scope ends is cancelled (waited
for, or cancelled when its id arrives late); scopes in different threads own their own jobs
(and, with ``track_threads=True``, those of the threads they start); asyncio tasks own their
own; and no scope changes ``threading.Thread.__init__`` for good."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper
from support import KEY, bell, wait_for

from qiskit_ionq_cancel import IonQProvider, cancel_on_exit
from qiskit_ionq_cancel import scope as safety

pytestmark = pytest.mark.emu(queue_time=100)



def server_ids(emu: Emulator) -> list[str]:
    return list(emu.store.iter_ids())


class HeldSubmits:
    """Creates each job on the emulator at once but holds its answer until ``release``."""

    def __init__(self, emu: Emulator) -> None:
        self.gate = threading.Event()
        self.server = HostileServer(emu.url, self.rule)

    def rule(self, seen: Seen) -> Tamper | None:
        return Tamper(self.act) if seen.method == "POST" else None

    def act(self, sock: socket.socket, answer: Answer | None) -> None:
        assert answer is not None
        self.gate.wait(30)
        sock.sendall(answer.raw())

    def release_when(self, condition: Any) -> threading.Thread:
        def run() -> None:
            wait_for(condition, "the scope to end", timeout=30)
            self.gate.set()
        thread = threading.Thread(target=run)
        thread.start()
        return thread


@pytest.mark.parametrize("late", [False, True], ids=["waited-for", "cancelled-late"])
def test_submits_in_flight_when_the_scope_ends_are_cancelled(emu: Emulator,
                                                             late: bool) -> None:
    held = HeldSubmits(emu)
    backend = IonQProvider(KEY, url=held.server.url).get_backend("simulator")
    threads: list[threading.Thread] = []
    scope = cancel_on_exit(deadline=0.5 if late else 30)
    # Answers are released once the scope is ending (waiting for them), or has ended.
    releaser = held.release_when(
        (lambda: scope._closed) if late else (lambda: scope not in safety._active))
    try:
        with pytest.raises(KeyboardInterrupt), scope:
            for _ in range(4):
                thread = threading.Thread(target=backend.run, args=(bell(),),
                                          kwargs={"shots": 10})
                thread.start()
                threads.append(thread)
            wait_for(lambda: len(server_ids(emu)) == 4, "four jobs created")
            raise KeyboardInterrupt
        for thread in [*threads, releaser]:
            thread.join(30)
    finally:
        held.gate.set()
        held.server.close()
    ids = server_ids(emu)
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 4
    assert scope.report is not None and sorted(scope.report.cancelled) == sorted(ids)


def test_scopes_in_different_threads_own_their_own_jobs_and_their_threads_jobs(
        emu: Emulator) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    opened = threading.Barrier(2)
    submitted = threading.Barrier(2)
    jobs: dict[str, list[Any]] = {"fails": [], "ends-normally": []}
    errors: list[BaseException] = []

    def scoped(name: str) -> None:
        try:
            with cancel_on_exit(track_threads=True):
                opened.wait(30)
                jobs[name].append(backend.run(bell(), shots=10))
                worker = threading.Thread(  # a thread this scope's thread starts
                    target=lambda: jobs[name].append(backend.run(bell(), shots=10)))
                worker.start()
                worker.join(30)
                submitted.wait(30)
                if name == "fails":
                    raise RuntimeError("this block fails")
        except RuntimeError:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scoped, args=(name,)) for name in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert [emu.store.status_of(j.job_id()) for j in jobs["fails"]] == ["canceled"] * 2
    assert [emu.store.status_of(j.job_id()) for j in jobs["ends-normally"]] == ["ready"] * 2


def test_no_scope_leaves_thread_init_changed() -> None:
    original = threading.Thread.__init__
    with cancel_on_exit():
        assert threading.Thread.__init__ is original  # the default changes nothing
    with cancel_on_exit(track_threads=True), cancel_on_exit(track_threads=True):
        assert threading.Thread.__init__ is not original  # recording parents meanwhile
    assert threading.Thread.__init__ is original


def test_without_track_threads_a_thread_s_job_goes_to_the_innermost_scope(
        emu: Emulator) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    jobs: list[Any] = []

    def submit() -> None:
        jobs.append(backend.run(bell(), shots=10))

    with cancel_on_exit() as outer, cancel_on_exit() as inner:
        worker = threading.Thread(target=submit)
        worker.start()
        worker.join(30)
        mine = backend.run(bell(), shots=10)  # this thread's: both scopes own it
    assert [j.job_id() for j in inner.jobs] == [jobs[0].job_id(), mine.job_id()]
    assert [j.job_id() for j in outer.jobs] == [mine.job_id()]


def test_scopes_in_asyncio_tasks_own_their_own_jobs(emu: Emulator) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    jobs: dict[str, list[Any]] = {"fails": [], "ends-normally": []}
    opened = asyncio.Event()

    async def scoped(name: str) -> None:
        with cancel_on_exit():
            if name == "fails":
                await opened.wait()  # the other task's scope is open: innermost, not ours
            else:
                opened.set()
                await asyncio.sleep(0)  # let the other task run inside this scope
            jobs[name].append(await asyncio.to_thread(backend.run, bell(), shots=10))
            await asyncio.sleep(0)
            if name == "fails":
                raise RuntimeError("this block fails")

    async def main() -> list[BaseException | None]:
        return list(await asyncio.gather(scoped("ends-normally"), scoped("fails"),
                                         return_exceptions=True))

    outcomes = asyncio.run(main())
    assert [type(o) for o in outcomes] == [type(None), RuntimeError]
    assert [emu.store.status_of(j.job_id()) for j in jobs["fails"]] == ["canceled"]
    assert [emu.store.status_of(j.job_id()) for j in jobs["ends-normally"]] == ["ready"]


def test_a_hung_status_poll_does_not_hold_result_past_its_timeout(emu: Emulator) -> None:
    from qiskit.providers import JobStatus, JobTimeoutError

    from qiskit_ionq_cancel import RetryPolicy
    from qiskit_ionq_cancel.emulator import Fault

    provider = IonQProvider(KEY, url=emu.url, timeout=(5.0, 20.0),
                            retry_policy=RetryPolicy(max_attempts=1))
    job = provider.get_backend("simulator").run(bell(), shots=10)
    # The next status poll hangs 20 s: longer than the wait's 1 s, within the read timeout.
    emu.faults.inject(Fault.hang(20), method="GET", path=r"^/v0.4/jobs/[0-9a-f-]+$")
    with pytest.raises(JobTimeoutError):
        job.result(timeout=1, cancel_on_timeout=True)
    assert emu.store.status_of(job.job_id()) == "canceled"
    assert job.status() is JobStatus.CANCELLED


def test_a_submit_interrupted_in_the_scope_s_own_thread_is_reported(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import os
    import signal

    held = HeldSubmits(emu)
    backend = IonQProvider(KEY, url=held.server.url).get_backend("simulator")

    def interrupt() -> None:  # Ctrl-C once the submit is in flight (its answer held)
        wait_for(lambda: len(server_ids(emu)) == 1, "the job created", timeout=30)
        os.kill(os.getpid(), signal.SIGINT)

    caplog.set_level(logging.WARNING, logger="qiskit_ionq_cancel")
    sender = threading.Thread(target=interrupt)
    try:
        with pytest.raises(KeyboardInterrupt), cancel_on_exit() as scope:
            sender.start()
            backend.run(bell(), shots=10)
        sender.join(30)
    finally:
        held.gate.set()
        held.server.close()
    assert scope.interrupted_submits == 1
    assert "interrupted before IonQ answered" in caplog.text
