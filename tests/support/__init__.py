"""The tests' one helpers package (``from support import ...``): HTTP helpers for talking to
the emulator (:mod:`.api`) and the client tests' helpers (:mod:`.jobs`). Fixtures live in
``conftest.py``; nothing imports ``conftest``."""

from qiskit_ionq_cancel._core import status

from .api import BELL_INPUT, KEY, TIMEOUT, Api, assert_ionq_error, auth, job_body
from .interrupts import interrupt_at_line, landed_before_the_body, report_in
from .jobs import (
    BAD_IDS,
    CANONICAL_UUID,
    FINAL_AS_QISKIT,
    GOOD_ID,
    FakeTime,
    assert_report_agrees,
    bell,
    input_keys,
    point_env_at,
    server_status,
    wait_for,
)
from .text import one_line

#: The statuses a cancel can still act on, as a set (from the package's one table).
CANCELLABLE = frozenset(status.CANCELLABLE)

__all__ = [
    "BAD_IDS",
    "BELL_INPUT",
    "CANCELLABLE",
    "CANONICAL_UUID",
    "FINAL_AS_QISKIT",
    "GOOD_ID",
    "KEY",
    "TIMEOUT",
    "Api",
    "FakeTime",
    "assert_ionq_error",
    "assert_report_agrees",
    "auth",
    "bell",
    "input_keys",
    "interrupt_at_line",
    "job_body",
    "landed_before_the_body",
    "one_line",
    "point_env_at",
    "report_in",
    "server_status",
    "wait_for",
]
