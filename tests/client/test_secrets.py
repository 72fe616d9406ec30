"""The API key never shows: not in anything printed, logged (at DEBUG, every logger, urllib3
included), raised, or in a ``repr``, whatever goes wrong.

What is searched: ``capsys`` (stdout and stderr), ``caplog`` (formatted text, every record's
message, arguments and exception text), warnings, and every exception: ``str``, ``repr``,
``args``, ``__dict__`` (strings inside its containers too), the ``__cause__`` /
``__context__`` chain (suppressed contexts included) and ``traceback.format_exception``.
A leak is the key or any 12 characters of it in a row, so a truncated key counts too.

The keys are random-looking 32-character strings, so a 12-character window cannot turn up by
chance. The wrong key of a 401 is a secret too; the demo's own throwaway key is pinned by
replacing ``secrets.token_hex`` in the demo module.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import subprocess
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from contract.observed import Emulator
from hostile_server import Answer, HostileServer, Seen, Tamper, send
from qiskit.providers import JobStatus
from qiskit_ionq.exceptions import IonQJobFailureError
from support import FakeTime, bell, one_line, point_env_at

from qiskit_ionq_cancel import (
    AuthenticationError,
    CancelReport,
    InsecureURLError,
    InvalidJobIdError,
    InvalidSelectionError,
    IonQProvider,
    IonQRequestError,
    JobNotFoundError,
    MissingCredentialsError,
    RetriesExhaustedError,
    RetryPolicy,
    UnknownJobStatusError,
    cancel,
    cancel_jobs,
)
from qiskit_ionq_cancel._http import bodyread
from qiskit_ionq_cancel._http import client as client_module
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.cli import commands, main
from qiskit_ionq_cancel.emulator import Fault

KEY = "k3Yq9ZtR7vWm2XpL8sNd4HfJ6gBc1AeU"
WRONG_KEY = "Wq7Lm2Zp9Xr4Tn8Vb3Hc6Jd1Kf5Gs0Ya"
DEMO_KEY = "d3M0kEy8Qw2Er5Ty7Ui9Op1As4Df6Gh0"
WINDOW = 12
CANCEL = r"/status/cancel$"
E = TypeVar("E", bound=BaseException)


def leaked(text: str, key: str) -> str | None:
    """The part of ``key`` that appears in ``text`` (``WINDOW`` characters at least)."""
    for start in range(len(key) - WINDOW + 1):
        if key[start:start + WINDOW] in text:
            return key[start:start + WINDOW]
    return None


def strings_in(value: Any, depth: int = 0) -> Iterator[str]:
    """``value`` as text, and every string inside its containers."""
    yield repr(value)
    if isinstance(value, (str, bytes)):
        yield value if isinstance(value, str) else value.decode("latin-1")
    elif depth < 4 and isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(k, depth + 1)
            yield from strings_in(v, depth + 1)
    elif depth < 4 and isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from strings_in(item, depth + 1)


class Surfaces:
    """Everything collected to search for the keys, each with where it came from."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, *values: Any) -> None:
        for value in values:
            self.texts += [(where, text) for text in strings_in(value)]
            self.texts.append((where, str(value)))

    def add_exception(self, where: str, error: BaseException) -> None:
        self.add(f"{where}: traceback", "".join(traceback.format_exception(error)))
        seen: set[int] = set()
        current: BaseException | None = error
        while current is not None and id(current) not in seen:
            seen.add(id(current))
            name = f"{where}: {type(current).__name__}"
            self.add(name, str(current), repr(current), current.args, vars(current))
            for link in (current.__cause__, current.__context__):
                if link is not None and id(link) not in seen:
                    self.add_exception(f"{name} <- chain", link)
            current = None

    def add_logs(self, caplog: pytest.LogCaptureFixture) -> None:
        self.add("caplog", caplog.text)
        for record in caplog.records:
            where = f"log {record.name}:{record.levelname}"
            self.add(where, record.getMessage(), record.args or (), record.exc_text or "")
            if record.exc_info and record.exc_info[1] is not None:
                self.add_exception(where, record.exc_info[1])

    def raised(self, where: str, call: Callable[[], Any], expected: type[E]) -> E:
        with pytest.raises(expected) as info:
            call()
        self.add_exception(where, info.value)
        return info.value

    def assert_clean(self, *keys: str) -> None:
        assert self.texts, "nothing was collected"
        for where, text in self.texts:
            for key in keys:
                part = leaked(text, key)
                assert part is None, f"{where} shows {part!r}: {text[:300]!r}"


