"""Conformance: real IonQ clients driven against the emulator, as moto's users drive it with
boto3. Each works, or fails only where the client itself is wrong (asserted and named here,
and in docs/emulator.md, "Real clients against it").

- ``ionq-core`` (IonQ's own client, generated from its v0.4 OpenAPI document): every jobs,
  sessions, backends, characterizations and whoami call it offers that the emulator serves.
- ``cirq-ionq`` and ``pennylane-ionq``: a Bell circuit end to end (submit, read, results),
  cirq-ionq's cancel and delete, and a pennylane-ionq batch (one multi-circuit job).

The lifecycle runs on a :class:`ManualClock`: a test moves it forward before a client polls,
so no client ever waits. The autouse contract monitor checks every answer here too.
"""

from __future__ import annotations

import json
import warnings
from typing import Any, TypeVar
from uuid import UUID

import pytest
from contract.observed import Emulator

from qiskit_ionq_cancel.emulator import ManualClock

KEY = "conformance-key"
DONE = 30.0  # seconds of the manual clock after which a job submitted at 0 is completed


pytestmark = pytest.mark.emu(api_keys=[KEY], seed=3)

T = TypeVar("T")


# -- ionq-core --------------------------------------------------------------------------------

core = pytest.importorskip("ionq_core")


@pytest.fixture
def ionq(emu: Emulator) -> Any:
    with warnings.catch_warnings():  # "base_url does not use HTTPS": loopback, on purpose
        warnings.simplefilter("ignore", UserWarning)
        client = core.IonQClient(api_key=KEY, base_url=emu.url, max_retries=0)
    return client


def parsed(answer: T | None) -> T:
    """An ionq-core ``sync`` call's parsed answer, which ionq-core types as optional (``None``
    for a status its document does not list): here it must be there."""
    assert answer is not None
    return answer


def bell_payload(**changes: Any) -> Any:
    from ionq_core.models import CircuitJobCreationPayload

    # the quickstart job of ionq-core's README: singular target/control, cnot
    body = {"type": "ionq.circuit.v1", "backend": "simulator", "shots": 100, "name": "bell",
            "input": {"gateset": "qis", "qubits": 2, "circuit": [
                {"gate": "h", "target": 0}, {"gate": "cnot", "target": 1, "control": 0}]}}
    body.update(changes)
    return CircuitJobCreationPayload.from_dict(body)


def test_ionq_core_submits_reads_waits_and_reads_results(ionq: Any, clock: ManualClock) -> None:
    from ionq_core.api.default import (
        create_job,
        get_job,
        get_job_artifact,
        get_job_probabilities,
    )

    created = parsed(create_job.sync(client=ionq, body=bell_payload()))
    assert created.status == "submitted" and created.session_id is None
    job = parsed(get_job.sync(uuid=created.id, client=ionq))
    assert type(job).__name__ == "SingleCircuitJob"  # parsed as IonQ's own model
    assert job.status == "ready" and job.submitter_id and job.child_job_ids is None
    clock.advance(DONE)
    done = core.wait_for_job(ionq, created.id, poll_interval=0.01, timeout=5)
    assert done.status == "completed"
    assert done.stats.gate_counts.additional_properties == {"1q": 1, "2q": 1}
    probabilities = parsed(get_job_probabilities.sync(uuid=created.id, client=ionq))
    assert probabilities.additional_properties == {"0": 0.5, "3": 0.5}
    # With the legacy {url} entry next to the format-keyed one (results_style="both"),
    # ionq-core cannot fit results into its CircuitJobResults model and keeps them as a dict
    descriptor = done.results["ionq.result.probabilities.json.v1"]
    artifact = get_job_artifact.sync_detailed(uuid=created.id, artifact_id=descriptor["id"],
                                              client=ionq)
    # (ionq-core leaves an artifact unparsed: its schema is "{}", any JSON)
    assert artifact.status_code == 200 and json.loads(artifact.content) == {"0": 0.5, "3": 0.5}


