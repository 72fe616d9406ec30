"""Cancel in the ways Qiskit users run IonQ jobs, against the emulator: primitives
(Qiskit's own ``BackendSamplerV2`` and this package's ``SamplerV2`` / ``EstimatorV2``),
multi-circuit jobs and sessions."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.primitives import BackendSamplerV2
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp
from support import bell

from qiskit_ionq_cancel import (
    BatchCancelError,
    EstimatorV2,
    IonQCancelPrimitiveJob,
    IonQProvider,
    NoAnswerError,
    PrimitiveJobCancelledError,
    RetryPolicy,
    SamplerV2,
    Session,
    SessionEndedError,
    cancel,
    cancel_jobs,
    cancel_on_exit,
)
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.emulator import Emulator, Fault, ManualClock

KEY = "workflows-key-0001"
SHOTS = 2000


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> list[IonQCancelPrimitiveJob]:
    """Every primitive job the test starts (their worker threads are waited for before the
    emulator stops, so none is left polling a server that is gone)."""
    started: list[IonQCancelPrimitiveJob] = []
    submit = IonQCancelPrimitiveJob._submit

    def recording(job: IonQCancelPrimitiveJob) -> None:
        submit(job)
        started.append(job)

    monkeypatch.setattr(IonQCancelPrimitiveJob, "_submit", recording)
    return started


def _join(jobs: list[IonQCancelPrimitiveJob]) -> None:
    pending: list[futures.Future[Any]] = []
    for job in jobs:
        assert job._future is not None  # each was recorded once submitted
        pending.append(job._future)
    futures.wait(pending, timeout=60)


@pytest.fixture
def fast(workers: list[IonQCancelPrimitiveJob]) -> Iterator[Emulator]:
    """Jobs complete at once."""
    with Emulator(api_keys=[KEY], queue_time=0, run_time=0, seed=11) as emu:
        yield emu
        _join(workers)


@pytest.fixture
def held(workers: list[IonQCancelPrimitiveJob]) -> Iterator[Emulator]:
    """Jobs stay queued (the clock never moves)."""
    with Emulator(api_keys=[KEY], queue_time=10, clock=ManualClock(), seed=12) as emu:
        yield emu
        _join(workers)


def backend_of(emu: Emulator) -> Any:
    return IonQProvider(KEY, url=emu.url).get_backend("simulator")


def test_a_bell_circuit_through_backendsamplerv2_gives_about_half_and_half(
        fast: Emulator) -> None:
    result = BackendSamplerV2(backend=backend_of(fast)).run([bell()], shots=SHOTS).result()
    counts = result[0].data.c.get_counts()
    assert set(counts) == {"00", "11"}
    assert sum(counts.values()) == SHOTS
    assert abs(counts["00"] - SHOTS / 2) < 5 * (SHOTS / 4) ** 0.5  # five standard deviations


def test_samplerv2_gives_each_circuit_its_own_counts(fast: Emulator) -> None:
    ones = QuantumCircuit(2, 2)
    ones.x([0, 1])
    ones.measure([0, 1], [0, 1])
    job = SamplerV2(backend=backend_of(fast)).run([bell(), ones], shots=100)
    result = job.result()
    assert set(result[0].data.c.get_counts()) == {"00", "11"}
    assert result[1].data.c.get_counts() == {"11": 100}
    (ionq,) = job.ionq_jobs()  # one multi-circuit job with two children
    assert len(fast.store.get(ionq.job_id())["child_job_ids"]) == 2
    assert job.status() is JobStatus.DONE


def test_estimatorv2_estimates_zz_of_a_bell_state(fast: Emulator) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    result = EstimatorV2(backend=backend_of(fast)).run(
        [(circuit, SparsePauliOp("ZZ"))]).result()
    assert result[0].data.evs == pytest.approx(1.0)


def test_cancelling_a_sampler_job_cancels_its_ionq_job_on_the_server(held: Emulator) -> None:
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=100)
    (ionq,) = job.wait_for_submission(timeout=60)
    assert held.store.status_of(ionq.job_id()) == "ready"
    assert job.cancel() is True
    assert held.store.status_of(ionq.job_id()) == "canceled"
    assert job.status() is JobStatus.CANCELLED
    assert job.cancel_report is not None and job.cancel_report.cancelled == [ionq.job_id()]
    with pytest.raises(PrimitiveJobCancelledError, match="was cancelled"):
        job.result()


def test_a_claim_alone_does_not_make_a_primitive_job_cancelled(held: Emulator) -> None:
    # A claim refuses later submissions; only IonQ's answer about its IonQ job makes the
    # primitive job cancelled (the worker is stopped only then).
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=100)
    (ionq,) = job.wait_for_submission(timeout=60)
    assert job.claim_for_cancel() == [ionq]
    assert job.status() is not JobStatus.CANCELLED
    assert held.store.status_of(ionq.job_id()) == "ready"
    assert job.cancel() is True
    assert held.store.status_of(ionq.job_id()) == "canceled"
    assert ionq.status() is JobStatus.CANCELLED
    assert job.status() is JobStatus.CANCELLED
    assert job.cancel_report is not None and job.cancel_report.cancelled == [ionq.job_id()]


def test_a_wait_on_the_ionq_job_outside_the_worker_is_not_stopped(held: Emulator) -> None:
    # Only the primitive's worker stops waiting when the primitive job is cancelled; a user
    # waiting on the IonQ job itself (say, after a cancel that failed) gets its real outcome.
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=100)
    (ionq,) = job.wait_for_submission(timeout=60)
    job.claim_for_cancel()  # the worker is told to stop; the IonQ job is not cancelled
    clock = held.store.clock
    assert isinstance(clock, ManualClock)
    clock.advance(100)  # the IonQ job runs and completes on the server
    counts = ionq.result().get_counts()
    assert sum(counts.values()) == 100
    assert ionq.status() is JobStatus.DONE


def test_a_finished_sampler_job_is_not_cancelled(fast: Emulator) -> None:
    job = SamplerV2(backend=backend_of(fast)).run([bell()], shots=10)
    job.result()
    assert job.cancel() is False
    assert job.status() is JobStatus.DONE


def test_cancel_and_cancel_jobs_take_primitive_jobs(held: Emulator) -> None:
    sampler = SamplerV2(backend=backend_of(held))
    first = sampler.run([bell()], shots=10)
    second = sampler.run([bell()], shots=10)
    (one,) = first.wait_for_submission(timeout=60)
    (two,) = second.wait_for_submission(timeout=60)
    assert cancel(first) is True
    report = cancel_jobs([second])
    assert report.cancelled == [two.job_id()]
    assert {held.store.status_of(one.job_id()), held.store.status_of(two.job_id())} == {
        "canceled"}
    assert first.status() is second.status() is JobStatus.CANCELLED


def test_a_primitive_job_cancelled_before_it_submits_leaves_no_job_behind(
        held: Emulator) -> None:
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=10)
    assert job.cancel() is True  # whatever the worker's stage
    submitted = job.wait_for_submission(timeout=60)
    assert job.status() is JobStatus.CANCELLED
    for ionq in submitted:  # if the worker got as far as submitting: cancelled with it
        assert held.store.status_of(ionq.job_id()) == "canceled"
    with pytest.raises(PrimitiveJobCancelledError):
        job.result()


def test_a_report_names_a_primitive_job_that_submitted_nothing(held: Emulator) -> None:
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=10)
    job.claim_for_cancel()
    report = cancel_jobs([job], provider=IonQProvider(KEY, url=held.url))
    submitted = job.wait_for_submission(timeout=60)
    # its own row when it submitted nothing; else the rows of the IonQ jobs it submitted
    expected = {j.job_id() for j in submitted} or {job.job_id()}
    assert report.statuses == dict.fromkeys(expected, JobStatus.CANCELLED)
    assert report.errors == {} and job.status() is JobStatus.CANCELLED


def test_cancel_on_exit_cancels_a_primitive_job(held: Emulator) -> None:
    with pytest.raises(RuntimeError), cancel_on_exit() as scope:
        job = SamplerV2(backend=backend_of(held)).run([bell()], shots=10)
        (ionq,) = job.wait_for_submission(timeout=60)
        raise RuntimeError("the notebook cell failed")
    assert held.store.status_of(ionq.job_id()) == "canceled"
    assert job.status() is JobStatus.CANCELLED
    assert scope.report is not None and ionq.job_id() in scope.report.cancelled


def test_a_multi_circuit_parents_cancel_leaves_parent_and_children_canceled(
        held: Emulator) -> None:
    job = backend_of(held).run([bell(), bell(), bell()], shots=10)
    assert job.cancel() is True
    parent = held.store.get(job.job_id())
    assert parent["status"] == "canceled"
    assert [held.store.status_of(c) for c in parent["child_job_ids"]] == ["canceled"] * 3
    assert job.status() is JobStatus.CANCELLED


def test_a_multi_circuit_job_gives_counts_and_memory_per_circuit(fast: Emulator) -> None:
    job = backend_of(fast).run([bell(), bell()], shots=50, memory=True)
    result = job.result()
    for index in range(2):
        memory = result.get_memory(index)
        assert len(memory) == 50 and set(memory) <= {"00", "11"}
        assert sum(result.get_counts(index).values()) == 50


def test_a_session_ended_by_an_exception_cancels_and_ends(held: Emulator) -> None:
    backend = backend_of(held)
    with pytest.raises(KeyError), Session(backend, max_jobs=5) as session:
        job = backend.run(bell(), shots=10)
        raise KeyError("a failed step of the experiment")
    assert held.store.status_of(job.job_id()) == "canceled"
    assert held.store.get(job.job_id())["session_id"] == session.session_id
    assert session.report is not None and session.report.cancelled == [job.job_id()]
    assert session.status() == "ended" and session.ended
    session.close()  # ending again sends nothing
    ends = [e for e in held.log.entries if e.path.endswith("/end")]
    assert len(ends) == 1
    with pytest.raises(SessionEndedError):
        session.run(bell(), shots=10)


def test_a_forked_child_leaving_the_session_block_leaves_the_session_alone(
        held: Emulator) -> None:
    # A child forked inside the block ends by sys.exit(0), unwinding the block in its turn:
    # the session and its jobs are the parent's, which goes on using them.
    program = textwrap.dedent(f"""
        import json, os, sys
        from qiskit import QuantumCircuit
        from qiskit_ionq_cancel import IonQProvider, Session
        qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
        backend = IonQProvider({KEY!r}, url={held.url!r}).get_backend("simulator")
        with Session(backend) as session:
            job = backend.run(qc, shots=10)
            child = os.fork()
            if child == 0:
                sys.exit(0)
            _, code = os.waitpid(child, 0)
            print(json.dumps({{"job": job.job_id(), "session": session.session_id,
                              "code": code}}), flush=True)
            os._exit(0)  # the parent dies with the block open: nothing more is sent
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.splitlines()[-1])
    assert said["code"] == 0
    assert held.store.status_of(said["job"]) == "ready"
    assert held.sessions.get(said["session"])["status"] != "ended"
    assert not [e for e in held.log.entries if e.path.endswith(("/end", "/cancel"))]


