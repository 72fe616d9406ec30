"""Two threads polling one job (a primitive's worker and the user, as in
``test_a_wait_on_the_ionq_job_outside_the_worker_is_not_stopped``): neither may see the other's
half-digested status.

qiskit-ionq's ``IonQJob.status()`` sets ``_status`` from the answer before it stores the job's
metadata, result URLs and circuit shape, and sets it whatever it was: a thread can read
``DONE`` before the results are stored, and an answer read before the job completed, digested
late, turns ``DONE`` back into ``RUNNING`` under a ``result()`` building its ``Result``
(``success`` False: Qiskit's ``TypeError: sequence item 0: expected str instance, NoneType
found`` from ``get_counts()``). Each test holds one thread at the point where the other
thread's view went wrong, with events (no sleeps).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper
from qiskit.providers import JobStatus, JobTimeoutError
from qiskit_ionq.exceptions import IonQJobFailureError, IonQJobTimeoutError
from support import KEY, bell

from qiskit_ionq_cancel import IonQJob, IonQProvider
from qiskit_ionq_cancel._compat import upstream
from qiskit_ionq_cancel.emulator import ManualClock

HOLD = 30.0  # seconds a held thread waits at most: a bound, never reached when it works
SHOTS = 100


class LateAnswer:
    """Holds the honest answer to the first ``GET /jobs/{id}`` once armed (read while the job
    still runs) until ``result()``'s request for the results arrives; then holds that one
    until the first thread's ``status()`` has returned (``first_done``)."""

    def __init__(self) -> None:
        self.job_path = ""
        self.taken = False
        self.held = threading.Event()  # the first poll's answer is read, and held
        self.first_done = threading.Event()
        self.results_asked = threading.Event()

    def __call__(self, seen: Seen) -> Tamper | None:
        if not self.job_path or seen.method != "GET":
            return None
        if seen.path == self.job_path and not self.taken:
            self.taken = True
            return Tamper(self._late_poll)
        if seen.path.startswith(self.job_path + "/"):  # the results (or an artifact)
            return Tamper(self._results_after_first)
        return None

    def _late_poll(self, sock: socket.socket, answer: Answer | None) -> None:
        assert answer is not None
        self.held.set()
        self.results_asked.wait(HOLD)
        sock.sendall(answer.raw())

    def _results_after_first(self, sock: socket.socket, answer: Answer | None) -> None:
        assert answer is not None
        self.results_asked.set()
        self.first_done.wait(HOLD)
        sock.sendall(answer.raw())


@pytest.fixture
def late() -> LateAnswer:
    return LateAnswer()


@pytest.fixture
def fronted(emu: Emulator, late: LateAnswer) -> Iterator[HostileServer]:
    server = HostileServer(emu.url, late)
    yield server
    late.results_asked.set()
    late.first_done.set()
    server.close()


def test_a_poll_answered_before_completion_does_not_undo_done_under_result(
        emu: Emulator, clock: ManualClock, fronted: HostileServer, late: LateAnswer) -> None:
    # The flaky failure: the worker's poll read "running"; the user's result() read
    # "completed" and asked for the results; the worker's answer, digested meanwhile, set
    # RUNNING again, and result() built a Result of one unsuccessful experiment.
    job = IonQProvider(KEY, url=fronted.url).get_backend("simulator").run(bell(), shots=SHOTS)
    late.job_path = f"/v0.4/jobs/{job.job_id()}"
    seen: list[object] = []

    def first() -> None:
        try:
            seen.append(job.status())
        finally:
            late.first_done.set()

    poller = threading.Thread(target=first, name="worker-poll")
    poller.start()
    assert late.held.wait(HOLD)  # its answer ("ready") is read and held
    clock.advance(100)  # the job completes on the server
    counts = job.result().get_counts()
    poller.join(HOLD)
    assert not poller.is_alive()
    assert sum(counts.values()) == SHOTS
    assert seen == [JobStatus.DONE]  # the late answer is not taken over the known DONE
    assert job.status() is JobStatus.DONE