@pytest.fixture
def surfaces(caplog: pytest.LogCaptureFixture) -> Surfaces:
    """A collector, with DEBUG logging on for every logger (``finish`` takes in what was
    printed, logged and warned, and searches it all)."""
    caplog.set_level(logging.DEBUG)  # the root logger: every logger propagates to it
    for name in ("urllib3", "requests", "qiskit_ionq", "qiskit_ionq_cancel",
                 "qiskit_ionq_cancel.emulator"):
        caplog.set_level(logging.DEBUG, logger=name)
    return Surfaces()


def finish(found: Surfaces, capsys: pytest.CaptureFixture[str],
           caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder,
           *keys: str) -> None:
    captured = capsys.readouterr()
    found.add("stdout", captured.out)
    found.add("stderr", captured.err)
    found.add_logs(caplog)
    for warning in recwarn:
        found.add("warning", str(warning.message))
    found.assert_clean(*keys)



pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, seed=9)


def fast_provider(emu: Emulator, key: str = KEY, **kwargs: Any) -> IonQProvider:
    fake = FakeTime()
    return IonQProvider(key, url=emu.url, retry_policy=RetryPolicy(
        deadline=20, max_attempts=3, clock=fake.clock, sleep=fake.sleep,
        rng=random.Random(0)), **kwargs)


# == the demo ===================================================================================
def test_the_demo_never_shows_its_key(surfaces: Surfaces, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str],
                                      caplog: pytest.LogCaptureFixture,
                                      recwarn: pytest.WarningsRecorder) -> None:
    from qiskit_ionq_cancel.cli import demo

    monkeypatch.setattr(demo, "secrets", SimpleNamespace(token_hex=lambda n: DEMO_KEY))
    lines: list[str] = []
    assert demo.run_demo(lines.append, queue_time=0.3, run_time=0.05) == 0
    assert lines[-1].startswith("All checks passed")
    surfaces.add("run_demo output", "\n".join(lines))
    assert main(["demo", "--queue-time", "0.3"]) == 0  # the CLI's way, printed to stdout
    finish(surfaces, capsys, caplog, recwarn, DEMO_KEY)


# == the CLI ====================================================================================
@pytest.fixture
def cli_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    point_env_at(monkeypatch, emu.url, KEY)
    # the CLI's own retry policy, made quick: exhausted retries are among the error paths
    quick = {"deadline": 5, "max_attempts": 2, "backoff_initial": 0.01, "backoff_max": 0.01}
    def quick_policy(**given: Any) -> RetryPolicy:
        return RetryPolicy(**{**quick, **given})

    # the client's default, and the one the CLI builds for each command (cli/commands.py)
    monkeypatch.setattr(client_module, "RetryPolicy", quick_policy)
    monkeypatch.setattr(commands, "RetryPolicy", quick_policy)
    return emu


