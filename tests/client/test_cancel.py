"""job.cancel() and cancel() against the emulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from typing import Any

import pytest
from contract.observed import Emulator
from qiskit.providers import JobStatus
from qiskit_ionq import IonQProvider as StockProvider
from qiskit_ionq.exceptions import (
    IonQAPIError,
    IonQCredentialsError,
    IonQJobError,
    IonQJobStateError,
)
from support import BAD_IDS, FakeTime, bell

from qiskit_ionq_cancel import (
    AuthenticationError,
    InsecureURLError,
    InvalidJobIdError,
    IonQJob,
    IonQProvider,
    JobNotFoundError,
    JobNotSubmittedError,
    RetryPolicy,
    cancel,
)
from qiskit_ionq_cancel._compat import upstream
from qiskit_ionq_cancel.emulator import Fault, ManualClock

KEY = "test-key-3f9a1c0d7e"
CANCEL_PATH = r"/status/cancel$"



@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


pytestmark = pytest.mark.emu(api_keys=[KEY], seed=7)


@pytest.fixture
def provider(emu: Emulator, fake_time: FakeTime) -> IonQProvider:
    policy = RetryPolicy(deadline=30.0, clock=fake_time.clock, sleep=fake_time.sleep,
                         rng=random.Random(0))
    return IonQProvider(KEY, url=emu.url, retry_policy=policy)


def requests_since(emu: Emulator, mark: int) -> list[str]:
    return [f"{e.method} {e.path}" for e in emu.log.since(mark)]


def test_run_then_cancel_a_queued_job(emu: Emulator, provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(bell(), shots=100)
    assert isinstance(job, IonQJob)
    assert job.status() is JobStatus.QUEUED

    assert job.cancel() is True
    assert emu.store.status_of(job.job_id()) == "canceled"

    mark = emu.log.mark()
    assert job.status() is JobStatus.CANCELLED
    assert job.cancelled() and job.done() is False and job.in_final_state()
    with pytest.raises(IonQJobStateError):
        job.result()
    assert requests_since(emu, mark) == []  # all answered from the local status


def test_cancel_sends_one_put_with_the_api_key_header(emu: Emulator,
                                                      provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(bell())
    mark = emu.log.mark()
    job.cancel()
    entries = emu.log.since(mark)
    assert [(e.method, e.path, e.auth) for e in entries] == [
        ("PUT", f"/v0.4/jobs/{job.job_id()}/status/cancel", "apiKey ***")]


def test_a_running_job_can_be_cancelled(emu: Emulator, provider: IonQProvider,
                                        clock: ManualClock) -> None:
    job = provider.get_backend("simulator").run(bell())
    clock.advance(12.0)
    assert job.status() is JobStatus.RUNNING
    assert job.cancel() is True
    assert emu.store.status_of(job.job_id()) == "canceled"


def test_cancel_again_sends_nothing(emu: Emulator, provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(bell())
    assert job.cancel() is True
    mark = emu.log.mark()
    assert job.cancel() is True
    assert requests_since(emu, mark) == []


def test_a_finished_job_sends_nothing_and_returns_false(emu: Emulator, provider: IonQProvider,
                                                        clock: ManualClock) -> None:
    job = provider.get_backend("simulator").run(bell(), shots=200)
    clock.advance(20.0)
    counts = job.result().get_counts()
    assert set(counts) <= {"00", "11"}
    mark = emu.log.mark()
    assert job.cancel() is False
    assert requests_since(emu, mark) == []
    assert job.status() is JobStatus.DONE


def test_a_job_never_submitted_is_refused_without_a_request(emu: Emulator,
                                                            provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    job = IonQJob(backend, None, backend.client, circuit=bell())
    mark = emu.log.mark()
    with pytest.raises(JobNotSubmittedError) as info:
        job.cancel()
    assert isinstance(info.value, IonQJobStateError)
    assert "never submitted" in str(info.value)
    assert requests_since(emu, mark) == []


@pytest.mark.parametrize("mode", ["noop", "conflict", "bad_request"])
def test_race_job_completes_just_before_the_cancel(clock: ManualClock, fake_time: FakeTime,
                                                   mode: str) -> None:
    """Locally the job is still queued; on the server it has just completed."""
    with Emulator(api_keys=[KEY], queue_time=10, run_time=5, clock=clock,
                  finished_cancel=mode) as emu:
        provider = IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(
            clock=fake_time.clock, sleep=fake_time.sleep))
        job = provider.get_backend("simulator").run(bell(), shots=100)
        assert job.status() is JobStatus.QUEUED
        clock.advance(16.0)  # the job ran and completed meanwhile

        mark = emu.log.mark()
        assert job.cancel() is False
        assert job.status() is JobStatus.DONE
        # it read the job back once, and result() works from that without asking again
        assert [r.split(" ")[0] for r in requests_since(emu, mark)] == ["PUT", "GET"]
        assert set(job.result().get_counts()) <= {"00", "11"}
        assert emu.store.status_of(job.job_id()) == "completed"


def test_race_job_failed_just_before_the_cancel(emu: Emulator, provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(bell())
    assert job.status() is JobStatus.QUEUED
    emu.store.fail(job.job_id(), "QuantumComputerError", "the trap lost an ion")
    assert job.cancel() is False
    assert job.status() is JobStatus.ERROR


def test_overwrite_mode_reports_what_the_server_did(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], queue_time=10, run_time=5, clock=clock,
                  finished_cancel="overwrite") as emu:
        provider = IonQProvider(KEY, url=emu.url)
        job = provider.get_backend("simulator").run(bell())
        job.status()
        clock.advance(16.0)
        assert job.cancel() is True
        assert emu.store.status_of(job.job_id()) == "canceled"


def test_a_whole_second_retry_after_is_an_upper_bound(emu: Emulator, provider: IonQProvider,
                                                      fake_time: FakeTime) -> None:
    # "3" from a server that rounds up means "within 3 s, after more than 2 s"
    job = provider.get_backend("simulator").run(bell())
    emu.faults.inject(Fault.http(429, "3"), times=2, path=CANCEL_PATH)
    assert job.cancel() is True
    assert len(fake_time.sleeps) == 2
    assert all(2.0 <= s <= 3.0 for s in fake_time.sleeps)
    assert [e.status for e in emu.log.entries if e.path.endswith("/cancel")] == [429, 429, 200]


# Retry behaviour (429s, 5xx, drops, timeouts, non-JSON answers, deadlines) has one home:
# tests/client/test_fault_matrix.py. Here, only that retries are logged.
def test_retries_are_logged(emu: Emulator, provider: IonQProvider,
                            caplog: pytest.LogCaptureFixture) -> None:
    job = provider.get_backend("simulator").run(bell())
    emu.faults.inject(Fault.http(503), path=CANCEL_PATH)
    with caplog.at_level(logging.WARNING, logger="qiskit_ionq_cancel"):
        job.cancel()
    retries = [r for r in caplog.records if r.name == "qiskit_ionq_cancel"]
    assert len(retries) == 1
    assert "HTTP 503" in retries[0].getMessage() and job.job_id() in retries[0].getMessage()


def test_a_wrong_key_is_a_credentials_error_that_never_shows_the_key(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    good = IonQProvider(KEY, url=emu.url).get_backend("simulator").run(bell())
    wrong_key = "wrong-key-0b1e2d3c4f"
    provider = IonQProvider(wrong_key, url=emu.url)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        cancel(good.job_id(), provider=provider)
    error = info.value
    assert isinstance(error, IonQCredentialsError) and isinstance(error, IonQAPIError)
    assert error.status_code == 401
    assert emu.url in str(error)
    shown = [str(error), repr(error), repr(provider), repr(provider.client),
             str(provider.credentials), caplog.text, str(error.__dict__)]
    for text in shown:
        assert wrong_key not in text
    assert emu.store.status_of(good.job_id()) == "ready"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_send_no_request(emu: Emulator, provider: IonQProvider,
                                       bad: object) -> None:
    backend = provider.get_backend("simulator")  # may read the backends catalog first
    mark = emu.log.mark()
    with pytest.raises(InvalidJobIdError):
        cancel(bad, provider=provider)  # type: ignore[arg-type]
    with pytest.raises(InvalidJobIdError):
        backend.retrieve_job(bad)  # type: ignore[arg-type]
    assert requests_since(emu, mark) == []


def test_an_unknown_job_is_not_found(emu: Emulator, provider: IonQProvider) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(JobNotFoundError) as info:
        cancel(missing, provider=provider)
    assert isinstance(info.value, IonQAPIError)
    assert info.value.status_code == 404
    assert missing in str(info.value) and "Check the id" in str(info.value)


def test_cancel_by_id_with_a_provider(emu: Emulator, provider: IonQProvider) -> None:
    job = provider.get_backend("simulator").run(bell())
    assert cancel(job.job_id(), provider=provider) is True
    assert emu.store.status_of(job.job_id()) == "canceled"


def test_cancel_by_id_from_the_environment(emu: Emulator, provider: IonQProvider,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_API_KEY", KEY)
    monkeypatch.setenv("IONQ_API_URL", emu.url)
    job = provider.get_backend("simulator").run(bell())
    assert cancel(job.job_id()) is True
    assert emu.store.status_of(job.job_id()) == "canceled"


def test_cancel_a_plain_qiskit_ionq_job(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_API_URL", emu.url)  # the stock provider reads sizes from here
    stock_job = StockProvider(KEY, url=emu.url).get_backend("simulator").run(bell())
    assert not isinstance(stock_job, IonQJob)
    assert cancel(stock_job) is True
    assert stock_job.status() is JobStatus.CANCELLED
    assert emu.store.status_of(stock_job.job_id()) == "canceled"


@pytest.mark.filterwarnings("ignore:Unable to retrieve result:UserWarning")  # qiskit-ionq's
def test_retrieve_job_returns_our_job(emu: Emulator, provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    submitted = backend.run(bell())
    again = backend.retrieve_job(submitted.job_id())
    assert isinstance(again, IonQJob)
    assert again.cancel() is True
    many = backend.retrieve_jobs([submitted.job_id()])
    assert [type(j) for j in many] == [IonQJob]
    assert many[0].status() is JobStatus.CANCELLED


def test_requests_go_only_to_the_configured_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """qiskit-ionq's backends ask IONQ_API_URL (or IonQ's host) for their size; ours don't."""
    with Emulator() as configured, Emulator() as elsewhere:
        monkeypatch.setenv("IONQ_API_URL", elsewhere.url)
        provider = IonQProvider(KEY, url=configured.url)
        job = provider.get_backend("simulator").run(bell())
        job.cancel()
        assert len(elsewhere.log) == 0
        # The size comes from this URL: GET /backends/simulator (qiskit-ionq 1.1.1) or the
        # GET /backends catalog (qiskit-ionq main).
        assert {e.path for e in configured.log.entries} & {"/v0.4/backends/simulator",
                                                           "/v0.4/backends"}


