"""The fault matrix: every kind of misbehaviour, for ``job.cancel()`` and for ``cancel_jobs``.

Each fault ends in its documented outcome, within its deadline:

* transient (429 with and without ``Retry-After``, 500, 502, 503, 504, a dropped connection
  before or after the change, a read timeout, a non-JSON 200) a few times: retried, then the
  job is cancelled; for ever: ``RetriesExhaustedError`` saying how many attempts (a single
  cancel), or the batch falls back to its next step and still cancels every job;
* a 200 whose body breaks the schema: never trusted; the job is read back, and its true status
  reported (or ``CancelNotConfirmedError`` / ``UnknownJobStatusError`` when that is not final
  or not a status at all);
* 404: ``JobNotFoundError`` (for the bulk endpoint: it is missing, so job by job); 401/403:
  ``AuthenticationError``, never retried;
* a deadline that runs out mid-retry: ``RetriesExhaustedError`` (a batch: the jobs in
  ``errors``), no wait started that would end past it.

Waits run on a fake clock (``FakeTime``), so "within its deadline" is checked on that clock,
never with a timing assertion. Read timeouts are real: a 0.2 s read timeout (set only where a
test injects a hang) against a 1 s hang. The emulator has no fault for a schema-breaking 200,
so those tests replace one method of the emulator's job store for the test (the HTTP layer
looks it up on every request).
Batches run with ``concurrency=1`` so that the request sequences are exact.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from contract.observed import Emulator
from qiskit.providers import JobStatus
from qiskit_ionq.exceptions import IonQAPIError, IonQCredentialsError
from support import (
    CANONICAL_UUID,
    FakeTime,
    assert_report_agrees,
    input_keys,
    server_status,
    wait_for,
)

from qiskit_ionq_cancel import (
    AuthenticationError,
    CancelNotConfirmedError,
    CancelReport,
    IonQJob,
    IonQProvider,
    IonQRequestError,
    JobNotFoundError,
    RetriesExhaustedError,
    RetryPolicy,
    UnknownJobStatusError,
    cancel,
    cancel_jobs,
)
from qiskit_ionq_cancel._compat import upstream
from qiskit_ionq_cancel.emulator import Fault, LogEntry

KEY = "matrix-key-6a1f0c93d2"
WRONG_KEY = "matrix-wrong-key-02bd77"
DEADLINE = 30.0  # of one call (the policy's)
BATCH_DEADLINE = 100.0  # of a whole cancel_jobs
MAX_ATTEMPTS = 4
BULK = "/v0.4/jobs/status/cancel"
SINGLE = r"^/v0.4/jobs/[0-9a-f-]{36}/status/cancel$"
BULK_PATH = r"^/v0.4/jobs/status/cancel$"
HANG = 1.0  # seconds a hung answer comes late ...
SHORT_READ = (2.0, 0.2)  # ... to a client that waits 0.2 s for it

#: Transient faults: retried by the client.
TRANSIENT: dict[str, Fault] = {
    "429-retry-after": Fault.http(429, "2"),
    "429-no-retry-after": Fault.http(429),
    "500": Fault.http(500),
    "502": Fault.http(502),
    "503": Fault.http(503),
    "504": Fault.http(504),
    "drop": Fault.drop(),
    "drop-after-change": Fault.drop(after=True),
    "read-timeout": Fault.hang(HANG),
    "non-json-200": Fault.garbage(),
}


def logged_as(fault: Fault) -> tuple[int | None, str]:
    """(status, fault kind) of the emulator's log entry for a request that met ``fault``."""
    status = {"drop": None, "garbage": 200, "hang": 200}.get(fault.kind, fault.status)
    return status, fault.kind


def applied(fault: Fault) -> bool:
    """The request's change happens even though its answer is a fault."""
    return fault.after or fault.kind == "hang"


# -- fixtures ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    """One request as the client sent it: when (on the fake clock), what, with what timeout."""

    at: float
    method: str
    path: str
    timeout: tuple[float, float]


class Clock(FakeTime):
    """The fake clock, plus every request the providers made on it sent (see make_provider)."""

    def __init__(self) -> None:
        super().__init__()
        self.sends: list[Send] = []


@pytest.fixture
def fake() -> Clock:
    return Clock()


pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, run_time=10, seed=11)


