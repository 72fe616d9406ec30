"""Safety nets: cancel_on_exit and cancel on timeout or interrupt, against the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import support
from contract.observed import Emulator
from hostile_server import HostileServer, Seen, Tamper
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus, JobTimeoutError
from support.hold import HoldRequests

from qiskit_ionq_cancel import CancelReport, IonQProvider, RetryPolicy, UsageError, cancel_on_exit

KEY = "safety-test-key-9d8c7b"


def circuit() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    return qc


pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=3600, run_time=1, clock=None)


@pytest.fixture
def provider(emu: Emulator) -> IonQProvider:
    return IonQProvider(KEY, url=emu.url)


def test_an_exception_in_the_block_cancels_its_jobs(emu: Emulator,
                                                   provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    outside = backend.run(circuit())
    with pytest.raises(RuntimeError, match="sweep went wrong"), cancel_on_exit() as scope:
        jobs = [backend.run(circuit()) for _ in range(4)]
        raise RuntimeError("sweep went wrong")
    assert scope.report is not None and sorted(scope.report.cancelled) == \
        sorted(j.job_id() for j in jobs)
    assert all(emu.store.status_of(j.job_id()) == "canceled" for j in jobs)
    assert all(j.status() is JobStatus.CANCELLED for j in jobs)
    assert emu.store.status_of(outside.job_id()) == "ready"  # not submitted in the block


def test_a_normal_exit_leaves_jobs_alone_unless_asked(emu: Emulator,
                                                      provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    with cancel_on_exit() as scope:
        kept = backend.run(circuit())
    assert scope.report is None
    assert emu.store.status_of(kept.job_id()) == "ready"
    with cancel_on_exit(on_success=True):
        dropped = backend.run(circuit())
    assert emu.store.status_of(dropped.job_id()) == "canceled"


@pytest.mark.parametrize("deadline", ["60", 0, -1, float("nan"), True])
def test_a_bad_deadline_is_refused_when_the_scope_is_made(emu: Emulator,
                                                         provider: IonQProvider,
                                                         deadline: object) -> None:
    # Taken at the block's exit, "60" raised a TypeError in place of the block's own
    # exception and cancelled nothing.
    with pytest.raises(UsageError, match="deadline must be"):
        cancel_on_exit(deadline=deadline)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="the user's"), cancel_on_exit(deadline=None):
        job = provider.get_backend("simulator").run(circuit())
        raise RuntimeError("the user's")
    assert emu.store.status_of(job.job_id()) == "canceled"


def test_track_adds_jobs_submitted_elsewhere(emu: Emulator, provider: IonQProvider,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from qiskit_ionq import IonQProvider as StockProvider

    monkeypatch.setenv("IONQ_API_URL", emu.url)
    stock_job = StockProvider(KEY, url=emu.url).get_backend("simulator").run(circuit())
    with pytest.raises(KeyboardInterrupt), cancel_on_exit() as scope:
        scope.track(stock_job)
        raise KeyboardInterrupt
    assert emu.store.status_of(stock_job.job_id()) == "canceled"


def test_finished_jobs_are_not_cancelled(emu: Emulator, provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    with pytest.raises(ValueError), cancel_on_exit():
        job = backend.run(circuit())
        assert job.cancel() is True
        before = len(emu.log)
        raise ValueError
    assert len(emu.log) == before  # already final locally: nothing sent


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_in_a_subprocess_cancels_its_jobs(emu: Emulator, sig: signal.Signals) -> None:
    script = textwrap.dedent(f"""
        import signal, sys
        from qiskit import QuantumCircuit
        from qiskit_ionq_cancel import CancelReport, IonQProvider, RetryPolicy, cancel_on_exit
        qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
        backend = IonQProvider({KEY!r}, url={emu.url!r}).get_backend("simulator")
        with cancel_on_exit():
            jobs = [backend.run(qc) for _ in range(3)]
            print(" ".join(j.job_id() for j in jobs), flush=True)
            signal.pause()  # waits for the signal the test sends
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        assert proc.stdout is not None
        ids = proc.stdout.readline().split()
        assert len(ids) == 3, proc.stderr.read() if proc.stderr else ""
        assert all(emu.store.status_of(i) == "ready" for i in ids)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 3
    assert KEY not in err


