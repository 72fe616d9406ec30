"""acancel() and acancel_jobs() against the emulator: the same verdicts and reports as the
blocking forms, coalescing that keeps each caller's own answer, and a cancelled task that
leaves no job silently running."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
from contract.observed import Emulator
from qiskit.providers import JobStatus
from qiskit_ionq import IonQProvider as StockProvider
from support import bell, point_env_at, report_in, server_status, wait_for

from qiskit_ionq_cancel import (
    AuthenticationError,
    CancelReport,
    InvalidJobIdError,
    IonQProvider,
    JobNotFoundError,
    JobNotSubmittedError,
    NoAnswerError,
    acancel,
    acancel_jobs,
    cancel,
    cancel_jobs,
)
from qiskit_ionq_cancel.emulator import Fault, ManualClock

KEY = "aio-test-key-0f1e2d3c4b5a"
BULK = "/v0.4/jobs/status/cancel"
#: Loose: how long past a timeout or deadline a call may take to return (busy CI machines).
SLACK = 3.0

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, run_time=10, seed=5)

T = TypeVar("T")


@pytest.fixture
def provider(emu: Emulator) -> IonQProvider:
    return IonQProvider(KEY, url=emu.url)


def run(awaitable: Awaitable[T]) -> T:
    async def main() -> T:
        return await awaitable
    return asyncio.run(main())


def cancels_sent(emu: Emulator) -> tuple[int, int]:
    """(bulk cancel requests, single cancel requests) the emulator received."""
    puts = [e.path for e in emu.log.entries if e.method == "PUT"]
    return puts.count(BULK), sum(p.endswith("/status/cancel") and p != BULK for p in puts)


def worlds(emu: Emulator, clock: ManualClock) -> tuple[list[str], list[str]]:
    """The same world twice, 100 inputs each: 2 completed jobs, 1 failed, 95 queued, 1
    unknown id, and a queued one given twice."""
    done = [emu.store.add_jobs(2) for _ in range(2)]
    failed = [emu.store.add_jobs(1, will_fail=True) for _ in range(2)]
    clock.advance(200)
    queued = [emu.store.add_jobs(95) for _ in range(2)]
    first, second = ([*queued[i], *done[i], *failed[i], str(uuid.uuid4()), queued[i][0]]
                     for i in range(2))
    return first, second


def as_row(outcome: bool | BaseException) -> str:
    """A verdict or error of acancel, in the terms of a report row."""
    if isinstance(outcome, BaseException):
        return type(outcome).__name__
    return "CANCELLED" if outcome else "FINAL"


def row_of(report: CancelReport, job_id: str) -> str:
    if job_id in report.statuses:
        return "CANCELLED" if report.statuses[job_id] is JobStatus.CANCELLED else "FINAL"
    return type(report.errors[job_id]).__name__


def threads_of_the_package() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ionq-cancel")]


# -- verdicts ----------------------------------------------------------------------------------

def test_a_gather_of_100_acancel_gives_the_verdicts_cancel_jobs_gives(
        emu: Emulator, provider: IonQProvider, clock: ManualClock) -> None:
    mine, theirs = worlds(emu, clock)

    async def gathered() -> list[bool | BaseException]:
        return await asyncio.gather(*(acancel(i, provider=provider) for i in mine),
                                    return_exceptions=True)

    outcomes = asyncio.run(gathered())
    sent = cancels_sent(emu)
    report = cancel_jobs(theirs, provider=provider)

    assert [as_row(o) for o in outcomes] == [row_of(report, i) for i in theirs]
    assert [as_row(o) for o in outcomes].count("CANCELLED") == 96  # the duplicate too
    for job_id, outcome in zip(mine, outcomes, strict=True):
        on_server = server_status(emu, job_id)
        if outcome is True:
            assert on_server == "canceled"
        elif outcome is False:
            assert on_server in ("completed", "failed")
        else:  # the unknown id: the error is about that job
            assert isinstance(outcome, JobNotFoundError) and outcome.job_id == job_id
    # coalesced: one bulk request, where 100 cancel() calls send 100 (and 100 read-backs)
    assert sent == (1, 1)  # the unknown id is tried alone, as cancel_jobs does


def test_acancel_of_jobs_updates_them_and_a_final_one_sends_nothing(
        emu: Emulator, provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    jobs = [backend.run(bell()) for _ in range(3)]

    async def both() -> list[bool]:
        return await asyncio.gather(*(acancel(job) for job in jobs))

    assert asyncio.run(both()) == [True, True, True]
    assert all(job.status() is JobStatus.CANCELLED for job in jobs)  # no request: local
    before = len(emu.log)
    assert run(acancel(jobs[0])) is True  # cancelled locally: nothing sent
    assert len(emu.log) == before
    assert run(acancel(jobs[0], verify=True)) is True  # asked again, as cancel() does
    assert len(emu.log) > before


def test_a_plain_qiskit_ionq_job_and_an_id_from_the_environment(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    point_env_at(monkeypatch, emu.url, KEY)
    stock = StockProvider(KEY, url=emu.url).get_backend("simulator").run(bell())
    queued = emu.store.add_jobs(2)

    async def all_three() -> list[bool]:
        return await asyncio.gather(acancel(stock), *(acancel(i) for i in queued))

    assert asyncio.run(all_three()) == [True, True, True]
    assert stock.status() is JobStatus.CANCELLED
    assert all(emu.store.status_of(i) == "canceled" for i in [stock.job_id(), *queued])
    assert cancels_sent(emu)[0] == 1  # the two ids from the environment, gathered


def test_bad_input_raises_before_anything_is_sent(emu: Emulator, provider: IonQProvider,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    point_env_at(monkeypatch, emu.url, KEY)
    unsent = provider.get_backend("simulator").run(bell())
    unsent._job_id = None  # as a job never submitted
    before = len(emu.log)
    for bad in ["../etc", KEY, 42]:
        with pytest.raises(InvalidJobIdError) as info:
            run(acancel(bad, provider=provider))  # type: ignore[arg-type]
        assert KEY not in str(info.value) and KEY not in repr(info.value)
    with pytest.raises(InvalidJobIdError):
        run(acancel(KEY))  # from the environment: its key is kept out too
    with pytest.raises(JobNotSubmittedError):
        run(acancel(unsent))
    with pytest.raises(ValueError, match="deadline must be positive"):
        run(acancel(str(uuid.uuid4()), provider=provider, deadline=0))
    with pytest.raises(ValueError, match="chunk_size"):
        run(acancel_jobs([str(uuid.uuid4())], provider=provider, chunk_size=0))
    assert len(emu.log) == before


def test_a_refused_key_is_each_caller_s_error_and_never_shown(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    wrong = "wrong-key-" + KEY[::-1]
    ids = emu.store.add_jobs(3)
    provider = IonQProvider(wrong, url=emu.url)

    async def refused() -> list[bool | BaseException]:
        return await asyncio.gather(*(acancel(i, provider=provider) for i in ids),
                                    return_exceptions=True)

    with caplog.at_level(logging.DEBUG):
        outcomes = asyncio.run(refused())
        report = run(acancel_jobs(ids, provider=provider))
    assert all(isinstance(o, AuthenticationError) for o in outcomes), outcomes
    # each caller's error names its own job (the request named several)
    assert [o.job_id for o in outcomes] == ids  # type: ignore[union-attr]
    assert all(str(o).startswith(f"Job {i}, ") for o, i in zip(outcomes, ids, strict=True))
    assert len({id(o) for o in outcomes}) == len(ids)
    assert set(report.errors) == set(ids)
    shown = [caplog.text, str(report), *(f"{o} {o!r}" for o in outcomes)]
    assert not any(wrong in text or wrong[:12] in text for text in shown)
    assert all(emu.store.status_of(i) == "ready" for i in ids)


# -- coalescing --------------------------------------------------------------------------------

def test_calls_are_gathered_only_with_the_same_client_and_deadline(emu: Emulator,
                                                                  provider: IonQProvider) -> None:
    other = IonQProvider(KEY, url=emu.url)  # another client (its own rate gate and pool)
    ids = emu.store.add_jobs(8)

    async def mixed() -> list[bool]:
        return await asyncio.gather(
            acancel(ids[0], provider=provider), acancel(ids[1], provider=provider),
            acancel(ids[2], provider=provider, deadline=30),
            acancel(ids[3], provider=provider, deadline=30, verify=True),
            acancel(ids[4], provider=other), acancel(ids[5], provider=other, deadline=30),
            acancel(ids[6], provider=provider, deadline=31), acancel(ids[7], provider=other))

    assert asyncio.run(mixed()) == [True] * 8
    # (provider, None), (provider, 30), (other, None), (other, 30), (provider, 31)
    assert cancels_sent(emu) == (5, 0)


def test_each_caller_gets_its_own_error(emu: Emulator, provider: IonQProvider) -> None:
    ids = emu.store.add_jobs(3)
    missing = [str(uuid.uuid4()) for _ in range(2)]

    async def some_fail() -> list[bool | BaseException]:
        return await asyncio.gather(*(acancel(i, provider=provider)
                                      for i in [ids[0], missing[0], ids[1], missing[1], ids[2]]),
                                    return_exceptions=True)

    first, lost, second, lost_too, third = asyncio.run(some_fail())
    assert [first, second, third] == [True, True, True]
    assert isinstance(lost, JobNotFoundError) and lost.job_id == missing[0]
    assert isinstance(lost_too, JobNotFoundError) and lost_too.job_id == missing[1]
    assert missing[0] in str(lost) and missing[1] not in str(lost)


@pytest.mark.emu(api_keys=[KEY], clock=None, queue_time=3600)
def test_a_gathered_call_does_not_wait_past_its_own_deadline(emu: Emulator,
                                                              provider: IonQProvider) -> None:
    ids = emu.store.add_jobs(2)
    emu.faults.inject(Fault.hang(4.0), times=4, method="PUT")

    async def both_held() -> tuple[bool | BaseException, ...]:
        return await asyncio.gather(acancel(ids[0], provider=provider, deadline=0.5),
                                    acancel(ids[1], provider=provider, deadline=0.5),
                                    return_exceptions=True)

    start = time.monotonic()
    outcomes = asyncio.run(both_held())
    assert time.monotonic() - start <= 0.5 + SLACK
    for job_id, outcome in zip(ids, outcomes, strict=True):
        assert isinstance(outcome, NoAnswerError) and outcome.job_id == job_id


# -- acancel_jobs ------------------------------------------------------------------------------

def test_acancel_jobs_reports_as_cancel_jobs(emu: Emulator, provider: IonQProvider,
                                             clock: ManualClock) -> None:
    mine, theirs = worlds(emu, clock)
    report = run(acancel_jobs([*mine, "not-an-id"], provider=provider))
    expected = cancel_jobs([*theirs, "not-an-id"], provider=provider)
    assert [row_of(report, i) for i in mine] == [row_of(expected, i) for i in theirs]
    assert report.counts == expected.counts
    assert list(report.errors)[-1] == "#100 'not-an-id'"
    # a filter, as cancel_jobs takes it
    left = emu.store.add_jobs(3)
    by_filter = run(acancel_jobs(status="ready", provider=provider))
    assert sorted(by_filter.cancelled) == sorted(left)


# -- a cancelled task --------------------------------------------------------------------------

@pytest.mark.emu(api_keys=[KEY], clock=None, queue_time=3600)
def test_a_timeout_around_acancel_jobs_leaves_no_job_silently_running(
        emu: Emulator, provider: IonQProvider, caplog: pytest.LogCaptureFixture) -> None:
    ids = emu.store.add_jobs(30)
    emu.faults.inject(Fault.hang(10.0), times=1, method="PUT", path="status/cancel")

    async def timed_out() -> None:
        await asyncio.wait_for(acancel_jobs(ids, provider=provider, chunk_size=10), 0.5)

    start = time.monotonic()
    with caplog.at_level(logging.WARNING, "qiskit_ionq_cancel"), \
            pytest.raises(asyncio.TimeoutError) as info:
        asyncio.run(timed_out())
    assert time.monotonic() - start <= 0.5 + 1.0 + SLACK  # the promise: within a second
    report = report_in(info.value)
    assert report is not None, "the cancelled call lost its report"
    assert report.total == len(ids)
    unsettled = [*report.errors, *report.not_reached]
    for job_id in ids:  # canceled, or reported (a WARNING names it too)
        assert report.statuses.get(job_id) is JobStatus.CANCELLED or job_id in unsettled
        if report.statuses.get(job_id) is JobStatus.CANCELLED:
            assert emu.store.status_of(job_id) == "canceled"
    assert unsettled, "the hung chunk was settled in time: the test proves nothing"
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert "acancel_jobs stopped, its task cancelled" in warning
    assert all(job_id in warning for job_id in unsettled[:20])
    assert KEY not in warning and KEY not in str(report) and KEY not in repr(report.errors)
    # the worker threads stopped: none is left waiting for the hung answer
    wait_for(lambda: not threads_of_the_package(), "the worker threads to stop", SLACK)


@pytest.mark.emu(api_keys=[KEY], clock=None, queue_time=3600)
def test_the_jobs_a_cancelled_acancel_jobs_never_sent_are_not_reached(
        emu: Emulator, provider: IonQProvider) -> None:
    # One request at a time, the first held: the two other chunks are never sent.
    ids = emu.store.add_jobs(30)
    emu.faults.inject(Fault.hang(10.0), times=1, method="PUT", path="status/cancel")

    async def timed_out() -> None:
        await asyncio.wait_for(acancel_jobs(ids, provider=provider, chunk_size=10,
                                            concurrency=1), 0.5)

    with pytest.raises(asyncio.TimeoutError) as info:
        asyncio.run(timed_out())
    report = report_in(info.value)
    assert report is not None
    assert sorted(report.errors) == sorted(ids[:10])  # sent: the outcome is unknown
    assert sorted(report.not_reached) == sorted(ids[10:])  # never sent: as they were
    assert all("interrupted" in why for why in report.not_reached.values())
    assert all(emu.store.status_of(i) == "ready" for i in ids[10:])
    assert report.requests == 1


@pytest.mark.emu(api_keys=[KEY], clock=None, queue_time=3600)
def test_a_timeout_around_a_gather_of_acancel_reports_its_jobs(
        emu: Emulator, provider: IonQProvider, caplog: pytest.LogCaptureFixture) -> None:
    ids = emu.store.add_jobs(5)
    emu.faults.inject(Fault.hang(10.0), times=1, method="PUT", path="status/cancel")

    async def timed_out() -> None:
        await asyncio.wait_for(asyncio.gather(*(acancel(i, provider=provider) for i in ids)),
                               0.5)

    start = time.monotonic()
    with caplog.at_level(logging.WARNING, "qiskit_ionq_cancel"), \
            pytest.raises(asyncio.TimeoutError):
        asyncio.run(timed_out())
    assert time.monotonic() - start <= 0.5 + 1.0 + SLACK
    # every caller gone: the batch was interrupted, and its jobs are named
    wait_for(lambda: any("acancel stopped" in r.getMessage() for r in caplog.records),
             "the warning about the jobs", SLACK)
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    assert all(job_id in warning for job_id in ids if emu.store.status_of(job_id) != "canceled")
    wait_for(lambda: not threads_of_the_package(), "the worker threads to stop", SLACK)


@pytest.mark.emu(api_keys=[KEY], clock=None, queue_time=3600)
def test_a_caller_that_leaves_does_not_stop_the_others(emu: Emulator,
                                                       provider: IonQProvider) -> None:
    ids = emu.store.add_jobs(2)
    emu.faults.inject(Fault.hang(0.5), times=1, method="PUT", path="status/cancel")

    async def one_leaves() -> tuple[bool, Any]:
        staying = asyncio.ensure_future(acancel(ids[0], provider=provider))
        leaving = asyncio.ensure_future(acancel(ids[1], provider=provider))
        await asyncio.sleep(0.1)  # both joined the batch, now sent (and held)
        leaving.cancel()
        return await staying, await asyncio.gather(leaving, return_exceptions=True)

    verdict, (left,) = asyncio.run(one_leaves())
    assert verdict is True
    assert isinstance(left, asyncio.CancelledError)
    # the batch went on: the job of the caller that left is cancelled too
    assert [emu.store.status_of(i) for i in ids] == ["canceled", "canceled"]


def test_a_batch_every_caller_left_before_it_was_sent_sends_nothing_and_takes_no_more(
        emu: Emulator, provider: IonQProvider, caplog: pytest.LogCaptureFixture) -> None:
    ids = emu.store.add_jobs(2)

    async def leave_then_come() -> tuple[Any, bool]:
        leaving = asyncio.ensure_future(acancel(ids[0], provider=provider))
        await asyncio.sleep(0)  # it joins a batch, to be sent when the loop comes round
        leaving.cancel()  # its only caller leaves before that
        coming = asyncio.ensure_future(acancel(ids[1], provider=provider))  # same turn
        return await asyncio.gather(leaving, return_exceptions=True), await coming

    with caplog.at_level(logging.WARNING, "qiskit_ionq_cancel"):
        (left,), verdict = asyncio.run(leave_then_come())
        wait_for(lambda: ids[0] in caplog.text, "the warning about the job left")
    assert isinstance(left, asyncio.CancelledError)
    assert verdict is True  # a batch of its own, not the one interrupted
    assert emu.store.status_of(ids[0]) == "ready"  # never sent: as it was, and said so
    assert emu.store.status_of(ids[1]) == "canceled"
    assert "Not settled" in caplog.text and ids[1] not in caplog.text


def test_cancel_and_acancel_agree_on_a_primitive_job(emu: Emulator,
                                                     provider: IonQProvider) -> None:
    from qiskit_ionq_cancel import SamplerV2

    backend = provider.get_backend("simulator")
    jobs = [SamplerV2(backend=backend).run([bell()], shots=10) for _ in range(2)]
    ionq = [job.wait_for_submission(timeout=60)[0] for job in jobs]
    assert run(acancel(jobs[0])) is True  # alone, with cancel() in a thread
    assert cancel(jobs[1]) is True
    assert [emu.store.status_of(i.job_id()) for i in ionq] == ["canceled", "canceled"]
    assert jobs[0].status() is JobStatus.CANCELLED


@pytest.mark.parametrize(("sync", "awaitable"), [(cancel, acancel), (cancel_jobs, acancel_jobs)])
def test_each_async_form_takes_the_arguments_of_its_sync_form(sync: Any, awaitable: Any) -> None:
    # mirrored by construction: a parameter added to the sync form and not to the async one
    # (as `price` was to cancel_jobs) fails here
    ours = inspect.signature(awaitable).parameters
    theirs = inspect.signature(sync).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()]