def make_provider(emu: Emulator, fake: Clock, key: str = KEY,
                  timeout: tuple[float, float] = (2.0, 5.0), **policy: Any) -> IonQProvider:
    """A provider on the fake clock whose requests are recorded in ``fake.sends``."""
    settings: dict[str, Any] = {"deadline": DEADLINE, "max_attempts": MAX_ATTEMPTS, **policy}
    provider = IonQProvider(key, url=emu.url, timeout=timeout, retry_policy=RetryPolicy(
        clock=fake.clock, sleep=fake.sleep, rng=random.Random(0), **settings))
    session = provider.client.session
    send = session.request

    def recorded(method: str | bytes, url: str | bytes, *args: Any,
                 **kwargs: Any) -> requests.Response:
        assert isinstance(method, str) and isinstance(url, str)  # what the client sends
        fake.sends.append(Send(fake.now, method, urlsplit(url).path, kwargs["timeout"]))
        return send(method, url, *args, **kwargs)

    session.request = recorded  # type: ignore[method-assign]
    return provider


@pytest.fixture
def provider(emu: Emulator, fake: Clock) -> IonQProvider:
    return make_provider(emu, fake)


@pytest.fixture
def job(emu: Emulator, provider: IonQProvider) -> IonQJob:
    """A queued job, known locally as QUEUED."""
    (job_id,) = emu.store.add_jobs(1)
    job = provider.get_backend("simulator").retrieve_job(job_id)
    assert job.status() is JobStatus.QUEUED
    return job


class Mark:
    """What happened after a point in time: the emulator's log, the client's count, the
    fake clock."""

    def __init__(self, emu: Emulator, provider: IonQProvider, fake: Clock) -> None:
        self.emu, self.client, self.fake = emu, provider.client, fake
        self.sends_at = len(fake.sends)
        self.log_at = emu.log.mark()
        self.sent_at = provider.client.requests_sent
        self.sleeps_at = len(fake.sleeps)
        self.time_at = fake.now

    def entries(self, path: str | None = None, method: str | None = None) -> list[LogEntry]:
        return [e for e in self.emu.log.since(self.log_at)
                if (path is None or re.search(path, e.path))
                and (method is None or e.method == method)]

    def seen(self, path: str | None = None) -> list[tuple[int | None, str | None]]:
        return [(e.status, e.fault) for e in self.entries(path)]

    def calls(self) -> list[str]:
        return [f"{e.method} {e.path}" for e in self.entries()]

    @property
    def sent(self) -> int:
        return self.client.requests_sent - self.sent_at

    def times_of(self, path: str) -> list[float]:
        """Fake times at which the client sent requests to paths matching ``path``."""
        return [s.at for s in self.fake.sends[self.sends_at:] if re.search(path, s.path)]

    @property
    def sleeps(self) -> list[float]:
        return self.fake.sleeps[self.sleeps_at:]

    @property
    def waited(self) -> float:
        return self.fake.now - self.time_at

    def settled(self, count: int) -> None:
        """Wait for hung requests, which the emulator logs only once they end."""
        wait_for(lambda: len(self.emu.log) - self.log_at >= count, f"{count} log entries")


@pytest.fixture
def mark(emu: Emulator, provider: IonQProvider, fake: Clock) -> Callable[[], Mark]:
    return lambda: Mark(emu, provider, fake)


def short_read_for_hangs(provider: IonQProvider, fault: Fault) -> None:
    """A client that gives up reading after 0.2 s, for a test that injects a hang (elsewhere
    the read timeout stays long, so a slow CI machine never turns an answer into a retry)."""
    if fault.kind == "hang":
        provider.client.timeout = SHORT_READ


def check_sleeps(name: str, sleeps: list[float], policy: RetryPolicy, count: int) -> None:
    """The ``count`` waits before the retries are the ones the policy documents."""
    assert len(sleeps) == count, sleeps
    if name == "429-retry-after":
        # a whole-second Retry-After is an upper bound: at least a second less, at most it
        assert len(sleeps) == count and all(1.0 <= s <= 2.0 for s in sleeps), sleeps
    elif name == "429-no-retry-after":
        assert all(0 < s <= 1.0 for s in sleeps), sleeps  # the shared gate's slots
    else:
        for n, wait in enumerate(sleeps, 1):  # capped, jittered exponential back-off
            base = min(policy.backoff_max, policy.backoff_initial * policy.backoff_multiplier
                       ** (n - 1))
            assert base * (1 - policy.jitter) <= wait <= base, (n, wait)


# == job.cancel() ==============================================================================
@pytest.mark.parametrize("name", TRANSIENT)
def test_single_recovers_from_a_transient_fault(name: str, emu: Emulator, job: IonQJob,
                                                provider: IonQProvider,
                                                mark: Callable[[], Mark]) -> None:
    fault = TRANSIENT[name]
    short_read_for_hangs(provider, fault)
    emu.faults.inject(fault, times=2, path=SINGLE)
    m = mark()

    assert job.cancel() is True

    assert job.status() is JobStatus.CANCELLED  # answered locally
    assert server_status(emu, job.job_id()) == "canceled"
    assert m.sent == 3
    m.settled(3)
    expected = [logged_as(fault)] * 2 + [(200, None)]
    seen = m.seen(SINGLE)
    if fault.kind == "hang":  # hung requests are logged when they end, after the retry
        assert sorted(seen, key=str) == sorted(expected, key=str)
    else:
        assert seen == expected
    assert m.calls() == [f"PUT /v0.4/jobs/{job.job_id()}/status/cancel"] * 3  # no read-back
    check_sleeps(name, m.sleeps, provider.client.retry_policy, count=2)
    assert m.waited <= DEADLINE


