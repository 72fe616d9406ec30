"""Issue 23, part 1: ``CancelReport.saved``, what the jobs a cancel moved to canceled were
expected to cost (IonQ's estimate, not a refund), against the emulator's prices.

The emu fixture: queue_time=10, run_time=5 on a manual clock. ``store.add_jobs(n,
backend=FORTE)`` makes one-qubit jobs of one shape (one H gate, 100 shots): on qpu.forte-1
(0.80 usd a compute second) 100 * (1000 + 100) us = 0.11 s = 0.088 usd each.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import threading
import time
from typing import Any

import pytest
from qiskit.providers import JobStatus
from support import KEY, Api, bell, job_body

from qiskit_ionq_cancel import (
    CancelReport,
    IonQProvider,
    RetryPolicy,
    Session,
    UsageError,
    cancel_jobs,
    cancel_on_exit,
)
from qiskit_ionq_cancel.emulator import Emulator, Fault, ManualClock, Price

FORTE = "qpu.forte-1"  # priced by compute time, 0.80 usd a second by default
ENTERPRISE = "qpu.forte-enterprise-1"  # priced by gates, at least 1.00 usd a job
ONE_H_USD = 0.088  # 100 shots of one H gate on qpu.forte-1
ONE_H_SECONDS = 0.11
#: How long a call may take past its deadline in a test (loose: CI machines are busy).
SLACK = 3.0


def provider_for(emu: Emulator, deadline: float = 30.0) -> IonQProvider:
    return IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(deadline=deadline))


def requests_to(emu: Emulator, suffix: str) -> int:
    """How many requests of the emulator's log went to a path ending in ``suffix``."""
    return sum(entry.path.endswith(suffix) for entry in emu.log.entries)


def own_cost(api: Api, job_id: str) -> dict[str, Any]:
    """The job's ``estimated_cost`` as the emulator answers it."""
    answer = api.get(f"/jobs/{job_id}/cost")
    answer.raise_for_status()
    return dict(answer.json()["estimated_cost"])


def submit_shapes(api: Api, count: int, backend: str = FORTE) -> list[str]:
    """``count`` jobs of different shapes (1 to ``count`` H gates)."""
    return [api.submit(job_body(backend=backend, noise=None, input={
        "gateset": "qis", "qubits": 2,
        "circuit": [{"gate": "h", "targets": [0]}] * n}))
        for n in range(1, count + 1)]


def cancelled_long_ago(emu: Emulator, clock: ManualClock, job_id: str) -> None:
    """Cancel ``job_id`` a minute before now on the emulator's clock (its completed_at is
    then a minute in the past), so that it was canceled before any call made now."""
    clock.advance(-60.0)
    emu.store.cancel(job_id)
    clock.advance(60.0)


# -- what counts --------------------------------------------------------------------------
def test_a_job_in_two_merged_reports_counts_once(emu: Emulator, clock: ManualClock) -> None:
    """Merging reports (a scope's providers, a ledger's runs) adds each job's figures once:
    what is counted is keyed by job id, not added up as numbers."""
    first_jobs = emu.store.add_jobs(2, backend=FORTE)
    [sim] = emu.store.add_jobs(1, backend="simulator")
    report = cancel_jobs([*first_jobs, sim], provider=provider_for(emu))
    twin = copy.deepcopy(report)
    [more] = emu.store.add_jobs(1, backend=FORTE)
    other = cancel_jobs([more], provider=provider_for(emu))

    report.merge(twin)
    report.merge(other)
    saved = report.saved
    assert saved.jobs == 4 and saved.priced == 3 and saved.unpriced == 1
    assert saved.cost is not None and math.isclose(saved.cost, 3 * ONE_H_USD)
    assert saved.quantum_seconds is not None
    assert math.isclose(saved.quantum_seconds, 3 * ONE_H_SECONDS)
    assert saved.free == [sim]


