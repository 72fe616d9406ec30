"""Fail fast: a server that cannot be reached ends with a clear error naming the URL, after a
few quick attempts, and the CLI's ``--deadline`` bounds the whole command."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
from contract.observed import Emulator
from support import one_line, point_env_at

from qiskit_ionq_cancel import IonQProvider, RetryPolicy, UnreachableError, cancel_jobs
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.cli import main
from qiskit_ionq_cancel.emulator import Fault
from qiskit_ionq_cancel.retry import CONNECT_ATTEMPTS

KEY = "fail-fast-key-9c3d2e10"


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A loopback URL whose port is bound but not listening: every connect is refused."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v0.4"
    finally:
        sock.close()


def test_a_refused_connection_is_a_clear_error_after_a_few_attempts(refused_url: str) -> None:
    client = IonQCancelClient(KEY, refused_url)
    job_id = str(uuid.uuid4())
    with pytest.raises(UnreachableError) as info:
        client.cancel(job_id)
    assert f"could not reach {refused_url}" in str(info.value)
    assert client.requests_sent == CONNECT_ATTEMPTS
    # the next request of the same client fails at once, without sending anything
    with pytest.raises(UnreachableError):
        client.retrieve_job(job_id)
    assert client.requests_sent == CONNECT_ATTEMPTS


def test_the_policy_sets_the_attempts_and_how_long_unreachable_holds(refused_url: str) -> None:
    clock = [0.0]
    policy = RetryPolicy(connect_attempts=1, unreachable_for=30.0, clock=lambda: clock[0])
    client = IonQCancelClient(KEY, refused_url, retry_policy=policy)
    job_id = str(uuid.uuid4())
    with pytest.raises(UnreachableError):
        client.cancel(job_id)
    assert client.requests_sent == 1
    clock[0] = 29.0  # within unreachable_for: nothing sent
    with pytest.raises(UnreachableError):
        client.retrieve_job(job_id)
    assert client.requests_sent == 1
    clock[0] = 31.0  # past it: tried again, once
    with pytest.raises(UnreachableError):
        client.retrieve_job(job_id)
    assert client.requests_sent == 2


def test_a_batch_against_a_refused_url_sends_a_handful(refused_url: str) -> None:
    ids = [str(uuid.uuid4()) for _ in range(200)]
    report = cancel_jobs(ids, provider=IonQProvider(KEY, url=refused_url))
    assert set(report.errors) == set(ids)
    assert all(isinstance(e, UnreachableError) for e in report.errors.values())
    assert report.requests <= CONNECT_ATTEMPTS * 2  # not one try per job


def test_the_cli_names_the_url_it_could_not_reach(refused_url: str,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    point_env_at(monkeypatch, refused_url, KEY)
    assert main(["cancel", str(uuid.uuid4()), "--deadline", "10"]) == 1
    err = one_line(capsys.readouterr().err)
    assert f"could not reach IonQ at {refused_url}" in err
    assert KEY not in err


@pytest.mark.ionq_emulator(api_keys=[KEY], queue_time=100, bulk_enabled=False)
def test_the_cli_deadline_bounds_the_command(ionq_emulator: Emulator,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    point_env_at(monkeypatch, ionq_emulator.url, KEY)
    ids = ionq_emulator.store.add_jobs(2)
    ionq_emulator.faults.inject(Fault.http(503), times=10_000, path=r"/status/cancel$")
    assert main(["cancel", *ids, "--deadline", "1", "--json"]) == 1
    captured = capsys.readouterr()
    assert '"errors"' in captured.out and "deadline" in captured.out
    assert all(ionq_emulator.store.status_of(i) == "ready" for i in ids)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_the_cli_deadline_must_be_a_positive_number(value: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["cancel", str(uuid.uuid4()), "--deadline", value])
    assert info.value.code == 2
    err = one_line(capsys.readouterr().err)
    assert "positive number of seconds" in err or f"invalid number: {value!r}" in err
