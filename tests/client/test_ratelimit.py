"""The shared rate gate, on a fake clock: free until a 429, then paced at what gets through,
probing upwards while quiet, then free again."""

from __future__ import annotations

import pytest

from qiskit_ionq_cancel._http.rategate import BACKOFF, CUT_EVERY, FORGET_AFTER, HORIZON, RateGate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gate_clock() -> Clock:
    return Clock()


def answers(gate: RateGate, gate_clock: Clock, count: int, every: float) -> None:
    for _ in range(count):
        gate_clock.now += every
        gate.success()


def test_runs_free_until_the_first_429(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    assert [gate.delay() for _ in range(100)] == [0.0] * 100
    assert gate.rate is None


def test_the_first_429_paces_at_half_the_count_of_the_last_second(gate_clock: Clock) -> None:
    # a burst of 100 answers in 0.1 s is not 1,000 a second: it reads as 100 a second
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 100, 0.001)
    gate.throttled(None)
    assert gate.rate == 50
    turns = [gate.turn() for _ in range(5)]
    reserved = [wait for wait, taken in turns if taken]
    assert reserved == [pytest.approx(0.02), pytest.approx(0.04)]  # near slots, 20 ms apart
    far, taken = turns[-1]
    assert not taken and far > HORIZON  # a far one is only waited for, then asked again


@pytest.mark.parametrize(("before", "guess", "then", "tolerance"), [
    # 200 answers in a tenth of a second: the bucket emptied at 2,000 a second, so the guess
    # of 100 may be far too low: it doubles in an eighth of a second
    pytest.param((200, 0.0005), 100, (12, 0.01), 0.2, id="far below: every eighth second"),
    # 20 answers in 0.38 s emptied it (52 a second): the guess of 10 is past an eighth of that
    pytest.param((20, 0.02), 10, (3, 0.1), 0.15, id="every quarter second"),
    # 40 answers a second for a second: the limit is below 40 a second, so the guess of 20
    # (half of it already) climbs slowly: doubling in half a second, not a quarter
    pytest.param((40, 0.025), 20, (10, 0.05), 0.15, id="past half: every half second"),
])
def test_the_first_guess_doubles_the_slower_the_nearer_the_pace_that_emptied_the_bucket(
        gate_clock: Clock, before: tuple[int, float], guess: float, then: tuple[int, float],
        tolerance: float) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, *before)
    gate.throttled(None)
    assert gate.rate == guess
    answers(gate, gate_clock, *then)  # the answers of one doubling time, at the pace
    assert gate.rate == pytest.approx(2 * guess, rel=tolerance)


def test_cuts_count_the_changes_of_rate_not_every_429(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 100, 0.001)
    gate.throttled(None)
    gate_clock.now += CUT_EVERY / 2
    gate.throttled(None)  # the same burst: no new cut
    assert gate.cuts == 1
    answers(gate, gate_clock, 20, 0.01)
    gate.throttled(None)
    assert gate.cuts == 2


def test_the_rate_between_two_429s_is_what_got_through(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 100, 0.001)
    gate.throttled(None)
    answers(gate, gate_clock, 30, 0.01)  # 100 a second got through for 0.3 s
    gate.throttled(None)
    assert gate.rate == pytest.approx(BACKOFF * 100, rel=0.05)


def test_a_later_429_sets_the_rate_to_what_got_through_while_paced(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 200, 0.001)
    gate.throttled(None)  # first guess: 200 a second
    answers(gate, gate_clock, 40, 1 / 80)  # only 80 a second get through for half a second
    gate.throttled(None)
    assert gate.rate == pytest.approx(BACKOFF * 80, rel=0.05)


def test_a_burst_of_429s_counts_once(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 50, 0.01)
    gate.throttled(None)
    first = gate.rate
    gate.throttled(None)  # same burst: no second cut
    assert gate.rate == first
    gate_clock.now += CUT_EVERY * 2
    gate.throttled(None)
    assert gate.rate is not None and first is not None and gate.rate < first


@pytest.mark.parametrize("retry_after", [1.0, 3.0])
def test_a_whole_second_retry_after_is_an_upper_bound(gate_clock: Clock,
                                                      retry_after: float) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 100, 0.001)
    gate.throttled(retry_after)
    hold = gate.delay()
    assert retry_after - 1.0 <= hold <= retry_after
    assert hold < retry_after  # not a sentence: the learned rate says the next token is soon


def test_a_fractional_retry_after_is_honoured_as_given(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 100, 0.001)
    gate.throttled(2.5)
    assert gate.delay() == pytest.approx(2.5)


def test_quiet_pacing_probes_upwards_faster_the_longer_it_lasts(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    answers(gate, gate_clock, 100, 0.001)
    gate.throttled(None)
    answers(gate, gate_clock, 50, 0.01)
    gate.throttled(None)  # measured: about 95 a second
    measured = gate.rate
    assert measured is not None
    answers(gate, gate_clock, 95, 1 / 95)
    after_one = gate.rate
    answers(gate, gate_clock, 95, 1 / 95)
    after_two = gate.rate
    assert after_one is not None and after_two is not None
    assert measured < after_one < after_two
    assert after_two / after_one > after_one / measured  # the probe speeds up
    assert after_one < 1.1 * measured  # but the first second stays close


def test_the_limit_is_forgotten_after_a_quiet_spell(gate_clock: Clock) -> None:
    gate = RateGate(gate_clock)
    gate.throttled(None)
    assert gate.rate is not None
    gate_clock.now += FORGET_AFTER + 1
    gate.delay()
    assert gate.rate is None