def test_the_cli_never_shows_the_key(cli_env: Emulator, surfaces: Surfaces,
                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str],
                                     caplog: pytest.LogCaptureFixture,
                                     recwarn: pytest.WarningsRecorder) -> None:
    emu = cli_env
    ids = emu.store.add_jobs(6)
    emu.store.fail(ids[5])
    missing = str(uuid.UUID(int=77, version=4))
    outputs: list[str] = []

    def run(code: int, *args: str) -> str:
        """Run ``ionq-cancel ARGS``, expecting exit ``code``; keep what it printed."""
        assert main(list(args)) == code, args
        captured = capsys.readouterr()
        surfaces.add(f"ionq-cancel {' '.join(args)[:60]}", captured.out, captured.err)
        outputs.append(captured.out)
        return one_line(captured.out + captured.err)

    # both outputs, cancel and status, at debug level
    assert "1 cancelled, 1 already finished, 1 not found" in run(
        1, "-vv", "cancel", ids[0], ids[5], missing)
    run(0, "cancel", "--json", ids[1])
    assert json.loads(outputs[-1])["counts"]["cancelled"] == 1
    run(0, "status", "--json", ids[1])
    assert json.loads(outputs[-1])["counts"]["found"] == 1
    run(1, "status", "-vv", ids[2], missing)
    run(0, "cancel", "--dry-run", "--json", ids[2])
    # error paths: the key pasted as an id, on the command line, in a file
    assert "'***'" in run(2, "cancel", KEY, ids[3])
    run(2, "cancel", f"--api-key={KEY}", ids[3])
    run(2, "status", "--token", KEY, ids[3])
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    run(0, "status", "--api-key-file", str(key_file), ids[3])
    bad_file = tmp_path / "bad-key"
    bad_file.write_text(f"{KEY} {KEY}\n")
    run(2, "status", "--api-key-file", str(bad_file), ids[3])
    # IonQ refusing a wrong key
    monkeypatch.setenv("IONQ_API_KEY", WRONG_KEY)
    assert "refused the API key" in run(2, "-vv", "cancel", ids[3])
    run(2, "cancel", "--json", ids[3])
    run(2, "status", ids[3])
    run(2, "cancel", "--target", "simulator", "--yes")
    # retries exhausted, dropped connections
    monkeypatch.setenv("IONQ_API_KEY", KEY)
    emu.faults.inject(Fault.http(503), times=1000, path=CANCEL)
    assert "RetriesExhaustedError" in run(1, "--debug", "cancel", ids[4])
    emu.faults.clear()
    emu.faults.inject(Fault.drop(), times=1000)
    run(1, "status", ids[4])
    emu.faults.clear()
    run(0, "cancel", "--status", "ready", "--yes", "--json")
    assert json.loads(outputs[-1])["counts"]["cancelled"] == 3
    # insecure URLs (one with the key in it), IonQ unreachable
    run(2, "cancel", "--url", "http://example.com/v0.4", ids[4])
    run(2, "cancel", "--url", f"https://user:{KEY}@api.ionq.co/v0.4", ids[4])
    run(1, "status", "--url", "http://127.0.0.1:9/v0.4", ids[4])

    assert emu.store.status_of(ids[0]) == "canceled"
    surfaces.add("emulator log", emu.log.entries)
    finish(surfaces, capsys, caplog, recwarn, KEY, WRONG_KEY)


