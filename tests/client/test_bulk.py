"""cancel_jobs() against the emulator: the bulk path, its fallbacks and the report."""

from __future__ import annotations

import json
import random
import uuid

import pytest
from contract.observed import Emulator
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus
from support import FakeTime, input_keys

from qiskit_ionq_cancel import (
    BatchCancelError,
    CancelReport,
    InvalidJobIdError,
    IonQProvider,
    JobNotFoundError,
    RetriesExhaustedError,
    RetryPolicy,
    bulk,
    cancel_jobs,
)
from qiskit_ionq_cancel.emulator import Fault, ManualClock

KEY = "bulk-test-key-51c0ffee"
BULK = "/v0.4/jobs/status/cancel"


pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, run_time=10, seed=3)


@pytest.fixture
def provider(emu: Emulator) -> IonQProvider:
    return IonQProvider(KEY, url=emu.url)


def paths(emu: Emulator, method: str | None = None) -> list[str]:
    return [e.path for e in emu.log.entries if method is None or e.method == method]


def assert_accounted(report: CancelReport, given: set[str]) -> None:
    """Every input appears in exactly one place."""
    assert set(report.statuses).isdisjoint(report.errors)
    assert set(report.statuses) | set(report.errors) == given
    assert report.total == len(given)


def test_mixed_batch_is_accounted_job_by_job(emu: Emulator, provider: IonQProvider,
                                             clock: ManualClock) -> None:
    done = emu.store.add_jobs(2)
    clock.advance(200)  # those two complete
    failed = emu.store.add_jobs(1)
    emu.store.fail(failed[0])
    queued = emu.store.add_jobs(7)
    missing = str(uuid.uuid4())
    bad = ["../etc", "not-a-uuid"]
    given = [*queued, *done, *failed, missing, *bad, queued[0], queued[1]]  # with duplicates

    before = len(emu.log)
    report = cancel_jobs(given, provider=provider)

    keyed = input_keys(given)[-2:]  # the invalid ones, keyed by their positions
    assert keyed == ["#11 '../etc'", "#12 'not-a-uuid'"]
    assert_accounted(report, {*queued, *done, *failed, missing, *keyed})
    assert sorted(report.cancelled) == sorted(queued)
    assert sorted(report.already_final) == sorted(done + failed)
    assert report.statuses[failed[0]] is JobStatus.ERROR
    assert report.not_found == [missing]
    assert isinstance(report.errors[missing], JobNotFoundError)
    assert all(isinstance(report.errors[b], InvalidJobIdError) for b in keyed)
    assert sorted(report.invalid) == sorted(keyed)
    assert report.failed == []
    for job_id in queued:
        assert emu.store.status_of(job_id) == "canceled"
    assert [emu.store.status_of(j) for j in done] == ["completed", "completed"]
    # no malformed id ever reached the server
    assert not any("etc" in p or "not-a-uuid" in p for p in paths(emu))
    assert report.requests == len(emu.log) - before
    assert report.ok is False


def test_uses_the_bulk_endpoint_in_chunks_and_reads_back(emu: Emulator,
                                                         provider: IonQProvider) -> None:
    ids = emu.store.add_jobs(10)
    report = cancel_jobs(ids, provider=provider, chunk_size=4)
    assert report.ok and sorted(report.cancelled) == sorted(ids)
    puts = [e for e in emu.log.entries if e.method == "PUT"]
    assert [e.path for e in puts] == [BULK] * 3  # 4 + 4 + 2, no single cancels
    reads = [e for e in emu.log.entries if e.method == "GET" and "backends" not in e.path]
    assert reads and all(e.path == "/v0.4/jobs" and "ids=" in e.query for e in reads)


def test_a_lying_bulk_echo_is_caught_by_the_read_back(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], queue_time=100, clock=clock, bulk_lies=True) as emu:
        ids = emu.store.add_jobs(6)
        report = cancel_jobs(ids, provider=IonQProvider(KEY, url=emu.url))
        assert sorted(report.cancelled) == sorted(ids)
        assert all(emu.store.status_of(i) == "canceled" for i in ids)
        singles = [p for p in paths(emu, "PUT") if p != BULK]
        assert sorted(singles) == sorted(f"/v0.4/jobs/{i}/status/cancel" for i in ids)


def test_without_the_bulk_endpoint_it_falls_back_to_single_cancels(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], queue_time=100, clock=clock, bulk_enabled=False) as emu:
        ids = emu.store.add_jobs(9)
        report = cancel_jobs(ids, provider=IonQProvider(KEY, url=emu.url), chunk_size=3)
        assert report.ok and sorted(report.cancelled) == sorted(ids)
        # The chunks of the first window go at once (no probe round trip): at most one
        # refused bulk request per chunk, and every job then cancelled on its own.
        bulk = paths(emu, "PUT").count(BULK)
        assert 1 <= bulk <= 3
        assert len(paths(emu, "PUT")) == bulk + 9


