"""``ionq-cancel emulator``: the emulator as a process."""

from __future__ import annotations

import re
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from contract.observed import Emulator
from support import TIMEOUT, assert_ionq_error, auth, job_body, one_line

from qiskit_ionq_cancel.cli import main

BANNER = re.compile(r"IonQ emulator listening on (http://127\.0\.0\.1:(\d+)/v0\.4)")
#: Guard for a process that never prints its banner (qiskit's import takes a second or two).
STARTUP_GUARD = 60


@contextmanager
def cli_emulator(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``python -m qiskit_ionq_cancel.cli emulator ARGS``; yield (url, process)."""
    command = [sys.executable, "-m", "qiskit_ionq_cancel.cli", "emulator", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], STARTUP_GUARD)
        assert ready, "the emulator printed nothing"
        line = process.stdout.readline()
        match = BANNER.fullmatch(line.strip())
        assert match, f"unexpected first line {line!r} (exit code {process.poll()})"
        assert int(match[2]) > 0
        yield match[1], process
    finally:
        process.kill()
        process.communicate(timeout=TIMEOUT)


def test_cli_serves_with_its_options() -> None:
    with cli_emulator("--port", "0", "--seed", "1", "--api-key", "cli-key",
                      "--queue-time", "0", "--run-time", "0",
                      "--finished-cancel", "conflict", "--no-bulk") as (url, process):
        assert process.poll() is None

        # public, no key needed
        response = requests.get(f"{url}/backends/simulator", timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.json()["qubits"] == 29

        # --api-key: only that key passes
        assert_ionq_error(requests.post(f"{url}/jobs", json=job_body(),
                                        headers=auth("another-key"), timeout=TIMEOUT), 401)
        response = requests.post(f"{url}/jobs", json=job_body(), headers=auth("cli-key"),
                                 timeout=TIMEOUT)
        assert response.status_code == 201
        job_id = response.json()["id"]

        # --seed 1: the same ids as an in-process emulator seeded 1
        assert job_id == Emulator(seed=1).store.add_jobs(1)[0]

        # --queue-time 0 --run-time 0: done at once
        job = requests.get(f"{url}/jobs/{job_id}", headers=auth("cli-key"),
                           timeout=TIMEOUT).json()
        assert job["status"] == "completed"

        # --finished-cancel conflict
        assert_ionq_error(requests.put(f"{url}/jobs/{job_id}/status/cancel",
                                       headers=auth("cli-key"), timeout=TIMEOUT), 409)
        # --no-bulk
        assert_ionq_error(requests.put(f"{url}/jobs/status/cancel", json={"ids": [job_id]},
                                       headers=auth("cli-key"), timeout=TIMEOUT), 404)
        process.terminate()
        process.wait(timeout=TIMEOUT)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/backends", timeout=TIMEOUT)


def test_cli_refuses_a_port_in_use() -> None:
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        command = [sys.executable, "-m", "qiskit_ionq_cancel.cli", "emulator",
                   "--port", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        try:
            out, err = process.communicate(timeout=STARTUP_GUARD)
        finally:
            process.kill()
            process.communicate()
        assert process.returncode == 2
        assert "listening" not in out
        assert err.startswith("ionq-cancel emulator:")
    finally:
        blocker.close()


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--fault-rate", "2"], "argument --fault-rate: expected a share from 0 to 1, not '2'"),
     (["--fault-kinds", "500,teapot"], "unknown fault kind(s) 'teapot'"),
     (["--rate-limit", "0"], "argument --rate-limit: expected a number above 0, not '0'")],
)
def test_cli_bad_settings_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                                 words: str) -> None:
    # Refused while the arguments are read, before anything binds or serves: safe in-process.
    with pytest.raises(SystemExit) as exited:
        main(["emulator", *args])
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert "listening" not in captured.out
    assert words in one_line(captured.err)  # wrapped to the terminal


@pytest.mark.parametrize("args", [["--finished-cancel", "maybe"], ["--retry-after", "soon"],
                                  ["--port", "abc"]])
def test_cli_rejects_bad_choices(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["emulator", *args])
    assert exited.value.code == 2
    assert "invalid" in capsys.readouterr().err
