"""End to end: the STOCK ``qiskit_ionq.IonQProvider`` (not this project's) against the
emulator, configured only through ``IONQ_API_URL`` and ``IONQ_API_KEY``."""

from __future__ import annotations

from typing import Any

import pytest
from contract.observed import Emulator
from qiskit.providers import JobStatus
from qiskit_ionq import IonQProvider
from support import KEY, bell

from qiskit_ionq_cancel.emulator import ManualClock

SHOTS = 1000


@pytest.fixture
def stock_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Point qiskit-ionq at an emulator through the environment only."""

    def point(emulator: Emulator) -> None:
        for name in ("QISKIT_IONQ_API_URL", "QISKIT_IONQ_API_TOKEN", "IONQ_API_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("IONQ_API_URL", emulator.url)
        monkeypatch.setenv("IONQ_API_KEY", KEY)

    return point



def test_stock_provider_runs_a_bell_circuit(start_emulator: Any, stock_env: Any) -> None:
    emu = start_emulator(queue_time=0, run_time=0, api_keys=[KEY])
    stock_env(emu)
    backend = IonQProvider().get_backend("simulator")
    job = backend.run(bell(), shots=SHOTS)
    counts = job.result().get_counts()
    assert set(counts) <= {"00", "11"}
    assert set(counts) == {"00", "11"}  # 1000 shots of a fair coin: both outcomes appear
    assert sum(counts.values()) == SHOTS
    job_id = job.job_id()
    assert emu.store.status_of(job_id) == "completed"
    paths = [(e.method, e.path) for e in emu.log.entries]
    assert ("POST", "/v0.4/jobs") in paths
    assert ("GET", f"/v0.4/jobs/{job_id}/results/probabilities") in paths
    assert {e.status for e in emu.log.entries if e.path.startswith("/v0.4/jobs")} <= {200, 201}


def test_stock_job_cancel_cancels_a_queued_job(start_emulator: Any, stock_env: Any) -> None:
    emu = start_emulator(clock=ManualClock(), queue_time=10_000, api_keys=[KEY])
    stock_env(emu)
    backend = IonQProvider().get_backend("simulator")
    job = backend.run(bell(), shots=100)
    job_id = job.job_id()
    assert emu.store.status_of(job_id) == "ready"
    job.cancel()
    assert emu.store.status_of(job_id) == "canceled"
    assert emu.store.cancel_requests(job_id) == 1
    assert ("PUT", f"/v0.4/jobs/{job_id}/status/cancel", 200) in [
        (e.method, e.path, e.status) for e in emu.log.entries
    ]
    with pytest.warns(UserWarning, match="cancelled"):  # qiskit-ionq's own note
        assert job.status() is JobStatus.CANCELLED