def test_only_jobs_this_call_cancelled_count_and_the_report_says_which_is_which(
        emu: Emulator, clock: ManualClock, api_for: Any) -> None:
    api = api_for(emu)
    [done] = emu.store.add_jobs(1, backend=FORTE)
    clock.advance(20.0)  # done completes; the jobs made from now on are queued
    queued = emu.store.add_jobs(3, backend=FORTE)
    [before] = emu.store.add_jobs(1, backend=FORTE)
    cancelled_long_ago(emu, clock, before)
    unknown = "00000000-0000-4000-8000-000000000abc"
    report = cancel_jobs([*queued, done, before, unknown, "nope"], provider=provider_for(emu))

    assert report.statuses[done] is JobStatus.DONE
    assert report.statuses[before] is JobStatus.CANCELLED  # cancelled, but not by this call
    saved = report.saved
    assert saved.jobs == 3 and set(saved.figures) == set(queued)
    assert saved.already_cancelled == [before]
    assert saved.priced == 3 and saved.unit == "usd"
    expected = sum(own_cost(api, i)["value"] for i in queued)
    assert saved.cost is not None and math.isclose(saved.cost, expected)
    assert math.isclose(expected, 3 * ONE_H_USD)
    assert saved.quantum_seconds is not None
    assert math.isclose(saved.quantum_seconds, 3 * ONE_H_SECONDS)
    assert saved.reason is None
    text = str(report)
    saved_lines = text.splitlines()[1:text.splitlines().index(next(
        line for line in text.splitlines() if line.startswith("job id")))]
    assert saved_lines and all(len(line) <= 80 for line in saved_lines)  # a terminal's width
    text = " ".join(text.split())  # the Saved line is wrapped
    assert "not a refund" in text and "0.264 usd for 3 of 3 jobs" in text
    assert "not counted: 1 already cancelled before this call" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["version"] == 3
    assert data["saved"]["cost"] == saved.cost and data["saved"]["already_cancelled"] == [before]
    rows = {row["id"]: row for row in data["jobs"]}
    assert rows[queued[0]]["saved"]["unit"] == "usd" and "saved" not in rows[done]
    assert "saved" not in rows[before]


def test_jobs_of_one_shape_are_priced_by_one_estimate_and_say_so(
        emu: Emulator, api_for: Any) -> None:
    api = api_for(emu)
    ids = emu.store.add_jobs(40, backend=FORTE)
    report = cancel_jobs(ids, provider=provider_for(emu))
    saved = report.saved
    assert saved.priced == 40 and saved.sources == {"job": 1, "estimate": 39}
    assert requests_to(emu, "/cost") == 1 and requests_to(emu, "/jobs/estimate") == 1
    assert saved.cost is not None and math.isclose(saved.cost, 40 * ONE_H_USD)
    for job_id in ids:  # the estimate stands for each job's own figure
        assert math.isclose(saved.figures[job_id].value, own_cost(api, job_id)["value"])
    assert "1 from the job's own cost, 39 from GET /jobs/estimate" in " ".join(
        str(report).split())


def test_jobs_of_different_shapes_are_each_priced_by_their_own_cost(
        emu: Emulator, api_for: Any) -> None:
    api = api_for(emu)
    ids = submit_shapes(api, 5)
    report = cancel_jobs(ids, provider=provider_for(emu))
    assert report.saved.sources == {"job": 5, "estimate": 0}
    assert requests_to(emu, "/jobs/estimate") == 0
    assert {i: p.value for i, p in report.saved.figures.items()} == \
        {i: own_cost(api, i)["value"] for i in ids}


def test_a_multi_circuit_job_is_priced_by_its_own_cost_not_an_estimate(
        emu: Emulator, api_for: Any) -> None:
    api = api_for(emu)
    backend = provider_for(emu).get_backend("ionq_qpu.forte-1")
    jobs = [backend.run([bell(), bell()], shots=100) for _ in range(2)]  # one shape twice
    ids = [job.job_id() for job in jobs]
    saved = cancel_jobs(jobs, provider=provider_for(emu)).saved
    assert saved.sources == {"job": 2, "estimate": 0}
    assert requests_to(emu, "/jobs/estimate") == 0
    assert {i: p.value for i, p in saved.figures.items()} == \
        {i: own_cost(api, i)["value"] for i in ids}