# == the library ================================================================================
def test_library_errors_of_every_kind_never_show_the_key(
        emu: Emulator, surfaces: Surfaces, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        recwarn: pytest.WarningsRecorder) -> None:
    provider = fast_provider(emu)
    backend = provider.get_backend("simulator")
    job = backend.run(bell(), shots=10)
    queued = emu.store.add_jobs(8)
    raised = surfaces.raised

    # 401: the wrong key is a secret too
    wrong = fast_provider(emu, WRONG_KEY)
    raised("401", lambda: cancel(queued[0], provider=wrong), AuthenticationError)
    raised("401 job", lambda: wrong.get_backend("simulator").retrieve_job(queued[0]),
           AuthenticationError)
    raised("401 run", lambda: wrong.get_backend("simulator").run(bell()), AuthenticationError)
    report = cancel_jobs(queued[:2], provider=wrong)
    assert set(report.errors) == set(queued[:2])
    assert all(isinstance(e, AuthenticationError) for e in report.errors.values())
    surfaces.add("401 report", str(report), repr(report), report.to_dict())
    for key, error in report.errors.items():
        surfaces.add_exception(f"401 report {key}", error)
    # 404
    raised("404", lambda: cancel(str(uuid.UUID(int=3, version=4)), provider=provider),
           JobNotFoundError)
    # 429 / 5xx / dropped / garbage / read timeout, each until the retries run out
    for name, fault in [("429", Fault.http(429, "1")), ("503", Fault.http(503)),
                        ("500", Fault.http(500)), ("drop", Fault.drop()),
                        ("garbage", Fault.garbage())]:
        emu.faults.inject(fault, times=1000, path=CANCEL)
        raised(name, lambda: cancel(queued[2], provider=provider, deadline=5),
               RetriesExhaustedError)
        report = cancel_jobs(queued[3:5], provider=provider, deadline=5)
        surfaces.add(f"{name} report", str(report), repr(report), report.to_dict())
        for key, error in report.errors.items():
            surfaces.add_exception(f"{name} report {key}", error)
        emu.faults.clear()
    slow = fast_provider(emu, timeout=(2, 0.1))
    emu.faults.inject(Fault.hang(0.5), times=3, path=CANCEL)
    raised("read timeout", lambda: cancel(queued[5], provider=slow), RetriesExhaustedError)
    emu.faults.clear()
    # a failed submission (not retried: it chains the requests error, suppressed)
    emu.faults.inject(Fault.drop(), times=1, method="POST")
    error = raised("submit dropped", lambda: backend.run(bell()), IonQRequestError)
    assert error.__context__ is not None
    # no key; insecure URLs (the key inside the URL too)
    for name in ("QISKIT_IONQ_API_TOKEN", "IONQ_API_TOKEN", "IONQ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    raised("no key", lambda: IonQProvider(None, url=emu.url).client.cancel(queued[6]),
           MissingCredentialsError)
    raised("http", lambda: IonQProvider(KEY, url="http://api.ionq.co/v0.4"), InsecureURLError)
    raised("userinfo", lambda: IonQProvider(KEY, url=f"https://u:{KEY}@api.ionq.co/v0.4"),
           InsecureURLError)
    raised("not a URL", lambda: IonQProvider(KEY, url="ftp://api.ionq.co/v0.4"),
           InsecureURLError)
    # invalid ids that are not the key, and the happy path, at DEBUG too
    raised("invalid id", lambda: cancel("../jobs", provider=provider), InvalidJobIdError)
    assert job.cancel() is True
    assert cancel_jobs(queued[6:], provider=provider).ok

    # the objects themselves
    for name, value in [("provider", provider), ("client", provider.client),
                        ("backend", backend), ("job", job), ("report", report),
                        ("policy", provider.client.retry_policy),
                        ("credentials", provider.credentials),
                        ("vars(provider)", vars(provider)),
                        ("vars(client)", vars(provider.client)),
                        ("wrong provider", wrong), ("wrong client", wrong.client)]:
        surfaces.add(f"repr/str of {name}", repr(value), str(value))
    surfaces.add("emulator log", emu.log.entries)
    assert any(r.levelno == logging.DEBUG and r.name.startswith("urllib3")
               for r in caplog.records)  # DEBUG logging was really on
    finish(surfaces, capsys, caplog, recwarn, KEY, WRONG_KEY)


# == regressions: leaks found, since fixed =====================================================
def test_the_key_given_as_a_job_id_is_not_shown(emu: Emulator) -> None:
    provider = fast_provider(emu)
    found = Surfaces()
    found.raised("cancel", lambda: cancel(KEY, provider=provider), InvalidJobIdError)
    found.raised("retrieve_job", lambda: provider.get_backend("simulator").retrieve_job(
        f"job-{KEY}"), InvalidJobIdError)
    report: CancelReport = cancel_jobs([KEY], provider=provider)
    found.add("report", str(report), report.to_dict())
    assert len(emu.log) == 1  # the provider's backend look-up only: nothing was sent
    found.assert_clean(KEY)


def test_swapped_provider_arguments_do_not_show_the_key(emu: Emulator) -> None:
    found = Surfaces()
    found.raised("swapped", lambda: IonQProvider(emu.url, KEY), InsecureURLError)
    found.assert_clean(KEY)