def test_ionq_core_types_results_named_only_by_format(start_emulator: Any) -> None:
    from ionq_core.api.default import create_job, get_job
    from ionq_core.models import CircuitJobResults

    emu = start_emulator(api_keys=[KEY], queue_time=0, run_time=0, results_style="formats")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ionq = core.IonQClient(api_key=KEY, base_url=emu.url, max_retries=0)
    job = parsed(get_job.sync(uuid=parsed(create_job.sync(client=ionq, body=bell_payload())).id,
                              client=ionq))
    assert isinstance(job.results, CircuitJobResults)
    typed = job.results.additional_properties  # its own model
    assert set(typed) == {"ionq.result.probabilities.json.v1", "ionq.result.histogram.json.v1",
                          "ionq.result.shots.json.v1", "ionq.result.probabilities.json.v2",
                          "ionq.result.histogram.json.v2"}
    assert typed["ionq.result.probabilities.json.v1"].id == "probabilities"
    # the v2 artifact as ionq-core types it (the October document's single-circuit example)
    from ionq_core.api.default import get_job_artifact
    from ionq_core.models import IonqResultProbabilitiesJsonV2

    answer = get_job_artifact.sync_detailed(uuid=job.id, artifact_id=typed[
        "ionq.result.probabilities.json.v2"].id, client=ionq)
    assert answer.status_code == 200
    v2 = IonqResultProbabilitiesJsonV2.from_dict(json.loads(answer.content))
    assert v2.to_dict() == {"probabilities": {"registers": {"output_all": {"00": 0.5,
                                                                           "11": 0.5}}}}


def test_ionq_core_lists_and_filters(ionq: Any, emu: Emulator, clock: ManualClock) -> None:
    from ionq_core.api.default import create_job, get_jobs

    ids = [parsed(create_job.sync(client=ionq, body=bell_payload())).id for _ in range(3)]
    forte = emu.store.add_jobs(1, backend="qpu.forte-1")
    page = parsed(get_jobs.sync(client=ionq, ids=ids[:2]))
    assert [type(j).__name__ for j in page.jobs] == ["BaseJob", "BaseJob"]
    assert {j.id for j in page.jobs} == set(ids[:2]) and page.next_ is None
    walked = list(core.iter_jobs(ionq, target="simulator,qpu.forte-1", limit=2))
    assert [j.id for j in walked] == (ids + forte)[::-1]
    mine = list(core.iter_jobs(ionq, submitter_id=walked[0].submitter_id))
    assert len(mine) == 4


def test_ionq_core_cancels_and_deletes(ionq: Any, clock: ManualClock) -> None:
    from ionq_core.api.default import (
        cancel_job,
        cancel_jobs,
        create_job,
        delete_job,
        delete_jobs,
        get_job,
    )
    from ionq_core.models import JobsBulkOperationRequest

    ids = [parsed(create_job.sync(client=ionq, body=bell_payload())).id for _ in range(4)]
    answer = parsed(cancel_job.sync(uuid=ids[0], client=ionq))
    assert (answer.id, answer.status) == (ids[0], "canceled")
    bulk = parsed(cancel_jobs.sync(client=ionq, body=JobsBulkOperationRequest(ids=ids[1:3])))
    assert (bulk.ids, bulk.status) == (ids[1:3], "canceled")
    assert {parsed(get_job.sync(uuid=i, client=ionq)).status for i in ids[:3]} == {"canceled"}
    deleted = parsed(delete_job.sync(uuid=ids[0], client=ionq))
    assert (deleted.id, deleted.status) == (ids[0], "deleted")
    many = parsed(delete_jobs.sync(client=ionq, body=JobsBulkOperationRequest(ids=ids[1:])))
    assert (many.ids, many.status) == (ids[1:], "deleted")
    with pytest.raises(core.NotFoundError):
        get_job.sync(uuid=ids[3], client=ionq)


def test_ionq_core_gets_a_typed_error_for_cancelling_a_finished_job(
        ionq: Any, clock: ManualClock) -> None:
    from ionq_core.api.default import cancel_job, create_job

    job_id = parsed(create_job.sync(client=ionq, body=bell_payload())).id
    clock.advance(DONE)
    with pytest.raises(core.APIError) as refused:  # the emulator's default: a 409
        cancel_job.sync(uuid=job_id, client=ionq)
    assert refused.value.status_code == 409