@pytest.mark.parametrize("name", TRANSIENT)
def test_single_gives_up_on_a_persistent_transient_fault(name: str, emu: Emulator,
                                                         job: IonQJob,
                                                         provider: IonQProvider,
                                                         mark: Callable[[], Mark]) -> None:
    fault = TRANSIENT[name]
    short_read_for_hangs(provider, fault)
    emu.faults.inject(fault, times=10_000, path=SINGLE)
    m = mark()

    with pytest.raises(RetriesExhaustedError) as info:
        job.cancel()

    error = info.value
    assert isinstance(error, IonQAPIError)
    assert error.job_id == job.job_id() and job.job_id() in str(error)
    assert error.attempts == m.sent
    assert f"after {error.attempts} attempts" in str(error)
    if fault.status == 429:
        # Being asked to slow down does not use up attempts: only the deadline stops it.
        assert error.attempts > MAX_ATTEMPTS
        assert "deadline" in error.last
        if fault.retry_after == "2":
            # held 1-2 s each time (an upper bound); stopped when "2" no longer fits in 30 s
            assert 15 <= error.attempts <= 29
            assert all(1.0 <= s <= 2.0 for s in m.sleeps)
    else:
        assert error.attempts == MAX_ATTEMPTS
        assert f"max_attempts={MAX_ATTEMPTS}" in error.last
        check_sleeps(name, m.sleeps, provider.client.retry_policy, count=MAX_ATTEMPTS - 1)
    detail = {"status": f"HTTP {fault.status}", "drop": "connection failed",
              "hang": "read timeout", "garbage": "non-JSON body"}[fault.kind]
    assert detail in error.last
    assert m.waited <= DEADLINE
    assert upstream.local_status(job) is JobStatus.QUEUED  # nothing claimed locally
    if not applied(fault):
        assert server_status(emu, job.job_id()) == "ready"
        assert set(m.seen(SINGLE)) == {logged_as(fault)}


@pytest.mark.parametrize(("fault", "error_type"), [
    (Fault.http(404), JobNotFoundError),
    (Fault.http(401), AuthenticationError),
    (Fault.http(403), AuthenticationError),
], ids=["404", "401", "403"])
def test_single_refusal_is_raised_at_once(fault: Fault, error_type: type[Exception],
                                          emu: Emulator, job: IonQJob,
                                          mark: Callable[[], Mark]) -> None:
    emu.faults.inject(fault, times=10_000, path=SINGLE)
    m = mark()

    with pytest.raises(error_type) as info:
        job.cancel()

    error = info.value
    assert isinstance(error, IonQRequestError)
    assert error.status_code == fault.status
    assert error.job_id == job.job_id()
    assert error.method == "PUT" and error.url.endswith(f"/jobs/{job.job_id()}/status/cancel")
    if error_type is AuthenticationError:
        assert isinstance(error, IonQCredentialsError)
        refused = "the API key" if fault.status == 401 else "access to it"  # 403: per job
        assert f"refused {refused}" in str(error) and emu.url in str(error)
    else:
        assert "no such job" in str(error) and "Check the id" in str(error)
    assert m.sent == 1 and m.sleeps == []  # never retried, never read back
    assert m.seen() == [(fault.status, "status")]
    assert upstream.local_status(job) is JobStatus.QUEUED
    assert server_status(emu, job.job_id()) == "ready"


def test_single_unknown_job_is_not_found(emu: Emulator, provider: IonQProvider,
                                         mark: Callable[[], Mark]) -> None:
    missing = str(uuid.UUID(int=7, version=4))
    m = mark()
    with pytest.raises(JobNotFoundError) as info:
        cancel(missing, provider=provider)
    assert info.value.status_code == 404 and info.value.job_id == missing
    assert m.seen() == [(404, None)] and m.sent == 1


def test_single_wrong_key_is_refused_once(emu: Emulator, fake: Clock) -> None:
    (job_id,) = emu.store.add_jobs(1)
    provider = make_provider(emu, fake, key=WRONG_KEY)
    before = emu.log.mark()
    with pytest.raises(AuthenticationError) as info:
        cancel(job_id, provider=provider)
    assert info.value.status_code == 401
    assert [(e.method, e.status) for e in emu.log.since(before)] == [("PUT", 401)]
    assert fake.sleeps == []
    assert server_status(emu, job_id) == "ready"