def test_a_session_cancel_reports_every_unfinished_job(held: Emulator) -> None:
    backend = backend_of(held)
    with Session(backend) as session:
        jobs = [session.run(bell(), shots=10) for _ in range(3)]
        report = session.cancel()
    assert sorted(report.cancelled) == sorted(j.job_id() for j in jobs)
    assert held.sessions.get(session.session_id)["status"] == "ended"


def test_a_session_needs_a_backend_of_this_package(held: Emulator) -> None:
    from types import SimpleNamespace

    stock_like = SimpleNamespace(client=object(), name="simulator")
    with pytest.raises(TypeError, match="backend of this package"):
        Session(stock_like)
    assert held.sessions.list()["sessions"] == []


@pytest.mark.parametrize("interrupt", ["ctrl-c", "sigterm"])
def test_a_session_interrupted_cancels_and_ends(held: Emulator, interrupt: str) -> None:
    import os
    import signal

    backend = backend_of(held)
    before = signal.getsignal(signal.SIGTERM)
    expected = KeyboardInterrupt if interrupt == "ctrl-c" else SystemExit
    with pytest.raises(expected), Session(backend) as session:
        job = backend.run(bell(), shots=10)
        if interrupt == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)  # the handler raises SystemExit(143) here
    assert held.store.status_of(job.job_id()) == "canceled"
    assert session.status() == "ended"
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


