"""The budget guard (issue 23, part 2): ``with budget(limit):`` estimates every job submitted
through this package (``GET /jobs/estimate``) before ``POST /jobs`` and refuses one past the
limit; cancels give estimates back, billed costs replace them, a ``Session`` gets the rest as
its ``cost_limit``. Over real HTTP against the emulator, through real ``IonQProvider``
backends.

Prices (the emulator's example table, not IonQ's): a Bell circuit (one one-qubit and one
two-qubit gate) of 100 shots costs 100 * 1700 us at 0.80 usd/s = 0.136 usd on qpu.forte-1,
and the job minimum of 1.00 usd on qpu.forte-enterprise-1. The emu fixture's jobs wait 10 s
in the queue and run 5 s, on a clock the tests move.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from typing import Any
from urllib.parse import parse_qs

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper
from qiskit import QuantumCircuit
from support import bell, wait_for

from qiskit_ionq_cancel import (
    BudgetExceededError,
    IonQProvider,
    IonQRequestError,
    RetryPolicy,
    SamplerV2,
    Session,
    UsageError,
    budget,
    cancel_jobs,
    cancel_on_exit,
)
from qiskit_ionq_cancel.emulator import Fault, ManualClock

KEY = "budget-test-key-7c41d0e2a9"
FORTE = "qpu.forte-1"
ENTERPRISE = "qpu.forte-enterprise-1"
BELL = 0.136  # 100 shots of a Bell circuit on qpu.forte-1, in usd
QUEUED, RUN = 10.0, 5.0

pytestmark = pytest.mark.emu(api_keys=[KEY])


@pytest.fixture
def provider(emu: Emulator) -> IonQProvider:
    return IonQProvider(KEY, url=emu.url)


def backend(provider: IonQProvider, name: str = FORTE) -> Any:
    return provider.get_backend(name)


def requests_to(emu: Emulator, method: str, suffix: str) -> list[Any]:
    return [e for e in emu.log.entries if e.method == method and e.path.endswith(suffix)]


def posts(emu: Emulator) -> int:
    return len(requests_to(emu, "POST", "/jobs"))


def estimate_queries(emu: Emulator) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in parse_qs(e.query).items()}
            for e in requests_to(emu, "GET", "/jobs/estimate")]


def mid_circuit_measurement() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.x(0)  # after a measurement: qiskit-ionq sends OpenQASM 3
    circuit.measure(0, 1)
    return circuit


# -- the estimate, from the payload about to be sent ----------------------------------------
def test_a_job_is_estimated_from_its_payload_before_it_is_sent(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(1.0) as guard:
        job = backend(provider).run(bell(), shots=100)
        assert guard.committed == pytest.approx(BELL)
        assert guard.limit == 1.0 and guard.remaining == pytest.approx(1.0 - BELL)
    paths = [e.path for e in emu.log.entries if e.path.endswith(("/jobs", "/jobs/estimate"))]
    assert paths[:2] == ["/v0.4/jobs/estimate", "/v0.4/jobs"]  # estimated first
    assert estimate_queries(emu) == [{"backend": FORTE, "type": "ionq.circuit.v1",
                                      "qubits": "2", "shots": "100", "1q_gates": "1",
                                      "2q_gates": "1"}]
    [record] = guard.jobs
    assert record.job_id == job.job_id() and record.backend == FORTE
    assert record.estimate == pytest.approx(BELL) and not record.approximate


def test_a_multi_circuit_job_is_estimated_circuit_by_circuit_one_query_a_shape(
        emu: Emulator, provider: IonQProvider) -> None:
    # IonQ bills a multi-circuit job circuit by circuit (a job minimum per circuit): one
    # estimate of the summed gates would count the minimum and each shot's overhead once.
    one_h = QuantumCircuit(1, 1)
    one_h.h(0)
    one_h.measure(0, 0)
    with budget(5.0) as guard:
        job = backend(provider).run([bell(), one_h, bell()], shots=100)
    queries = estimate_queries(emu)
    assert {q["type"] for q in queries} == {"ionq.multi-circuit.v1"}
    assert sorted((q["1q_gates"], q["2q_gates"], q["qubits"]) for q in queries) == \
        [("1", "0", "2"), ("1", "1", "2")]  # two shapes: two queries, not three
    one_h_usd = 100 * (1000 + 100) / 1e6 * 0.80
    assert guard.jobs[0].estimate == pytest.approx(2 * BELL + one_h_usd)
    assert guard.jobs[0].estimate == pytest.approx(
        emu.store.cost(job.job_id())["estimated_cost"]["value"])  # what IonQ will bill


def test_a_multi_circuit_job_counts_the_job_minimum_of_each_circuit(
        emu: Emulator, provider: IonQProvider) -> None:
    # On the gate-priced QPU each circuit costs at least 1.00 usd: two circuits, 2.00, which
    # a 1.5 limit refuses before anything is sent (one estimate of the sum said 1.00).
    with budget(1.5) as guard, pytest.raises(BudgetExceededError) as raised:
        backend(provider, ENTERPRISE).run([bell(), bell()], shots=100)
    assert raised.value.estimate == pytest.approx(2.0)
    assert posts(emu) == 0 and guard.jobs == []


def test_an_openqasm3_job_is_estimated_from_qubits_and_shots_and_marked_approximate(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(5.0) as guard:
        backend(provider).run(mid_circuit_measurement(), shots=100)
    [query] = estimate_queries(emu)
    assert query["type"] == "ionq.qasm3.v1"
    assert (query["qubits"], query["shots"], query["1q_gates"], query["2q_gates"]) == \
        ("1", "100", "0", "0")
    [record] = guard.jobs
    assert record.approximate and record.estimate == pytest.approx(100 * 1000 / 1e6 * 0.80)


# -- the limit ----------------------------------------------------------------------------
def test_a_job_past_the_limit_is_refused_before_post_and_the_error_names_the_figures(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(0.2) as guard:
        backend(provider).run(bell(), shots=100)
        sent = posts(emu)
        with pytest.raises(BudgetExceededError) as raised:
            backend(provider).run(bell(), shots=100)
        assert posts(emu) == sent  # nothing was sent
        assert len(guard.jobs) == 1 and guard.committed == pytest.approx(BELL)
    error = raised.value
    assert error.estimate == pytest.approx(BELL) and error.committed == pytest.approx(BELL)
    assert (error.limit, error.unit, error.backend) == (0.2, "usd", FORTE)
    assert "estimated at 0.136 usd" in str(error) and "0.136 usd committed" in str(error)
    assert "limit of 0.2 usd" in str(error) and "Nothing was sent" in str(error)
    assert KEY not in str(error) and KEY not in repr(error.__dict__)


def test_a_total_equal_to_the_limit_is_within_it(provider: IonQProvider) -> None:
    with budget(2 * BELL) as guard:
        for _ in range(2):
            backend(provider).run(bell(), shots=100)
        assert guard.committed == pytest.approx(2 * BELL)
        with pytest.raises(BudgetExceededError):
            backend(provider).run(bell(), shots=100)


def test_budgets_nest_and_a_job_must_fit_each(emu: Emulator, provider: IonQProvider) -> None:
    with budget(1.0) as outer:
        with budget(0.2) as inner:
            backend(provider).run(bell(), shots=100)
            with pytest.raises(BudgetExceededError, match=r"limit of 0\.2 usd"):
                backend(provider).run(bell(), shots=100)
        assert outer.committed == inner.committed == pytest.approx(BELL)
        backend(provider).run(bell(), shots=100)  # the outer one alone allows it
        assert outer.committed == pytest.approx(2 * BELL)
    assert len(estimate_queries(emu)) == 3  # one estimate a submit, however many budgets


def test_a_submit_outside_the_block_or_of_another_provider_is_not_counted(
        emu: Emulator, provider: IonQProvider) -> None:
    other = IonQProvider(KEY, url=emu.url)
    with budget(0.2, provider=provider) as guard:
        backend(other).run(bell(), shots=100)
        backend(other).run(bell(), shots=100)
        assert guard.jobs == [] and estimate_queries(emu) == []
        backend(provider).run(bell(), shots=100)
    backend(provider).run(bell(), shots=100)
    assert len(guard.jobs) == 1 and len(estimate_queries(emu)) == 1


def test_a_free_simulator_job_counts_nothing(provider: IonQProvider) -> None:
    with budget(0) as guard:
        backend(provider, "simulator").run(bell(), shots=100)
        assert guard.committed == 0 and guard.jobs[0].estimate == 0
        with pytest.raises(BudgetExceededError):
            backend(provider).run(bell(), shots=100)


# -- the roads of submitting --------------------------------------------------------------
def test_a_primitive_jobs_worker_submits_under_its_callers_budget(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(0.2) as guard:
        first = SamplerV2(backend=backend(provider)).run([bell()], shots=100)
        first.wait_for_submission(1, timeout=30)
        assert [j.job_id for j in guard.jobs] == [first.ionq_jobs()[0].job_id()]
        refused = SamplerV2(backend=backend(provider)).run([bell()], shots=100)
        with pytest.raises(BudgetExceededError):
            refused.result()
        assert first.cancel() is True
    assert posts(emu) == 1


def test_an_asyncio_task_and_its_to_thread_calls_submit_under_the_budget(
        provider: IonQProvider) -> None:
    async def main() -> None:
        with budget(0.2) as guard:
            await asyncio.to_thread(backend(provider).run, bell(), shots=100)
            with pytest.raises(BudgetExceededError):
                await asyncio.to_thread(backend(provider).run, bell(), shots=100)
            assert len(guard.jobs) == 1

    asyncio.run(main())


# -- cancels and billing ------------------------------------------------------------------
def test_a_job_cancelled_inside_the_block_gives_its_estimate_back(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(0.2) as guard:
        one = backend(provider).run(bell(), shots=100)
        assert one.cancel() is True
        assert guard.committed == 0 and guard.jobs[0].cancelled
        two = backend(provider).run(bell(), shots=100)  # room again
        report = cancel_jobs([two])  # the bulk cancel's workers run in other threads
        assert report.cancelled == [two.job_id()]
        assert guard.committed == 0
        backend(provider).run(bell(), shots=100)
    assert posts(emu) == 3


def test_billed_costs_replace_estimates_when_the_block_exits_and_on_refresh(
        emu: Emulator, provider: IonQProvider, clock: ManualClock) -> None:
    with budget(1.0) as guard:
        done = backend(provider).run(bell(), shots=100)
        clock.advance(QUEUED + RUN)
        stopped = backend(provider).run(bell(), shots=100)
        assert requests_to(emu, "GET", "/cost") == []  # no background poller
        report = guard.refresh()
        assert report.billed == {done.job_id(): pytest.approx(BELL)}
        assert report.unfinished == {stopped.job_id(): pytest.approx(BELL)}
        clock.advance(QUEUED + 2)  # 2 s of its 5 s run: 40 of 100 shots
        stopped.cancel()
        assert guard.committed == pytest.approx(BELL)  # given back until billed
    # the exit read the billing: the shots it ran
    assert guard.report is not None
    assert guard.report.billed[stopped.job_id()] == pytest.approx(40 * 1700 / 1e6 * 0.80)
    assert guard.committed == pytest.approx(BELL + 40 * 1700 / 1e6 * 0.80)
    assert guard.report.unfinished == {} and not guard.report.over_limit


def test_each_finished_job_s_cost_is_read_once(emu: Emulator, provider: IonQProvider,
                                               clock: ManualClock) -> None:
    with budget(10.0) as guard:
        jobs = [backend(provider).run(bell(), shots=100) for _ in range(20)]
        clock.advance(QUEUED + RUN)
    assert guard.report is not None
    assert guard.report.billed == {j.job_id(): BELL for j in jobs}
    assert len(requests_to(emu, "GET", "/cost")) == 20
    assert len(requests_to(emu, "GET", "/jobs")) == 1  # the statuses: one read of 20 ids
    guard.refresh()  # billed already: nothing to read
    assert len(requests_to(emu, "GET", "/cost")) == 20


def test_jobs_not_finished_at_the_exit_are_listed_with_their_estimates(
        provider: IonQProvider) -> None:
    # Queued, not running: the report says "not finished" (Qiskit's RUNNING is one status),
    # and a job IonQ has not been asked about yet is "sent" (not IonQ's "submitted").
    with budget(1.0) as guard:
        jobs = [backend(provider).run(bell(), shots=100) for _ in range(2)]
        assert [record.status for record in guard.jobs] == ["sent", "sent"]
    assert guard.report is not None
    assert [record.status for record in guard.jobs] == ["ready", "ready"]  # read at the exit
    assert guard.report.unfinished == {j.job_id(): pytest.approx(BELL) for j in jobs}
    assert guard.report.running is guard.report.unfinished  # the first name still reads it
    text = str(guard.report)
    assert "2 not finished" in text and "running" not in text
    assert f"not finished: {jobs[0].job_id()}, estimated 0.136 usd" in text


def test_billed_costs_past_the_limit_cancel_the_unfinished_jobs(
        emu: Emulator, provider: IonQProvider, clock: ManualClock) -> None:
    # A job submitted unestimated (the estimate failed; allow_unestimated) counts nothing
    # until it is billed (2.00 usd for two circuits): billing takes the total past the limit.
    with budget(1.5, allow_unestimated=True) as guard:
        emu.faults.inject(Fault.http(404), method="GET", path=r"/jobs/estimate$")
        multi = backend(provider, ENTERPRISE).run([bell(), bell()], shots=100)
        assert guard.committed == 0 and guard.unknown == guard.jobs
        clock.advance(QUEUED + RUN)
        queued = backend(provider).run(bell(), shots=100)
        report = guard.refresh()
    assert report.billed[multi.job_id()] == pytest.approx(2.0)
    assert report.stopped == [queued.job_id()]
    assert emu.store.status_of(queued.job_id()) == "canceled"
    assert report.cancel_reports[0].cancelled == [queued.job_id()]
    assert report.over_limit and "cancelled past the limit" in str(report)


def test_a_refused_submit_is_not_counted_and_one_without_an_answer_stays_counted(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(1.0) as guard:
        emu.faults.inject(Fault.http(400), method="POST", path=r"/jobs$")
        with pytest.raises(IonQRequestError):
            backend(provider).run(bell(), shots=100)
        assert guard.jobs == [] and guard.committed == 0  # IonQ said no: no job exists
        emu.faults.inject(Fault.drop(after=True), method="POST", path=r"/jobs$")
        with pytest.raises(IonQRequestError):
            backend(provider).run(bell(), shots=100)
        [lost] = guard.jobs  # the job exists, its id unknown: its estimate stays
        assert (lost.job_id, lost.status) == (None, "lost")
        assert guard.committed == pytest.approx(BELL) and guard.unknown == [lost]
    assert guard.report is not None and guard.report.unknown == [None]


def test_a_refused_submit_leaves_nothing_in_the_ledger(emu: Emulator, tmp_path: Any) -> None:
    ledger = tmp_path / "jobs.jsonl"
    provider = IonQProvider(KEY, url=emu.url, ledger=ledger)
    with budget(0.1), pytest.raises(BudgetExceededError):
        backend(provider).run(bell(), shots=100)
    assert not ledger.exists() or ledger.read_text() == ""


def test_a_submit_the_ledger_refused_before_post_is_not_counted(emu: Emulator,
                                                                tmp_path: Any) -> None:
    # The unwritable ledger fails the submit with a UsageError before POST /jobs: no job
    # exists, so the budget must not keep it as "lost" (an unknown job, its estimate held).
    provider = IonQProvider(KEY, url=emu.url, ledger=tmp_path / "missing" / "jobs.jsonl")
    with budget(1.0) as guard:
        with pytest.raises(UsageError, match="cannot be written"):
            backend(provider).run(bell(), shots=100)
        assert posts(emu) == 0
        assert guard.jobs == [] and guard.committed == 0
    assert guard.report is not None and guard.report.unknown == []


def test_ctrl_c_while_the_first_submit_waits_for_the_watchdog_reserves_nothing(
        emu: Emulator, provider: IonQProvider, tmp_path: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A watchdog slow to be ready (here: never); Ctrl-C in the first submit's wait for it.
    # Nothing was sent: the budget kept the estimate of a "lost" job of unknown id.
    slow = tmp_path / "python"
    slow.write_text("#!/bin/sh\nexec sleep 600\n")
    slow.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(slow))
    main = threading.get_ident()

    def waiting() -> bool:
        frame = sys._current_frames().get(main)
        while frame is not None and frame.f_code.co_name != "_wait_ready":
            frame = frame.f_back
        return frame is not None

    def interrupt() -> None:
        wait_for(waiting, "the submit's wait for the watchdog", timeout=30)
        signal.pthread_kill(main, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt)
    with budget(1.0) as guard:
        with pytest.raises(KeyboardInterrupt), cancel_on_exit(watchdog=True) as scope:
            interrupter.start()
            backend(provider).run(bell(), shots=100)
        interrupter.join()
        assert posts(emu) == 0
        assert guard.jobs == [] and guard.committed == 0
        assert scope.interrupted_submits == 0  # no "a job may exist" warning: none was sent


def test_the_blocks_exception_goes_on_and_the_billing_is_still_read(
        emu: Emulator, provider: IonQProvider, clock: ManualClock) -> None:
    with pytest.raises(RuntimeError, match="the user's"), budget(1.0) as guard:
        job = backend(provider).run(bell(), shots=100)
        clock.advance(QUEUED + RUN)
        raise RuntimeError("the user's")
    assert guard.report is not None and guard.report.billed == {job.job_id(): BELL}


def test_ctrl_c_leaving_the_block_sends_nothing_more(emu: Emulator,
                                                     provider: IonQProvider) -> None:
    with pytest.raises(KeyboardInterrupt), budget(1.0) as guard:
        job = backend(provider).run(bell(), shots=100)
        sent = len(emu.log.entries)
        raise KeyboardInterrupt
    assert len(emu.log.entries) == sent
    assert guard.report is not None and guard.report.unfinished == {job.job_id(): BELL}


def test_a_billing_read_that_fails_is_reported_not_raised(emu: Emulator) -> None:
    provider = IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(max_attempts=1))
    with budget(1.0) as guard:
        job = backend(provider).run(bell(), shots=100)
        emu.faults.inject(Fault.http(500), times=10, method="GET", path=r"/jobs$")
    assert guard.report is not None and "listing" in guard.report.errors
    assert guard.report.unfinished == {job.job_id(): BELL}  # as last known
    assert "not read: listing" in str(guard.report)


# -- when the estimate cannot be had ------------------------------------------------------
def test_an_older_server_without_estimates_is_refused_by_default(
        emu: Emulator, provider: IonQProvider) -> None:
    emu.faults.inject(Fault.http(404), times=2, method="GET", path=r"/jobs/estimate$")
    with budget(10.0) as guard, pytest.raises(BudgetExceededError,
                                              match="could not be estimated") as raised:
        backend(provider).run(bell(), shots=100)
    assert raised.value.estimate is None and "allow_unestimated=True" in str(raised.value)
    assert isinstance(raised.value.__cause__, IonQRequestError)
    assert posts(emu) == 0 and guard.jobs == []


def test_an_estimate_that_times_out_is_refused(emu: Emulator) -> None:
    provider = IonQProvider(KEY, url=emu.url, timeout=(2.0, 0.5),
                            retry_policy=RetryPolicy(max_attempts=1))
    emu.faults.inject(Fault("hang", delay=1.5), method="GET", path=r"/jobs/estimate$")
    with budget(10.0), pytest.raises(BudgetExceededError, match="could not be estimated"):
        backend(provider).run(bell(), shots=100)
    assert posts(emu) == 0


def test_allow_unestimated_submits_the_job_counted_as_unknown(
        emu: Emulator, provider: IonQProvider) -> None:
    emu.faults.inject(Fault.http(404), method="GET", path=r"/jobs/estimate$")
    with budget(0.2, allow_unestimated=True) as guard:
        job = backend(provider).run(bell(), shots=100)
        assert [j.job_id for j in guard.unknown] == [job.job_id()]
        assert guard.committed == 0
        backend(provider).run(bell(), shots=100)  # estimated again: counted
        assert guard.committed == pytest.approx(BELL)
    assert guard.report is not None and guard.report.unknown == [job.job_id()]
    assert posts(emu) == 2


# -- sessions -----------------------------------------------------------------------------
def test_a_session_inside_the_block_gets_what_is_left_as_its_cost_limit(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(5.0, unit="usd") as guard:
        backend(provider).run(bell(), shots=100)
        with Session(backend(provider)) as session:
            settings = emu.sessions.get(session.session_id)["settings"]
            assert settings["cost_limit"] == {"unit": "usd",
                                              "value": pytest.approx(5.0 - BELL)}
            session.run(bell(), shots=100)
        assert guard.committed == pytest.approx(2 * BELL)
        with Session(backend(provider), max_cost=1) as lower:  # the lower of the two
            assert emu.sessions.get(lower.session_id)["settings"]["cost_limit"]["value"] \
                == 1


def test_a_session_inside_nested_budgets_gets_the_least_left(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(0.5), budget(5.0), Session(backend(provider)) as session:
        assert emu.sessions.get(session.session_id)["settings"]["cost_limit"] == {
            "unit": "usd", "value": 0.5}


def test_the_session_cost_limit_is_enforced_by_the_server_too(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(0.2):
        session = Session(backend(provider))
    session.run(bell(), shots=100)  # outside the block: only IonQ's limit applies
    with pytest.raises(IonQRequestError, match="cost_limit") as raised:
        session.run(bell(), shots=100)
    assert raised.value.status_code == 400
    session.close()


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("limit", [-1, math.nan, math.inf, "10", True, None, 10**400])
def test_a_bad_limit_is_refused_at_once(emu: Emulator, limit: Any) -> None:
    with pytest.raises(ValueError, match="limit must be a finite number") as raised:
        budget(limit)
    assert isinstance(raised.value, UsageError)
    assert list(emu.log.entries) == []


@pytest.mark.parametrize("deadline", [0, -1, math.nan, "60", True])
def test_a_bad_deadline_is_refused_at_once(emu: Emulator, deadline: Any) -> None:
    # Not at the block's exit, where the billing read would fail and leave no report.
    with pytest.raises(UsageError, match="deadline must be"):
        budget(1.0, deadline=deadline)
    assert list(emu.log.entries) == []


def test_an_unknown_unit_or_a_foreign_provider_is_refused_at_once(emu: Emulator) -> None:
    with pytest.raises(UsageError, match="unknown unit 'eur'"):
        budget(10, unit="eur")
    with pytest.raises(UsageError, match="IonQProvider of this package"):
        budget(10, provider=object())
    assert budget(10, unit="USD").unit == "usd"
    assert list(emu.log.entries) == []


@pytest.mark.emu(api_keys=[KEY], prices={FORTE: {"unit": "compute_second",
                                                 "unit_cost": 0.8, "currency": "credit"}})
def test_an_estimate_in_another_unit_is_refused_before_the_submit(
        emu: Emulator, provider: IonQProvider) -> None:
    with budget(10.0) as guard, pytest.raises(BudgetExceededError,
                                              match="unit='credit'") as raised:
        backend(provider).run(bell(), shots=100)
    assert raised.value.unit == "usd" and posts(emu) == 0 and guard.jobs == []
    with budget(10.0, unit="credit") as credits:
        backend(provider).run(bell(), shots=100)
    assert credits.committed == pytest.approx(BELL) and posts(emu) == 1


def test_the_key_is_in_no_message_or_log(emu: Emulator, provider: IonQProvider,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="qiskit_ionq_cancel")
    emu.faults.inject(Fault.http(404), method="GET", path=r"/jobs/estimate$")
    with budget(0.2, allow_unestimated=True) as guard:
        backend(provider).run(bell(), shots=100)
        backend(provider).run(bell(), shots=100)
        with pytest.raises(BudgetExceededError) as raised:
            backend(provider).run(bell(), shots=100)
    assert "could not be estimated" in caplog.text
    assert KEY not in caplog.text and KEY not in str(raised.value)
    assert KEY not in str(guard.report) and KEY not in repr(guard)


MIXED_KEY = "Budget-Test-Key-Mixed-9QzR4w"


@pytest.mark.emu(api_keys=[MIXED_KEY])
def test_an_estimate_unit_echoing_the_key_does_not_show_it_lower_cased(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    # Units are compared lower-cased: the unit the server said was lower-cased before the
    # message quoted it, which the redactor (looking for the key as it is) no longer found.
    def rule(seen: Seen) -> Tamper | None:
        if seen.method != "GET" or "/jobs/estimate" not in seen.path:
            return None

        def act(sock: socket.socket, answer: Answer | None) -> None:
            assert answer is not None
            body = json.loads(answer.body)
            body["estimated_unit"] = f"unit-{MIXED_KEY}"
            sock.sendall(answer.raw(json.dumps(body).encode()))
        return Tamper(act)

    caplog.set_level(logging.DEBUG, logger="qiskit_ionq_cancel")
    server = HostileServer(emu.url, rule)
    try:
        through = IonQProvider(MIXED_KEY, url=server.url)
        with budget(10.0), pytest.raises(BudgetExceededError) as raised:
            backend(through).run(bell(), shots=100)
        with budget(10.0), contextlib.suppress(BudgetExceededError):  # one query a shape
            backend(through).run([bell(), QuantumCircuit(1, 1)], shots=100)
    finally:
        server.close()
    assert posts(emu) <= 1 and "***" in str(raised.value)
    for text in (str(raised.value), repr(raised.value.args), caplog.text):
        assert MIXED_KEY.lower()[:12] not in text.lower(), text


def test_a_billed_unit_echoing_the_key_is_not_in_the_report(
        emu: Emulator, provider: IonQProvider, clock: ManualClock) -> None:
    # The billing read quotes the unit a cost came in when it is not the budget's: the
    # server's word, in a ValueError (not one of this package's, which redact their text).
    with budget(10.0) as guard:
        job = backend(provider).run(bell(), shots=100)
        clock.advance(QUEUED + RUN)  # done: its cost is read
        emu.faults.inject(Fault.json({"cost": {"value": 0.5, "unit": f"unit-{KEY}"}}),
                          times=10, path=r"/cost$")
    assert guard.report is not None and list(guard.report.errors) == [job.job_id()]
    for text in (str(guard.report), repr(guard.report)):
        assert KEY not in text and "unit-***" in str(guard.report), text


def test_a_refused_submit_withdraws_its_own_reservation_not_an_equal_one_in_flight(
        emu: Emulator, provider: IonQProvider, clock: ManualClock) -> None:
    """Two submits of one circuit at once: the second refused (a 400) while the first's POST
    is still unanswered. The refused one's record goes, not the first's (they are equal as
    values until the first gets its id): the first job stays counted, so its billed cost
    is read and counted against the limit."""
    arrived, refused = threading.Event(), threading.Event()
    posted: list[Seen] = []

    def rule(seen: Seen) -> Tamper | None:
        if seen.method != "POST" or not seen.path.endswith("/jobs"):
            return None
        posted.append(seen)
        if len(posted) == 1:  # the first submit: answered once the second was refused
            def late(sock: socket.socket, answer: Answer | None) -> None:
                arrived.set()
                refused.wait(20)
                assert answer is not None
                sock.sendall(answer.raw())
            return Tamper(late)
        body = b'{"statusCode":400,"error":"Bad Request","message":"refused"}'
        return Tamper(lambda sock, _: sock.sendall(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)),
            forward=False)

    server = HostileServer(emu.url, rule)
    try:
        through = IonQProvider(KEY, url=server.url)
        with budget(1.0) as guard:
            first: list[Any] = []
            context = contextvars.copy_context()
            thread = threading.Thread(target=context.run, args=(
                lambda: first.append(backend(through).run(bell(), shots=100)),))
            thread.start()
            assert arrived.wait(20)
            with pytest.raises(IonQRequestError):
                backend(through).run(bell(), shots=100)
            refused.set()
            thread.join(20)
            [job] = first
            assert [(j.job_id, j.status) for j in guard.jobs] == [(job.job_id(), "sent")]
            assert guard.unknown == []
            clock.advance(QUEUED + RUN)
    finally:
        refused.set()
        server.close()
    assert guard.report is not None and guard.report.billed == {job.job_id(): BELL}


def test_an_answer_whose_id_is_no_job_id_leaves_the_billing_read_whole(
        emu: Emulator) -> None:
    """POST /jobs answered with an id that is no IonQ job id: the submit is counted as one
    whose id is unknown, and the block's billing read still makes its report (it raised
    InvalidJobIdError, and guard.report stayed None)."""
    def rule(seen: Seen) -> Tamper | None:
        if seen.method != "POST" or not seen.path.endswith("/jobs"):
            return None

        def act(sock: socket.socket, answer: Answer | None) -> None:
            assert answer is not None
            body = json.loads(answer.body)
            body["id"] = "not-a-job-id"
            sock.sendall(answer.raw(json.dumps(body).encode()))
        return Tamper(act)

    server = HostileServer(emu.url, rule)
    try:
        with budget(1.0) as guard:
            backend(IonQProvider(KEY, url=server.url)).run(bell(), shots=100)
    finally:
        server.close()
    [record] = guard.jobs
    assert (record.job_id, record.status) == (None, "lost")
    assert guard.report is not None and guard.report.unknown == [None]
    assert guard.report.committed == pytest.approx(BELL)


def test_a_forked_child_leaving_the_block_reads_no_billing(emu: Emulator) -> None:
    # The child leaves the block in its turn (its end, or an exception): the jobs are its
    # parent's, and a billing read there could cancel them past the limit while the parent
    # goes on. (SystemExit and Ctrl-C read nothing in any process.)
    program = textwrap.dedent(f"""
        import json, os, sys
        from qiskit import QuantumCircuit
        from qiskit_ionq_cancel import IonQProvider, budget
        qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
        backend = IonQProvider({KEY!r}, url={emu.url!r}).get_backend({FORTE!r})
        with budget(5.0) as guard:
            job = backend.run(qc, shots=100)
            child = os.fork()
            if child != 0:
                _, code = os.waitpid(child, 0)
                print(json.dumps({{"job": job.job_id(), "code": code}}), flush=True)
                os._exit(0)  # the parent dies with the block open: it reads nothing either
        os._exit(0)  # the child, once it left the block
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.splitlines()[-1])
    assert said["code"] == 0 and emu.store.status_of(said["job"]) == "ready"
    reads = [e for e in emu.log.entries if e.method == "GET" and
             (e.path.endswith("/cost") or e.path.endswith("/jobs"))]
    assert reads == []
