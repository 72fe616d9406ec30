"""Issue 12, the emulator under client garbage: an IonQ-style 4xx for every bad request, never
a dropped connection (an unknown HTTP version: see test_contract); and a request log
that stays bounded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from contract.observed import Emulator
from support import KEY, Api, assert_ionq_error, job_body

from qiskit_ionq_cancel.emulator import ManualClock


@pytest.fixture
def api(emu: Emulator) -> Iterator[Api]:
    client = Api(emu.url)
    yield client
    client.close()


def test_a_deeply_nested_body_is_a_400(api: Api) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_ionq_error(api.post("/jobs", data=deep,
                               headers={"Content-Type": "application/json"}), 400)
    nested = b'{"ids": ' + deep + b"}"
    assert_ionq_error(api.put("/jobs/status/cancel", data=nested,
                              headers={"Content-Type": "application/json"}), 400)


@pytest.mark.parametrize("coefficient", [1e308, -1e308])
def test_a_pauliexp_with_huge_coefficients_is_a_400(api: Api, coefficient: float) -> None:
    circuit = [{"gate": "pauliexp", "targets": [0, 1], "terms": ["XX", "ZZ"],
                "coefficients": [coefficient, coefficient], "time": 1e308}]
    response = api.post("/jobs", json=job_body(input={"gateset": "qis", "qubits": 2,
                                                      "circuit": circuit}))
    assert_ionq_error(response, 400)  # refused at once, not a job whose results fail later


def test_the_request_log_is_a_bounded_ring(clock: ManualClock) -> None:
    with Emulator(api_keys=[KEY], clock=clock, log_size=5) as emu:
        api = Api(emu.url)
        try:
            for _ in range(12):
                api.get("/jobs")
        finally:
            api.close()
        assert len(emu.log) == 5 and emu.log.received == 12
    with pytest.raises(ValueError):
        Emulator(log_size=0)