def test_plain_http_to_another_host_is_refused() -> None:
    with pytest.raises(InsecureURLError):
        IonQProvider(KEY, url="http://api.ionq.co/v0.4")


def test_errors_are_qiskit_ionq_errors(emu: Emulator, provider: IonQProvider) -> None:
    """Existing `except` clauses written for qiskit-ionq keep catching ours."""
    with pytest.raises(IonQJobError):
        cancel("nope", provider=provider)
    with pytest.raises(IonQAPIError):
        cancel(str(uuid.uuid4()), provider=provider)


def test_a_claimed_cancel_of_a_finished_job_is_believed_unless_verified(
        clock: ManualClock) -> None:
    # finished_cancel="claim": the server answers a clean 200 "canceled" for a job that had
    # completed. That answer is IonQ's word; verify=True reads the job back to check it.
    with Emulator(api_keys=[KEY], queue_time=10, run_time=5, clock=clock,
                  finished_cancel="claim") as emu:
        backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
        believed, verified = backend.run(bell()), backend.run(bell())
        clock.advance(16.0)  # both complete
        assert believed.cancel() is True
        assert verified.cancel(verify=True) is False
        assert verified.status() is JobStatus.DONE
        assert emu.store.status_of(verified.job_id()) == "completed"
        assert cancel(believed, verify=True) is False  # asked again, and read back
        assert believed.status() is JobStatus.DONE