def test_cancelling_an_estimator_job_cancels_its_ionq_job(held: Emulator) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    job = EstimatorV2(backend=backend_of(held)).run([(circuit, SparsePauliOp("ZZ"))])
    (ionq,) = job.wait_for_submission(timeout=60)
    assert job.cancel() is True
    assert held.store.status_of(ionq.job_id()) == "canceled"
    with pytest.raises(PrimitiveJobCancelledError):
        job.result()


def test_a_child_id_gets_the_emulators_chosen_outcome(start_emulator: Any) -> None:
    from qiskit_ionq_cancel import IonQRequestError

    emu = start_emulator(api_keys=[KEY], queue_time=10, clock=ManualClock(),
                         child_cancel="refuse")
    provider = IonQProvider(KEY, url=emu.url)
    job = provider.get_backend("simulator").run([bell(), bell()], shots=10)
    child = emu.store.get(job.job_id())["child_job_ids"][0]
    with pytest.raises(IonQRequestError, match="cancel that job instead"):
        cancel(child, provider=provider)
    assert emu.store.status_of(child) == "ready"  # nothing changed, and the error says so
    report = cancel_jobs([child, job.job_id()], provider=provider)
    assert report.statuses[job.job_id()] is JobStatus.CANCELLED
    assert report.statuses[child] is JobStatus.CANCELLED  # cancelled with its parent