def test_ionq_core_reads_backends_characterizations_costs_and_whoami(
        ionq: Any, clock: ManualClock) -> None:
    from ionq_core.api.backends import get_backend, get_backends
    from ionq_core.api.characterizations import (
        get_characterization,
        get_characterizations_for_backend,
    )
    from ionq_core.api.default import create_job, estimate_job_cost, get_job_cost
    from ionq_core.api.whoami import get_whoami
    from ionq_core.types import Unset

    backends = parsed(get_backends.sync(client=ionq))
    assert [b.backend for b in backends if b.status == "available"] == [
        "simulator", "qpu.forte-1", "qpu.forte-enterprise-1"]
    assert {b.status for b in backends[3:]} == {"retired"}
    forte = parsed(get_backend.sync(backend="qpu.forte-1", client=ionq))
    assert forte.supported_native_gates and isinstance(forte.last_updated, str)
    page = parsed(get_characterizations_for_backend.sync(backend="qpu.forte-1", client=ionq))
    first = page.characterizations[0].id
    assert isinstance(first, UUID)  # ionq-core's model leaves it optional (Unset)
    one = parsed(get_characterization.sync(backend="qpu.forte-1", uuid=first, client=ionq))
    assert str(one.id) == forte.characterization_id
    assert parsed(get_whoami.sync(client=ionq)).key_name
    estimate = parsed(estimate_job_cost.sync(client=ionq, backend="qpu.forte-1", qubits=2,
                                             shots=100))
    assert estimate.estimate_context.backend == "qpu.forte-1"
    job_id = parsed(create_job.sync(client=ionq, body=bell_payload(backend="qpu.forte-1"))).id
    cost = parsed(get_job_cost.sync(uuid=job_id, client=ionq)).estimated_cost
    assert not isinstance(cost, Unset)  # ionq-core's model leaves it optional
    assert cost.unit == "usd"


def test_ionq_core_reads_estimates_and_costs_of_both_pricing_models(
        ionq: Any, clock: ManualClock) -> None:
    from ionq_core.api.default import create_job, estimate_job_cost, get_job, get_job_cost
    from ionq_core.types import Unset

    by_time = parsed(estimate_job_cost.sync(
        client=ionq, backend="qpu.forte-1", qubits=2, shots=100, field_1q_gates=1,
        field_2q_gates=1, error_mitigation=True))
    assert by_time.estimate_context.error_mitigation is True
    assert [r.unit for r in by_time.rate_card.rates] == ["compute_second"]
    assert by_time.rate_card.rates[0].unit_cost == 0.80
    assert by_time.estimated_quantum_compute_time_us == 100 * (1000 + 100 + 600)
    assert by_time.estimated_total_cost == pytest.approx(0.17 * 0.80)
    by_gates = parsed(estimate_job_cost.sync(
        client=ionq, backend="qpu.forte-enterprise-1", qubits=2, shots=1000,
        field_1q_gates=150, field_2q_gates=40))
    gates = by_gates.rate_card.rates[0]
    assert (gates.unit, gates.cost_1q_gate, gates.cost_2q_gate, gates.job_cost_minimum) == (
        "gates", 0.0001, 0.001, 1.0)
    assert isinstance(by_gates.estimated_quantum_compute_time_us, Unset)
    assert by_gates.estimated_total_cost == pytest.approx(55.0)
    free = parsed(estimate_job_cost.sync(client=ionq, backend="simulator"))
    assert free.estimated_total_cost == 0 and free.rate_card.rates == []

    qpu = parsed(create_job.sync(client=ionq,
                                 body=bell_payload(backend="qpu.forte-enterprise-1"))).id
    sim = parsed(create_job.sync(client=ionq, body=bell_payload())).id
    clock.advance(DONE)
    billed = parsed(get_job_cost.sync(uuid=qpu, client=ionq))
    assert not isinstance(billed.estimated_cost, Unset) and not isinstance(billed.cost, Unset)
    assert billed.cost.value == billed.estimated_cost.value == 1.0  # the job minimum
    assert billed.dry_run is False
    unpriced = parsed(get_job_cost.sync(uuid=sim, client=ionq))
    assert isinstance(unpriced.estimated_cost, Unset) and isinstance(unpriced.cost, Unset)
    job = parsed(get_job.sync(uuid=qpu, client=ionq)).to_dict()
    assert job["cost_model"] == "2QGE_operations"
    assert job["stats"]["predicted_quantum_compute_time_us"] == 100 * (1000 + 100 + 600)


# -- cirq-ionq --------------------------------------------------------------------------------