def test_the_cli_does_not_show_part_of_the_key(cli_env: Emulator,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cancel", "x" * 60 + KEY]) == 2
    captured = capsys.readouterr()
    found = Surfaces()
    found.add("stderr", captured.err)
    found.assert_clean(KEY)


def test_the_leak_detector_finds_a_truncated_key() -> None:
    """The detector itself: a key cut short or wrapped in other text is still found."""
    assert leaked(f"id 'xxx{KEY[:20]}'", KEY) == KEY[:WINDOW]
    assert leaked(repr({"Authorization": f"apiKey {KEY}"}), KEY) is not None
    assert leaked("apiKey ***", KEY) is None
    surfaces = Surfaces()
    try:
        try:
            raise ValueError(KEY[5:25])
        except ValueError:
            raise RuntimeError("outer") from None
    except RuntimeError as exc:
        surfaces.add_exception("chained", exc)
    with pytest.raises(AssertionError, match="chain"):
        surfaces.assert_clean(KEY)


def test_a_short_placeholder_key_is_not_looked_for_in_urls_or_answers(emu: Emulator) -> None:
    # A real key is long; a placeholder such as "local" must not refuse a URL holding the
    # word, nor be cut out of answers (a key "n" would have turned "\\n" into "\\***").
    client = IonQCancelClient("local", "http://localhost:8000/v0.4")
    assert client.url == "http://localhost:8000/v0.4"
    assert bodyread.redact_bytes(b'{"name":"a\\nb"}', "n")[0] == b'{"name":"a\\nb"}'


def test_an_answer_nested_too_deep_to_walk_is_left_as_it_is() -> None:
    deep = b"[" * 700 + b'"\\n"' + b"]" * 700
    assert bodyread.redact_bytes(deep, KEY)[0] == deep


def test_a_url_holding_the_key_or_a_query_is_refused_unseen(emu: Emulator) -> None:
    found = Surfaces()
    for url in (f"{emu.url}?k={KEY}", f"{emu.url}#{KEY}",
                emu.url.replace("/v0.4", f"/{KEY}/v0.4"),
                emu.url.replace("/v0.4", f"/{KEY[:16]}/v0.4")):  # a piece of it too
        found.raised(url[-60:], partial(IonQProvider, KEY, url=url), InsecureURLError)
    error = found.raised("a query", lambda: IonQProvider(KEY, url=f"{emu.url}?debug=1"),
                         InsecureURLError)
    assert "query" in str(error)
    assert len(emu.log) == 0
    found.assert_clean(KEY)


def test_a_filter_given_the_key_is_refused_unseen_without_a_provider(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    point_env_at(monkeypatch, emu.url, KEY)
    found = Surfaces()
    found.raised("session_id", lambda: cancel_jobs(session_id=KEY), InvalidSelectionError)
    assert len(emu.log) == 0
    found.assert_clean(KEY)


def test_the_cli_shows_no_key_typed_where_it_does_not_belong(
        cli_env: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    (job_id,) = cli_env.store.add_jobs(1)
    found = Surfaces()

    def run(*args: str) -> str:
        assert main(list(args)) == 2, args
        captured = capsys.readouterr()
        found.add(" ".join(args)[:60], captured.out, captured.err)
        return one_line(captured.err)

    def refused(*args: str) -> str:  # argparse exits 2 through SystemExit
        with pytest.raises(SystemExit) as exited:
            main(list(args))
        assert exited.value.code == 2
        err = capsys.readouterr().err
        found.add(" ".join(args)[:60], err)
        return err

    assert "refusing an API key on the command line" in run(
        "cancel", f"--api-token={KEY}", job_id)
    assert "unknown option '--bogus'" in run("cancel", f"--bogus={KEY}", job_id)
    assert "unrecognized arguments: --token ***" in refused("emulator", "--token", KEY)
    assert "invalid number: '***'" in refused("cancel", f"--deadline={KEY}", job_id)
    assert "invalid choice: '***'" in refused("cancel", "--status", KEY)
    assert "cannot read the API key file" in run("cancel", "--api-key-file", KEY, job_id)
    monkeypatch.delenv("IONQ_API_KEY")
    assert "no IonQ API key" in run("cancel", KEY)
    assert "no IonQ API key" in run("status", "--session", KEY)
    assert cli_env.store.status_of(job_id) == "ready" and len(cli_env.log) == 0
    key_file = tmp_path / "key"
    key_file.write_text(KEY + "\n")
    assert main(["status", f"--api-key-file={key_file}", job_id]) == 0  # not a key option
    found.add("status --api-key-file=", capsys.readouterr().out)
    found.assert_clean(KEY)


# == issue 21: one redactor for every string that leaves the package ==========================
@pytest.fixture
def hostile(emu: Emulator) -> Iterator[Callable[[Callable[[Seen], Tamper | None]],
                                                HostileServer]]:
    servers: list[HostileServer] = []

    def make(rule: Callable[[Seen], Tamper | None]) -> HostileServer:
        servers.append(HostileServer(emu.url, rule))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def quick_provider(url: str, key: str = KEY, **policy: Any) -> IonQProvider:
    return IonQProvider(key, url=url, retry_policy=RetryPolicy(
        backoff_initial=0.01, backoff_max=0.02, **{"max_attempts": 2, **policy}))


def status_line(text: str) -> Callable[[Any, Any], None]:
    """An act answering a malformed status line (``HTTP/1.1 OK <text>``), then nothing."""
    return send(f"HTTP/1.1 OK {text}\r\n\r\n".encode())


def echoed_headers(seen: Seen) -> str:
    """The request's headers as a server echoing them writes them, Authorization first."""
    ordered = sorted(seen.headers.items(), key=lambda kv: kv[0].lower() != "authorization")
    return "; ".join(f"{name}: {value}" for name, value in ordered)


def test_a_submit_answered_with_a_status_line_echoing_our_headers_does_not_show_the_key(
        emu: Emulator, hostile: Any, surfaces: Surfaces, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    # A POST is not retried: its error was built from the raw connection problem.
    server = hostile(lambda seen: Tamper(status_line(echoed_headers(seen)), forward=False)
                     if seen.method == "POST" else None)
    backend = quick_provider(server.url).get_backend("simulator")
    error = surfaces.raised("submit", lambda: backend.run(bell(), shots=10), IonQRequestError)
    assert "no answer (connection failed" in str(error) and "apiKey ***" in str(error)
    assert sum(seen.method == "POST" for seen in server.seen) == 1
    finish(surfaces, capsys, caplog, recwarn, KEY)


@pytest.mark.parametrize("cut", ["status line", "proxy page"])
def test_a_message_cut_to_length_keeps_no_piece_of_the_key(
        emu: Emulator, hostile: Any, surfaces: Surfaces, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder, cut: str) -> None:
    # The problem's text is cut (to 120 and 60 characters) where 16 characters of the key
    # are left before the cut; once they were redacted only after it, so they showed.
    (job_id,) = emu.store.add_jobs(1)
    if cut == "status line":
        # the reason quoted: "('Connection aborted.', BadStatusLine('HTTP/1.1 OK " (50), then
        # 47 + 7: the key starts at 104
        act = status_line("x" * 47 + f"apiKey {KEY}")
    else:
        page = f"<p>{'x' * 37}{KEY[:20]}</p>".encode()  # 20 characters of the key, at 40
        act = send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                   b"Connection: close\r\n\r\n%s" % (len(page), page))
    server = hostile(lambda seen: Tamper(act, forward=False) if seen.method == "GET" else None)
    provider = quick_provider(server.url, max_attempts=3)
    error = surfaces.raised("retried", lambda: provider.client.retrieve_job(job_id),
                            RetriesExhaustedError)
    assert error.attempts == 3 and "***" in error.last
    report = cancel_jobs([job_id], provider=provider, deadline=5)
    surfaces.add("report", str(report), report.to_dict())
    finish(surfaces, capsys, caplog, recwarn, KEY)


def utf16_json(data: Any) -> Callable[[Any, Any], None]:
    body = json.dumps(data).encode("utf-16")
    return send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-16\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


def test_a_2xx_body_in_utf16_is_redacted_after_decoding(
        emu: Emulator, hostile: Any, surfaces: Surfaces, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    ids = emu.store.add_jobs(2)
    odd = f"apiKey {KEY}"

    def rule(seen: Seen) -> Tamper | None:
        if seen.method == "PUT" and seen.path.endswith("/status/cancel") and ids[0] in seen.path:
            return Tamper(utf16_json({"id": ids[0], "status": odd}), forward=False)
        if seen.method == "GET" and "ids=" in seen.path:
            return Tamper(utf16_json({"jobs": [{"id": i, "status": odd} for i in ids],
                                      "next": None}), forward=False)
        if seen.method == "GET" and seen.path.split("?")[0].endswith(tuple(ids)):
            return Tamper(utf16_json({"id": seen.path.rsplit("/", 1)[-1], "status": odd}),
                          forward=False)
        return None

    server = hostile(rule)
    provider = quick_provider(server.url)
    error = surfaces.raised("cancel", lambda: cancel(ids[0], provider=provider),
                            UnknownJobStatusError)
    assert "'apiKey ***'" in str(error)
    assert any("answered {'id'" in r.getMessage() and "***" in r.getMessage()
               for r in caplog.records if r.levelno == logging.INFO)
    report = cancel_jobs(ids, provider=provider, deadline=5)
    assert not report.ok
    surfaces.add("report", str(report), repr(report), report.to_dict())
    for job_id, exc in report.errors.items():
        surfaces.add_exception(f"report {job_id}", exc)
    finish(surfaces, capsys, caplog, recwarn, KEY)


def header_without_colon(seen: Seen) -> Tamper:
    """The honest answer, with a last header line that has no colon, echoing Authorization
    (urllib3 warns about it, quoting the line)."""
    echo = f"Authorization {seen.headers.get('Authorization', '')}"

    def act(sock: socket.socket, answer: Answer | None) -> None:
        assert answer is not None
        sock.sendall(answer.raw(extra=echo))
    return Tamper(act)


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60,
                          check=False, env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(
                              sys.path)})


def test_urllib3s_warning_about_a_header_echoing_the_key_does_not_show_it(
        emu: Emulator, hostile: Any, surfaces: Surfaces) -> None:
    ids = emu.store.add_jobs(1)
    server = hostile(header_without_colon)
    env = {"IONQ_API_KEY": KEY, "IONQ_API_URL": server.url}
    for name in ("QISKIT_IONQ_API_TOKEN", "IONQ_API_TOKEN", "QISKIT_IONQ_API_URL"):
        env[name] = ""
    # the CLI (its logging to stderr, shown with -v), and the library in a program that logs
    # to stderr (urllib3's NullHandler keeps its records from Python's last-resort handler)
    cli = run_python(["-m", "qiskit_ionq_cancel.cli", "-v", "status", ids[0]], env)
    library = run_python(["-c", "import logging, os, sys; logging.basicConfig(); "
                          "from qiskit_ionq_cancel._http.client import IonQCancelClient as C; "
                          "print(C(os.environ['IONQ_API_KEY'], os.environ['IONQ_API_URL'])"
                          ".retrieve_job(sys.argv[1])['status'])", ids[0]], env)
    assert cli.returncode == 0 and "1 found" in cli.stdout, cli.stderr
    assert library.returncode == 0 and library.stdout.strip() == "ready", library.stderr
    for name, done in (("cli", cli), ("library", library)):
        assert "Failed to parse headers" in done.stderr  # the warning is still there...
        assert "Authorization apiKey ***" in done.stderr  # ...its traceback too, redacted
        surfaces.add(f"{name} stdout", done.stdout)
        surfaces.add(f"{name} stderr", done.stderr)
    surfaces.assert_clean(KEY)


def test_pythons_last_resort_handler_shows_no_key(emu: Emulator, hostile: Any,
                                                 surfaces: Surfaces) -> None:
    # A program that configures no logging: our warnings go to stderr through Python's
    # last-resort handler (urllib3's records do not: urllib3 has a NullHandler).
    (job_id,) = emu.store.add_jobs(1)
    act = status_line("x" * 47 + f"apiKey {KEY}")  # the key across the cut, as above
    server = hostile(lambda seen: Tamper(act, forward=False) if seen.method == "GET" else None)
    done = run_python(["-c", "import sys; from qiskit_ionq_cancel import RetryPolicy as P; "
                       "from qiskit_ionq_cancel._http.client import IonQCancelClient as C; "
                       "p = P(max_attempts=2, backoff_initial=0.01, backoff_max=0.02); "
                       "C(sys.argv[1], sys.argv[2], retry_policy=p).retrieve_job(sys.argv[3])",
                       KEY, server.url, job_id], {})
    assert done.returncode == 1 and "retrying in" in done.stderr, done.stderr
    assert "RetriesExhaustedError" in done.stderr and "apiKey ***" in done.stderr
    surfaces.add("stderr", done.stderr)
    surfaces.assert_clean(KEY)


def test_urllib3s_log_record_is_redacted_before_any_handler(
        emu: Emulator, hostile: Any, surfaces: Surfaces, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    ids = emu.store.add_jobs(1)
    server = hostile(header_without_colon)
    client = IonQCancelClient(KEY, server.url)
    assert client.retrieve_job(ids[0])["status"] == "ready"
    warned = [r for r in caplog.records if r.name.startswith("urllib3.")
              and r.levelno == logging.WARNING]
    assert warned and warned[0].exc_info is None and "Authorization apiKey ***" in (
        warned[0].exc_text or "")
    finish(surfaces, capsys, caplog, recwarn, KEY)


@pytest.mark.parametrize("short", ["e", "ection"[:5]])
def test_a_key_under_6_characters_garbles_no_message(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, short: str) -> None:
    caplog.set_level(logging.WARNING)
    nowhere = "http://127.0.0.1:9/v0.4"
    job_id = str(uuid.UUID(int=5, version=4))
    point_env_at(monkeypatch, nowhere, short)
    assert main(["status", "--deadline", "5", job_id]) == 1
    err = one_line(capsys.readouterr().err)
    assert "connection failed" in err and "***" not in err, err
    client = IonQCancelClient(short, nowhere, retry_policy=RetryPolicy(
        deadline=5, backoff_initial=0.01, backoff_max=0.02))
    with pytest.raises(IonQRequestError) as caught:
        client.retrieve_job(job_id)
    assert "connection failed" in str(caught.value) and "***" not in str(caught.value)
    assert "***" not in caplog.text and "connection failed" in caplog.text


def test_a_logger_made_after_the_client_is_redacted_while_requests_run(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    client = IonQCancelClient(KEY, emu.url)
    late = logging.getLogger("urllib3.made_after_the_client")
    (job_id,) = emu.store.add_jobs(1)
    client.retrieve_job(job_id)  # a request: the new logger gets the filter
    caplog.set_level(logging.DEBUG)
    late.warning("echo %s", f"apiKey {KEY}")
    assert caplog.records[-1].getMessage() == "echo apiKey ***"


def test_the_apis_warnings_echoing_the_key_do_not_show_it(
        emu: Emulator, surfaces: Surfaces, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    # qiskit-ionq turns a job object's warning.messages into Python warnings as it digests
    # the object (its own code, not this package's exceptions or logs).
    job = IonQProvider(KEY, url=emu.url).get_backend("simulator").run(bell(), shots=10)
    emu.faults.inject(Fault.json({"id": job.job_id(), "status": "running",
                                  "warning": {"messages": [f"slow for apiKey {KEY}"]}}),
                      method="GET", path=r"/jobs/[0-9a-f-]+$")
    assert job.status() is JobStatus.RUNNING
    assert [str(w.message) for w in recwarn if "slow for" in str(w.message)] == \
        ["slow for apiKey ***"]
    finish(surfaces, capsys, caplog, recwarn, KEY)


def test_a_failed_jobs_reason_echoing_the_key_does_not_show_it(
        emu: Emulator, surfaces: Surfaces, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder) -> None:
    # IonQ's failure.message is handed to qiskit-ionq as failure.error, which words its
    # IonQJobFailureError (not this package's exception, so not redacted as it is made).
    job = IonQProvider(KEY, url=emu.url).get_backend("simulator").run(bell(), shots=10)
    emu.store.fail(job.job_id(), "QuantumComputerError", f"rejected apiKey {KEY} here")
    error = surfaces.raised("status", job.status, IonQJobFailureError)
    assert 'QuantumComputerError: rejected apiKey *** here' in str(error)
    assert job.status() is JobStatus.ERROR  # recorded, as before
    finish(surfaces, capsys, caplog, recwarn, KEY)