def test_replays_in_two_threads_leave_the_job_its_own_client(
        emu: Emulator, provider: IonQProvider, clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 21: two timed waits on one job each swapped the job's client for a stand-in and
    # put back the one they found; interleaved, the job kept the other's stand-in, and its
    # status() read that stale job object forever (QUEUED; result() hung).
    job = provider.get_backend("simulator").run(bell(), shots=10)
    client = upstream.job_client(job)
    read = client.retrieve_job(job.job_id())  # a job object, "ready"
    inside, leave = threading.Event(), threading.Event()
    answer = upstream._Replay.retrieve_job
    second = threading.Thread(target=upstream.replay_status, args=(job, read), name="second")

    def interleaved(stand_in: Any, job_id: str) -> dict[str, Any]:
        # first replay: the second begins inside it, and ends after it
        if threading.current_thread().name == "first":
            second.start()
            assert inside.wait(30)
        elif threading.current_thread().name == "second":
            inside.set()
            assert leave.wait(30)
        return answer(stand_in, job_id)

    monkeypatch.setattr(upstream._Replay, "retrieve_job", interleaved)
    first = threading.Thread(target=upstream.replay_status, args=(job, read), name="first")
    first.start()
    first.join(30)
    leave.set()
    second.join(30)
    assert not first.is_alive() and not second.is_alive()
    assert upstream.job_client(job) is client
    clock.advance(100)  # the job completes on the server
    assert job.status() is JobStatus.DONE
