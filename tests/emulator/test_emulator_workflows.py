"""The emulator's workflow job types over HTTP: multi-circuit jobs (children, parent status,
per-child results, cancel of parent and of one child), native gates, per-shot results and
histograms, OpenQASM 3 refused clearly, and sessions (limits, end, 404 when disabled)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from support import BELL_INPUT, assert_ionq_error, job_body

from qiskit_ionq_cancel.emulator import CHILD_CANCEL_MODES, ManualClock

X_INPUT = {"gateset": "qis", "qubits": 1, "circuit": [{"gate": "x", "targets": [0]}]}


def multi_body(**overrides: Any) -> dict[str, Any]:
    body = job_body(type="ionq.multi-circuit.v1", input={
        "gateset": "qis", "qubits": 2,
        "circuits": [{"name": "bell", "circuit": BELL_INPUT["circuit"]},
                     {"name": "x", "circuit": X_INPUT["circuit"], "qubits": 1}]})
    body.update(overrides)
    return body


@pytest.fixture
def make(start_emulator: Any, api_for: Any, clock: ManualClock) -> Any:
    """``make(**settings)`` -> (emulator, client) on the test's clock (the settings vary by
    parameter, which the ``emu`` marker cannot do)."""

    def build(**settings: Any) -> tuple[Any, Any]:
        emulator = start_emulator(clock=clock, queue_time=10, run_time=5, **settings)
        return emulator, api_for(emulator)
    return build


def test_a_multi_circuit_job_has_children_listed_and_filterable(make: Any,
                                                                 clock: ManualClock) -> None:
    _, api = make()
    parent_id = api.submit(multi_body())
    parent = api.job(parent_id)
    children = parent["child_job_ids"]
    assert parent["type"] == "ionq.multi-circuit.v1" and len(children) == 2
    assert parent["stats"]["circuits"] == 2
    listed = api.get("/jobs", params={"parent_job_id": parent_id}).json()["jobs"]
    assert sorted(j["id"] for j in listed) == sorted(children)
    assert {j["parent_job_id"] for j in listed} == {parent_id}
    assert {api.job(c)["status"] for c in children} == {"ready"} == {parent["status"]}
    clock.advance(20)
    assert api.job(parent_id)["status"] == "completed"
    aggregate = api.get(f"/jobs/{parent_id}/results/probabilities").json()
    assert aggregate[children[0]] == {"0": 0.5, "3": 0.5}
    assert aggregate[children[1]] == {"1": 1.0}
    artifact = api.get(f"/jobs/{parent_id}/artifacts/probabilities-aggregate").json()
    assert artifact == aggregate


def test_cancelling_the_parent_cancels_its_unfinished_children(make: Any) -> None:
    _, api = make()
    parent_id = api.submit(multi_body())
    assert api.put(f"/jobs/{parent_id}/status/cancel").json() == {
        "id": parent_id, "status": "canceled"}
    parent = api.job(parent_id)
    assert parent["status"] == "canceled"
    assert {api.job(c)["status"] for c in parent["child_job_ids"]} == {"canceled"}


@pytest.mark.parametrize("mode", CHILD_CANCEL_MODES)
def test_cancelling_one_child_follows_the_child_cancel_setting(make: Any, clock: ManualClock,
                                                               mode: str) -> None:
    _, api = make(child_cancel=mode)
    parent_id = api.submit(multi_body())
    first, second = api.job(parent_id)["child_job_ids"]
    answer = api.put(f"/jobs/{first}/status/cancel")
    if mode == "refuse":
        assert "cancel that job instead" in assert_ionq_error(answer, 400)["message"]
        assert api.job(first)["status"] == "ready"
        return
    assert answer.json() == {"id": first, "status": "canceled"}
    clock.advance(20)
    expected_sibling = "completed" if mode == "child" else "canceled"
    assert api.job(second)["status"] == expected_sibling
    assert api.job(parent_id)["status"] == "canceled"


def test_a_finished_circuit_job_has_shots_and_histogram(make: Any, clock: ManualClock) -> None:
    _, api = make()
    job_id = api.submit(job_body(shots=200))
    clock.advance(20)
    job = api.job(job_id)
    assert job["results"]["shots"]["url"].endswith(f"/jobs/{job_id}/results/shots")
    shots = api.get(f"/jobs/{job_id}/results/shots").json()
    histogram = api.get(f"/jobs/{job_id}/results/histogram").json()
    assert len(shots) == 200 and set(shots) <= {"0", "3"}
    assert histogram == {k: shots.count(k) for k in ("0", "3") if k in shots}
    assert api.get(f"/jobs/{job_id}/artifacts/shots").json() == shots  # same on every read


def test_native_gates_agree_with_qiskit_ionqs_own_definitions(make: Any,
                                                              clock: ManualClock) -> None:
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector
    from qiskit_ionq.ionq_gates import GPI2Gate, GPIGate, MSGate, ZZGate

    _, api = make()
    native = {"gateset": "native", "qubits": 2, "circuit": [
        {"gate": "gpi2", "target": 0, "phase": 0.1},
        {"gate": "ms", "targets": [0, 1], "phases": [0.2, 0.05], "angle": 0.2},
        {"gate": "gpi", "target": 1, "phase": 0.3},
        {"gate": "zz", "targets": [1, 0], "angle": 0.125},
        {"gate": "gpi2", "target": 1, "phase": 0.7}]}
    circuit = QuantumCircuit(2)
    circuit.append(GPI2Gate(0.1), [0])
    circuit.append(MSGate(0.2, 0.05, 0.2), [0, 1])
    circuit.append(GPIGate(0.3), [1])
    circuit.append(ZZGate(0.125), [1, 0])
    circuit.append(GPI2Gate(0.7), [1])
    expected = Statevector(circuit).probabilities()
    job_id = api.submit(job_body(input=native))
    clock.advance(20)
    probabilities = api.get(f"/jobs/{job_id}/results/probabilities").json()
    assert len([p for p in expected if p > 1e-9]) == 4  # a test that can tell gates apart
    for outcome, p in enumerate(expected):
        assert math.isclose(probabilities.get(str(outcome), 0.0), p, abs_tol=1e-9)


def test_an_unknown_native_gate_is_refused_by_name(make: Any) -> None:
    _, api = make()
    bad = {"gateset": "native", "qubits": 1, "circuit": [{"gate": "h", "target": 0}]}
    body = assert_ionq_error(api.post("/jobs", json=job_body(input=bad)), 400)
    assert "'h' is not in IonQ's native gate set" in body["message"]


def test_openqasm3_is_sampled_shot_by_shot(make: Any, clock: ManualClock) -> None:
    # h; measure; then x on the measured qubit: c[1] is always the opposite of c[0]
    program = ('OPENQASM 3.0; include "stdgates.inc"; bit[2] c; qubit[1] q; h q[0]; '
               "c[0] = measure q[0]; x q[0]; c[1] = measure q[0];")
    _, api = make()
    body = job_body(type="ionq.qasm3.v1", input={"qubits": 1, "data": program}, shots=50,
                    noise={"model": "aria-1", "seed": 5})
    job_id = api.submit(body)
    clock.advance(20)
    descriptor = api.job(job_id)["results"]["ionq.result.shots.json.v2"]
    shots = api.get(f"/jobs/{job_id}/artifacts/{descriptor['id']}").json()["shots"]
    assert len(shots) == 50
    assert all(s["registers"]["c"][0] != s["registers"]["c"][1] for s in shots)
    assert {s["registers"]["c"][0] for s in shots} == {0, 1}


def test_openqasm3_on_the_ideal_simulator_has_no_shots(make: Any, clock: ManualClock) -> None:
    program = 'OPENQASM 3.0; include "stdgates.inc"; bit[1] c; qubit[1] q; c[0] = measure q[0];'
    _, api = make()
    job_id = api.submit(job_body(type="ionq.qasm3.v1", input={"data": program}))
    clock.advance(20)
    assert api.job(job_id)["results"] == {}


@pytest.mark.parametrize(("program", "fragment"), [
    ('OPENQASM 3.0; include "stdgates.inc"; bit[1] c; qubit[1] q; c[0] = measure q[0]; '
     "if (c[0]) { x q[0]; }", "control flow"),
    ("OPENQASM 3.0; qubit[1] q; nonsense q[0];", "cannot be read"),
    ("", "must hold an OpenQASM 3 program"),
])
def test_openqasm3_that_cannot_be_simulated_is_a_clear_400(make: Any, program: str,
                                                          fragment: str) -> None:
    _, api = make()
    body = job_body(type="ionq.qasm3.v1", input={"data": program})
    assert fragment in assert_ionq_error(api.post("/jobs", json=body), 400)["message"]


# -- sessions ---------------------------------------------------------------------------------
def test_a_session_lives_from_created_to_ended(make: Any) -> None:
    _, api = make()
    session = api.post("/sessions", json={"backend": "simulator",
                                          "settings": {"job_count_limit": 2}}).json()
    assert (session["status"], session["active"]) == ("created", True)
    job_id = api.submit(job_body(session_id=session["id"]))
    assert api.job(job_id)["session_id"] == session["id"]
    assert api.get(f"/sessions/{session['id']}").json()["status"] == "started"
    jobs = api.get(f"/sessions/{session['id']}/jobs").json()["jobs"]
    assert [j["id"] for j in jobs] == [job_id]
    api.submit(job_body(session_id=session["id"]))
    over = api.post("/jobs", json=job_body(session_id=session["id"]))
    assert "job_count_limit of 2" in assert_ionq_error(over, 400)["message"]
    ended = api.post(f"/sessions/{session['id']}/end").json()
    assert (ended["status"], ended["active"]) == ("ended", False)
    assert api.post(f"/sessions/{session['id']}/end").json()["ended_at"] == ended["ended_at"]
    late = api.post("/jobs", json=job_body(session_id=session["id"]))
    assert "has ended" in assert_ionq_error(late, 400)["message"]
    listed = api.get("/sessions", params={"active": "false"}).json()["sessions"]
    assert [s["id"] for s in listed] == [session["id"]]


@pytest.mark.parametrize(("mode", "after_end"), [("drain", "ready"), ("cancel", "canceled")])
def test_ending_a_session_follows_the_session_end_setting(make: Any, mode: str,
                                                          after_end: str) -> None:
    _, api = make(session_end=mode)
    session_id = api.post("/sessions", json={"backend": "simulator"}).json()["id"]
    job_id = api.submit(job_body(session_id=session_id))
    api.post(f"/sessions/{session_id}/end")
    assert api.job(job_id)["status"] == after_end


def test_a_session_ends_at_its_duration_limit(make: Any, clock: ManualClock) -> None:
    _, api = make()
    session_id = api.post("/sessions", json={"backend": "simulator",
                                             "settings": {"duration_limit_min": 1}}).json()["id"]
    clock.advance(61)
    assert api.get(f"/sessions/{session_id}").json()["status"] == "ended"


def test_sessions_answer_404_when_disabled(make: Any) -> None:
    _, api = make(sessions_enabled=False)
    assert_ionq_error(api.post("/sessions", json={"backend": "simulator"}), 404)
    sid = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    message = assert_ionq_error(api.post("/jobs", json=job_body(session_id=sid)), 400)["message"]
    assert sid in message
