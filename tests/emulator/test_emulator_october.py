"""Issue 25 §2: the emulator against IonQ's October 1, 2026 v0.4 document. What the document
allows is taken; what it forbids is a 400, except the cases of the ``lenient`` setting that a
real client is known to send (``DEFAULT_LENIENT``), each taken as described in
``LENIENT_CASES``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from support import BELL_INPUT, assert_ionq_error, job_body

from qiskit_ionq_cancel.emulator import DEFAULT_LENIENT, LENIENT_CASES, Emulator, ManualClock
from qiskit_ionq_cancel.emulator.formats import FORMATS


@pytest.fixture
def api(emu: Emulator, api_for: Any) -> Any:
    return api_for(emu)


def probabilities(api: Any, clock: ManualClock, body: dict[str, Any]) -> dict[str, float]:
    job_id = api.submit(body)
    clock.advance(20)
    data: dict[str, float] = api.get(f"/jobs/{job_id}/results/probabilities").json()
    return data


# -- what the document allows -----------------------------------------------------------------
def test_input_qubits_is_optional(api: Any, clock: ManualClock) -> None:
    block = {"gateset": "qis", "circuit": [{"gate": "h", "target": 0},
                                           {"gate": "x", "control": 0, "target": 2}]}
    assert probabilities(api, clock, job_body(input=block)) == {"0": 0.5, "5": 0.5}


def test_zz_takes_its_angle_as_phase_like_cirq_ionq(api: Any, clock: ManualClock) -> None:
    def circuit(field: str) -> dict[str, Any]:
        return {"gateset": "native", "qubits": 2, "circuit": [
            {"gate": "gpi2", "target": 0, "phase": 0}, {"gate": "gpi2", "target": 1, "phase": 0},
            {"gate": "zz", "targets": [0, 1], field: 0.125},
            {"gate": "gpi2", "target": 0, "phase": 0.25}]}
    by_angle = probabilities(api, clock, job_body(input=circuit("angle")))
    by_phase = probabilities(api, clock, job_body(input=circuit("phase")))
    assert by_angle == by_phase and len(by_angle) > 1
    both = circuit("angle")
    both["circuit"][2]["phase"] = 0.25
    assert "disagree" in assert_ionq_error(api.post("/jobs", json=job_body(input=both)),
                                           400)["message"]


def test_nop_and_the_document_s_native_fields_are_taken(api: Any, clock: ManualClock) -> None:
    block = {"gateset": "native", "qubits": 1, "circuit": [
        {"gate": "gpi", "target": 0, "phase": 0, "angle": 0.1, "rotation": 0.2},
        {"gate": "nop", "targets": [0]}, {"gate": "nop"}]}
    assert probabilities(api, clock, job_body(input=block)) == {"1": 1.0}
    bad = {"gateset": "native", "qubits": 1, "circuit": [{"gate": "gpi", "target": 0,
                                                          "phase": 0, "controls": [0]}]}
    assert_ionq_error(api.post("/jobs", json=job_body(input=bad)), 400)


def test_circuits_take_registers(api: Any, emu: Emulator) -> None:
    circuit: dict[str, Any] = {"circuit": BELL_INPUT["circuit"], "qubits": 2,
                               "registers": {"all": [0, 1]}}
    block = {"gateset": "qis", "circuits": [circuit]}
    api.submit(job_body(type="ionq.multi-circuit.v1", input=block))
    circuit["registers"] = {"all": [0, 5]}
    message = assert_ionq_error(api.post("/jobs", json=job_body(
        type="ionq.multi-circuit.v1", input=block)), 400)["message"]
    assert "register 'all'" in message


def test_a_session_cost_limit_needs_no_unit(api: Any) -> None:
    response = api.post("/sessions", json={"backend": "simulator",
                                           "settings": {"cost_limit": {"value": 5}}})
    assert response.status_code == 201, response.text
    assert response.json()["settings"]["cost_limit"] == {"value": 5}


# -- what the document forbids ----------------------------------------------------------------
FORBIDDEN: dict[str, dict[str, Any]] = {
    "missing_backend": {"backend": None},
    "missing_type": {"type": None},
    "multi_circuit_without_gateset": {"type": "ionq.multi-circuit.v1", "input": {
        "circuits": [{"circuit": BELL_INPUT["circuit"], "qubits": 2}]}},
    "unknown_fields": {"priority": "high"},
    "lang_field": {"lang": "json"},
    "debiasing_few_shots": {"backend": "qpu.forte-1", "shots": 100,
                            "settings": {"error_mitigation": {"debiasing": True}}},
    "unknown_session": {"session_id": "5f0c6b0e-3f7a-4c1e-9d2b-8a4e6f1c2d3b"},
    "non_string_metadata": {"metadata": {"qiskit_primitive_pub_index": 3, "ok": True}},
    "shots_as_string": {"shots": "100"},
    "null_noise_seed": {"noise": {"model": "ideal", "seed": None}},
    "qasm3_qubits": {"type": "ionq.qasm3.v1", "input": {
        "qubits": 1, "data": 'OPENQASM 3.0; bit[1] c; qubit[1] q; c[0] = measure q[0];'}},
}


def _body(case: str) -> dict[str, Any]:
    changes = {"noise": {"model": "ideal"}, **FORBIDDEN[case]}
    body = job_body(**{k: v for k, v in changes.items() if v is not None})
    for key in [k for k, v in FORBIDDEN[case].items() if v is None]:
        del body[key]
    return body


def test_every_job_case_is_tested() -> None:
    assert set(FORBIDDEN) == set(LENIENT_CASES) - {"session_backend_alias"}


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
@pytest.mark.emu(lenient=False)
def test_a_strict_emulator_refuses_what_the_document_forbids(api: Any, emu: Emulator,
                                                             case: str) -> None:
    message = assert_ionq_error(api.post("/jobs", json=_body(case)), 400)["message"]
    assert repr(case) in message  # names the setting that would take it
    assert emu.store.counts() == {}


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_the_default_takes_only_what_real_clients_send(api: Any, emu: Emulator,
                                                       case: str) -> None:
    response = api.post("/jobs", json=_body(case))
    if case in DEFAULT_LENIENT:
        assert response.status_code == 201, response.text
    else:
        assert repr(case) in assert_ionq_error(response, 400)["message"]


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
@pytest.mark.emu(lenient=True)
def test_a_lenient_emulator_takes_each_case(api: Any, case: str) -> None:
    assert api.post("/jobs", json=_body(case)).status_code == 201


def test_metadata_values_are_stored_as_strings(api: Any) -> None:
    job_id = api.submit(job_body(metadata={"qiskit_primitive_pub_index": 3, "flag": True,
                                           "nothing": None, "text": "x"}))
    expected = {"qiskit_primitive_pub_index": "3", "flag": "true", "nothing": "null",
                "text": "x"}
    assert api.job(job_id)["metadata"] == expected
    [listed] = api.get("/jobs").json()["jobs"]
    assert listed["metadata"] == expected  # BaseJob.metadata: strings only


def test_a_made_up_session_id_is_filed_when_lenient(start_emulator: Any, api_for: Any) -> None:
    lenient = DEFAULT_LENIENT | {"unknown_session"}
    api = api_for(start_emulator(api_keys=["k" * 12], lenient=lenient), key="k" * 12)
    sid = "5f0c6b0e-3f7a-4c1e-9d2b-8a4e6f1c2d3b"
    job_id = api.submit(job_body(session_id=sid))
    assert api.job(job_id)["session_id"] == sid


@pytest.mark.parametrize(("backend", "lenient", "status"), [
    ("nonsense", DEFAULT_LENIENT, 400),
    ("ionq_simulator", DEFAULT_LENIENT, 201),  # qiskit-ionq's name of the simulator
    ("ionq_simulator", frozenset(), 400),
    ("qpu.forte-1", frozenset(), 201),
])
def test_session_backends(start_emulator: Any, api_for: Any, backend: str,
                          lenient: frozenset[str], status: int) -> None:
    api = api_for(start_emulator(api_keys=["k" * 12], lenient=lenient), key="k" * 12)
    response = api.post("/sessions", json={"backend": backend})
    assert response.status_code == status, response.text


def test_an_unknown_lenient_case_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown lenient case"):
        Emulator(lenient={"everything"})


def test_debiasing_with_500_shots_is_taken(api: Any) -> None:
    api.submit(job_body(backend="qpu.forte-1", shots=500,
                        settings={"error_mitigation": {"debiasing": True}}))


def test_characterizations_limit_is_1_to_10(api: Any) -> None:
    assert api.get("/backends/qpu.forte-1/characterizations",
                   params={"limit": "10"}).status_code == 200
    for bad in ("11", "0", "x"):
        assert_ionq_error(api.get("/backends/qpu.forte-1/characterizations",
                                  params={"limit": bad}), 400)


# -- compiled circuits and register-nested results --------------------------------------------
QIS = {"gateset": "qis", "qubits": 3, "circuit": [
    {"gate": "h", "targets": [0]}, {"gate": "x", "controls": [0], "targets": [1]},
    {"gate": "ry", "targets": [2], "rotation": 0.7},
    {"gate": "xx", "targets": [1, 2], "rotation": 0.4}, {"gate": "t", "targets": [0]},
    {"gate": "x", "controls": [0, 1], "targets": [2]}]}


def test_a_completed_job_offers_its_native_compiled_circuit(api: Any,
                                                            clock: ManualClock) -> None:
    job_id = api.submit(job_body(input=QIS))
    assert api.job(job_id)["output"] == {}  # not before it is done
    clock.advance(20)
    job = api.job(job_id)
    descriptor = job["output"]["compilation"]["compiled_circuits"]["ionq.native.v1"]
    compiled = api.get(f"/jobs/{job_id}/artifacts/{descriptor['id']}").json()
    assert compiled["qubits"] == 3
    assert {g["gate"] for g in compiled["circuit"]} <= {"gpi", "gpi2", "ms", "zz"}
    # the compiled circuit is the same circuit: its own job gives the same probabilities
    native_probabilities = probabilities(api, clock, job_body(input={"gateset": "native",
                                                                     **compiled}))
    expected = api.get(f"/jobs/{job_id}/results/probabilities").json()
    assert set(native_probabilities) == set(expected)
    for outcome, p in expected.items():
        assert abs(native_probabilities[outcome] - p) < 1e-9


def test_register_nested_results(api: Any, clock: ManualClock) -> None:
    job_id = api.submit(job_body(input=QIS, shots=300))
    clock.advance(20)
    results = api.job(job_id)["results"]
    flat = api.get(f"/jobs/{job_id}/results/probabilities").json()
    v2 = results["ionq.result.probabilities.json.v2"]
    nested = api.get(f"/jobs/{job_id}/artifacts/{v2['id']}").json()
    expected = {format(int(k), "03b"): p for k, p in flat.items()}
    assert nested == {"probabilities": {"registers": {"output_all": expected}}}
    h2 = results["ionq.result.histogram.json.v2"]
    histogram = api.get(f"/jobs/{job_id}/artifacts/{h2['id']}").json()["histogram"]
    assert sum(histogram["registers"]["output_all"].values()) == 300


def test_a_circuit_s_registers_nest_its_results(api: Any, clock: ManualClock) -> None:
    block = {"gateset": "qis", "circuits": [{"qubits": 2, "registers": {"second": [1]},
                                             "circuit": [{"gate": "x", "targets": [1]}]}]}
    parent = api.submit(job_body(type="ionq.multi-circuit.v1", input=block))
    clock.advance(20)
    [child] = api.job(parent)["child_job_ids"]
    nested = api.get(f"/jobs/{child}/artifacts/probabilities-v2").json()
    assert nested["probabilities"]["registers"] == {"output_all": {"10": 1.0},
                                                    "second": {"1": 1.0}}


def test_legacy_url_entries_are_the_one_deviation_and_can_be_turned_off(
        start_emulator: Any, api_for: Any, clock: ManualClock) -> None:
    api = api_for(start_emulator(api_keys=["k" * 12], clock=clock, results_style="formats"),
                  key="k" * 12)
    job_id = api.submit(job_body())
    clock.advance(20)
    results = api.job(job_id)["results"]
    assert results and all(set(entry) == {"id", "format", "media_type"}
                           for entry in results.values())


def test_a_session_with_a_duration_limit_says_when_it_expires(api: Any) -> None:
    session = api.post("/sessions", json={"backend": "simulator",
                                          "settings": {"duration_limit_min": 30}}).json()
    created = datetime.fromisoformat(session["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(session["settings"]["expires_at"].replace("Z", "+00:00"))
    assert expires - created == timedelta(minutes=30)
    plain = api.post("/sessions", json={"backend": "simulator"}).json()
    assert "expires_at" not in plain["settings"]


def test_qpus_say_their_power_and_site_and_qpu_jobs_their_cost_model(api: Any) -> None:
    backends = {b["backend"]: b for b in api.get("/backends").json()}
    assert backends["qpu.forte-1"]["kw"] > 0 and backends["qpu.forte-1"]["location"]
    assert "kw" not in backends["simulator"]
    qpu = api.job(api.submit(job_body(backend="qpu.forte-1")))
    assert qpu["cost_model"] == "QCT"
    assert "cost_model" not in api.job(api.submit(job_body()))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_s_schema_is_served(api: Any, name: str) -> None:
    document = api.get(f"/schemas/formats/{name}").json()
    assert document["$id"] == name and document["type"] in ("object", "array")
    assert document["$schema"].startswith("https://json-schema.org/draft-07")


def test_an_unknown_format_is_a_404(api: Any) -> None:
    assert_ionq_error(api.get("/schemas/formats/ionq.result.nothing.v9"), 404)


def test_served_artifacts_keep_their_format_s_schema(api: Any, clock: ManualClock) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    job_id = api.submit(job_body(input=QIS, shots=50))
    clock.advance(20)
    job = api.job(job_id)
    named = {**job["output"]["compilation"]["compiled_circuits"],
             **{k: v for k, v in job["results"].items() if "format" in v}}
    for name, descriptor in named.items():
        payload = api.get(f"/jobs/{job_id}/artifacts/{descriptor['id']}").json()
        jsonschema.Draft7Validator(api.get(f"/schemas/formats/{name}").json()).validate(
            payload)  # draft-07, as its $schema says (in IonQ's spelling)


def test_a_clone_is_a_new_job_with_the_same_input(api: Any, emu: Emulator) -> None:
    source = api.submit(job_body(input=QIS, shots=200, name="original"))
    answer = api.post(f"/jobs/{source}/clone", json={"name": "copy", "shots": 300})
    assert answer.status_code == 201, answer.text
    clone = api.job(answer.json()["id"])
    assert clone["id"] != source and clone["name"] == "copy"
    assert emu.store._jobs[clone["id"]].input == emu.store._jobs[source].input
    assert emu.store._jobs[clone["id"]].shots == 300
    assert_ionq_error(api.post(f"/jobs/{source}/clone", json={"input": QIS}), 400)
    missing = "5f0c6b0e-3f7a-4c1e-9d2b-8a4e6f1c2d3b"
    assert_ionq_error(api.post(f"/jobs/{missing}/clone", json={}), 404)


def test_an_organization_s_usage_is_zero(api: Any) -> None:
    organization = api.get("/sessions").json()["organization_id"]
    query = {"start_date": "2026-10-01", "end_date": "2026-10-31", "group_by": "project",
             "modality": "weekly"}
    usage = api.get(f"/organizations/{organization}/usage", params=query).json()
    assert usage["amount_total"] == 0 and usage["usage_data"] == []
    assert usage["usage_from"] == "2026-10-01T00:00:00Z"
    assert usage["usage_to"] == "2026-11-01T00:00:00Z"  # the end date is inclusive
    for name, bad in (("start_date", "2026-13-01"), ("group_by", "team"), ("modality", None)):
        wrong = {k: v for k, v in {**query, name: bad}.items() if v is not None}
        assert name in assert_ionq_error(api.get(f"/organizations/{organization}/usage",
                                                 params=wrong), 400)["message"]
    other = "5f0c6b0e-3f7a-4c1e-9d2b-8a4e6f1c2d3b"
    assert_ionq_error(api.get(f"/organizations/{other}/usage", params=query), 404)