# -- a 200 whose body breaks the schema ---------------------------------------------------------
Replace = Callable[..., list[Any]]


@pytest.fixture
def replace_answer(monkeypatch: pytest.MonkeyPatch,
                   request: pytest.FixtureRequest) -> Iterator[Replace]:
    """``replace_answer(emu, method, answer, apply=...)`` makes the emulator's job store
    answer ``answer(honest_answer, argument)`` from its ``method`` for the rest of the test;
    ``apply``: do the real work first (else the honest answer is ``None`` and nothing
    changes). Returns the arguments of every call.

    Such answers break the API contract on purpose: when the suite's contract monitor (the
    ``api_contract`` fixture of conftest.py) is there, it must have seen them go over the
    wire, and only them; they are then cleared so the monitor stays strict for the rest.
    """
    try:
        monitor = request.getfixturevalue("api_contract")
    except pytest.FixtureLookupError:
        monitor = None
    replaced: list[str] = []

    def replace(emu: Emulator, method: str, answer: Callable[[Any, Any], Any], *,
                apply: bool) -> list[Any]:
        real = getattr(emu.store, method)
        calls: list[Any] = []

        def broken(*args: Any, **kwargs: Any) -> Any:
            argument = args[0] if args else kwargs
            calls.append(argument)
            return answer(real(*args, **kwargs) if apply else None, argument)

        monkeypatch.setattr(emu.store, method, broken)
        replaced.append(method)
        return calls

    yield replace
    if monitor is not None and replaced:
        problems = monitor.problems
        assert all(p.startswith("answer 200 to ") for p in problems), problems
        monitor.clear()


OTHER_ID = str(uuid.UUID(int=99, version=4))
SCHEMA_BREAKING_CANCEL: dict[str, tuple[Callable[[Any, str], Any], bool, bool | None]] = {
    # name: (answer, the server did cancel, what cancel() returns (None: it raises))
    "status-42-cancelled": (lambda real, i: {"id": i, "status": 42}, True, True),
    "empty-list-cancelled": (lambda real, i: [], True, True),
    "null-cancelled": (lambda real, i: None, True, True),
    "no-id-cancelled": (lambda real, i: {"status": "canceled"}, True, True),
    "empty-list-not-cancelled": (lambda real, i: [], False, None),
    "status-42-not-cancelled": (lambda real, i: {"id": i, "status": 42}, False, None),
    "other-id-not-cancelled": (lambda real, i: {"id": OTHER_ID, "status": "canceled"}, False,
                               None),
}


@pytest.mark.parametrize("name", SCHEMA_BREAKING_CANCEL)
def test_single_schema_breaking_200_is_checked_by_reading_back(
        name: str, emu: Emulator, job: IonQJob, replace_answer: Replace,
        mark: Callable[[], Mark]) -> None:
    answer, did_cancel, returns = SCHEMA_BREAKING_CANCEL[name]
    calls = replace_answer(emu, "cancel", answer, apply=did_cancel)
    m = mark()

    if returns is None:
        with pytest.raises(CancelNotConfirmedError) as info:
            job.cancel()
        assert info.value.job_id == job.job_id() and info.value.status is JobStatus.QUEUED
        assert "still QUEUED" in str(info.value)
        assert upstream.local_status(job) is JobStatus.QUEUED
        assert server_status(emu, job.job_id()) == "ready"
    else:
        assert job.cancel() is returns
        assert job.status() is JobStatus.CANCELLED
        assert server_status(emu, job.job_id()) == "canceled"
    assert calls == [job.job_id()]
    # one cancel, then one read-back: a 200 that is JSON is not retried, and never trusted
    assert m.calls() == [f"PUT /v0.4/jobs/{job.job_id()}/status/cancel",
                         f"GET /v0.4/jobs/{job.job_id()}"]
    assert m.seen() == [(200, None), (200, None)]