@pytest.mark.emu(prices={ENTERPRISE: Price(unit="gates", cost_1q_gate=0.01,
                                           currency="credit")})
def test_mixed_units_are_never_added(emu: Emulator) -> None:
    usd = emu.store.add_jobs(2, backend=FORTE)
    credit = emu.store.add_jobs(1, backend=ENTERPRISE)
    saved = cancel_jobs(usd + credit, provider=provider_for(emu)).saved
    assert saved.cost is None and saved.unit is None
    assert set(saved.by_unit) == {"usd", "credit"}
    assert math.isclose(saved.by_unit["usd"], 2 * ONE_H_USD)
    assert math.isclose(saved.by_unit["credit"], 100 * 0.01)
    assert saved.reason is not None and "never added" in saved.reason


def test_simulator_jobs_are_not_priced_and_not_asked(emu: Emulator) -> None:
    ids = emu.store.add_jobs(3)  # simulator: free, no estimated_cost
    saved = cancel_jobs(ids, provider=provider_for(emu)).saved
    assert requests_to(emu, "/cost") == 0 and requests_to(emu, "/jobs/estimate") == 0
    assert saved.jobs == 3 and saved.unpriced == 3 and saved.priced == 0
    assert saved.cost is None and saved.reason is not None and "simulator" in saved.reason
    assert saved.quantum_seconds == 0  # a simulator's time is no QPU's
    assert "quantum compute time" not in saved.describe()
    # free, not "unknown": nothing was missing
    assert "unknown" not in saved.describe()
    assert "free: IonQ prices no simulator job, and the 3 jobs" in saved.describe()


def test_price_false_sends_no_price_request_and_still_counts_quantum_seconds(
        emu: Emulator) -> None:
    ids = emu.store.add_jobs(4, backend=FORTE)
    report = cancel_jobs(ids, provider=provider_for(emu), price=False)
    assert requests_to(emu, "/cost") == 0 and requests_to(emu, "/jobs/estimate") == 0
    assert report.cancelled == ids
    saved = report.saved
    assert saved.cost is None and saved.reason == "pricing was off: price=False"
    assert saved.jobs == 4 and saved.quantum_seconds is not None
    assert math.isclose(saved.quantum_seconds, 4 * ONE_H_SECONDS)


