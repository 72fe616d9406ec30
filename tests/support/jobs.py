"""Helpers of the client tests: ids good and bad, a fake clock, a Bell circuit, report checks."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from qiskit import QuantumCircuit

GOOD_ID = "617a1f8b-59d4-435d-aa33-695433d7155e"
BAD_IDS = ["", " ", "../x", "a/b", f" {GOOD_ID}", f"{GOOD_ID} ", GOOD_ID.upper(),
           GOOD_ID.replace("-", ""), f"{{{GOOD_ID}}}", f"{GOOD_ID}/status", "x" * 1000,
           f"{GOOD_ID[:-1]}g", None, 42, f"../{GOOD_ID}"]


class FakeTime:
    """A clock and a sleep that only pretend: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# -- helpers of the robustness tests (fault matrix, soak, fuzzing, secrets) -------------------

#: A canonical job id: what validation lets through, and all that may ever reach a URL.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: IonQ status -> Qiskit ``JobStatus`` name, for the final statuses a report may hold.
FINAL_AS_QISKIT = {"canceled": "CANCELLED", "completed": "DONE", "failed": "ERROR"}


def server_status(emu: Any, job_id: str) -> str | None:
    """The emulator's own status of a job, or ``None`` when it does not know the id."""
    from qiskit_ionq_cancel.emulator.state import ApiError

    try:
        return str(emu.store.status_of(job_id))
    except ApiError:
        return None


def input_keys(given: Iterable[object]) -> list[str]:
    """The report key of each input, in input order, each once: a valid id is its own key,
    anything else ``#<position> <repr>`` (its position counted from 0)."""
    keys: dict[str, None] = {}
    for index, item in enumerate(given):
        valid = isinstance(item, str) and CANONICAL_UUID.fullmatch(item)
        keys.setdefault(str(item) if valid else f"#{index} {item!r}")
    return list(keys)


def assert_report_agrees(report: Any, given: Iterable[object], emu: Any,
                         unknown_may_be: Iterable[str | None] | None = None) -> None:
    """Every distinct input is in exactly one of ``statuses`` / ``errors`` / ``not_reached``
    (under its key: :func:`input_keys`), and the report
    agrees with the emulator's own state job by job.

    ``statuses``: the job is final on the server, with that very status. ``errors``: an
    invalid id (never sent; not canonical), an id the server does not know (not found), or
    a job whose outcome is unknown: the report claims nothing about it, so its state on the
    server is only checked when ``unknown_may_be`` says what it may be (``None`` in it: the
    server may not know the id).
    """
    from qiskit_ionq_cancel.exceptions import InvalidJobIdError, JobNotFoundError

    keys = [*report.statuses, *report.errors, *report.not_reached]
    assert len(keys) == len(set(keys)), "a job is reported twice"
    expected = set(input_keys(given))
    assert set(keys) == expected, (f"lost: {sorted(expected - set(keys))[:5]}, "
                                   f"extra: {sorted(set(keys) - expected)[:5]}")
    assert report.total == len(expected)
    for job_id, status in report.statuses.items():
        on_server = server_status(emu, job_id)
        assert on_server in FINAL_AS_QISKIT, (job_id, status, on_server)
        assert status.name == FINAL_AS_QISKIT[on_server], (job_id, status, on_server)
    for key, error in report.errors.items():
        if isinstance(error, InvalidJobIdError):
            assert not (isinstance(key, str) and CANONICAL_UUID.fullmatch(key)), key
            continue
        on_server = server_status(emu, key)
        if isinstance(error, JobNotFoundError):
            assert on_server is None, (key, on_server)
        elif unknown_may_be is not None:
            assert on_server in set(unknown_may_be), (key, error, on_server)


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` holds (a server thread still finishing a request), failing
    after ``timeout`` seconds: a synchronisation with a bound, not a timing assertion."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def bell() -> QuantumCircuit:
    """A Bell circuit measuring both qubits: counts only ever 00 and 11."""
    circuit = QuantumCircuit(2, 2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def point_env_at(monkeypatch: Any, url: str, key: str) -> None:
    """Make qiskit-ionq's credential lookup find only ``key`` and ``url``."""
    for name in ("QISKIT_IONQ_API_TOKEN", "IONQ_API_TOKEN", "QISKIT_IONQ_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IONQ_API_KEY", key)
    monkeypatch.setenv("IONQ_API_URL", url)