@pytest.mark.parametrize(("job_answer", "error_type", "words"), [
    (lambda real, i: {**real, "status": 42}, UnknownJobStatusError, "unknown job status 42"),
    (lambda real, i: {**real, "status": "paused"}, UnknownJobStatusError, "'paused'"),
    (lambda real, i: {k: v for k, v in real.items() if k != "status"}, UnknownJobStatusError,
     "unknown job status None"),
    (lambda real, i: [], IonQRequestError, "not a job object"),
    (lambda real, i: "ok", IonQRequestError, "not a job object"),
], ids=["status-42", "status-unknown-word", "no-status", "list", "string"])
def test_single_schema_breaking_read_back_is_an_error(
        job_answer: Callable[[Any, str], Any], error_type: type[Exception], words: str,
        emu: Emulator, job: IonQJob, replace_answer: Replace,
        mark: Callable[[], Mark]) -> None:
    replace_answer(emu, "cancel", lambda real, i: [], apply=False)
    replace_answer(emu, "get", job_answer, apply=True)
    m = mark()
    with pytest.raises(error_type) as info:
        job.cancel()
    assert words in str(info.value) and job.job_id() in str(info.value)
    assert upstream.local_status(job) is JobStatus.QUEUED  # nothing claimed from an odd answer
    assert [c.split()[0] for c in m.calls()] == ["PUT", "GET"]


# -- deadlines ------------------------------------------------------------------------------
@pytest.mark.parametrize(("fault", "deadline", "attempts", "sleeps"), [
    (Fault.http(503, "4"), 10.0, 3, [4.0, 4.0]),   # sent at 0, 4, 8; 8 + 4 > 10
    (Fault.http(429, "4"), 10.0, 3, [3.0, 3.0]),   # an upper bound: 3 s (no rate learnt)
    (Fault.http(429, "30"), 10.0, 1, []),          # asked for a wait past the deadline
    (Fault.http(503), 1.0, None, None),            # back-off until the next wait would not fit
    (Fault.drop(), 1.0, None, None),
    (Fault.hang(HANG), 1.0, None, None),
], ids=["503-retry-after", "429-retry-after", "429-past-deadline", "503-backoff", "drop",
        "read-timeout"])
def test_single_deadline_runs_out_mid_retry(fault: Fault, deadline: float,
                                            attempts: int | None, sleeps: list[float] | None,
                                            emu: Emulator, fake: Clock) -> None:
    provider = make_provider(emu, fake, max_attempts=None, backoff_initial=0.1)
    short_read_for_hangs(provider, fault)
    (job_id,) = emu.store.add_jobs(1)
    job = provider.get_backend("simulator").retrieve_job(job_id)
    emu.faults.inject(fault, times=10_000, path=SINGLE)
    m = Mark(emu, provider, fake)

    with pytest.raises(RetriesExhaustedError) as info:
        job.cancel(deadline=deadline)

    error = info.value
    assert error.attempts == m.sent
    if attempts is not None:
        assert error.attempts == attempts and m.sleeps == sleeps
    else:
        assert error.attempts >= 3  # 0.1, 0.2, 0.4 ... s of back-off fit in 1 s
    assert m.waited <= deadline  # no wait was started that would end past the deadline
    assert error.elapsed <= deadline
    assert "deadline" in error.last or "retry_after_max" in error.last
    assert upstream.local_status(job) is JobStatus.QUEUED


# == cancel_jobs ================================================================================
class Batch:
    """Four queued jobs, one failed, one unknown id and one malformed id."""

    def __init__(self, emu: Emulator) -> None:
        self.queued = emu.store.add_jobs(4)
        self.failed = emu.store.add_jobs(1)
        emu.store.fail(self.failed[0])
        self.missing = str(uuid.UUID(int=12345, version=4))
        self.invalid = "not-a-uuid"
        self.ids = [*self.queued, *self.failed, self.missing, self.invalid]
        self.invalid_key = input_keys(self.ids)[-1]  # its report key: "#6 'not-a-uuid'"

    @property
    def valid(self) -> list[str]:
        return [i for i in self.ids if CANONICAL_UUID.fullmatch(i)]

    def assert_all_settled(self, report: CancelReport, emu: Emulator) -> None:
        """The fault-free outcome: the queued cancelled, the failed final, the rest errors."""
        assert_report_agrees(report, self.ids, emu)
        assert report.cancelled == self.queued
        assert report.already_final == self.failed
        assert report.statuses[self.failed[0]] is JobStatus.ERROR
        assert report.not_found == [self.missing]
        assert report.invalid == [self.invalid_key] and report.failed == []
        assert all(server_status(emu, i) == "canceled" for i in self.queued)


def run_batch(provider: IonQProvider, batch: Batch, **kwargs: Any) -> CancelReport:
    kwargs.setdefault("deadline", BATCH_DEADLINE)
    return cancel_jobs(batch.ids, provider=provider, concurrency=1, **kwargs)