def test_a_mid_circuit_measurement_runs_as_openqasm3(fast: Emulator) -> None:
    circuit = QuantumCircuit(1, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.x(0)  # after a measurement: qiskit-ionq sends OpenQASM 3
    circuit.measure(0, 1)
    backend = backend_of(fast)
    job = backend.run(circuit, shots=200, noise_model="aria-1")
    assert fast.store.get(job.job_id())["type"] == "ionq.qasm3.v1"
    counts = job.result().get_counts()
    assert set(counts) == {"01", "10"} and sum(counts.values()) == 200


def test_a_primitive_job_of_qiskits_own_gets_a_clear_type_error(fast: Emulator) -> None:
    job = BackendSamplerV2(backend=backend_of(fast)).run([bell()], shots=10)
    with pytest.raises(TypeError, match=r"qiskit_ionq_cancel\.SamplerV2"):
        cancel(job)
    job.result()


# -- issue 21: one verdict ---------------------------------------------------------------------
QUICK = RetryPolicy(deadline=5.0, max_attempts=2, backoff_initial=0.01, backoff_max=0.02)
#: ``in_flight`` (set when a submit begins), ``release`` (set to let it go on).
HeldSubmit = tuple[threading.Event, threading.Event]


@pytest.fixture
def held_submit(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldSubmit]:
    """Every submit (``IonQCancelClient.submit_job``) waits, before it is sent, until
    ``release`` is set (at the latest when the test ends)."""
    in_flight, release = threading.Event(), threading.Event()
    submit = IonQCancelClient.submit_job

    def held(client: IonQCancelClient, job: Any) -> dict[str, Any]:
        in_flight.set()
        assert release.wait(60)
        return submit(client, job)

    monkeypatch.setattr(IonQCancelClient, "submit_job", held)
    yield in_flight, release
    release.set()


def test_a_failed_cancel_of_a_job_whose_submit_was_in_flight_is_not_hidden(
        held: Emulator, held_submit: HeldSubmit, caplog: pytest.LogCaptureFixture) -> None:
    # Issue 21: cancelled while its submit was in flight, the primitive job answered True and
    # CANCELLED at once; the worker's cancel of the IonQ job then got a 503, and the job
    # stayed ready, the failure visible only in the future's exception.
    in_flight, release = held_submit

    class Waiting(logging.Handler):  # the cancel says it waits for the submit in flight
        def emit(self, record: logging.LogRecord) -> None:
            if "in flight" in record.getMessage():
                release.set()

    caplog.set_level(logging.INFO, logger="qiskit_ionq_cancel")
    logging.getLogger("qiskit_ionq_cancel").addHandler(waiting := Waiting())
    held.faults.inject(Fault.http(503), times=1000, method="PUT", path="/status/cancel$")
    backend = IonQProvider(KEY, url=held.url, retry_policy=QUICK).get_backend("simulator")
    job = SamplerV2(backend=backend).run([bell()], shots=10)
    assert in_flight.wait(60)
    try:
        with pytest.raises(BatchCancelError):
            job.cancel()
    finally:
        release.set()
        logging.getLogger("qiskit_ionq_cancel").removeHandler(waiting)
    (ionq,) = job.wait_for_submission(timeout=60)
    assert held.store.status_of(ionq.job_id()) == "ready"
    assert job.status() is not JobStatus.CANCELLED
    assert job.cancel_report is not None and list(job.cancel_report.errors) == [ionq.job_id()]
    held.faults.clear()  # the server is back: cancelling again succeeds
    assert job.cancel() is True
    assert held.store.status_of(ionq.job_id()) == "canceled"
    assert job.status() is JobStatus.CANCELLED


def test_a_primitive_job_whose_ionq_job_had_completed_keeps_its_result(
        held: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 21: the IonQ job completed while the worker was between polls; cancel()
    # answered True and the result was lost.
    parked, go_on = threading.Event(), threading.Event()
    holding = threading.Event()
    retrieve = IonQCancelClient.retrieve_job

    def poll(client: IonQCancelClient, job_id: str, **kwargs: Any) -> dict[str, Any]:
        if holding.is_set() and threading.current_thread().name.startswith("ionq-primitive"):
            parked.set()  # the worker is between polls until the test lets it go on
            assert go_on.wait(60)
        return retrieve(client, job_id, **kwargs)

    monkeypatch.setattr(IonQCancelClient, "retrieve_job", poll)
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=10)
    (ionq,) = job.wait_for_submission(timeout=60)
    holding.set()
    try:
        assert parked.wait(60)
        clock = held.store.clock
        assert isinstance(clock, ManualClock)
        clock.advance(100)  # the IonQ job completes on the server
        assert job.cancel() is False
    finally:
        go_on.set()
    assert held.store.status_of(ionq.job_id()) == "completed"
    counts = job.result()[0].data.c.get_counts()
    assert sum(counts.values()) == 10
    assert job.status() is JobStatus.DONE


class Parked:
    """Primitive workers held just before they submit: ``reached`` is set when one gets
    there, and they go on once ``go_on`` is set."""

    def __init__(self) -> None:
        self.reached, self.go_on = threading.Event(), threading.Event()


@pytest.fixture
def parked(monkeypatch: pytest.MonkeyPatch) -> Iterator[Parked]:
    gate = Parked()
    before_submit = IonQCancelPrimitiveJob.before_submit

    def wait_then_submit(job: IonQCancelPrimitiveJob) -> None:  # the worker, about to submit
        gate.reached.set()
        assert gate.go_on.wait(60)
        before_submit(job)

    monkeypatch.setattr(IonQCancelPrimitiveJob, "before_submit", wait_then_submit)
    yield gate
    gate.go_on.set()


def test_a_primitive_job_cancelled_before_it_submitted_says_no_ionq_job_existed(
        held: Emulator, parked: Parked) -> None:
    reached, go_on = parked.reached, parked.go_on
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=10)
    assert reached.wait(60)
    try:
        assert job.cancel() is True
    finally:
        go_on.set()
    assert job.wait_for_submission(timeout=60) == []  # its submit was refused
    assert job.status() is JobStatus.CANCELLED
    report = job.cancel_report
    assert report is not None and report.statuses == {job.job_id(): JobStatus.CANCELLED}
    assert "no IonQ job existed" in report.to_dict()["jobs"][0]["note"]
    assert not any(e.method == "POST" and e.path.endswith("/jobs") for e in held.log.entries)
    with pytest.raises(PrimitiveJobCancelledError):
        job.result()