def _cirq_service(emu: Emulator) -> Any:
    cirq_ionq = pytest.importorskip("cirq_ionq")
    return cirq_ionq.Service(remote_host=emu.url.rsplit("/v0.4", 1)[0], api_key=KEY,
                             default_target="simulator", api_version="v0.4")


def _cirq_bell() -> Any:
    import cirq

    q0, q1 = cirq.LineQubit.range(2)
    return cirq.Circuit(cirq.H(q0), cirq.CNOT(q0, q1), cirq.measure(q0, q1, key="x"))


def test_cirq_ionq_runs_a_bell_circuit(emu: Emulator, clock: ManualClock) -> None:
    service = _cirq_service(emu)
    # cirq-ionq sends "shots": "100" (a string) and a cnot gate: both accepted
    job = service.create_job(_cirq_bell(), repetitions=100)
    assert job.status() == "ready"
    clock.advance(DONE)
    result = job.results(polling_seconds=0, timeout_seconds=5)
    assert {str(k): v for k, v in result.probabilities().items()} == {"0": 0.5, "3": 0.5}
    assert service.get_job(job.job_id()).status() == "completed"


def test_cirq_ionq_cancels_and_deletes(emu: Emulator) -> None:
    service = _cirq_service(emu)
    job = service.create_job(_cirq_bell(), repetitions=100)
    job.cancel()
    assert job.status() == "canceled"
    other = service.create_job(_cirq_bell(), repetitions=100)
    other.delete()
    assert emu.store.counts() == {"canceled": 1}


def test_cirq_ionq_s_list_jobs_rereads_the_first_page(emu: Emulator) -> None:
    # A cirq-ionq bug, not the emulator's: IonQ's GetJobsResponse always has "next" (null on
    # the last page), and cirq-ionq stops paging only when the key is absent, so it reads
    # the first page again and again until it holds ``limit`` entries.
    service = _cirq_service(emu)
    emu.store.add_jobs(2)
    listed = service.list_jobs(limit=6)
    assert len(listed) == 6 and len({j.job_id() for j in listed}) == 2


# -- pennylane-ionq ---------------------------------------------------------------------------

