"""The shared rate gate, on a fake clock: free until a 429, then paced, then free again."""

from __future__ import annotations

import pytest

from qiskit_ionq_cancel.ratelimit import CUT_EVERY, FORGET_AFTER, RateGate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gate_clock() -> Clock:
    return Clock()


def test_runs_free_until_the_first_429(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    assert [gate.delay() for _ in range(100)] == [0.0] * 100
    assert gate.rate is None


def test_the_first_429_paces_at_most_what_got_through(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    for _ in range(50):  # 50 answers over half a second: 100 a second got through
        gate_clock.now += 0.01
        gate.success()
    gate.throttled(None)
    assert gate.rate is not None and gate.rate <= 100
    waits = [gate.delay() for _ in range(10)]
    assert waits == sorted(waits) and waits[-1] > 0  # later requests wait longer


def test_retry_after_closes_the_gate_for_everyone(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    gate.throttled(2.0)
    assert gate.delay() >= 2.0
    gate_clock.now += 2.5
    assert gate.delay() < 1.0


def test_a_burst_of_429s_cuts_the_rate_once(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    for _ in range(50):
        gate_clock.now += 0.01
        gate.success()
    gate.throttled(None)
    first = gate.rate
    assert first is not None
    gate.throttled(None)  # same burst: no second cut
    assert gate.rate == first
    gate_clock.now += CUT_EVERY * 2
    gate.throttled(None)
    assert gate.rate is not None and gate.rate < first


def test_the_limit_is_forgotten_after_a_quiet_spell(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    gate.throttled(None)
    assert gate.rate is not None
    gate_clock.now += FORGET_AFTER + 1
    gate.delay()
    assert gate.rate is None


def test_successes_raise_the_rate_but_not_past_what_gets_through(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    gate.throttled(None)
    start = gate.rate
    assert start is not None
    for _ in range(20):
        gate_clock.now += 0.05
        gate.success()
    assert gate.rate is not None and gate.rate >= start
    assert gate.rate <= 1.25 * 20 / 0.95 + 1e-9
