"""Issue 12, transport: every failure of a request is typed (and retried where idempotent), no
redirect is followed, answers are read within the deadline and a size cap, the key is taken
out of everything the server sends, and a huge ``Retry-After`` does not close the gate.

The faults the emulator cannot commit come from :mod:`hostile_server`, a raw socket server in
front of the emulator.
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper, send
from qiskit.providers import JobStatus
from support import KEY, FakeTime

from qiskit_ionq_cancel import (
    CancelNotConfirmedError,
    InvalidAPIKeyError,
    IonQProvider,
    IonQRequestError,
    RetriesExhaustedError,
    RetryPolicy,
    cancel,
    cancel_jobs,
)
from qiskit_ionq_cancel._http import bodyread
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.emulator import Fault

pytestmark = pytest.mark.emu(queue_time=100, run_time=10)



@pytest.fixture
def hostile(emu: Emulator) -> Iterator[Callable[[Callable[[Seen], Tamper | None]],
                                                HostileServer]]:
    servers: list[HostileServer] = []

    def make(rule: Callable[[Seen], Tamper | None]) -> HostileServer:
        server = HostileServer(emu.url, rule)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def provider_at(url: str, **policy: Any) -> IonQProvider:
    return IonQProvider(KEY, url=url, retry_policy=RetryPolicy(
        backoff_initial=0.01, backoff_max=0.05, **policy))


def once(predicate: Callable[[Seen], bool], act: Callable[..., None],
         forward: bool = True) -> Callable[[Seen], Tamper | None]:
    """A rule that tampers with the first request matching ``predicate`` only."""
    done = threading.Event()

    def rule(seen: Seen) -> Tamper | None:
        if not done.is_set() and predicate(seen):
            done.set()
            return Tamper(act, forward)
        return None
    return rule


def is_read_back(seen: Seen) -> bool:
    return seen.method == "GET" and "ids=" in seen.path


def cut_mid_body(sock: socket.socket, answer: Answer | None) -> None:
    assert answer is not None
    raw = answer.raw()
    sock.sendall(raw[:len(raw) - len(answer.body) // 2])  # headers and half the body


def cut_chunked(sock: socket.socket, answer: Answer | None) -> None:
    assert answer is not None
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                 + f"{len(answer.body):x}\r\n".encode() + answer.body[:10])


def bad_gzip(sock: socket.socket, answer: Answer | None) -> None:
    assert answer is not None
    sock.sendall(answer.raw(b"this is not gzip at all", "Content-Encoding: gzip"))


def deep_json(sock: socket.socket, answer: Answer | None) -> None:
    assert answer is not None
    sock.sendall(answer.raw(b"[" * 200_000 + b"]" * 200_000))


@pytest.mark.parametrize("act", [cut_mid_body, cut_chunked, bad_gzip, deep_json],
                         ids=["cut-body", "cut-chunked", "bad-gzip", "deep-json"])
def test_a_broken_read_back_is_retried_and_the_report_keeps_every_id(
        emu: Emulator, hostile: Any, act: Callable[..., None]) -> None:
    ids = emu.store.add_jobs(300)
    server = hostile(once(is_read_back, act))
    report = cancel_jobs(ids, provider=provider_at(server.url))
    assert sorted(report.cancelled) == sorted(ids)
    assert report.errors == {}
    assert all(emu.store.status_of(i) == "canceled" for i in ids)


@pytest.mark.parametrize("act", [cut_mid_body, cut_chunked, bad_gzip, deep_json],
                         ids=["cut-body", "cut-chunked", "bad-gzip", "deep-json"])
def test_every_broken_answer_is_a_typed_error(emu: Emulator, hostile: Any,
                                              act: Callable[..., None]) -> None:
    (job_id,) = emu.store.add_jobs(1)
    server = hostile(lambda seen: Tamper(act) if seen.method == "GET" else None)
    provider = provider_at(server.url, max_attempts=2)
    with pytest.raises(RetriesExhaustedError) as caught:
        provider.client.retrieve_job(job_id)
    assert caught.value.attempts == 2


def test_a_submit_whose_answer_is_cut_is_a_typed_error_not_retried(
        emu: Emulator, hostile: Any) -> None:
    from support import bell
    server = hostile(once(lambda s: s.method == "POST", cut_mid_body))
    backend = provider_at(server.url).get_backend("simulator")
    with pytest.raises(IonQRequestError) as caught:
        backend.run(bell(), shots=10)
    assert caught.value.status_code is None and "no answer" in str(caught.value)
    assert sum(s.method == "POST" for s in server.seen) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520])
def test_a_submit_answered_5xx_after_the_job_was_made_is_not_sent_twice(
        emu: Emulator, hostile: Any, status: int) -> None:
    from support import bell
    body = b'{"statusCode":%d,"error":"Gateway","message":"upstream hiccup"}' % status
    gateway = send(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    # Forwarded first: the emulator makes the job, then the client hears a 5xx.
    server = hostile(once(lambda s: s.method == "POST", gateway))
    backend = provider_at(server.url, max_attempts=5).get_backend("simulator")
    with pytest.raises(IonQRequestError) as caught:
        backend.run(bell(), shots=10)
    assert caught.value.status_code == status
    assert sum(s.method == "POST" for s in server.seen) == 1
    assert len(list(emu.store.iter_ids())) == 1  # one job, not a duplicate


def redirect_to(url: str) -> Callable[[socket.socket, Answer | None], None]:
    return send(f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {url}\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())


def test_a_redirect_to_another_host_is_not_followed(emu: Emulator, hostile: Any) -> None:
    (job_id,) = emu.store.add_jobs(1)
    elsewhere = hostile(lambda seen: Tamper(send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        + json.dumps({"id": job_id, "status": "canceled"}).encode()), forward=False))
    server = hostile(lambda seen: Tamper(redirect_to(f"{elsewhere.url}{seen.path[5:]}"),
                                         forward=False) if seen.method == "PUT" else None)
    with pytest.raises(IonQRequestError) as caught:
        cancel(job_id, provider=provider_at(server.url))
    assert caught.value.status_code == 307 and "redirected" in str(caught.value)
    assert elsewhere.seen == []  # the key never went there
    assert emu.store.status_of(job_id) == "ready"


def test_a_redirect_loop_is_a_typed_error(emu: Emulator, hostile: Any) -> None:
    (job_id,) = emu.store.add_jobs(1)
    holder: list[HostileServer] = []
    server = hostile(lambda seen: Tamper(redirect_to(holder[0].url + seen.path[5:]),
                                         forward=False))
    holder.append(server)
    with pytest.raises(IonQRequestError) as caught:
        cancel(job_id, provider=provider_at(server.url))
    assert caught.value.status_code == 307
    assert sum(s.method == "PUT" for s in server.seen) == 1


class Drip:
    """Answers headers, then a body one byte at a time (or, ``in_head``, a status line and
    then one endless header a byte at a time); records how much went out."""

    def __init__(self, size: int, every: float, in_head: bool = False) -> None:
        self.size, self.every, self.sent, self.in_head = size, every, 0, in_head

    def __call__(self, sock: socket.socket, answer: Answer | None) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + (b"X-Drip: " if self.in_head else
                        f"Content-Length: {self.size}\r\nConnection: close\r\n\r\n".encode()))
        for _ in range(self.size):
            sock.sendall(b"a" if self.in_head else b" ")
            self.sent += 1
            time.sleep(self.every)


@pytest.mark.parametrize("in_head", [False, True], ids=["body", "head"])
def test_a_dripping_answer_is_cut_by_the_deadline(emu: Emulator, hostile: Any,
                                                  in_head: bool) -> None:
    (job_id,) = emu.store.add_jobs(1)
    drip = Drip(size=600, every=0.02, in_head=in_head)  # 12 s of it, against a 1 s deadline
    server = hostile(lambda seen: Tamper(drip, forward=False) if "/jobs/" in seen.path
                     else None)
    with pytest.raises(IonQRequestError):
        cancel(job_id, provider=provider_at(server.url), deadline=1)
    assert drip.sent < drip.size  # the call ended while the server was still dripping


def test_a_dripping_read_back_leaves_a_report_with_every_id(emu: Emulator,
                                                            hostile: Any) -> None:
    ids = emu.store.add_jobs(3)
    drip = Drip(size=600, every=0.02)
    server = hostile(lambda seen: Tamper(drip, forward=False)
                     if seen.method == "GET" and "/jobs" in seen.path else None)
    report = cancel_jobs(ids, provider=provider_at(server.url), deadline=1)
    assert drip.sent < drip.size  # the call ended while the server was still dripping
    assert set(report.statuses) | set(report.errors) == set(ids)


def test_a_huge_answer_is_refused_not_read(emu: Emulator, hostile: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodyread, "MAX_ANSWER_BYTES", 100_000)
    (job_id,) = emu.store.add_jobs(1)
    size = 50_000_000  # far more than the socket buffers hold
    sent: list[int] = []

    def huge(sock: socket.socket, answer: Answer | None) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     + f"Content-Length: {size}\r\nConnection: close\r\n\r\n".encode())
        for _ in range(size // 10_000):
            sock.sendall(b" " * 10_000)
            sent.append(10_000)

    server = hostile(lambda seen: Tamper(huge, forward=False) if "/jobs/" in seen.path
                     else None)
    with pytest.raises(IonQRequestError) as caught:
        provider_at(server.url).client.retrieve_job(job_id)
    assert "larger than 100000 bytes" in str(caught.value)
    assert not isinstance(caught.value, RetriesExhaustedError)  # not retried
    server.close()
    assert sum(sent) < size
    assert sum(s.path.startswith("/v0.4/jobs/") for s in server.seen) == 1


def test_gzip_answers_still_work(emu: Emulator, hostile: Any) -> None:
    (job_id,) = emu.store.add_jobs(1)

    def gzipped(sock: socket.socket, answer: Answer | None) -> None:
        assert answer is not None
        sock.sendall(answer.raw(gzip.compress(answer.body), "Content-Encoding: gzip"))

    server = hostile(lambda seen: Tamper(gzipped))
    job = provider_at(server.url).client.retrieve_job(job_id)
    assert job["id"] == job_id and job["status"] == "ready"


# -- the key ------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [KEY + "\n", KEY + "\r\n", KEY + "é", "key with space",
                                 KEY + "\u2028"])
def test_a_key_that_cannot_be_sent_is_a_typed_error(emu: Emulator, key: str) -> None:
    (job_id,) = emu.store.add_jobs(1)
    with pytest.raises(InvalidAPIKeyError) as caught:
        cancel(job_id, provider=IonQProvider(key, url=emu.url))
    assert key.strip()[:10] not in str(caught.value) and KEY not in repr(caught.value)
    assert len(emu.log) == 0


def echo_key(status: int) -> Callable[[socket.socket, Answer | None], None]:
    body = json.dumps({"statusCode": status, "error": f"Echo {KEY}",
                       "message": f"bad key apiKey {KEY} for job"}).encode()
    return send(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nX-Echo: {KEY}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)


@pytest.mark.parametrize("status", [500, 400])
def test_the_key_echoed_by_the_server_is_redacted_everywhere(
        emu: Emulator, hostile: Any, status: int, caplog: pytest.LogCaptureFixture) -> None:
    ids = emu.store.add_jobs(2)
    server = hostile(lambda seen: Tamper(echo_key(status), forward=False))
    provider = provider_at(server.url, max_attempts=2)
    caplog.set_level(logging.DEBUG, logger="qiskit_ionq_cancel")
    with pytest.raises(IonQRequestError) as caught:
        provider.client.retrieve_job(ids[0])
    error = caught.value
    shown = [str(error), repr(error), str(error.headers), str(error.body),
             str(getattr(error, "last", "")), str(getattr(error, "history", "")),
             str(error.error_type), caplog.text]
    report = cancel_jobs(ids, provider=provider)
    shown += [json.dumps(report.to_dict()), str(report), caplog.text]
    assert report.errors
    assert all(KEY not in text for text in shown), [t for t in shown if KEY in t]
    assert any("***" in text for text in shown)


# -- Retry-After ----------------------------------------------------------------------------
def test_a_request_waiting_for_its_slot_is_paced_again_after_a_rate_cut(emu: Emulator) -> None:
    # Another request's 429 cuts the rate while this one sleeps until its reserved slot: it
    # asks the gate again (and waits for a later slot) rather than go at the old pace.
    fake = FakeTime()
    job_id = emu.store.add_jobs(1)[0]

    def answers(count: int) -> None:
        for _ in range(count):
            fake.now += 0.01
            gate.success()

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        if len(fake.sleeps) == 1:
            answers(5)
            gate.throttled(None)  # a cut: 90 % of what got through since the first 429

    client = IonQCancelClient(KEY, emu.url, retry_policy=RetryPolicy(
        clock=fake.clock, sleep=sleep, deadline=30))
    gate = client.transport.gate
    answers(20)
    gate.throttled(None)  # paced now, at 10 a second: the next slot is 0.1 s away
    assert client.cancel(job_id).status is JobStatus.CANCELLED
    assert gate.cuts == 2
    assert len(fake.sleeps) == 2  # its first slot, then the slot it got after the cut


def test_a_huge_retry_after_does_not_stall_later_calls(emu: Emulator) -> None:
    fake = FakeTime()
    ids = emu.store.add_jobs(2)
    provider = IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(
        clock=fake.clock, sleep=fake.sleep, deadline=30))
    emu.faults.inject(Fault.http(429, retry_after="1000000000"), method="PUT")
    with pytest.raises(RetriesExhaustedError):
        cancel(ids[0], provider=provider)
    assert cancel(ids[1], provider=provider) is True
    assert sum(fake.sleeps) < 30


# -- the key spelled with JSON escapes ------------------------------------------------------
#: Keys with characters JSON and repr escape (check_api_key allows any visible ASCII).
ODD_KEYS = ["k3Yq9Zt/R7vWm2XpL8s/Nd4HfJ6gBc1AeU", "k3Yq9Zt\"R7vWm2\\XpL8s'Nd4HfJ6gBc1AeU"]


def spelled(text: str, escape: str) -> str:
    """``text`` inside a JSON string, as a server may escape it."""
    if escape == "unicode":
        return "".join(f"\\u{ord(c):04x}" for c in text)
    return json.dumps(text)[1:-1].replace("/", "\\/")  # PHP's default: "/" as "\/"


def forms(key: str) -> set[str]:
    """The key, and as JSON and repr write it: none of them may show."""
    return {key, json.dumps(key)[1:-1], repr(key)[1:-1], key[:12], key[-12:]}


@pytest.mark.emu(api_keys=ODD_KEYS, queue_time=100, run_time=10)
@pytest.mark.parametrize("key", ODD_KEYS)
@pytest.mark.parametrize("escape", ["slash", "unicode"])
def test_a_key_echoed_in_json_escapes_is_redacted_everywhere(
        emu: Emulator, hostile: Any, key: str, escape: str,
        caplog: pytest.LogCaptureFixture) -> None:
    ids = emu.store.add_jobs(2)

    def answer(status: int, body: str) -> Callable[[socket.socket, Answer | None], None]:
        data = body.encode()
        return send(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)

    echo = spelled(f"apiKey {key}", escape)
    # A cancel answered 200 with the key echoed (in a value and as a member's name), the job
    # still queued; a read answered 400 with the key in IonQ's "error" and "message".
    member = spelled(key, escape)
    cancel_answer = answer(
        200, f'{{"id":"{ids[0]}","status":"ok","you_sent":"{echo}","{member}":1}}')
    read_answer = answer(400, f'{{"statusCode":400,"error":"{echo}","message":"bad {echo}"}}')

    def rule(seen: Seen) -> Tamper | None:
        if seen.method == "PUT":
            return Tamper(cancel_answer, forward=False)
        if seen.path.endswith(ids[1]):
            return Tamper(read_answer, forward=False)
        return None

    server = hostile(rule)
    provider = IonQProvider(key, url=server.url, retry_policy=RetryPolicy(
        max_attempts=2, backoff_initial=0.01, backoff_max=0.05))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CancelNotConfirmedError) as not_confirmed:
        cancel(ids[0], provider=provider)
    with pytest.raises(IonQRequestError) as refused:
        provider.client.retrieve_job(ids[1])
    report = cancel_jobs([ids[0]], provider=provider)
    shown = [caplog.text, json.dumps(report.to_dict()), str(report)]
    for error in (not_confirmed.value, refused.value):
        shown += [str(error), repr(error), str(vars(error))]
    assert refused.value.error_type == "apiKey ***"
    assert not_confirmed.value.answer["you_sent"] == "apiKey ***"
    assert report.errors and not report.ok
    assert [(form, text[:200]) for text in shown for form in forms(key) if form in text] == []


def test_a_header_named_after_the_key_is_renamed(emu: Emulator, hostile: Any) -> None:
    (job_id,) = emu.store.add_jobs(1)
    body = b'{"statusCode":400,"error":"X","message":"refused"}'
    server = hostile(lambda seen: Tamper(send(
        f"HTTP/1.1 400 X\r\nContent-Type: application/json\r\nX-{KEY}: {KEY}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body),
        forward=False))
    with pytest.raises(IonQRequestError) as caught:
        provider_at(server.url, max_attempts=1).client.retrieve_job(job_id)
    headers = caught.value.headers
    assert headers.get("X-***") == "***"
    assert KEY not in str(headers) and KEY not in repr(caught.value)
