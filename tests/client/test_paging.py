"""Read-back and filter listing against a server that caps its pages (the emulator's
``page_cap``): they follow ``next`` and size later requests by what the server returns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from contract.observed import Emulator

from qiskit_ionq_cancel import IonQProvider, cancel_jobs
from qiskit_ionq_cancel._http.client import READ_CHUNK, IonQCancelClient
from qiskit_ionq_cancel.emulator import ManualClock

KEY = "paging-test-key-0b7e55aa"
CAP = 25


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emu(clock: ManualClock) -> Iterator[Emulator]:
    with Emulator(api_keys=[KEY], queue_time=100, run_time=10, clock=clock, seed=5,
                  page_cap=CAP) as e:
        yield e


def reads(emu: Emulator) -> list[str]:
    return [e.query for e in emu.log.entries if e.method == "GET" and e.path.endswith("/jobs")]


def test_the_emulator_caps_pages_and_gives_a_cursor(emu: Emulator) -> None:
    emu.store.add_jobs(CAP + 5)
    page = emu.store.list(limit=1000)
    assert len(page["jobs"]) == CAP and page["next"]


def test_a_read_back_follows_next_through_capped_pages(emu: Emulator) -> None:
    ids = emu.store.add_jobs(READ_CHUNK)
    client = IonQCancelClient(KEY, emu.url)
    found = client.read_jobs(ids)
    assert set(found) == set(ids)
    assert len(reads(emu)) == READ_CHUNK // CAP  # one request per page, none wasted
    assert client.page_cap == CAP and client.read_chunk == CAP


def test_cancel_jobs_verifies_every_job_in_few_requests(emu: Emulator,
                                                        clock: ManualClock) -> None:
    done = emu.store.add_jobs(100)
    clock.advance(200)  # those complete
    queued = emu.store.add_jobs(1900)
    report = cancel_jobs(done + queued, provider=IonQProvider(KEY, url=emu.url))
    assert report.ok
    assert set(report.cancelled) == set(queued)
    assert {str(report.statuses[i]) for i in done} == {"JobStatus.DONE"}
    assert all(emu.store.status_of(i) == "canceled" for i in queued)
    singles = [e for e in emu.log.entries if e.method == "PUT" and "/jobs/" in e.path
               and not e.path.endswith("/jobs/status/cancel")]
    assert singles == []  # nothing fell to a single cancel for want of a page
    assert report.requests <= 100


def test_a_filter_listing_follows_next_and_sizes_its_pages(emu: Emulator) -> None:
    ids = emu.store.add_jobs(3 * CAP + 1)
    client = IonQCancelClient(KEY, emu.url)
    listed = [job["id"] for job in client.cancellable_jobs(target="simulator")]
    assert sorted(listed) == sorted(ids)
    queries = reads(emu)
    assert len(queries) == 4
    assert all(f"limit={CAP}" in q for q in queries[1:])  # asked what the server gives