def test_result_cancels_on_timeout(emu: Emulator, provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(circuit())
    with pytest.raises(JobTimeoutError):
        job.result(timeout=0.05, wait=0.01, cancel_on_timeout=True)
    assert emu.store.status_of(job.job_id()) == "canceled"
    assert job.status() is JobStatus.CANCELLED


def test_wait_does_not_cancel_by_default(emu: Emulator, provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(circuit())
    with pytest.raises(JobTimeoutError):
        job.wait_for_final_state(timeout=0.05, wait=0.01)
    assert emu.store.status_of(job.job_id()) == "ready"


def test_provider_defaults_apply_to_waits(emu: Emulator) -> None:
    provider = IonQProvider(KEY, url=emu.url, cancel_on_timeout=True)
    job = provider.get_backend("simulator").run(circuit())
    with pytest.raises(JobTimeoutError):
        job.wait_for_final_state(timeout=0.05, wait=0.01)
    assert emu.store.status_of(job.job_id()) == "canceled"


def test_ctrl_c_during_a_wait_cancels_when_opted_in(emu: Emulator, provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(circuit())

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.wait_for_final_state(timeout=30, wait=0.01, callback=interrupt,
                                 cancel_on_interrupt=True)
    assert emu.store.status_of(job.job_id()) == "canceled"
    other = provider.get_backend("simulator").run(circuit())
    with pytest.raises(KeyboardInterrupt):
        other.wait_for_final_state(timeout=30, wait=0.01, callback=interrupt)
    assert emu.store.status_of(other.job_id()) == "ready"


def test_no_poll_waits_past_the_timeout(emu: Emulator) -> None:
    # The waits are the client's policy's: on a fake clock whose sleeps only move it, the
    # waits can be checked without measuring any.
    fake = support.FakeTime()
    provider = IonQProvider(KEY, url=emu.url,
                            retry_policy=RetryPolicy(clock=fake.clock, sleep=fake.sleep))
    job = provider.get_backend("simulator").run(circuit())
    with pytest.raises(JobTimeoutError):
        job.result(timeout=3, cancel_on_timeout=True)  # the default wait between polls: 5 s
    assert fake.sleeps == [3]  # one poll, at the timeout, not at 5 s
    fake.sleeps.clear()
    other = provider.get_backend("simulator").run(circuit())
    sent = provider.client.requests_sent
    with pytest.raises(JobTimeoutError):
        other.wait_for_final_state(timeout=12, wait=5)
    assert fake.sleeps == [5, 5, 2]
    # one GET a poll: at 0, 5 and 10 s; none at 12 s, when the time is up
    assert provider.client.requests_sent - sent == 3
    assert emu.store.status_of(job.job_id()) == "canceled"
    assert emu.store.status_of(other.job_id()) == "ready"


def test_the_scope_logs_a_sentence_not_a_dict(emu: Emulator, provider: IonQProvider,
                                              caplog: pytest.LogCaptureFixture) -> None:
    backend = provider.get_backend("simulator")
    with (caplog.at_level("WARNING", logger="qiskit_ionq_cancel"),
          pytest.raises(RuntimeError), cancel_on_exit()):
        backend.run(circuit())
        raise RuntimeError("stop")
    last = caplog.records[-1].getMessage()
    assert last.startswith("cancel_on_exit: 1 job: 1 cancelled, 0 already finished")
    assert "{" not in last


def rows(report: CancelReport) -> set[str]:
    """Every key of a report (its statuses, errors and not_reached)."""
    return {*report.statuses, *report.errors, *report.not_reached}


@pytest.mark.skipif(os.name != "posix", reason="a real SIGINT to this process")
def test_a_second_ctrl_c_in_the_cleanup_reports_the_jobs_of_every_provider(
        emu: Emulator, provider: IonQProvider) -> None:
    """The scope's jobs came from two providers; a Ctrl-C while the first provider's cancel
    is in flight stops the cleanup. Every job is still in a report (scope.report and the
    KeyboardInterrupt's), the second provider's not reached."""
    hold = HoldRequests(20.0)

    def rule(seen: Seen) -> Tamper | None:
        tamper = hold(seen)
        if tamper is not None and len(hold.held) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the first cancel hangs
        return tamper

    server = HostileServer(emu.url, rule)
    try:
        held = IonQProvider(KEY, url=server.url).get_backend("simulator")
        direct = provider.get_backend("simulator")
        with pytest.raises(KeyboardInterrupt) as caught, cancel_on_exit() as scope:
            first = held.run(circuit())
            second = direct.run(circuit())
            raise RuntimeError("sweep went wrong")
    finally:
        hold.release()
        server.close()
    ids = {first.job_id(), second.job_id()}
    report = getattr(caught.value, "report", None)
    assert report is not None and rows(report) == ids
    assert report.not_reached.keys() == {second.job_id()}
    assert emu.store.status_of(second.job_id()) == "ready"
    assert scope.report is not None and rows(scope.report) == ids