@pytest.mark.parametrize("interrupt", ["ctrl-c", "sigterm"])
def test_a_failed_session_end_never_replaces_the_exception_in_flight(
        held: Emulator, interrupt: str) -> None:
    # Issue 21: one 503 on POST /sessions/{id}/end replaced the user's KeyboardInterrupt
    # (or SIGTERM's SystemExit) with IonQRequestError. Ending is idempotent: it is retried.
    backend = IonQProvider(KEY, url=held.url, retry_policy=QUICK).get_backend("simulator")
    held.faults.inject(Fault.http(503), times=1, method="POST", path="/end$")
    expected = KeyboardInterrupt if interrupt == "ctrl-c" else SystemExit
    with pytest.raises(expected), Session(backend) as session:
        if interrupt == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)
    assert session.ended and session.status() == "ended"  # retried after the 503
    # a server that keeps failing: the session stays open, the exception still goes on
    held.faults.inject(Fault.http(503), times=1000, method="POST", path="/end$")
    with pytest.raises(expected), Session(backend) as other:
        if interrupt == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)
    assert not other.ended


def test_a_submit_still_in_flight_at_the_deadline_is_not_reported_cancelled(
        held: Emulator, held_submit: HeldSubmit) -> None:
    in_flight, release = held_submit
    job = SamplerV2(backend=backend_of(held)).run([bell()], shots=10)
    assert in_flight.wait(60)
    try:
        with pytest.raises(NoAnswerError, match="in flight"):
            job.cancel(deadline=0.5)
        assert job.status() is not JobStatus.CANCELLED
    finally:
        release.set()
    assert job._future is not None
    with pytest.raises(PrimitiveJobCancelledError, match="submitting IonQ job"):
        job._future.result(timeout=60)  # the worker cancelled the late job, and stopped
    (ionq,) = job.ionq_jobs()
    assert held.store.status_of(ionq.job_id()) == "canceled"
    assert job.cancel() is True  # asked again: the verdict, from IonQ's answer
    assert job.status() is JobStatus.CANCELLED


