"""Issues 12 and 21, the emulator under client garbage: an IonQ-style 4xx for every bad request,
never a dropped connection (an unknown HTTP version: see test_contract); a request log
that stays bounded; work inside POST /jobs that stays bounded."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from contract.observed import Emulator
from support import KEY, Api, assert_ionq_error, job_body

from qiskit_ionq_cancel.emulator import ManualClock
from qiskit_ionq_cancel.emulator.qasm3 import MAX_SHOT_BY_SHOT_WORK


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


# -- issue 21 ---------------------------------------------------------------------------------
def _raw(emu: Emulator, request: bytes) -> bytes:
    """Send raw bytes to the emulator; its whole answer (it closes the connection)."""
    host, port = emu.url.split("//")[1].split("/")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("target", [b"http://[/v0.4/jobs", b"http://[::1/v0.4/jobs"])
def test_a_request_target_that_is_no_url_is_a_400(emu: Emulator, target: bytes) -> None:
    answer = _raw(emu, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nAuthorization: apiKey "
                  + KEY.encode() + b"\r\n\r\n")
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), answer[:200]
    body = json.loads(payload)
    assert body["statusCode"] == 400 and "Malformed request target" in body["message"]
    assert emu.log.entries[-1].status == 400


def test_a_qasm3_job_carrying_a_gate_list_is_a_400(api: Api, emu: Emulator) -> None:
    body = job_body(type="ionq.qasm3.v1", input={"data": "OPENQASM 3.0; qubit[1] q;",
                                                 "circuit": ["x"]})
    message = assert_ionq_error(api.post("/jobs", json=body), 400)["message"]
    assert "circuit" in message
    assert emu.store.counts() == {}


def _qasm3(qubits: int, *, mid: bool) -> str:
    """A GHZ program on ``qubits`` qubits; ``mid``: one measurement before a later gate."""
    gates = ["h q[0];"] + [f"cx q[0], q[{i}];" for i in range(1, qubits)]
    measures = [f"c[{i}] = measure q[{i}];" for i in range(qubits)]
    if mid:
        measures = [*measures[:1], "x q[0];", *measures[1:]]
    return (f'OPENQASM 3.0; include "stdgates.inc"; qubit[{qubits}] q; bit[{qubits}] c; '
            + " ".join(gates + measures))


def test_a_wide_qasm3_job_is_answered_within_a_client_timeout(api: Api, emu: Emulator,
                                                              clock: ManualClock) -> None:
    # 16 qubits x 1,024 shots took 35 s shot by shot inside POST /jobs; measurements at the
    # end are sampled from one statevector. 30 s: qiskit-ionq's read timeout.
    body = job_body(type="ionq.qasm3.v1", input={"data": _qasm3(16, mid=False)}, shots=1024,
                    noise={"model": "aria-1", "seed": 3})
    response = api.post("/jobs", json=body, timeout=30)
    assert response.status_code == 201, response.text
    clock.advance(20)
    job_id = response.json()["id"]
    shots = api.get(f"/jobs/{job_id}/artifacts/shots-v2").json()["shots"]
    assert len(shots) == 1024
    values = {tuple(shot["registers"]["c"]) for shot in shots}
    assert values == {(0,) * 16, (1,) * 16}  # a GHZ state: all 0 or all 1, both seen


def test_a_qasm3_job_over_the_shot_by_shot_bound_is_a_400(api: Api, emu: Emulator) -> None:
    body = job_body(type="ionq.qasm3.v1", input={"data": _qasm3(16, mid=True)}, shots=1024,
                    noise={"model": "aria-1", "seed": 3})
    message = assert_ionq_error(api.post("/jobs", json=body, timeout=30), 400)["message"]
    assert str(MAX_SHOT_BY_SHOT_WORK) in message and "fewer shots" in message
    assert emu.store.counts() == {}


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_json_is_a_400_and_listings_stay_json(api: Api, emu: Emulator,
                                                           constant: bytes) -> None:
    body = json.dumps(job_body(metadata={"x": "PLACEHOLDER"})).encode()
    body = body.replace(b'"PLACEHOLDER"', constant)
    response = api.post("/jobs", data=body, headers={"Content-Type": "application/json"})
    assert "NaN" in assert_ionq_error(response, 400)["message"]
    assert emu.store.counts() == {}
    api.submit()
    json.loads(api.get("/jobs").text, parse_constant=pytest.fail)  # strict JSON


def test_an_emulator_bug_is_a_500_not_a_dropped_connection(api: Api, emu: Emulator,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    job_id = api.submit()

    def broken(job_id: str) -> None:
        raise KeyError(job_id)

    monkeypatch.setattr(emu.store, "get", broken)
    assert_ionq_error(api.get(f"/jobs/{job_id}"), 500)


def test_qasm3_sampled_from_one_statevector_keeps_each_bit_s_qubit(api: Api,
                                                                  clock: ManualClock) -> None:
    # measured at the end (one statevector): c[0] reads q[2] (1), c[1] reads q[0] (0),
    # c[2] is never measured (0), d[0] reads q[1] (a fair coin)
    program = ('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; bit[3] c; bit[1] d; '
               "x q[2]; h q[1]; c[0] = measure q[2]; c[1] = measure q[0]; "
               "d[0] = measure q[1];")
    body = job_body(type="ionq.qasm3.v1", input={"data": program}, shots=200,
                    noise={"model": "aria-1", "seed": 11})
    job_id = api.submit(body)
    clock.advance(20)
    shots = api.get(f"/jobs/{job_id}/artifacts/shots-v2").json()["shots"]
    assert {tuple(s["registers"]["c"]) for s in shots} == {(1, 0, 0)}
    assert {s["registers"]["d"][0] for s in shots} == {0, 1}