class PausedDigest(IonQJob):
    """Holds the thread named ``paused`` inside qiskit-ionq's ``status()``, where it has set
    ``_status`` and stores the metadata (``_save_metadata``), before the result URLs and the
    circuits' shape."""

    inside = threading.Event()
    go = threading.Event()

    def _save_metadata(self, response: Any) -> None:
        if threading.current_thread().name == "paused":
            type(self).inside.set()
            type(self).go.wait(HOLD)
        super()._save_metadata(response)  # type: ignore[no-untyped-call]


def test_another_thread_never_sees_done_before_the_results_are_stored(
        emu: Emulator, clock: ManualClock) -> None:
    job = IonQProvider(KEY, url=emu.url).get_backend("simulator").run(bell(), shots=SHOTS)
    PausedDigest.inside.clear()
    PausedDigest.go.clear()
    upstream.adopt_job(job, PausedDigest)
    clock.advance(100)  # the job completes on the server
    paused = threading.Thread(target=job.status, name="paused")
    paused.start()
    try:
        assert PausedDigest.inside.wait(HOLD)  # it read "completed" and is digesting it
        counts = job.result().get_counts()
    finally:
        PausedDigest.go.set()
        paused.join(HOLD)
    assert not paused.is_alive()
    assert sum(counts.values()) == SHOTS
    assert job.status() is JobStatus.DONE


def test_a_failed_job_is_recorded_failed_before_status_raises(emu: Emulator) -> None:
    # As qiskit-ionq's own status(): ERROR is kept, then IonQJobFailureError is raised; the
    # next status() answers from what is known, without a request.
    job = IonQProvider(KEY, url=emu.url).get_backend("simulator").run(bell(), shots=SHOTS)
    emu.store.fail(job.job_id(), "QuantumComputerError", "the trap lost an ion")
    # IonQ's reason is its failure.message; qiskit-ionq's own status() reads failure.error
    with pytest.raises(IonQJobFailureError,
                       match='"QuantumComputerError: the trap lost an ion"'):
        job.status()
    mark = emu.log.mark()
    assert job.status() is JobStatus.ERROR
    assert emu.log.since(mark) == []


class PausedWait(IonQJob):
    """Holds the thread named ``paused`` where its ``result()`` has begun and its wait has
    not yet read that call's ``cancel_on_timeout``."""

    inside = threading.Event()
    go = threading.Event()

    def wait_for_final_state(self, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "paused":
            type(self).inside.set()
            type(self).go.wait(HOLD)
        super().wait_for_final_state(*args, **kwargs)


def test_a_wait_in_another_thread_does_not_take_this_result_s_options(
        emu: Emulator) -> None:
    # result(cancel_on_timeout=True) kept its options on the job for its wait to read; a
    # result() of another thread on the same job, ending meanwhile, reset them, and the
    # timed-out wait left the job running.
    job = IonQProvider(KEY, url=emu.url).get_backend("simulator").run(bell(), shots=SHOTS)
    PausedWait.inside.clear()
    PausedWait.go.clear()
    upstream.adopt_job(job, PausedWait)
    failures: list[BaseException] = []

    def timed() -> None:
        try:
            job.result(timeout=0.2, cancel_on_timeout=True)
        except BaseException as exc:  # checked below
            failures.append(exc)

    paused = threading.Thread(target=timed, name="paused")
    paused.start()
    try:
        assert PausedWait.inside.wait(HOLD)
        with pytest.raises(JobTimeoutError):  # another thread's wait ends (not cancelling)
            job.result(timeout=0)
        assert emu.store.status_of(job.job_id()) == "ready"
    finally:
        PausedWait.go.set()
        paused.join(HOLD)
    assert not paused.is_alive()
    assert [type(exc) for exc in failures] == [IonQJobTimeoutError]
    assert emu.store.status_of(job.job_id()) == "canceled"  # this call's option held
