"""Issue 12, listing and bad input: a listing bounded by its deadline and free of cursor loops,
typed errors for URLs the library cannot use, and CLI inputs that exit 2 with a message."""

from __future__ import annotations

import io
import itertools
import json
import socket
import sys
import threading
from collections.abc import Callable

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper
from support import KEY, one_line, point_env_at

from qiskit_ionq_cancel import (
    InsecureURLError,
    IonQProvider,
    IonQRequestError,
    RetryPolicy,
    cancel_jobs,
)
from qiskit_ionq_cancel.cli import main

pytestmark = pytest.mark.emu(queue_time=100)



def paging(emu: Emulator, next_cursor: Callable[[], str]) -> HostileServer:
    """Answers every listing with one page of no jobs and ``next_cursor()`` as its cursor."""
    def act(sock: socket.socket, answer: Answer | None) -> None:
        page = Answer(200, "OK", [("Content-Type", "application/json")],
                      json.dumps({"jobs": [], "next": next_cursor()}).encode())
        sock.sendall(page.raw())

    def rule(seen: Seen) -> Tamper | None:
        path = seen.path.split("?")[0]
        listing = seen.method == "GET" and path == "/v0.4/jobs"
        return Tamper(act, forward=False) if listing else None
    return HostileServer(emu.url, rule)


def listings(server: HostileServer) -> int:
    return sum(s.path.startswith("/v0.4/jobs?") for s in server.seen)


def test_a_repeated_cursor_stops_the_listing(emu: Emulator) -> None:
    server = paging(emu, lambda: "same-cursor")
    try:
        with pytest.raises(IonQRequestError, match="cursor it had sent before"):
            cancel_jobs(status="ready", provider=IonQProvider(KEY, url=server.url))
    finally:
        server.close()
    assert listings(server) == 2


def test_an_endless_listing_is_bounded_by_the_deadline(emu: Emulator) -> None:
    counter = itertools.count()
    lock = threading.Lock()

    def fresh() -> str:
        with lock:
            return f"cursor-{next(counter)}"

    server = paging(emu, fresh)
    try:
        with pytest.raises(IonQRequestError, match="deadline"):
            cancel_jobs(status="ready", provider=IonQProvider(KEY, url=server.url),
                        deadline=1)
        with pytest.raises(IonQRequestError, match="deadline"):
            list(IonQProvider(KEY, url=server.url, retry_policy=RetryPolicy(deadline=1))
                 .client.iter_jobs())
    finally:
        server.close()
    assert listings(server) < 100_000


@pytest.mark.parametrize("url", ["https://[::1/v0.4", "https://api.ionq.co:99999/v0.4",
                                 "https://api.ionq.co:abc/v0.4", "https://api.ionq.co:0/v0.4"])
def test_a_url_the_library_cannot_use_is_a_typed_error(url: str) -> None:
    with pytest.raises(InsecureURLError, match="not a valid http"):
        IonQProvider(KEY, url=url)


@pytest.mark.parametrize("url", ["https://[::1/v0.4", "https://api.ionq.co:99999/v0.4",
                                 "https://api.ionq.co:abc/v0.4"])
def test_the_cli_says_what_is_wrong_with_a_url(emu: Emulator, url: str,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    point_env_at(monkeypatch, url, KEY)
    (job_id,) = emu.store.add_jobs(1)
    assert main([job_id]) == 2
    err = one_line(capsys.readouterr().err)
    # the URL's own problem, named: not a URL at all, or its port
    assert ("not an http(s) URL" in err or "port" in err) and "Error" not in err


def test_the_cli_with_a_closed_stdin_exits_2(emu: Emulator, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    point_env_at(monkeypatch, emu.url, KEY)
    closed = io.StringIO("")
    closed.close()
    monkeypatch.setattr(sys, "stdin", closed)
    assert main(["--from-file", "-"]) == 2
    assert "stdin" in one_line(capsys.readouterr().err)
    monkeypatch.setattr(sys, "stdin", None)
    assert main(["--from-file", "-"]) == 2
    assert "stdin" in one_line(capsys.readouterr().err)
