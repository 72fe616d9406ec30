"""Issue 23, part 3: what a job costs, as IonQ's October 1, 2026 document shapes it.
``GET /jobs/{UUID}/cost`` (``GetJobCostResponse``) and ``GET /jobs/estimate``
(``GetJobEstimateResponse``) priced from the emulator's price table (``Emulator(prices=...)``,
``ionq-cancel emulator --price``); QPU jobs' predictions; billing on completion and on cancel;
a session's cost_limit (issue 23, part 2).

The emu fixture: queue_time=10, run_time=5 on a manual clock. A Bell circuit (job_body) is one
one-qubit and one two-qubit gate, 100 shots: on qpu.forte-1 (0.80 usd per compute second)
100 * (1000 + 100 + 600) us = 0.17 s = 0.136 usd; on qpu.forte-enterprise-1 (gates)
100 * (0.0001 + 0.001) = 0.11 usd, raised to the job minimum of 1.00.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from support import BELL_INPUT, Api, assert_ionq_error, job_body

from qiskit_ionq_cancel.emulator import DEFAULT_PRICES, Emulator, ManualClock, Price

FORTE = "qpu.forte-1"  # priced by compute time (QCT)
ENTERPRISE = "qpu.forte-enterprise-1"  # priced by gates (2QGE_operations)
BELL_US = 100 * (1000 + 100 + 600)
QUEUED = 10.0  # the emu fixture's queue_time: the job starts at 10 s
RUN = 5.0  # and runs for 5 s


@pytest.fixture
def api(emu: Emulator, api_for: Any) -> Any:
    return api_for(emu)


def qpu_job(backend: str = FORTE, **overrides: Any) -> dict[str, Any]:
    return job_body(backend=backend, noise=None, **overrides)


def cost(api: Any, job_id: str) -> dict[str, Any]:
    response = api.get(f"/jobs/{job_id}/cost")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def estimate(api: Any, **params: Any) -> dict[str, Any]:
    response = api.get("/jobs/estimate", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


# -- GET /jobs/{UUID}/cost --------------------------------------------------------------------
def test_a_simulator_job_is_never_priced(api: Any, clock: ManualClock) -> None:
    job_id = api.submit(job_body())
    assert cost(api, job_id) == {"dry_run": False}
    clock.advance(QUEUED + RUN)
    assert api.job(job_id)["status"] == "completed"
    assert cost(api, job_id) == {"dry_run": False}  # free: no unit describes it


def test_a_qpu_job_has_an_estimate_then_a_cost_once_completed(api: Any,
                                                              clock: ManualClock) -> None:
    job_id = api.submit(qpu_job())
    queued = cost(api, job_id)
    assert queued == {"dry_run": False,
                      "estimated_cost": {"value": pytest.approx(0.136), "unit": "usd"}}
    clock.advance(QUEUED + 1)
    assert "cost" not in cost(api, job_id)  # running: not billed yet
    clock.advance(RUN)
    assert cost(api, job_id)["cost"] == {"value": pytest.approx(0.136), "unit": "usd"}


def test_the_gate_price_has_a_job_minimum(api: Any, clock: ManualClock) -> None:
    job_id = api.submit(qpu_job(ENTERPRISE))
    clock.advance(QUEUED + RUN)
    assert cost(api, job_id) == {"dry_run": False,
                                 "estimated_cost": {"value": 1.0, "unit": "usd"},
                                 "cost": {"value": 1.0, "unit": "usd"}}
    big = api.submit(qpu_job(ENTERPRISE, shots=10_000))
    assert cost(api, big)["estimated_cost"]["value"] == pytest.approx(11.0)  # over the minimum


def test_a_job_canceled_while_queued_costs_nothing(api: Any, clock: ManualClock) -> None:
    job_id = api.submit(qpu_job(ENTERPRISE))
    clock.advance(QUEUED - 1)
    assert api.put(f"/jobs/{job_id}/status/cancel").json()["status"] == "canceled"
    clock.advance(RUN * 2)
    assert cost(api, job_id)["cost"] == {"value": 0.0, "unit": "usd"}
    assert cost(api, job_id)["estimated_cost"]["value"] == 1.0  # the estimate stays


@pytest.mark.parametrize(("backend", "billed"), [
    # 2 s of 5 s run: 40 of 100 shots, each 1700 us at 0.80/s; and at 0.0011 a shot, no minimum
    (FORTE, 40 * 1700 / 1e6 * 0.80), (ENTERPRISE, 40 * 0.0011)])
def test_a_job_canceled_while_running_is_billed_for_the_shots_it_ran(
        api: Any, clock: ManualClock, backend: str, billed: float) -> None:
    job_id = api.submit(qpu_job(backend))
    clock.advance(QUEUED + 2)
    assert api.job(job_id)["status"] == "started"
    assert api.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    clock.advance(RUN)
    answer = cost(api, job_id)
    assert answer["cost"]["value"] == pytest.approx(billed)
    assert answer["cost"]["value"] < answer["estimated_cost"]["value"]


def test_failed_and_dry_run_jobs_cost_nothing(emu: Emulator, api: Any,
                                              clock: ManualClock) -> None:
    failed = api.submit(qpu_job())
    dry = api.submit(qpu_job(dry_run=True))
    clock.advance(QUEUED + 1)
    emu.store.fail(failed, "QuantumComputerError")
    clock.advance(RUN)
    assert cost(api, failed)["cost"]["value"] == 0.0
    assert cost(api, dry) == {"dry_run": True,
                              "estimated_cost": {"value": pytest.approx(0.136), "unit": "usd"},
                              "cost": {"value": 0.0, "unit": "usd"}}


def test_a_multi_circuit_job_costs_the_sum_of_its_circuits(api: Any,
                                                           clock: ManualClock) -> None:
    body = qpu_job(ENTERPRISE, shots=10_000, type="ionq.multi-circuit.v1", input={
        "gateset": "qis", "qubits": 2, "circuits": [
            {"name": "bell", "circuit": BELL_INPUT["circuit"]},
            {"name": "x", "circuit": [{"gate": "x", "targets": [0]}], "qubits": 1}]})
    parent = api.submit(body)
    children = api.job(parent)["child_job_ids"]
    per_child = [cost(api, c)["estimated_cost"]["value"] for c in children]
    assert per_child == [pytest.approx(11.0), 1.0]  # 10,000 x 0.0001 = 1.00: the minimum
    assert cost(api, parent)["estimated_cost"]["value"] == pytest.approx(12.0)
    clock.advance(QUEUED + RUN)
    assert cost(api, parent)["cost"]["value"] == pytest.approx(12.0)


def test_a_session_refuses_a_job_past_its_cost_limit(api: Any, clock: ManualClock) -> None:
    session = api.post("/sessions", json={"backend": FORTE, "settings": {
        "cost_limit": {"unit": "usd", "value": 0.3}}}).json()["id"]
    first = api.submit(qpu_job(session_id=session))
    api.submit(qpu_job(session_id=session))  # 0.272 of 0.3
    refused = api.post("/jobs", json=qpu_job(session_id=session))
    assert "cost_limit of 0.3 usd" in assert_ionq_error(refused, 400)["message"]
    assert len(api.get(f"/sessions/{session}/jobs").json()["jobs"]) == 2  # nothing created
    api.put(f"/jobs/{first}/status/cancel")  # before it ran: billed 0, its share freed
    clock.advance(QUEUED + RUN)
    api.submit(qpu_job(session_id=session))
    unlimited = api.post("/sessions", json={"backend": FORTE}).json()["id"]
    for _ in range(3):
        api.submit(qpu_job(session_id=unlimited))  # no cost_limit: none applies


def test_an_unknown_job_s_cost_is_a_404(api: Any) -> None:
    assert_ionq_error(api.get("/jobs/00000000-0000-4000-8000-000000000000/cost"), 404)


# -- what a QPU job says about its price --------------------------------------------------------
def test_qpu_jobs_carry_predictions_and_their_cost_model(api: Any, clock: ManualClock) -> None:
    forte = api.job(api.submit(qpu_job()))
    assert forte["cost_model"] == "QCT"
    assert forte["predicted_execution_duration_ms"] == RUN * 1000
    assert forte["stats"]["predicted_quantum_compute_time_us"] == BELL_US
    assert not {"cost", "estimated_cost", "price"} & forte.keys()  # jobs carry no price
    enterprise_id = api.submit(qpu_job(ENTERPRISE))
    assert api.job(enterprise_id)["cost_model"] == "2QGE_operations"
    clock.advance(QUEUED + RUN)
    assert api.job(enterprise_id)["stats"]["billed_quantum_compute_time_us"] == BELL_US


# -- GET /jobs/estimate -------------------------------------------------------------------------
def test_an_estimate_priced_by_compute_time(api: Any) -> None:
    answer = estimate(api, backend=FORTE, qubits=25, shots=1000, **{"1q_gates": 150,
                                                                    "2q_gates": 40})
    assert answer["estimate_context"] == {
        "backend": FORTE, "type": "ionq.circuit.v1", "qubits": 25, "shots": 1000,
        "1q_gates": 150, "2q_gates": 40, "error_mitigation": False,
        "organization": answer["estimate_context"]["organization"],
        "project": answer["estimate_context"]["project"]}
    assert answer["estimated_quantum_compute_time_us"] == 1000 * (1000 + 15_000 + 24_000)
    assert answer["estimated_total_cost"] == pytest.approx(40 * 0.80)
    assert answer["estimated_unit"] == "usd"
    assert answer["rate_card"]["rates"] == [
        {"sku": "emulator-qpu.forte-1", "unit": "compute_second", "unit_cost": 0.80}]
    # the times are the emulator's lifecycle: what a job submitted now shows
    assert answer["estimated_execution_time"] == RUN * 1000
    assert answer["current_predicted_queue_time"] == QUEUED * 1000
    assert answer["estimated_at"].endswith("Z")


def test_an_estimate_priced_by_gates_and_its_job_s_cost_agree(api: Any) -> None:
    answer = estimate(api, backend=ENTERPRISE, shots=100, qubits=2,
                      **{"1q_gates": 1, "2q_gates": 1, "error_mitigation": "true"})
    assert answer["estimate_context"]["error_mitigation"] is True
    assert "estimated_quantum_compute_time_us" not in answer  # compute_second backends only
    assert answer["rate_card"]["rates"] == [{
        "sku": "emulator-qpu.forte-enterprise-1", "unit": "gates", "cost_1q_gate": 0.0001,
        "cost_2q_gate": 0.001, "job_cost_minimum": 1.0}]
    job_id = api.submit(qpu_job(ENTERPRISE))
    assert answer["estimated_total_cost"] == cost(api, job_id)["estimated_cost"]["value"]
    defaults = estimate(api, backend=ENTERPRISE)["estimate_context"]
    assert (defaults["qubits"], defaults["shots"], defaults["1q_gates"]) == (25, 1000, 0)


def test_the_simulator_s_estimate_is_free(api: Any) -> None:
    answer = estimate(api, backend="simulator")
    assert answer["estimated_total_cost"] == 0.0 and answer["rate_card"]["rates"] == []
    assert "estimated_quantum_compute_time_us" not in answer


@pytest.mark.parametrize(("params", "key"), [
    ({"qubits": "0"}, "qubits"),
    ({"shots": "1000001"}, "shots"),
    ({"shots": "0"}, "shots"),
    ({"shots": "ten"}, "shots"),
    ({"1q_gates": "-1"}, "1q_gates"),
    ({"error_mitigation": "yes"}, "error_mitigation"),
    ({"error_mitigation": "1"}, "error_mitigation"),
    ({"qubit": "2"}, "qubit"),  # not a parameter of the operation
    ({"type": "ionq.circuit.v9"}, "type"),
    ({"qubits": "37"}, "qubits"),  # more than qpu.forte-1 has
])
def test_an_estimate_s_query_is_checked(api: Any, params: dict[str, str], key: str) -> None:
    answer = assert_ionq_error(api.get("/jobs/estimate",
                                       params={"backend": FORTE, **params}), 400)
    assert answer["validation"] == {"keys": [key], "source": "params"}
    assert key in answer["message"]


def test_shots_of_a_million_are_the_most_an_estimate_takes(api: Any) -> None:
    assert estimate(api, backend=FORTE, shots=1_000_000)["estimate_context"]["shots"] == \
        1_000_000


@pytest.mark.parametrize("backend", ["qpu.nowhere-1", "qpu.aria-1", ""])
def test_an_estimate_for_a_backend_that_runs_no_jobs_is_a_400(api: Any, backend: str) -> None:
    # backend is a query parameter whose schema (JobBackends) names the three backends that
    # run jobs: a retired one or an unknown one is a bad parameter, not a missing resource
    answer = assert_ionq_error(api.get("/jobs/estimate", params={"backend": backend}), 400)
    assert answer["validation"]["keys"] == ["backend"]
    assert_ionq_error(api.get("/jobs/estimate"), 400)  # and it is required


# -- the price table --------------------------------------------------------------------------
def test_prices_are_settable_per_backend(start_emulator: Any, api_for: Any) -> None:
    emulator = start_emulator(prices={
        FORTE: Price(unit="gates", cost_1q_gate=0.01, cost_2q_gate=0.1, currency="credit"),
        ENTERPRISE: {"unit": "compute_second", "unit_cost": 2.0}})
    api = api_for(emulator)
    answer = estimate(api, backend=FORTE, shots=10, **{"1q_gates": 1, "2q_gates": 1})
    assert (answer["estimated_total_cost"], answer["estimated_unit"]) == (
        pytest.approx(1.1), "credit")
    assert "job_cost_minimum" not in answer["rate_card"]["rates"][0]
    job_id = api.submit(qpu_job(FORTE))
    assert cost(api, job_id)["estimated_cost"] == {"value": pytest.approx(11.0),
                                                   "unit": "credit"}
    assert api.job(job_id)["cost_model"] == "2QGE_operations"
    by_time = estimate(api, backend=ENTERPRISE, shots=100, **{"1q_gates": 1, "2q_gates": 1})
    assert by_time["estimated_total_cost"] == pytest.approx(0.17 * 2.0)
    assert DEFAULT_PRICES[FORTE].unit == "compute_second"  # the defaults are left as they were


@pytest.mark.parametrize(("prices", "says"), [
    ({"simulator": Price(unit="gates")}, "not a priced backend"),
    ({"qpu.nowhere-1": Price(unit="gates")}, "not a priced backend"),
    ({FORTE: {"unit": "shots"}}, "gates or compute_second"),
    ({FORTE: {"unit": "gates", "cost_2q_gate": -1}}, "0 or more"),
    ({FORTE: {"unit": "compute_second", "unit_cost": float("inf")}}, "finite"),
    ({FORTE: {"unit": "gates", "cost_1q_gate": "0.1"}}, "numbers"),
    ({FORTE: {"unit": "gates", "price": 1}}, "unknown price field(s) price"),
    ({FORTE: {"cost_2q_gate": 1}}, "needs a unit"),
])
def test_a_bad_price_table_is_refused(prices: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError) as refused:
        Emulator(prices=prices)
    assert says in str(refused.value)


def test_the_cli_takes_prices_and_refuses_bad_ones_as_usage_errors() -> None:
    cli = [sys.executable, "-m", "qiskit_ionq_cancel.cli", "emulator", "--port", "0"]
    for flag, says in ((f"{FORTE}=[1]", "a JSON object"),
                       (f"{FORTE}={{\"unit\": \"shots\"}}", "gates or compute_second"),
                       ('simulator={"unit": "gates"}', "BACKEND=JSON"),
                       (f"{FORTE}=not json", FORTE)):
        done = subprocess.run([*cli, "--price", flag], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 2, done.stderr
        assert says in done.stderr and "Traceback" not in done.stderr
    with subprocess.Popen([*cli, "--price", f'{FORTE}={{"unit": "compute_second", '
                                              f'"unit_cost": 3}}'],
                          stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().rsplit(" ", 1)[-1].strip()
            client = Api(url)
            rates = estimate(client, backend=FORTE)["rate_card"]["rates"]
            client.close()
            assert rates == [{"sku": "emulator-qpu.forte-1", "unit": "compute_second",
                              "unit_cost": 3.0}]
        finally:
            server.terminate()