def test_pricing_is_off_above_the_limit_unless_asked_for(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    import qiskit_ionq_cancel.bulk as bulk

    monkeypatch.setattr(bulk, "PRICE_LIMIT", 3)  # 1,000 in earnest
    ids = emu.store.add_jobs(8, backend=FORTE)
    saved = cancel_jobs(ids[:4], provider=provider_for(emu)).saved
    assert requests_to(emu, "/cost") == 0 and saved.cost is None
    assert saved.reason is not None and "above 3" in saved.reason and "price=True" in saved.reason
    saved = cancel_jobs(ids[4:], provider=provider_for(emu), price=True).saved
    assert saved.priced == 4 and saved.cost is not None


def test_a_price_setting_that_is_not_a_bool_is_refused_before_anything_is_sent(
        emu: Emulator) -> None:
    ids = emu.store.add_jobs(1, backend=FORTE)
    provider = provider_for(emu)
    before = len(emu.log.entries)
    with pytest.raises(UsageError, match="price must be True, False or None"):
        cancel_jobs(ids, provider=provider, price="yes")  # type: ignore[arg-type]
    assert len(emu.log.entries) == before and emu.store.status_of(ids[0]) == "ready"


# -- a server that cannot price -------------------------------------------------------------
@pytest.mark.parametrize(("fault", "words"), [
    (Fault.http(404), "no cost endpoint"),  # a server older than the October document
    (Fault.http(500), "HTTP 500"),
    (Fault.garbage(), ""),
    (Fault.json(["not", "a", "cost"]), "not an object"),
    (Fault.json({"dry_run": False, "estimated_cost": {"value": "cheap", "unit": "usd"}}),
     "that is not a price"),
    (Fault.json({"dry_run": False, "estimated_cost": {"value": 1.0, "unit": 7}}),
     "that is not a currency"),
    (Fault.drop(), ""),
])
def test_a_cost_endpoint_that_cannot_price_leaves_the_verdicts_untouched(
        emu: Emulator, api_for: Any, fault: Fault, words: str) -> None:
    api = api_for(emu)
    ids = submit_shapes(api, 3)  # three shapes: each asked for its own cost
    emu.faults.inject(fault, times=100, path=r"/cost$")
    report = cancel_jobs(ids, provider=provider_for(emu, deadline=5.0))
    assert report.ok and report.cancelled == ids
    saved = report.saved
    assert saved.jobs == 3 and saved.priced == 0 and saved.cost is None
    assert saved.reason is not None and saved.reason.startswith("no price for 3 jobs")
    assert words in saved.reason
    assert "unknown (no price for 3 jobs" in " ".join(str(report).split())


def test_prices_that_add_up_past_any_number_give_no_cost(emu: Emulator, api_for: Any) -> None:
    # each 1e308 is a float, their sum is not: a report must not say it saved inf usd
    ids = submit_shapes(api_for(emu), 3)
    emu.faults.inject(Fault.json({"dry_run": False, "estimated_cost": {"value": 1e308,
                                                                       "unit": "usd"}}),
                      times=100, path=r"/cost$")
    report = cancel_jobs(ids, provider=provider_for(emu))
    assert report.ok and report.cancelled == ids
    saved = report.saved
    assert saved.cost is None and saved.reason is not None
    assert "past any number" in saved.reason
    assert "inf" not in " ".join(str(report).split()) and "inf" not in json.dumps(
        report.to_dict())


def test_an_estimate_endpoint_that_fails_falls_back_to_each_jobs_own_cost(
        emu: Emulator) -> None:
    ids = emu.store.add_jobs(5, backend=FORTE)
    emu.faults.inject(Fault.http(404), times=10, path=r"/jobs/estimate$")
    saved = cancel_jobs(ids, provider=provider_for(emu)).saved
    assert saved.priced == 5 and saved.sources == {"job": 5, "estimate": 0}
    assert saved.cost is not None and math.isclose(saved.cost, 5 * ONE_H_USD)


@pytest.mark.emu(clock=None, queue_time=600)
def test_a_cost_endpoint_that_hangs_is_stopped_by_the_deadline(
        emu: Emulator, api_for: Any) -> None:
    ids = submit_shapes(api_for(emu), 3)
    emu.faults.inject(Fault.hang(30.0), times=10, path=r"/cost$")
    started = time.monotonic()
    report = cancel_jobs(ids, provider=provider_for(emu), deadline=2.0)
    assert time.monotonic() - started <= 2.0 + SLACK
    assert report.ok and report.cancelled == ids  # the verdicts stand
    saved = report.saved
    assert saved.cost is None and saved.reason is not None
    assert saved.reason.startswith("no price for") and sum(saved.failed.values()) == 3


@pytest.mark.emu(clock=None, queue_time=600)
@pytest.mark.parametrize("deadline", [None, 30.0])
def test_pricing_adds_ten_seconds_at_most_once_the_verdicts_are_in(
        emu: Emulator, api_for: Any, monkeypatch: pytest.MonkeyPatch,
        deadline: float | None) -> None:
    import qiskit_ionq_cancel._http.pricing as pricing

    monkeypatch.setattr(pricing, "PRICE_WAIT", 1.0)  # 10 s in earnest
    ids = submit_shapes(api_for(emu), 2)
    emu.faults.inject(Fault.hang(30.0), times=10, path=r"/cost$")
    started = time.monotonic()
    report = cancel_jobs(ids, provider=provider_for(emu), deadline=deadline)
    assert time.monotonic() - started <= 1.0 + SLACK
    assert report.cancelled == ids and report.saved.cost is None


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach only the main thread")
@pytest.mark.emu(clock=None, queue_time=600)
def test_ctrl_c_stops_pricing_and_keeps_the_report(emu: Emulator) -> None:
    ids = emu.store.add_jobs(3, backend=FORTE)
    emu.faults.inject(Fault.hang(30.0), times=10, path=r"/cost$")
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            cancel_jobs(ids, provider=provider_for(emu))
    finally:
        timer.cancel()
    assert time.monotonic() - started <= 1.0 + SLACK  # not the 30 s of the hang
    report = caught.value.report  # type: ignore[attr-defined]
    assert isinstance(report, CancelReport) and report.total == 3
    assert report.saved.cost is None


def test_the_key_never_appears_in_what_pricing_says(emu: Emulator) -> None:
    ids = emu.store.add_jobs(2, backend=FORTE)
    emu.faults.inject(Fault.json({"dry_run": False, "estimated_cost": {"value": KEY,
                                                                       "unit": KEY}}),
                      times=10, path=r"/cost$")
    emu.faults.inject(Fault.json({"estimated_total_cost": KEY, "estimated_unit": KEY}),
                      times=10, path=r"/jobs/estimate$")
    report = cancel_jobs(ids, provider=provider_for(emu))
    assert report.saved.cost is None
    for text in (str(report), repr(report), json.dumps(report.to_dict())):
        assert KEY not in text


ALPHA_KEY = "QwErTyUiOpAsDfGh-7c41"  # 16 letters in a row: a unit may be that long


@pytest.mark.emu(api_keys=[ALPHA_KEY])
def test_a_unit_echoing_the_key_is_not_shown_lower_cased(emu: Emulator) -> None:
    # A unit is kept lower-cased: it was lower-cased before any redaction, so the key's
    # letters showed (the redactor looks for the key as it is).
    ids = emu.store.add_jobs(2, backend=FORTE)
    for path in (r"/cost$", r"/jobs/estimate$"):
        emu.faults.inject(Fault.json({"dry_run": False, "estimated_total_cost": 0.5,
                                      "estimated_unit": ALPHA_KEY[:16],
                                      "estimated_cost": {"value": 0.5,
                                                         "unit": ALPHA_KEY[:16]}}),
                          times=10, path=path)
    provider = IonQProvider(ALPHA_KEY, url=emu.url, retry_policy=RetryPolicy(deadline=30))
    report = cancel_jobs(ids, provider=provider)
    assert report.saved.jobs == 2
    for text in (str(report), repr(report), json.dumps(report.to_dict())):
        assert ALPHA_KEY[:12].lower() not in text.lower(), text


# -- the safety nets report it too ------------------------------------------------------------
def test_cancel_on_exit_reports_what_it_saved(emu: Emulator) -> None:
    backend = provider_for(emu).get_backend("ionq_qpu.forte-1")
    with pytest.raises(RuntimeError), cancel_on_exit() as scope:
        jobs = [backend.run(bell(), shots=100) for _ in range(2)]
        raise RuntimeError("the sweep failed")
    assert scope.report is not None
    saved = scope.report.saved
    assert saved.jobs == 2 and saved.priced == 2 and saved.cost is not None
    assert set(saved.figures) == {job.job_id() for job in jobs}
    assert "Saved (IonQ's estimate" in str(scope.report)


def test_a_session_ended_by_an_exception_reports_what_it_saved(emu: Emulator) -> None:
    backend = provider_for(emu).get_backend("ionq_qpu.forte-1")
    with pytest.raises(KeyError), Session(backend, max_jobs=5) as session:
        jobs = [session.run(bell(), shots=100) for _ in range(3)]
        raise KeyError("a failed step of the experiment")
    assert session.report is not None
    saved = session.report.saved
    assert saved.jobs == 3 and set(saved.figures) == {job.job_id() for job in jobs}
    assert saved.sources == {"job": 1, "estimate": 2} and saved.cost is not None


def test_a_merged_report_adds_the_figures(emu: Emulator) -> None:
    first = cancel_jobs(emu.store.add_jobs(2, backend=FORTE), provider=provider_for(emu))
    second = cancel_jobs(emu.store.add_jobs(1, backend=FORTE), provider=provider_for(emu))
    first.merge(second)
    assert first.saved.jobs == 3 and first.saved.priced == 3
    assert first.saved.cost is not None and math.isclose(first.saved.cost, 3 * ONE_H_USD)
    assert first.saved.quantum_seconds is not None
    assert math.isclose(first.saved.quantum_seconds, 3 * ONE_H_SECONDS)
