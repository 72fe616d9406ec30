"""Issue 21: ``job.result()`` on a results answer that is a 200 but no JSON a client can read
(a proxy's HTML page, JSON nested too deep to parse) raises the typed ``NoAnswerError``, after
retrying, never a bare ``JSONDecodeError`` or ``RecursionError``."""

from __future__ import annotations

import socket

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper
from support import KEY, bell

from qiskit_ionq_cancel import IonQProvider, NoAnswerError, RetryPolicy
from qiskit_ionq_cancel.emulator import ManualClock

pytestmark = pytest.mark.emu(queue_time=1, run_time=1)


@pytest.mark.parametrize("payload", [
    b"<html><body>502 Bad Gateway</body></html>",
    b"[" * 100_000 + b"]" * 100_000,
], ids=["html", "nested"])
def test_an_unreadable_results_body_is_a_no_answer_error(emu: Emulator, clock: ManualClock,
                                                         payload: bytes) -> None:
    def act(sock: socket.socket, answer: Answer | None) -> None:
        sock.sendall(Answer(200, "OK", [("Content-Type", "application/json")],
                            payload).raw())

    def rule(seen: Seen) -> Tamper | None:
        return Tamper(act, forward=False) if "/results" in seen.path else None

    server = HostileServer(emu.url, rule)
    try:
        policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.01)
        provider = IonQProvider(KEY, url=server.url, retry_policy=policy)
        job = provider.get_backend("simulator").run(bell(), shots=100)
        clock.advance(5)
        with pytest.raises(NoAnswerError, match="non-JSON"):
            job.result()
    finally:
        server.close()
    assert sum("/results" in s.path for s in server.seen) == 3  # retried


def test_a_binary_artifact_is_returned_as_bytes(emu: Emulator, clock: ManualClock) -> None:
    # the ionq.mir.v1 compiled circuit is application/octet-stream: not a non-JSON fault
    def act(sock: socket.socket, answer: Answer | None) -> None:
        sock.sendall(Answer(200, "OK", [("Content-Type", "application/octet-stream")],
                            b"\x00MIR").raw())

    def rule(seen: Seen) -> Tamper | None:
        return Tamper(act, forward=False) if "/artifacts/" in seen.path else None

    server = HostileServer(emu.url, rule)
    try:
        provider = IonQProvider(KEY, url=server.url)
        job = provider.get_backend("simulator").run(bell(), shots=100)
        assert job._client.get_artifact(job.job_id(), "mir") == b"\x00MIR"
    finally:
        server.close()
