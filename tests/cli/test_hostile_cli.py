"""Issue 12, the CLI interrupted: Ctrl-C (or SIGTERM) while requests hang stops at once,
prints the partial report with every id, and exits 130 (143)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from contract.observed import Emulator
from hostile_server import HostileServer, Seen, Tamper
from support import KEY, one_line, wait_for
from support.hold import HoldRequests

pytestmark = pytest.mark.emu(queue_time=100)
#: Guard for the process (qiskit's import takes a second or two).
PROCESS_GUARD = 120



@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_while_requests_hang_prints_the_partial_report(
        emu: Emulator, sig: signal.Signals, code: int) -> None:
    # A silent server, until the test ends (or, if the command waits for it, half the time
    # the test allows the command: then the command was not stopped by the signal).
    hold = HoldRequests(PROCESS_GUARD / 2)
    server = HostileServer(emu.url, hold)
    ids = emu.store.add_jobs(3)
    env = {**os.environ, "IONQ_API_KEY": KEY, "IONQ_API_URL": server.url}
    script = Path(sys.executable).with_name("ionq-cancel")
    try:
        process = subprocess.Popen([str(script), *ids, "--json"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        wait_for(lambda: len(hold.held) >= 1, "a cancel request in flight",
                 timeout=PROCESS_GUARD)
        process.send_signal(sig)
        out, err = process.communicate(timeout=PROCESS_GUARD)
    finally:
        hold.release()
        server.close()
    assert hold.gave_up == []  # it stopped while the server was still silent
    assert process.returncode == code, err
    report = json.loads(out)
    rows = [row["id"] for row in report["jobs"] + report["errors"]]
    assert sorted(rows) == sorted(ids)  # every id, once
    assert "stays in effect" in one_line(err) and KEY not in out + err


def test_the_key_echoed_by_the_server_never_reaches_the_cli_output(emu: Emulator) -> None:
    body = json.dumps({"statusCode": 400, "error": "Echo",
                       "message": f"bad key apiKey {KEY}"}).encode()
    echo = (f"HTTP/1.1 400 X\r\nContent-Type: application/json\r\nX-Echo: {KEY}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body

    def rule(seen: Seen) -> Tamper | None:
        return Tamper(lambda sock, answer: sock.sendall(echo), forward=False) \
            if seen.method == "PUT" else None

    server = HostileServer(emu.url, rule)
    ids = emu.store.add_jobs(2)
    env = {**os.environ, "IONQ_API_KEY": KEY, "IONQ_API_URL": server.url}
    script = Path(sys.executable).with_name("ionq-cancel")
    try:
        done = subprocess.run([str(script), "-vv", *ids], capture_output=True, text=True,
                              env=env, timeout=PROCESS_GUARD, check=False)
    finally:
        server.close()
    assert "bad key apiKey ***" in one_line(done.stdout + done.stderr)  # shown, cleaned
    assert KEY not in done.stdout + done.stderr
