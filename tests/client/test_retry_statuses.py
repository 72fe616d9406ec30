"""Cloudflare-style 520-529 answers are retried like 502/503, reads included."""

from __future__ import annotations

import pytest
from contract.observed import Emulator
from support import FakeTime

from qiskit_ionq_cancel import RetryPolicy
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.emulator import Fault

KEY = "retry-status-key-77e1a0c2"


@pytest.fixture
def client(ionq_emulator: Emulator) -> IonQCancelClient:
    fake = FakeTime()
    return IonQCancelClient(KEY, ionq_emulator.url,
                            retry_policy=RetryPolicy(clock=fake.clock, sleep=fake.sleep))


@pytest.mark.parametrize("status", range(520, 530))
def test_a_read_is_retried_after_a_52x(status: int, ionq_emulator: Emulator,
                                       client: IonQCancelClient,
                                       caplog: pytest.LogCaptureFixture) -> None:
    (job_id,) = ionq_emulator.store.add_jobs(1)
    ionq_emulator.faults.inject(Fault.http(status), times=2, method="GET",
                                path=r"/jobs/[0-9a-f-]+$")
    assert client.retrieve_job(job_id)["id"] == job_id
    reads = [e.status for e in ionq_emulator.log.entries if e.method == "GET"]
    assert reads == [status, status, 200]
    assert caplog.text.count(f"HTTP {status}") == 2  # the answers came, and were retried


@pytest.mark.parametrize("status", [520, 522, 524, 529])
def test_a_cancel_and_a_listing_are_retried_after_a_52x(status: int, ionq_emulator: Emulator,
                                                        client: IonQCancelClient) -> None:
    (job_id,) = ionq_emulator.store.add_jobs(1)
    ionq_emulator.faults.inject(Fault.http(status), method="PUT")
    ionq_emulator.faults.inject(Fault.http(status), method="GET", path=r"/jobs$")
    assert client.cancel(job_id).cancelled
    assert list(client.read_jobs([job_id])) == [job_id]
    assert [e.status for e in ionq_emulator.log.entries] == [status, 200, status, 200]
