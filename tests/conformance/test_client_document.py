"""This package's client on what IonQ's v0.4 document allows: null fields, format-keyed
results, a ``deleted`` status, a finished job's cancel refused with a 409."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from contract.observed import Emulator
from qiskit.providers import JobStatus
from support import FakeTime, bell

from qiskit_ionq_cancel import IonQProvider, RetryPolicy, cancel
from qiskit_ionq_cancel._compat.results import add_legacy_result_urls
from qiskit_ionq_cancel._core.status import to_job_status
from qiskit_ionq_cancel.emulator import ManualClock

KEY = "client-document-key"
DONE = 30.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def provider_for(emu: Emulator) -> IonQProvider:
    fake = FakeTime()
    policy = RetryPolicy(deadline=30.0, clock=fake.clock, sleep=fake.sleep,
                         rng=random.Random(0))
    return IonQProvider(KEY, url=emu.url, retry_policy=policy)


@pytest.fixture
def formats_only(clock: ManualClock) -> Iterator[Emulator]:
    """Results named only by format, as IonQ's current document shows them."""
    with Emulator(api_keys=[KEY], clock=clock, queue_time=10, run_time=5,
                  results_style="formats") as emulator:
        yield emulator


def test_results_named_only_by_format_are_read(formats_only: Emulator,
                                               clock: ManualClock) -> None:
    job = provider_for(formats_only).get_backend("simulator").run(bell(), shots=100)
    clock.advance(DONE)
    raw = formats_only.store.get(job.job_id())
    assert "probabilities" not in raw["results"]  # only the format-keyed entry is served
    assert raw["metadata"] is not None and raw["child_job_ids"] is None
    counts = job.result().get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 100
    artifact = f"/v0.4/jobs/{job.job_id()}/artifacts/probabilities"
    assert any(e.path == artifact for e in formats_only.log.entries)


def test_legacy_urls_are_added_only_where_missing() -> None:
    job: dict[str, Any] = {"id": "j", "results": {"ionq.result.probabilities.json.v1": {
        "id": "a/b", "format": "ionq.result.probabilities.json.v1",
        "media_type": "application/json"}}}
    add_legacy_result_urls(job)
    assert job["results"]["probabilities"] == {"url": "/v0.4/jobs/j/artifacts/a%2Fb"}
    legacy = {"id": "j", "results": {"probabilities": {"url": "/v0.4/x"}}}
    add_legacy_result_urls(legacy)
    assert legacy["results"] == {"probabilities": {"url": "/v0.4/x"}}
    for untouched in ({"id": "j", "results": None}, {"id": "j"},
                      {"id": "j", "results": {"ionq.result.probabilities.json.v2": {"id": "x"}}}):
        before = repr(untouched)
        add_legacy_result_urls(untouched)
        assert repr(untouched) == before


def test_deleted_is_final_and_cancelled() -> None:
    # DELETE's answer status; cirq-ionq treats it as final. No results, will not run.
    assert to_job_status("deleted") is JobStatus.CANCELLED


def test_cancel_of_a_finished_job_is_refused_then_read_back(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], clock=clock, queue_time=10, run_time=5) as emu:
        provider = provider_for(emu)
        job = provider.get_backend("simulator").run(bell(), shots=100)
        clock.advance(DONE)
        assert cancel(job.job_id(), provider=provider) is False  # 409, then a read-back
        assert [e.status for e in emu.log.entries[-2:]] == [409, 200]
