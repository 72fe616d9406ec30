"""The adaptive concurrency limit: a unit test on a fake clock, and the emulator's overload
setting (503 past N requests in flight) met with no failure."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from contract.observed import Emulator

from qiskit_ionq_cancel import IonQProvider, cancel_jobs
from qiskit_ionq_cancel._http.concurrency import LATENCY_FLOOR, ConcurrencyLimit

KEY = "limiter-key-5a1b2c3d"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def answer(limit: ConcurrencyLimit, clock: Clock, rtt: float, **kwargs: Any) -> None:
    started = limit.acquire()
    clock.now += rtt
    limit.release(started, **kwargs)


def test_waiters_are_woken_by_free_slots_and_none_is_left_waiting() -> None:
    """Each answer wakes as many waiters as there are free slots (not all of them): every
    thread still gets through, and never more than the limit are in flight."""
    clock = Clock()
    limit = ConcurrencyLimit(2, 8, clock)
    lock = threading.Lock()
    peak: list[int] = [0]
    done: list[int] = []

    def worker() -> None:
        for _ in range(50):
            started = limit.acquire()
            with lock:
                peak[0] = max(peak[0], limit.in_flight)
            limit.release(started, overloaded=len(done) % 7 == 3)  # cuts, then regrowth
        with lock:
            done.append(1)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(done) == 16  # a lost wake-up would leave a thread waiting for ever
    assert 1 <= peak[0] <= 8
    assert limit.in_flight == 0


def test_slow_start_doubles_while_answers_do_not_slow_down() -> None:
    clock = Clock()
    limit = ConcurrencyLimit(4, 64, clock)
    for _ in range(4):
        answer(limit, clock, 0.05)
    assert limit.limit == 8
    for _ in range(100):
        answer(limit, clock, 0.05)
    assert limit.limit == 64  # capped


def test_queueing_answers_shrink_it_but_not_below_the_floor() -> None:
    clock = Clock()
    limit = ConcurrencyLimit(32, 64, clock)
    answer(limit, clock, 0.001)
    for _ in range(100):
        answer(limit, clock, 0.01)  # ten times the fastest: requests are queueing
    assert limit.limit == LATENCY_FLOOR
    for _ in range(40):
        answer(limit, clock, 0.001)  # fast again: it grows back, one per round trip
    assert limit.limit >= 2 * LATENCY_FLOOR


def test_near_the_last_overload_it_grows_slowly() -> None:
    clock = Clock()
    limit = ConcurrencyLimit(10, 64, clock)
    answer(limit, clock, 0.05, overloaded=True)  # overload at 10: 9 now, ceiling 10
    for _ in range(9):  # one round trip's answers at 9 in flight
        answer(limit, clock, 0.05)
    assert limit.limit == 9  # a ninth of a step, not a whole one


def test_an_overload_answer_cuts_below_its_load_once_per_burst() -> None:
    clock = Clock()
    limit = ConcurrencyLimit(20, 64, clock)
    slots = [limit.acquire() for _ in range(12)]  # twelve in flight together, all refused
    clock.now += 0.05
    for started in slots:
        limit.release(started, overloaded=True, load=12)
    assert limit.limit == 11  # below 12, once: the others were sent before the cut
    answer(limit, clock, 0.05, measured=False)  # an answer that says nothing of load
    assert limit.limit == 11
    answer(limit, clock, 0.05, overloaded=True, load=1)  # refused even alone: halved
    assert limit.limit == 5


@pytest.mark.ionq_emulator(api_keys=[KEY], queue_time=100, bulk_enabled=False,
                           max_in_flight=4, latency=0.01)
def test_a_server_that_refuses_past_four_in_flight_costs_no_failure(
        ionq_emulator: Emulator) -> None:
    ids = ionq_emulator.store.add_jobs(150)
    provider = IonQProvider(KEY, url=ionq_emulator.url)
    report = cancel_jobs(ids, provider=provider)
    assert report.ok and len(report.cancelled) == len(ids)
    overloaded = [e for e in ionq_emulator.log.entries if e.status == 503]
    assert overloaded  # the setting works: the first burst went past four
    assert provider.client.transport.limit.limit <= 8
