"""``ionq-cancel cancel`` says what the jobs it cancelled were expected to cost (issue 23,
part 1): the table's ``Saved`` line and each row's figure, ``--json``'s ``saved``, and
``--price/--no-price`` (not the ``emulator`` command's ``--price``, its price table)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from contract.observed import Emulator
from support import one_line, point_env_at

from qiskit_ionq_cancel.cli import main

KEY = "cli-saved-key-5c2e9d71b0"
FORTE = "qpu.forte-1"
PROCESS_GUARD = 120  # seconds: qiskit's import takes a second or two

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, clock=None)


@pytest.fixture
def emu(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    point_env_at(monkeypatch, emu.url, KEY)
    return emu


def price_requests(emu: Emulator) -> int:
    return sum(e.path.endswith("/cost") or e.path.endswith("/jobs/estimate")
               for e in emu.log.entries)


def test_the_table_says_what_the_cancel_saved_and_what_it_did_not_count(
        emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    before = emu.store.add_jobs(1, backend=FORTE)[0]
    emu.store.cancel(before)
    ids = emu.store.add_jobs(3, backend=FORTE)
    assert main(["cancel", before, *ids]) == 0
    out = one_line(capsys.readouterr().out)  # (the table wraps to the terminal)
    assert "4 jobs: 3 cancelled, 1 already cancelled" in out
    assert ("Saved (IonQ's estimate of what the jobs this call cancelled would have cost; "
            "not a refund): 0.264 usd for 3 of 3 jobs") in out
    assert "not counted: 1 already cancelled before this call" in out
    assert "cancelled; saved 0.088 usd (estimate)" in out
    assert "cancelled; saved 0.088 usd (job)" in out


def test_json_has_the_figures(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(2, backend=FORTE)
    assert main(["cancel", "--json", *ids]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == 3
    saved = data["saved"]
    assert saved["cost"] == pytest.approx(0.176) and saved["unit"] == "usd"
    assert saved["priced"] == 2 and saved["sources"] == {"job": 1, "estimate": 1}
    assert "not a refund" in saved["what"]
    assert {job["saved"]["source"] for job in data["jobs"]} == {"job", "estimate"}


def test_no_price_sends_no_price_request(emu: Emulator,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(2, backend=FORTE)
    assert main(["cancel", "--json", "--no-price", *ids]) == 0
    saved = json.loads(capsys.readouterr().out)["saved"]
    assert price_requests(emu) == 0
    assert saved["cost"] is None and saved["reason"] == "pricing was off: price=False"
    assert saved["jobs"] == 2 and saved["quantum_seconds"] == pytest.approx(0.22)


def test_a_server_without_a_cost_endpoint_still_gives_the_verdicts(
        emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    from qiskit_ionq_cancel.emulator import Fault

    ids = emu.store.add_jobs(2, backend=FORTE)
    emu.faults.inject(Fault.http(404), times=10, path=r"/cost$")
    emu.faults.inject(Fault.http(404), times=10, path=r"/jobs/estimate$")
    assert main(["cancel", *ids]) == 0  # every job cancelled: done
    out = one_line(capsys.readouterr().out)
    assert "2 jobs: 2 cancelled" in out
    assert "Saved (IonQ's estimate" in out and "unknown (no price for 2 jobs" in out


def test_help_tells_the_two_price_options_apart() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    cancel = subprocess.run([sys.executable, "-m", "qiskit_ionq_cancel.cli", "cancel",
                             "--help"], capture_output=True, text=True, env=env,
                            timeout=PROCESS_GUARD, check=True).stdout
    emulator = subprocess.run([sys.executable, "-m", "qiskit_ionq_cancel.cli", "emulator",
                               "--help"], capture_output=True, text=True, env=env,
                              timeout=PROCESS_GUARD, check=True).stdout
    assert "--price, --no-price" in cancel and "not a" in cancel and "refund" in cancel
    assert "--price BACKEND=JSON" in emulator
    assert "the emulator's price table (not the cancel command's --price)" in \
        one_line(emulator)