def test_a_refused_chunk_goes_job_by_job(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], queue_time=100, clock=clock, bulk_max_ids=3) as emu:
        ids = emu.store.add_jobs(5)
        report = cancel_jobs(ids, provider=IonQProvider(KEY, url=emu.url), chunk_size=5)
        assert report.ok and sorted(report.cancelled) == sorted(ids)
        assert [e.status for e in emu.log.entries if e.path == BULK] == [400]


def test_partial_failure_keeps_the_others(emu: Emulator, clock: ManualClock) -> None:
    fake = FakeTime()
    provider = IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(
        deadline=5, clock=fake.clock, sleep=fake.sleep, rng=random.Random(0)))
    emu.store.bulk_enabled = False
    ids = emu.store.add_jobs(6)
    stuck = ids[2]
    emu.faults.inject(Fault.http(503), times=10_000, path=f"{stuck}/status/cancel$")
    report = cancel_jobs(ids, provider=provider)
    assert_accounted(report, set(ids))
    assert list(report.errors) == [stuck]
    assert isinstance(report.errors[stuck], RetriesExhaustedError)
    assert sorted(report.cancelled) == sorted(set(ids) - {stuck})
    with pytest.raises(BatchCancelError) as info:
        report.raise_for_errors()
    assert stuck in str(info.value) and info.value.report is report


def test_a_filter_lists_every_page_then_cancels(emu: Emulator, provider: IonQProvider,
                                                clock: ManualClock) -> None:
    old = emu.store.add_jobs(3)
    clock.advance(200)  # completed: not to be touched
    queued = emu.store.add_jobs(2100)  # three pages of 1,000
    report = cancel_jobs(status="ready", provider=provider)
    assert sorted(report.cancelled) == sorted(queued)
    assert report.total == len(queued)
    assert [emu.store.status_of(i) for i in old] == ["completed"] * 3
    listing = [e for e in emu.log.entries if e.path == "/v0.4/jobs" and "status=ready" in e.query]
    assert len(listing) == 3


def test_filters_by_target_and_session(emu: Emulator, provider: IonQProvider) -> None:
    session = str(uuid.uuid4())
    in_session = emu.store.add_jobs(3, session_id=session)
    on_qpu = emu.store.add_jobs(2, backend="qpu.forte-1")
    other = emu.store.add_jobs(2)
    assert sorted(cancel_jobs(session_id=session, provider=provider).cancelled) == \
        sorted(in_session)
    assert sorted(cancel_jobs(target="qpu.forte-1", provider=provider).cancelled) == \
        sorted(on_qpu)
    assert [emu.store.status_of(i) for i in other] == ["ready", "ready"]


@pytest.mark.emu(api_keys=[KEY], submit_time=10, queue_time=100, run_time=50, seed=3)
def test_a_filter_cancels_submitted_and_running_jobs_too(emu: Emulator, provider: IonQProvider,
                                                         clock: ManualClock) -> None:
    done = emu.store.add_jobs(1)
    clock.advance(200)  # completed
    running = emu.store.add_jobs(2)
    clock.advance(120)  # running (started), burning QPU time
    queued = emu.store.add_jobs(2)
    clock.advance(20)  # ready
    submitted = emu.store.add_jobs(2)
    assert [emu.store.status_of(i) for i in (*done, running[0], queued[0], submitted[0])] == \
        ["completed", "started", "ready", "submitted"]
    report = cancel_jobs(target="simulator", provider=provider)
    assert sorted(report.cancelled) == sorted(running + queued + submitted)
    assert emu.store.status_of(done[0]) == "completed"
    assert all(emu.store.status_of(i) == "canceled" for i in running + queued + submitted)


def test_refuses_an_empty_or_ambiguous_request(provider: IonQProvider) -> None:
    with pytest.raises(ValueError, match="refusing to cancel every job"):
        cancel_jobs(provider=provider)
    with pytest.raises(ValueError, match="not both"):
        cancel_jobs([str(uuid.uuid4())], status="ready", provider=provider)
    with pytest.raises(ValueError, match="status must be"):
        cancel_jobs(status="completed", provider=provider)


@pytest.mark.ionq_emulator(api_keys=[KEY], queue_time=100, rate_limit=40, rate_burst=4,
                           retry_after="none", bulk_enabled=False)
def test_a_429_storm_slows_the_batch_without_losing_a_job(ionq_emulator: Emulator) -> None:
    ids = ionq_emulator.store.add_jobs(60)
    report = cancel_jobs(ids, provider=IonQProvider(KEY, url=ionq_emulator.url))
    assert report.ok, report.errors
    assert sorted(report.cancelled) == sorted(ids)
    statuses = [e.status for e in ionq_emulator.log.entries if e.path.endswith("/cancel")]
    assert 429 in statuses  # the limit was hit ...
    assert statuses.count(200) == 60  # ... and every job was cancelled exactly once