@pytest.mark.parametrize("name", TRANSIENT)
def test_bulk_recovers_from_a_transient_fault(name: str, emu: Emulator,
                                              provider: IonQProvider,
                                              mark: Callable[[], Mark]) -> None:
    fault = TRANSIENT[name]
    short_read_for_hangs(provider, fault)
    batch = Batch(emu)
    emu.faults.inject(fault, times=2, method="PUT", path=BULK_PATH)
    m = mark()

    report = run_batch(provider, batch)

    batch.assert_all_settled(report, emu)
    m.settled(report.requests)
    expected = [logged_as(fault)] * 2 + [(200, None)]
    seen = m.seen(BULK_PATH)
    assert sorted(seen, key=str) == sorted(expected, key=str)
    if fault.kind != "hang":
        assert seen == expected
    # the bulk cancel worked in the end: only the unknown id went on to a single cancel
    assert [e.path for e in m.entries(SINGLE)] == [f"/v0.4/jobs/{batch.missing}/status/cancel"]
    # the retries of the bulk request; after 429s the shared gate also paces the rest
    check_sleeps(name, m.sleeps[:2], provider.client.retry_policy, count=2)
    if fault.status != 429:
        assert len(m.sleeps) == 2
    assert report.requests == m.sent
    assert report.elapsed == m.waited <= BATCH_DEADLINE


@pytest.mark.parametrize("name", TRANSIENT)
def test_bulk_survives_a_persistent_transient_fault(name: str, emu: Emulator,
                                                    provider: IonQProvider,
                                                    mark: Callable[[], Mark]) -> None:
    """The bulk endpoint never answers clearly: the read-back tells what happened, and
    single cancels do the rest."""
    fault = TRANSIENT[name]
    short_read_for_hangs(provider, fault)
    batch = Batch(emu)
    emu.faults.inject(fault, times=10_000, method="PUT", path=BULK_PATH)
    m = mark()

    report = run_batch(provider, batch, deadline=None)  # each request has the policy's 30 s

    batch.assert_all_settled(report, emu)
    m.settled(report.requests)
    bulk_sent = m.times_of(BULK_PATH)
    assert bulk_sent[-1] - bulk_sent[0] <= DEADLINE  # the bulk call kept to its deadline
    bulk = m.seen(BULK_PATH)
    if fault.status != 429:
        assert len(bulk) == MAX_ATTEMPTS
    assert set(bulk) <= {logged_as(fault)}
    singles = {e.path.split("/")[3] for e in m.entries(SINGLE)}
    if not applied(fault):  # nothing was cancelled by the bulk path: all went one by one
        assert singles == {*batch.queued, batch.missing}
    else:  # the change happened (a hung one perhaps only after the read-back)
        assert {batch.missing} <= singles <= {*batch.queued, batch.missing}
    reads = m.entries("^/v0.4/jobs$", "GET")
    assert all(f"ids={i}" in reads[0].query for i in batch.valid)
    # Then the jobs a single cancel answered "canceled" are read back to confirm it.
    confirmed = {i for r in reads[1:] for i in batch.queued if f"ids={i}" in r.query}
    assert len(reads) <= 2 and confirmed == singles - {batch.missing}
    assert report.elapsed == m.waited


def test_bulk_missing_endpoint_404_goes_job_by_job(emu: Emulator, provider: IonQProvider,
                                                   mark: Callable[[], Mark]) -> None:
    batch = Batch(emu)
    emu.faults.inject(Fault.http(404), times=10_000, method="PUT", path=BULK_PATH)
    m = mark()

    report = run_batch(provider, batch)

    batch.assert_all_settled(report, emu)
    assert m.seen(BULK_PATH) == [(404, "status")]  # asked once, not retried
    assert sorted(e.path.split("/")[3] for e in m.entries(SINGLE)) == sorted(batch.valid)
    missing = report.errors[batch.missing]
    assert isinstance(missing, JobNotFoundError)
    assert missing.status_code == 404
    assert m.sleeps == []


def test_bulk_refused_key_reports_every_job(emu: Emulator, fake: Clock) -> None:
    batch = Batch(emu)
    provider = make_provider(emu, fake, key=WRONG_KEY)  # the server refuses the key: 401
    m = Mark(emu, provider, fake)

    report = run_batch(provider, batch)

    assert_report_agrees(report, batch.ids, emu)
    assert report.statuses == {}
    for job_id in batch.valid:
        error = report.errors[job_id]
        assert isinstance(error, AuthenticationError) and error.status_code == 401
    assert report.failed == batch.valid and report.invalid == [batch.invalid_key]
    assert report.not_found == []
    assert all(server_status(emu, i) == "ready" for i in batch.queued)
    # one bulk request, refused: nothing more is sent, since every request would be refused
    assert m.calls() == [f"PUT {BULK}"]
    assert {s for s, _ in m.seen()} == {401}
    assert m.sleeps == []


