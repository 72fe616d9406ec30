"""Soak: thousands of jobs through ``cancel_jobs`` on an emulator that misbehaves a fifth of
the time and rate-limits, checked job by job against the emulator's own state.

Two runs, each of 3,000 queued jobs plus already-failed jobs, unknown ids, malformed ids and
duplicates, with ``fault_rate=0.2`` (500, 502, 503, 504, dropped connections before and after
the change, non-JSON 200s; seeded) and a rate limit that bites:

* the bulk path as users run it (bulk cancel in chunks, read-back, single-cancel fallback),
  under a tight limit answered with ``Retry-After`` in seconds;
* the single-cancel path at scale (the bulk endpoint switched off), 3,000+ requests under a
  limit answered without ``Retry-After``, so the client's adaptive gate has to find the rate.

Outcome policy (decided here): the retry policy is generous (20 attempts, 429s not counted,
120 s a request), so no job may end in ``errors`` except the malformed ids
(``InvalidJobIdError``) and the unknown ids (``JobNotFoundError``). Any other error fails the
test; and whatever is in ``errors`` must at least be consistent with "unknown": still
cancellable or cancelled on the server, never reported settled (``assert_report_agrees``).

The figures (time, requests, retries = requests beyond the answered-honestly minimum, 429s,
faults by kind) are printed for ``pytest -s``; the assertions are on invariants only.
"""

from __future__ import annotations

import collections
import logging
import random
import time
import uuid
from typing import Any

import pytest
from contract.observed import Emulator
from support import CANCELLABLE, assert_report_agrees, input_keys, server_status

from qiskit_ionq_cancel import (
    CancelReport,
    InvalidJobIdError,
    IonQProvider,
    JobNotFoundError,
    RetryPolicy,
    cancel_jobs,
)
from qiskit_ionq_cancel.emulator import ManualClock

KEY = "soak-key-84c2e1f7a9"
JOBS = 3000
FAILED = 100
UNKNOWN = 25
MALFORMED = ["", "not-a-uuid", "../jobs", "617A1F8B-59D4-435D-AA33-695433D7155E", "%2F" * 3]
DUPLICATES = 200
POLICY = RetryPolicy(deadline=120.0, max_attempts=20, backoff_initial=0.01, backoff_max=0.2,
                     rng=random.Random(1))


@pytest.fixture(autouse=True)
def quiet_retries(caplog: pytest.LogCaptureFixture) -> None:
    """A thousand retry warnings are expected here; keep them out of the captured log."""
    caplog.set_level(logging.ERROR, logger="qiskit_ionq_cancel")


def inputs(emu: Emulator) -> tuple[list[str], list[str], list[str]]:
    """The batch (queued, failed, unknown, malformed and duplicate entries, shuffled), the
    queued ids and the unknown ids."""
    queued = emu.store.add_jobs(JOBS)
    failed = emu.store.add_jobs(FAILED)
    for job_id in failed:
        emu.store.fail(job_id)
    unknown = [str(uuid.UUID(int=random.Random(n).getrandbits(128), version=4))
               for n in range(UNKNOWN)]
    rng = random.Random(7)
    given: list[str] = [*queued, *failed, *unknown, *MALFORMED,
                        *rng.sample(queued, DUPLICATES)]
    rng.shuffle(given)
    return given, queued, unknown


def soak(emu: Emulator, label: str, **options: Any) -> tuple[CancelReport, list[str], list[str],
                                                 list[str]]:
    """Run the batch; check every invariant; print the figures."""
    given, queued, unknown = inputs(emu)
    provider = IonQProvider(KEY, url=emu.url, retry_policy=POLICY)
    client_before = provider.client.requests_sent
    log_before = emu.log.mark()
    started = time.perf_counter()

    report = cancel_jobs(given, provider=provider, **options)

    took = time.perf_counter() - started
    entries = emu.log.since(log_before)
    sent = provider.client.requests_sent - client_before

    # -- nothing lost, nothing twice, and the report agrees with the server job by job
    distinct = set(input_keys(given))
    malformed = [key for key in distinct if key.startswith("#")]
    assert_report_agrees(report, given, emu, unknown_may_be={*CANCELLABLE, "canceled"})
    assert report.total == len(distinct) == JOBS + FAILED + UNKNOWN + len(MALFORMED)
    rows = report.to_dict()
    listed = [row["id"] for key in ("jobs", "errors", "not_reached") for row in rows[key]]
    assert sorted(listed) == sorted(distinct)
    # -- the outcome: every queued job cancelled, the failed ones final, no other error
    assert sorted(report.cancelled) == sorted(queued)
    assert len(report.already_final) == FAILED
    assert sorted(report.not_found) == sorted(unknown)
    assert len(malformed) == len(MALFORMED)
    assert sorted(report.invalid) == sorted(malformed) and report.failed == []
    assert all(isinstance(report.errors[m], InvalidJobIdError) for m in malformed)
    assert all(isinstance(report.errors[u], JobNotFoundError) for u in unknown)
    # -- no cancellable job is left on the server, and none was touched by a malformed id
    assert not set(emu.store.counts()) & CANCELLABLE, emu.store.counts()
    assert all(server_status(emu, job_id) == "canceled" for job_id in queued)
    assert not any(e.path.count("/") > 5 or "%" in e.path or ".." in e.path for e in entries)
    # -- every request the server saw was counted by the client
    assert report.requests == sent >= len(entries)

    kinds = collections.Counter(
        "429" if e.status == 429 else e.fault if e.fault is not None and e.fault != "status"
        else str(e.status) if e.fault == "status" else "ok" for e in entries)
    honest = kinds["ok"]
    print(f"\nsoak, {label}: {len(distinct)} distinct inputs ({JOBS} queued, {FAILED} "
          f"failed, {UNKNOWN} unknown, {len(MALFORMED)} malformed, {DUPLICATES} duplicates) "
          f"in {took:.2f} s; {sent} requests sent, {len(entries)} seen by the server, "
          f"{honest} answered honestly, retries {sent - honest}, 429s {kinds['429']}; "
          f"by answer: {dict(kinds.most_common())}")
    return report, given, queued, unknown


def test_soak_bulk_path() -> None:
    with Emulator(api_keys=[KEY], clock=ManualClock(), queue_time=100, seed=2024,
                  fault_rate=0.2, rate_limit=20, rate_burst=2, retry_after="seconds") as emu:
        soak(emu, "bulk path, 20 req/s limit with Retry-After", chunk_size=100)
        bulk = [e for e in emu.log.entries if e.path == "/v0.4/jobs/status/cancel"]
        assert len(bulk) >= JOBS // 100  # it did go through the bulk endpoint


def test_soak_single_cancels() -> None:
    with Emulator(api_keys=[KEY], clock=ManualClock(), queue_time=100, seed=4242,
                  fault_rate=0.2, rate_limit=400, rate_burst=1, retry_after="none",
                  bulk_enabled=False) as emu:
        soak(emu, "single cancels (no bulk endpoint), 400 req/s limit without Retry-After")
        singles = [e for e in emu.log.entries if e.method == "PUT" and e.path.endswith(
            "/status/cancel") and e.path != "/v0.4/jobs/status/cancel"]
        assert len(singles) >= JOBS + FAILED + UNKNOWN  # one by one, with retries
        assert any(e.status == 429 for e in emu.log.entries)  # the limit did bite