def test_job_objects_get_their_status_and_final_ones_send_nothing(
        emu: Emulator, provider: IonQProvider, clock: ManualClock) -> None:
    circuit = QuantumCircuit(1, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    backend = provider.get_backend("simulator")
    finished = backend.run(circuit)
    clock.advance(200)
    finished.result()
    queued = [backend.run(circuit) for _ in range(3)]
    before = len(emu.log)
    report = cancel_jobs([finished, *queued], provider=provider)
    assert report.statuses[finished.job_id()] is JobStatus.DONE
    assert all(job.status() is JobStatus.CANCELLED for job in queued)
    assert not any(finished.job_id() in p for p in paths(emu)[before:])


def test_the_report_renders_as_a_table_and_as_json(emu: Emulator,
                                                   provider: IonQProvider) -> None:
    ids = emu.store.add_jobs(3)
    report = cancel_jobs([*ids, "bogus"], provider=provider)
    text = str(report)
    assert text.startswith("4 jobs: 3 cancelled, 0 already finished, 0 not found, 1 invalid, "
                           "0 unknown")
    assert all(i in text for i in ids) and "InvalidJobIdError" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"]["cancelled"] == 3
    assert {j["id"]: j["status"] for j in data["jobs"]} == dict.fromkeys(ids, "CANCELLED")
    assert data["errors"][0]["id"] == "#3 'bogus'"
    assert data["version"] == 3 and data["not_reached"] == []


def test_a_deadline_that_runs_out_reports_every_job(emu: Emulator) -> None:
    fake = FakeTime()
    provider = IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(
        clock=fake.clock, sleep=fake.sleep, rng=random.Random(0)))
    ids = emu.store.add_jobs(12)
    emu.faults.inject(Fault.http(503), times=100_000)
    report = cancel_jobs(ids, provider=provider, deadline=3.0, chunk_size=5, concurrency=1)
    assert_accounted(report, set(ids))
    assert report.statuses == {}
    assert sum(fake.sleeps) <= 3.0


def test_jobs_past_the_deadline_are_not_reached_not_unknown(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 21: "not reached" is a state of its own, with the reason (it was lumped in errors
    # as "outcome unknown"): no cancel was sent for these jobs, so they are as they were.
    monkeypatch.setattr(bulk, "WINDOW", 5)
    fake = FakeTime()

    def oversleep(seconds: float) -> None:  # a loaded machine: each wait runs 2 s over
        fake.sleep(seconds + 2.0)

    provider = IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(
        clock=fake.clock, sleep=oversleep, rng=random.Random(0)))
    ids = emu.store.add_jobs(12)
    emu.faults.inject(Fault.http(503), times=100_000)
    report = cancel_jobs(ids, provider=provider, deadline=3.0, chunk_size=5, concurrency=1)
    assert list(report.errors) == ids[:5]  # sent, outcome unknown
    assert list(report.not_reached) == ids[5:]  # the later windows: nothing sent
    assert all("deadline of 3 s ran out before a cancel was sent" in why
               for why in report.not_reached.values())
    assert report.counts["not_reached"] == 7 and report.total == 12 and not report.ok
    assert "7 not reached" in report.summary()
    assert [row["id"] for row in report.to_dict()["not_reached"]] == ids[5:]
    with pytest.raises(BatchCancelError, match="not reached"):
        report.raise_for_errors()
    assert all(emu.store.status_of(i) == "ready" for i in ids)


def test_progress_bar(emu: Emulator, provider: IonQProvider,
                      capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(5)
    cancel_jobs(ids, provider=provider, progress=True)
    err = capsys.readouterr().err
    assert "Cancelling IonQ jobs" in err
    assert "5/5" in err  # the bar knows the total of a list


def test_a_chunk_too_big_for_the_server_is_halved_until_it_fits(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], queue_time=100, clock=clock, bulk_max_ids=10) as emu:
        ids = emu.store.add_jobs(40)
        report = cancel_jobs(ids, provider=IonQProvider(KEY, url=emu.url), chunk_size=40)
        assert report.ok and sorted(report.cancelled) == sorted(ids)
        assert paths(emu, "PUT") == [BULK] * paths(emu, "PUT").count(BULK)  # no single cancels
        statuses = [e.status for e in emu.log.entries if e.path == BULK]
        assert statuses.count(400) == 3  # 40 -> 20 + 20 -> four chunks of 10
        assert statuses.count(200) == 4


def test_report_rows_follow_the_input_order(emu: Emulator, provider: IonQProvider) -> None:
    ids = emu.store.add_jobs(40)
    given = [*reversed(ids[:20]), "bad-1", *ids[20:], "bad-2"]
    report = cancel_jobs(given, provider=provider, chunk_size=7)
    assert list(report.statuses) == [i for i in given if not i.startswith("bad")]
    assert list(report.errors) == ["#20 'bad-1'", "#41 'bad-2'"]
