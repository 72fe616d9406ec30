"""Issue 12, ``cancel_jobs``: every path reads the jobs back before reporting them, odd job
shapes never sink the batch, and every input gets its own row without showing the key."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper, send
from qiskit.providers import JobStatus

from qiskit_ionq_cancel import (
    CancelNotConfirmedError,
    InvalidJobIdError,
    IonQProvider,
    cancel_jobs,
)
from qiskit_ionq_cancel.bulk import WINDOW
from qiskit_ionq_cancel.emulator import ManualClock

KEY = "hostile-bulk-key-\\'0ff1ce"  # a backslash and a quote: repr() escapes both


def read_backs(emu: Emulator) -> int:
    return sum(e.method == "GET" and "ids=" in e.query for e in emu.log.entries)


def test_a_claimed_cancel_of_finished_jobs_is_read_back(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], queue_time=100, run_time=10, clock=clock,
                  bulk_enabled=False, finished_cancel="claim") as emu:
        ids = emu.store.add_jobs(3)
        clock.advance(200)  # all three complete
        report = cancel_jobs(ids, provider=IonQProvider(KEY, url=emu.url))
        assert {report.statuses[i] for i in ids} == {JobStatus.DONE}
        assert report.cancelled == []
        assert read_backs(emu) >= 1


def fake_cancel(seen: Seen) -> Tamper | None:
    """Answer a single cancel ``200 canceled`` without cancelling anything."""
    if seen.method == "PUT" and seen.path.endswith("/status/cancel") and \
            seen.path.count("/") == 5:
        job_id = seen.path.split("/")[3]
        body = json.dumps({"id": job_id, "status": "canceled"}).encode()
        return Tamper(send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           + f"Content-Length: {len(body)}\r\n\r\n".encode() + body),
                      forward=False)
    return None


def test_an_unapplied_bulk_and_a_lying_single_cancel_are_not_reported_cancelled(
        clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], queue_time=100, run_time=10, clock=clock,
                  bulk_lies=True) as emu:
        ids = emu.store.add_jobs(3)
        server = HostileServer(emu.url, fake_cancel)
        try:
            report = cancel_jobs(ids, provider=IonQProvider(KEY, url=server.url))
        finally:
            server.close()
        assert report.statuses == {}
        assert all(isinstance(report.errors[i], CancelNotConfirmedError) for i in ids)
        assert all(emu.store.status_of(i) == "ready" for i in ids)


def oddly_shaped(change: Callable[[dict[str, Any]], None]
                 ) -> Callable[[Seen], Tamper | None]:
    """A rule rewriting every completed job in a GET answer with ``change``."""
    def act(sock: socket.socket, answer: Answer | None) -> None:
        assert answer is not None
        data = json.loads(answer.body)
        jobs = data["jobs"] if isinstance(data, dict) and "jobs" in data else [data]
        for job in jobs:
            if isinstance(job, dict) and job.get("status") == "completed":
                change(job)
        sock.sendall(answer.raw(json.dumps(data).encode()))

    def rule(seen: Seen) -> Tamper | None:
        return Tamper(act) if seen.method == "GET" and "/jobs" in seen.path else None
    return rule


def stats_null(job: dict[str, Any]) -> None:
    job["stats"] = None


def header_not_base64(job: dict[str, Any]) -> None:
    job["metadata"] = {"qiskit_header": "%%% not base64 %%%"}


def duration_as_text(job: dict[str, Any]) -> None:
    job["execution_duration_ms"] = "12"


SHAPES = [stats_null, header_not_base64, duration_as_text]


@pytest.mark.parametrize("change", SHAPES, ids=[c.__name__ for c in SHAPES])
def test_an_odd_finished_job_does_not_sink_the_batch(clock: ManualClock,
                                                     change: Callable[..., None]) -> None:
    with Emulator(api_keys=[KEY], queue_time=100, run_time=10, clock=clock) as emu:
        ids = emu.store.add_jobs(4)
        server = HostileServer(emu.url, oddly_shaped(change))
        try:
            backend = IonQProvider(KEY, url=server.url).get_backend("simulator")
            jobs = [backend.retrieve_job(i) for i in ids]  # QUEUED locally
            clock.advance(200)  # the first three complete; the fourth is submitted later
            late = emu.store.add_jobs(1)
            jobs.append(backend.retrieve_job(late[0]))
            report = cancel_jobs(jobs[:3] + jobs[4:])
            single = jobs[3].cancel()
        finally:
            server.close()
        assert {report.statuses[i] for i in ids[:3]} == {JobStatus.DONE}
        assert report.statuses[late[0]] is JobStatus.CANCELLED
        assert single is False
        assert all(job.status() is JobStatus.DONE for job in jobs[:4])


def test_distinct_invalid_inputs_get_their_own_rows(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], clock=clock) as emu:
        given: list[Any] = ["None", None, "1", 1, None, "1"]
        report = cancel_jobs(given, provider=IonQProvider(KEY, url=emu.url))
        assert list(report.errors) == ["#0 'None'", "#1 None", "#2 '1'", "#3 1", "#4 None",
                                       "#5 '1'"]  # every input, in order
        assert report.total == 6
        assert all(isinstance(e, InvalidJobIdError) for e in report.errors.values())


def test_inputs_whose_old_keys_collided_get_a_row_each(clock: ManualClock) -> None:
    # Issue 21: "1" and 1 were told apart by a " (int)" suffix, which "1 (int)" then took.
    with Emulator(api_keys=[KEY], clock=clock) as emu:
        given: list[Any] = ["1", 1, "1 (int)"]
        report = cancel_jobs(given, provider=IonQProvider(KEY, url=emu.url))
        assert report.total == 3 and len(report.to_dict()["errors"]) == 3
        assert list(report.errors) == ["#0 '1'", "#1 1", "#2 '1 (int)'"]


def test_a_non_str_id_holding_the_key_never_shows_it(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], clock=clock) as emu:
        given: list[Any] = [KEY.encode(), [KEY], (1, KEY), KEY]
        report = cancel_jobs(given, provider=IonQProvider(KEY, url=emu.url))
        assert len(report.errors) == 4
        shown = [json.dumps(report.to_dict()), str(report), repr(report.errors),
                 *(repr(getattr(e, "job_id", "")) for e in report.errors.values())]
        escaped = repr(KEY)[1:-1]
        assert all(KEY not in text and escaped not in text for text in shown), shown



def test_ctrl_c_reports_every_input_past_the_first_window(clock: ManualClock) -> None:
    # Issue 21: Ctrl-C on 25,000 ids gave a partial report of the first window's 20,000;
    # the ids not read yet were missing. Every input is in it: those never sent a cancel
    # as "not reached", with the reason.
    gate = threading.Event()
    interrupted: list[Seen] = []

    def hold(sock: socket.socket, answer: Answer | None) -> None:
        gate.wait(60)  # a silent server until the test ends

    def rule(seen: Seen) -> Tamper | None:
        if seen.method != "PUT":
            return None
        if not interrupted:  # Ctrl-C while the first cancel request hangs
            interrupted.append(seen)
            os.kill(os.getpid(), signal.SIGINT)
        return Tamper(hold, forward=False)

    with Emulator(api_keys=[KEY], queue_time=100, clock=clock) as emu:
        ids = emu.store.add_jobs(WINDOW + 5_000)
        given: list[Any] = [*ids, "not-an-id"]
        server = HostileServer(emu.url, rule)
        try:
            # a short read timeout: a request that slips past the abort (the interrupt's
            # speed is not what this test is about) does not hold the test for 30 s
            provider = IonQProvider(KEY, url=server.url, timeout=(5.0, 2.0))
            with pytest.raises(KeyboardInterrupt) as info:
                cancel_jobs(given, provider=provider)
        finally:
            gate.set()
            server.close()
    report = info.value.report  # type: ignore[attr-defined]
    data = report.to_dict()
    rows = [row["id"] for key in ("jobs", "errors", "not_reached") for row in data.get(key, [])]
    assert len(rows) == len(set(rows)) == report.total == len(given)
    assert set(rows) == {*ids, f"#{len(ids)} 'not-an-id'"}
    assert set(ids[WINDOW:]) <= set(report.not_reached)  # never read before Ctrl-C
    assert all("interrupted (KeyboardInterrupt)" in why for why in report.not_reached.values())
    assert isinstance(report.errors[f"#{len(ids)} 'not-an-id'"], InvalidJobIdError)
    assert all(emu.store.status_of(i) == "ready" for i in ids[WINDOW:])