def test_a_finished_primitive_job_in_a_batch_is_reported_as_it_is(fast: Emulator) -> None:
    # It was reported CANCELLED (as if it had submitted nothing) although it had completed.
    job = SamplerV2(backend=backend_of(fast)).run([bell()], shots=10)
    job.result()
    report = cancel_jobs([job], provider=IonQProvider(KEY, url=fast.url))
    assert report.statuses == {job.job_id(): JobStatus.DONE} and report.cancelled == []
    assert job.status() is JobStatus.DONE


def test_cancel_on_exit_notes_a_primitive_job_that_submitted_nothing(
        held: Emulator, parked: Parked) -> None:
    reached, go_on = parked.reached, parked.go_on
    try:
        with pytest.raises(RuntimeError), cancel_on_exit() as scope:
            job = SamplerV2(backend=backend_of(held)).run([bell()], shots=10)
            assert reached.wait(60)
            raise RuntimeError("the notebook cell failed")
    finally:
        go_on.set()
    assert job.wait_for_submission(timeout=60) == []  # its submit was refused
    assert job.status() is JobStatus.CANCELLED
    assert scope.report is not None
    assert scope.report.statuses == {job.job_id(): JobStatus.CANCELLED}
    assert "no IonQ job existed" in scope.report.notes[job.job_id()]
