"""Unit tests of the pure parts: the status table, id and URL checks, the retry policy."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest
from qiskit.providers import JobStatus
from qiskit_ionq.exceptions import IonQCredentialsError, IonQJobError
from support import BAD_IDS, GOOD_ID, FakeTime

from qiskit_ionq_cancel import (
    InsecureURLError,
    InvalidJobIdError,
    RetryPolicy,
    UnknownJobStatusError,
)
from qiskit_ionq_cancel._core.status import IONQ_TO_QISKIT, to_job_status
from qiskit_ionq_cancel._core.validation import check_base_url, validate_job_id, validate_job_ids
from qiskit_ionq_cancel.retry import parse_retry_after


@pytest.mark.parametrize(("ionq", "qiskit"), [
    ("submitted", JobStatus.INITIALIZING), ("ready", JobStatus.QUEUED),
    ("started", JobStatus.RUNNING), ("running", JobStatus.RUNNING),
    ("canceled", JobStatus.CANCELLED), ("completed", JobStatus.DONE),
    ("failed", JobStatus.ERROR),
])
def test_status_table(ionq: str, qiskit: JobStatus) -> None:
    assert to_job_status(ionq) is qiskit
    assert IONQ_TO_QISKIT[ionq] is qiskit


@pytest.mark.parametrize("bad", ["cancelled", "CANCELED", "", None, "paused"])
def test_unknown_status_is_a_typed_error_naming_it(bad: object) -> None:
    with pytest.raises(UnknownJobStatusError) as info:
        to_job_status(bad, job_id=GOOD_ID)
    assert repr(bad) in str(info.value)
    assert GOOD_ID in str(info.value)
    assert isinstance(info.value, IonQJobError)


def test_canonical_uuid_passes() -> None:
    assert validate_job_id(GOOD_ID) == GOOD_ID


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_are_refused(bad: object) -> None:
    with pytest.raises(InvalidJobIdError) as info:
        validate_job_id(bad)
    assert "No request was sent" in str(info.value)
    assert isinstance(info.value, ValueError)
    assert len(str(info.value)) < 400  # a huge id is shortened, not echoed whole


def test_a_list_of_canonical_ids_passes_whole() -> None:
    ids = [GOOD_ID, GOOD_ID.replace("0", "1"), GOOD_ID]
    assert validate_job_ids(ids) == ids
    assert validate_job_ids([]) == []


@pytest.mark.parametrize("bad", [*BAD_IDS, f"{GOOD_ID},{GOOD_ID}",  # two ids in one
                                 GOOD_ID[:-1] + ",", GOOD_ID.upper()])
@pytest.mark.parametrize("where", [0, 1, 2])
def test_one_bad_id_anywhere_in_a_list_is_refused(bad: object, where: int) -> None:
    ids: list[object] = [GOOD_ID, GOOD_ID]
    ids.insert(where, bad)
    with pytest.raises(InvalidJobIdError) as info:
        validate_job_ids(ids, secret="k3y")  # type: ignore[arg-type]
    assert "No request was sent" in str(info.value)


@pytest.mark.parametrize("url", ["https://api.ionq.co/v0.4", "http://127.0.0.1:8000/v0.4",
                                 "http://localhost:1/v0.4", "http://[::1]:9/v0.4",
                                 "http://127.5.5.5/v0.4/"])
def test_secure_or_loopback_urls_pass(url: str) -> None:
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://api.ionq.co/v0.4", "http://10.0.0.1/v0.4",
                                 "ftp://api.ionq.co", "api.ionq.co/v0.4",
                                 "https://user:pw@api.ionq.co/v0.4"])
def test_insecure_urls_are_refused(url: str) -> None:
    with pytest.raises(InsecureURLError) as info:
        check_base_url(url)
    assert isinstance(info.value, IonQCredentialsError)


def test_plain_http_can_be_allowed_explicitly() -> None:
    assert check_base_url("http://proxy.internal/v0.4", allow_insecure_http=True) \
        == "http://proxy.internal/v0.4"


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-4") == 0.0
    date = formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after(formatdate(999_000, usegmt=True), now=1_000_000) == 0.0


def test_backoff_is_exponential_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_multiplier=2.0, backoff_max=5.0,
                         jitter=0.5, rng=random.Random(1))
    waits = [policy.backoff(n) for n in range(1, 7)]
    caps = [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    for wait, cap in zip(waits, caps, strict=True):
        assert cap * 0.5 <= wait <= cap
    no_jitter = RetryPolicy(backoff_initial=1.0, jitter=0.0)
    assert [no_jitter.backoff(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]


def test_attempts_honour_retry_after_then_stop_at_the_deadline() -> None:
    fake = FakeTime()
    policy = RetryPolicy(deadline=10.0, max_attempts=None, clock=fake.clock, sleep=fake.sleep)
    attempts = policy.begin()
    assert attempts.next_wait("4") == (4.0, "")
    fake.now += 4.0
    wait, reason = attempts.next_wait("7")  # 4 + 7 would pass the 10 s deadline
    assert wait is None
    assert "deadline" in reason


def test_attempts_stop_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=2, jitter=0.0)
    attempts = policy.begin()
    assert attempts.next_wait(None)[0] == policy.backoff_initial
    wait, reason = attempts.next_wait(None)
    assert wait is None
    assert "max_attempts=2" in reason


def test_a_huge_retry_after_is_not_waited_for() -> None:
    attempts = RetryPolicy(deadline=1000.0, retry_after_max=60.0).begin()
    wait, reason = attempts.next_wait("3600")
    assert wait is None
    assert "3600" in reason


@pytest.mark.parametrize("kwargs", [{"deadline": 0}, {"max_attempts": 0}, {"jitter": 2.0}])
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