def test_a_403_is_one_job_s_not_the_batch_s(emu: Emulator, fake: Clock) -> None:
    # IonQ's 403: "failed authorization for the requested resource", per resource, not per
    # key. One forbidden job neither stops the batch nor hides the others' outcome.
    batch = Batch(emu)
    forbidden = batch.queued[1]
    emu.store.forbid(forbidden)
    provider = make_provider(emu, fake)

    report = run_batch(provider, batch)

    error = report.errors[forbidden]
    assert isinstance(error, AuthenticationError) and error.status_code == 403
    assert "refused access" in str(error)
    others = [i for i in batch.queued if i != forbidden]
    assert report.cancelled == others
    assert all(server_status(emu, i) == "canceled" for i in others)
    assert report.already_final == batch.failed and report.not_found == [batch.missing]
    emu.store._jobs[forbidden].forbidden = False  # look behind the 403: it was not touched
    assert server_status(emu, forbidden) == "ready"


def test_403_on_every_request_asks_each_job_once(emu: Emulator, fake: Clock) -> None:
    batch = Batch(emu)
    provider = make_provider(emu, fake)
    emu.faults.inject(Fault.http(403), times=10_000)
    m = Mark(emu, provider, fake)

    report = run_batch(provider, batch)

    assert report.statuses == {} and report.failed == batch.valid
    assert report.invalid == [batch.invalid_key]
    for job_id in batch.valid:
        error = report.errors[job_id]
        assert isinstance(error, AuthenticationError) and error.status_code == 403
    # the bulk request, then one single cancel per valid job: a 403 refuses only its job
    assert m.calls().count(f"PUT {BULK}") == 1
    assert sorted(e.path.split("/")[3] for e in m.entries(SINGLE)) == sorted(batch.valid)
    assert m.sleeps == []


def test_bulk_refused_key_does_not_fan_out(emu: Emulator, fake: Clock) -> None:
    ids = emu.store.add_jobs(200)
    provider = make_provider(emu, fake, key=WRONG_KEY)
    before = len(emu.log)
    report = cancel_jobs(ids, provider=provider)
    assert set(report.errors) == set(ids)  # every job, each refused
    assert all(isinstance(e, AuthenticationError) for e in report.errors.values())
    assert len(emu.log) - before <= 10


def test_bulk_read_timeout_on_the_read_back(emu: Emulator, provider: IonQProvider,
                                            mark: Callable[[], Mark]) -> None:
    batch = Batch(emu)
    provider.client.timeout = SHORT_READ
    emu.faults.inject(Fault.hang(HANG), times=2, method="GET", path="^/v0.4/jobs$")
    m = mark()
    report = run_batch(provider, batch)
    batch.assert_all_settled(report, emu)
    assert report.requests == m.sent
    m.settled(report.requests)
    assert [(e.status, e.fault) for e in m.entries("^/v0.4/jobs$", "GET")].count(
        (200, "hang")) == 2


# -- a 200 whose body breaks the schema (bulk) -------------------------------------------------
@pytest.mark.parametrize(("answer", "did_cancel"), [
    (lambda real, body: [], False),
    (lambda real, body: {"ids": [], "status": 42}, False),
    (lambda real, body: {"ids": "everything", "status": "canceled"}, True),
    (lambda real, body: None, True),
], ids=["list-not-cancelled", "status-42-not-cancelled", "ids-string-cancelled",
        "null-cancelled"])
def test_bulk_schema_breaking_200_is_never_trusted(answer: Callable[[Any, Any], Any],
                                                   did_cancel: bool, emu: Emulator,
                                                   provider: IonQProvider,
                                                   replace_answer: Replace,
                                                   mark: Callable[[], Mark]) -> None:
    batch = Batch(emu)
    replace_answer(emu, "cancel_many", answer, apply=did_cancel)
    m = mark()

    report = run_batch(provider, batch)

    batch.assert_all_settled(report, emu)
    assert m.seen(BULK_PATH) == [(200, None)]  # JSON: not retried
    singles = sorted(e.path.split("/")[3] for e in m.entries(SINGLE))
    assert singles == sorted([batch.missing] if did_cancel else [*batch.queued, batch.missing])


def listing(answer: Callable[[Any, Any], Any]) -> Callable[[Any, Any], bytes]:
    """``answer`` (of a ``GET /jobs`` body) as ``JobStore.list_encoded`` answers: encoded."""
    return lambda real, argument: json.dumps(answer(json.loads(real), argument),
                                             separators=(",", ":")).encode()