def test_pennylane_ionq_runs_a_bell_circuit(start_emulator: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    qml = pytest.importorskip("pennylane")
    api_client = pytest.importorskip("pennylane_ionq.api_client")
    # pennylane-ionq polls with sleeps: a job that is done at once is never waited for
    emu = start_emulator(api_keys=[KEY], queue_time=0, run_time=0)
    # pennylane-ionq has no URL setting: its APIClient.BASE_URL is where it sends requests
    monkeypatch.setattr(api_client.APIClient, "BASE_URL", emu.url)
    dev = qml.device("ionq.simulator", wires=2, api_key=KEY)

    def bell_circuit() -> Any:
        qml.Hadamard(0)  # a one-qubit gate: pennylane-ionq writes a singular "target"
        qml.CNOT([0, 1])
        return qml.probs(wires=[0, 1])

    # @qml.set_shots(100) @qml.qnode(dev), applied by hand: pennylane comes from
    # importorskip, untyped, and a decorator of that kind would leave the test untyped
    bell = qml.set_shots(100)(qml.qnode(dev)(bell_circuit))
    assert list(bell()) == [0.5, 0.0, 0.0, 0.5]
    assert emu.store.counts() == {"completed": 1}


def test_ionq_core_drives_a_session(ionq: Any, emu: Emulator) -> None:
    from ionq_core.api.default import (
        create_job,
        create_session,
        end_session,
        get_session,
        get_session_jobs,
        get_sessions,
    )
    from ionq_core.models import CreateSessionRequest

    request = CreateSessionRequest.from_dict({"backend": "simulator",
                                              "settings": {"job_count_limit": 5}})
    session = parsed(create_session.sync(client=ionq, body=request))
    assert (session.status, session.active) == ("created", True)
    job = parsed(create_job.sync(client=ionq, body=bell_payload(session_id=session.id)))
    assert parsed(get_session.sync(session_id=session.id, client=ionq)).status == "started"
    jobs = parsed(get_session_jobs.sync(session_id_path=session.id, client=ionq))
    assert [j.id for j in jobs.jobs] == [job.id]
    assert [s.id for s in parsed(get_sessions.sync(client=ionq)).sessions] == [session.id]
    ended = parsed(end_session.sync(session_id=session.id, client=ionq))
    assert (ended.status, ended.active) == ("ended", False)


def test_pennylane_ionq_runs_a_batch_as_a_multi_circuit_job(
        start_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    qml = pytest.importorskip("pennylane")
    api_client = pytest.importorskip("pennylane_ionq.api_client")
    emu = start_emulator(api_keys=[KEY], queue_time=0, run_time=0)
    monkeypatch.setattr(api_client.APIClient, "BASE_URL", emu.url)
    dev = qml.device("ionq.simulator", wires=1, api_key=KEY)
    tapes = []
    for flip in (False, True):
        with qml.tape.QuantumTape(shots=100) as tape:
            (qml.PauliX if flip else qml.PauliZ)(0)  # pennylane-ionq warns of empty circuits
            qml.probs(wires=[0])
        tapes.append(tape)
    results = qml.execute(tapes, dev)
    assert [list(r) for r in results] == [[1.0, 0.0], [0.0, 1.0]]
    parents = [j for j in emu.store.list(limit=10)["jobs"]
               if j["type"] == "ionq.multi-circuit.v1"]
    assert len(parents) == 1


def test_cirq_ionq_s_native_zz_sends_phase_and_runs(emu: Emulator, clock: ManualClock) -> None:
    # cirq-ionq writes its ZZGate as {"gate": "zz", "phase": theta}: IonQ's October 2026
    # document allows `phase` on every native gate, and the emulator reads it as zz's angle
    import cirq

    native = pytest.importorskip("cirq_ionq.ionq_native_gates")
    GPI2Gate, ZZGate = native.GPI2Gate, native.ZZGate
    service = _cirq_service(emu)
    q0, q1 = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(GPI2Gate(phi=0.0).on(q0), GPI2Gate(phi=0.0).on(q1),
                           ZZGate(theta=0.125).on(q0, q1), GPI2Gate(phi=0.25).on(q0),
                           cirq.measure(q0, q1, key="x"))
    mark = emu.log.mark()
    job = service.create_job(circuit, repetitions=100)
    assert [e.status for e in emu.log.since(mark) if e.method == "POST"] == [201]
    clock.advance(DONE)
    got = {int(k): v for k, v in job.results(polling_seconds=0, timeout_seconds=5)
           .probabilities().items()}
    expected = cirq.final_state_vector(cirq.drop_terminal_measurements(circuit),
                                       qubit_order=[q1, q0])
    for outcome, amplitude in enumerate(expected):
        assert abs(got.get(outcome, 0.0) - abs(amplitude) ** 2) < 1e-6


# -- qiskit-ionq ------------------------------------------------------------------------------

def test_qiskit_ionq_reads_the_native_compiled_circuit(emu: Emulator,
                                                       clock: ManualClock) -> None:
    # qiskit-ionq's compiled_circuit("native") reads output.compilation.compiled_circuits;
    # the emulator compiles the circuit to native gates, which qiskit-ionq's own gate
    # definitions must find to be the same circuit
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import Statevector
    from qiskit_ionq.ionq_gates import GPI2Gate, GPIGate, MSGate, ZZGate
    from support import bell

    from qiskit_ionq_cancel import IonQProvider

    job = IonQProvider(KEY, url=emu.url).get_backend("simulator").run(bell(), shots=100)
    clock.advance(DONE)
    compiled = job.compiled_circuit("native")
    assert isinstance(compiled, dict) and compiled["qubits"] == 2
    circuit = QuantumCircuit(2)
    for gate in compiled["circuit"]:
        name, where = gate["gate"], gate.get("targets", [gate.get("target")])
        if name == "gpi":
            circuit.append(GPIGate(gate["phase"]), where)
        elif name == "gpi2":
            circuit.append(GPI2Gate(gate["phase"]), where)
        elif name == "ms":
            circuit.append(MSGate(gate["phases"][0], gate["phases"][1],
                                  gate.get("angle", 0.25)), where)
        else:
            assert name == "zz"
            circuit.append(ZZGate(gate["angle"]), where)
    probabilities = Statevector(circuit).probabilities_dict()
    assert {k for k, p in probabilities.items() if p > 1e-9} == {"00", "11"}
    assert abs(probabilities["00"] - 0.5) < 1e-9
