"""Issue 21: the deadline scope itself (``_core/deadline.py``): nesting narrows, one
interrupt wakes every wait and runs each hook once."""

from __future__ import annotations

import pytest

from qiskit_ionq_cancel._core.deadline import Deadline, current, scope


def test_a_nested_scope_never_extends_the_outer_one_and_shares_its_interrupt() -> None:
    with scope(0.5) as outer:
        with scope(60) as inner:
            assert inner is outer  # the outer one binds: messages quote its 0.5 s
            assert current() is outer
        with scope(0.1) as shorter:
            assert shorter is not outer and shorter.seconds == 0.1
            outer.interrupt()
            assert shorter.interrupted and shorter.wait(10)  # wakes at once
    assert current() is None


def test_the_interrupt_runs_each_hook_once_and_a_late_hook_at_once() -> None:
    deadline = Deadline(None)
    calls: list[str] = []
    hook = lambda: calls.append("a")  # noqa: E731
    deadline.on_interrupt(hook)
    deadline.on_interrupt(hook)
    deadline.interrupt()
    deadline.on_interrupt(lambda: calls.append("late"))
    assert calls == ["a", "late"]


def test_ctrl_c_leaving_a_scope_interrupts_it() -> None:
    with pytest.raises(KeyboardInterrupt), scope(None) as deadline:
        raise KeyboardInterrupt
    assert deadline.interrupted