@pytest.mark.parametrize("page", [
    lambda real: [],
    lambda real: {"jobs": "none"},
    lambda real: {"next": None},
    lambda real: {"jobs": [42, None, "x"], "next": None},
], ids=["list", "jobs-string", "no-jobs", "jobs-not-objects"])
def test_bulk_schema_breaking_read_back_falls_back_to_single_cancels(
        page: Callable[[Any], Any], emu: Emulator, provider: IonQProvider,
        replace_answer: Replace, mark: Callable[[], Mark]) -> None:
    batch = Batch(emu)
    replace_answer(emu, "list_encoded", listing(lambda real, _: page(real)), apply=True)
    m = mark()

    report = run_batch(provider, batch)

    batch.assert_all_settled(report, emu)
    # every job the read-back could not settle was asked about on its own
    assert sorted(e.path.split("/")[3] for e in m.entries(SINGLE)) == sorted(batch.valid)


def test_bulk_read_back_with_an_unknown_status_reports_that_job(
        emu: Emulator, provider: IonQProvider, replace_answer: Replace) -> None:
    batch = Batch(emu)
    odd = batch.queued[1]

    def page(real: dict[str, Any], _: Any) -> dict[str, Any]:
        jobs = [{**j, "status": 42} if j["id"] == odd else j for j in real["jobs"]]
        return {**real, "jobs": jobs}

    replace_answer(emu, "list_encoded", listing(page), apply=True)
    report = run_batch(provider, batch)

    assert_report_agrees(report, batch.ids, emu)
    assert isinstance(report.errors[odd], UnknownJobStatusError)
    assert "42" in str(report.errors[odd])
    assert sorted(report.cancelled) == sorted(set(batch.queued) - {odd})
    assert server_status(emu, odd) == "canceled"  # unknown to the report; not a lie


# -- the batch's deadline -----------------------------------------------------------------------
def test_bulk_deadline_runs_out_mid_retry(emu: Emulator, provider: IonQProvider,
                                          mark: Callable[[], Mark]) -> None:
    batch = Batch(emu)
    emu.faults.inject(Fault.http(503, "4"), times=10_000, method="PUT", path="/status/cancel$")
    m = mark()

    report = run_batch(provider, batch, deadline=10.0)

    assert_report_agrees(report, batch.ids, emu)
    # bulk sent at 0, 4, 8 s; the read-back at 8 s settles the failed job; the single
    # cancels get one attempt each, since 4 s more would pass the 10 s deadline
    assert m.seen(BULK_PATH) == [(503, "status")] * 3
    assert m.sleeps == [4.0, 4.0]
    assert report.elapsed == m.waited == 8.0
    assert report.statuses == {batch.failed[0]: JobStatus.ERROR}
    for job_id in [*batch.queued, batch.missing]:
        error = report.errors[job_id]
        assert isinstance(error, RetriesExhaustedError) and error.attempts == 1
        assert "deadline" in error.last
    assert all(server_status(emu, i) == "ready" for i in batch.queued)
    assert len(m.entries(SINGLE)) == len(batch.queued) + 1


def test_bulk_deadline_spent_waiting_sends_no_single_cancel(
        emu: Emulator, provider: IonQProvider, mark: Callable[[], Mark]) -> None:
    """A 429 closes the shared gate for the whole batch deadline: every job is reported
    unsettled, and no single cancel is sent."""
    batch = Batch(emu)
    emu.faults.inject(Fault.http(429, "4"), times=1, method="PUT", path=BULK_PATH)
    emu.faults.inject(Fault.drop(), times=10_000, method="GET", path="^/v0.4/jobs$")
    m = mark()

    report = run_batch(provider, batch, deadline=4.0)

    assert_report_agrees(report, batch.ids, emu, unknown_may_be={"ready", "failed", None})
    assert report.elapsed == m.waited <= 4.0
    assert report.statuses == {}
    assert set(report.errors) == set(input_keys(batch.ids))
    assert m.seen(BULK_PATH) == [(429, "status")]
    assert m.entries(SINGLE) == []
    assert all(server_status(emu, i) == "ready" for i in batch.queued)


# -- regressions: bugs the matrix found, since fixed -----------------------------------------
def test_bulk_batch_deadline_does_not_starve_the_fallback(emu: Emulator,
                                                          provider: IonQProvider) -> None:
    batch = Batch(emu)
    emu.faults.inject(Fault.http(429, "2"), times=10_000, method="PUT", path=BULK_PATH)
    report = run_batch(provider, batch, deadline=BATCH_DEADLINE)  # > the policy's 30 s
    batch.assert_all_settled(report, emu)


def test_a_sustained_429_storm_slows_the_client_down(emu: Emulator, job: IonQJob,
                                                     mark: Callable[[], Mark]) -> None:
    emu.faults.inject(Fault.http(429), times=100_000, path=SINGLE)
    m = mark()
    with pytest.raises(RetriesExhaustedError):
        job.cancel()
    # cut by 15 % per burst the gate is at 1/s within seconds: well under 100 in 30 s
    assert m.sent <= 100
