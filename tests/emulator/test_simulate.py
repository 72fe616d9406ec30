"""The emulator's ideal simulation: round trips through qiskit-ionq's own serializer against
Qiskit's statevector, hand-checked conventions, and every refusal."""

from __future__ import annotations

import json
import math
import random
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.library import PauliEvolutionGate
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_ionq.helpers import qiskit_circ_to_ionq_circ
from scipy.sparse import SparseEfficiencyWarning  # type: ignore[import-untyped]

from qiskit_ionq_cancel.emulator.simulate import (
    MAX_QUBITS,
    UnsupportedCircuitError,
    gate_counts,
    ideal_probabilities,
)

TOLERANCE = 1e-9
Builder = Callable[[QuantumCircuit], None]


# -- helpers ---------------------------------------------------------------------------------
def to_input_block(circuit: QuantumCircuit, *, synthesis: bool = False) -> dict[str, Any]:
    """The ``input`` block ``qiskit_ionq.helpers.qiskit_to_ionq`` sends, after a JSON trip."""
    instructions, _, _ = qiskit_circ_to_ionq_circ(circuit, "qis", synthesis)
    dense_width = 1 + max(
        (
            circuit.qubits.index(qubit)
            for inst in circuit.data
            if inst.operation.name not in ("barrier", "delay")
            for qubit in inst.qubits
        ),
        default=-1,
    )
    block = {"gateset": "qis", "qubits": dense_width, "circuit": instructions}
    loaded: dict[str, Any] = json.loads(json.dumps(block))
    return loaded


def reference(circuit: QuantumCircuit) -> dict[str, float]:
    """Qiskit's own probabilities, keyed the IonQ way (decimal, bit i = qubit i)."""
    bare = circuit.remove_final_measurements(inplace=False)
    with warnings.catch_warnings():
        # Statevector exponentiates PauliEvolutionGate as a sparse matrix, which scipy nags about.
        warnings.simplefilter("ignore", SparseEfficiencyWarning)
        state = Statevector(bare)
    return {str(int(bits, 2)): float(p) for bits, p in state.probabilities_dict().items()}


def assert_close(got: dict[str, float], want: dict[str, float]) -> None:
    for key in set(got) | set(want):
        assert abs(got.get(key, 0.0) - want.get(key, 0.0)) <= TOLERANCE, (key, got, want)


def assert_round_trip(circuit: QuantumCircuit, *, synthesis: bool = False) -> dict[str, float]:
    input_block = to_input_block(circuit, synthesis=synthesis)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the emulator's simulation itself must stay quiet
        got = ideal_probabilities(input_block)
    assert all(isinstance(k, str) and k == str(int(k)) for k in got)
    assert all(isinstance(v, float) and v >= 1e-12 for v in got.values())
    assert math.isclose(sum(got.values()), 1.0, abs_tol=1e-9)
    assert_close(got, reference(circuit))
    return got


def sandwich(num_qubits: int, body: Builder) -> QuantumCircuit:
    """``body`` between a layer preparing a generic (complex) product state and a mixing layer,
    so that phases -- even relative phases of controlled gates -- reach the probabilities."""
    circuit = QuantumCircuit(num_qubits)
    for q in range(num_qubits):
        circuit.h(q)
        circuit.rz(0.41 + 0.37 * q, q)
        circuit.ry(0.29 + 0.53 * q, q)
    body(circuit)
    for q in range(num_qubits):
        circuit.rx(0.71 + 0.23 * q, q)
        circuit.ry(1.13 - 0.31 * q, q)
    return circuit


def pauli(labels: list[str], coeffs: list[float], time: float) -> PauliEvolutionGate:
    return PauliEvolutionGate(SparsePauliOp(labels, coeffs), time=time)


# -- round trips -----------------------------------------------------------------------------
SINGLE_QUBIT: dict[str, Builder] = {
    "x": lambda c: c.x(1),
    "y": lambda c: c.y(1),
    "z": lambda c: c.z(1),
    "h": lambda c: c.h(1),
    "s": lambda c: c.s(1),
    "sdg": lambda c: c.sdg(1),
    "t": lambda c: c.t(1),
    "tdg": lambda c: c.tdg(1),
    "sx": lambda c: c.sx(1),
    "sxdg": lambda c: c.sxdg(1),
    "id": lambda c: c.id(1),
    "rx": lambda c: c.rx(0.37, 1),
    "ry": lambda c: c.ry(-1.21, 1),
    "rz": lambda c: c.rz(2.05, 1),
    "p": lambda c: c.p(0.83, 1),
}

CONTROLLED: dict[str, Builder] = {
    "cx": lambda c: c.cx(2, 0),
    "cy": lambda c: c.cy(0, 2),
    "cz": lambda c: c.cz(1, 0),
    "ch": lambda c: c.ch(0, 1),
    "csx": lambda c: c.csx(2, 1),
    "cp": lambda c: c.cp(0.77, 0, 2),
    "crx": lambda c: c.crx(0.61, 1, 2),
    "cry": lambda c: c.cry(-0.93, 2, 0),
    "crz": lambda c: c.crz(1.37, 0, 1),
    "ccx": lambda c: c.ccx(3, 0, 2),
    "mcx3": lambda c: c.mcx([0, 3, 1], 2),
    "mcp2": lambda c: c.mcp(0.59, [2, 0], 3),
    "mcp3": lambda c: c.mcp(-1.9, [1, 2, 3], 0),
}

TWO_QUBIT: dict[str, Builder] = {
    "swap": lambda c: c.swap(0, 2),
    "rxx": lambda c: c.rxx(0.47, 2, 0),
    "ryy": lambda c: c.ryy(-0.88, 1, 2),
    "rzz": lambda c: c.rzz(1.66, 0, 1),
    "pauliexp-2q": lambda c: c.append(pauli(["XZ", "ZX"], [0.5, -0.25], 0.7), [2, 0]),
    "pauliexp-asymmetric": lambda c: c.append(
        pauli(["IZ", "XI", "XZ"], [0.3, 0.8, -0.45], 1.1), [0, 2]
    ),
    "pauliexp-3q": lambda c: c.append(pauli(["XYZ", "ZZI"], [0.4, 0.9], -0.6), [1, 2, 0]),
}


@pytest.mark.parametrize("name", sorted(SINGLE_QUBIT))
def test_round_trip_single_qubit_gates(name: str) -> None:
    assert_round_trip(sandwich(3, SINGLE_QUBIT[name]))


@pytest.mark.parametrize("name", sorted(CONTROLLED))
def test_round_trip_controlled_gates(name: str) -> None:
    assert_round_trip(sandwich(4, CONTROLLED[name]))


@pytest.mark.parametrize("name", sorted(TWO_QUBIT))
def test_round_trip_swap_ising_and_pauliexp(name: str) -> None:
    assert_round_trip(sandwich(3, TWO_QUBIT[name]))


# Gates a wrong mapping could confuse: the sandwiched circuits must tell them apart, or the
# round trips above would prove nothing about them.
CONFUSABLE: dict[str, tuple[Builder, Builder]] = {
    "s/sdg": (SINGLE_QUBIT["s"], SINGLE_QUBIT["sdg"]),
    "t/tdg": (SINGLE_QUBIT["t"], SINGLE_QUBIT["tdg"]),
    "sx/sxdg": (SINGLE_QUBIT["sx"], SINGLE_QUBIT["sxdg"]),
    "x/y": (SINGLE_QUBIT["x"], SINGLE_QUBIT["y"]),
    "rx/ry": (lambda c: c.rx(0.37, 1), lambda c: c.ry(0.37, 1)),
    "ry/rz": (lambda c: c.ry(0.37, 1), lambda c: c.rz(0.37, 1)),
    "rx/-rx": (lambda c: c.rx(0.37, 1), lambda c: c.rx(-0.37, 1)),
    "cx/xc": (CONTROLLED["cx"], lambda c: c.cx(0, 2)),
}


@pytest.mark.parametrize("pair", sorted(CONFUSABLE))
def test_sandwich_distinguishes_confusable_gates(pair: str) -> None:
    first, second = CONFUSABLE[pair]
    width = 4 if pair.startswith("cx") else 3
    a = reference(sandwich(width, first))
    b = reference(sandwich(width, second))
    assert max(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)) > 1e-3


def test_sandwich_distinguishes_cp_from_crz_and_reversed_pauli_labels() -> None:
    cp = reference(sandwich(4, CONTROLLED["cp"]))
    crz = reference(sandwich(4, lambda c: c.crz(0.77, 0, 2)))
    assert max(abs(cp[k] - crz[k]) for k in cp) > 1e-3
    forward = reference(sandwich(3, TWO_QUBIT["pauliexp-asymmetric"]))
    reversed_ = reference(
        sandwich(3, lambda c: c.append(pauli(["ZI", "IX", "ZX"], [0.3, 0.8, -0.45], 1.1), [0, 2]))
    )
    assert max(abs(forward[k] - reversed_[k]) for k in forward) > 1e-3


def test_round_trip_bell_and_ghz_with_measurements() -> None:
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    assert assert_round_trip(bell) == {"0": 0.5, "3": 0.5}

    ghz = QuantumCircuit(5)
    ghz.h(0)
    for q in range(4):
        ghz.cx(q, q + 1)
    ghz.measure_all()
    assert assert_round_trip(ghz) == {"0": 0.5, "31": 0.5}


def test_round_trip_non_commuting_pauliexp_with_compiler_synthesis() -> None:
    circuit = sandwich(3, lambda c: c.append(pauli(["XY", "ZI", "YZ"], [0.6, -0.2, 0.9], 0.8),
                                             [0, 2]))
    assert_round_trip(circuit, synthesis=True)


def test_round_trip_wide_commuting_pauliexp() -> None:
    # Wider than the dense-exponential limit: goes through the (exact) Lie-Trotter circuit.
    width = 12
    circuit = sandwich(width, lambda c: c.append(
        pauli(["Z" * width, "X" * width, "ZZ" + "I" * (width - 2)], [0.4, -0.7, 0.25], 0.9),
        list(range(width))[::-1],
    ))
    assert_round_trip(circuit)


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_random_circuits(seed: int) -> None:
    rng = random.Random(seed)
    n = 5
    circuit = QuantumCircuit(n)
    pool: list[Callable[[QuantumCircuit, list[int], float], None]] = [
        lambda c, q, a: c.h(q[0]),
        lambda c, q, a: c.sx(q[0]),
        lambda c, q, a: c.tdg(q[0]),
        lambda c, q, a: c.s(q[0]),
        lambda c, q, a: c.rx(a, q[0]),
        lambda c, q, a: c.ry(a, q[0]),
        lambda c, q, a: c.rz(a, q[0]),
        lambda c, q, a: c.p(a, q[0]),
        lambda c, q, a: c.cx(q[0], q[1]),
        lambda c, q, a: c.cy(q[0], q[1]),
        lambda c, q, a: c.ch(q[0], q[1]),
        lambda c, q, a: c.cp(a, q[0], q[1]),
        lambda c, q, a: c.crx(a, q[0], q[1]),
        lambda c, q, a: c.csx(q[0], q[1]),
        lambda c, q, a: c.ccx(q[0], q[1], q[2]),
        lambda c, q, a: c.mcp(a, [q[0], q[1], q[2]], q[3]),
        lambda c, q, a: c.swap(q[0], q[1]),
        lambda c, q, a: c.rxx(a, q[0], q[1]),
        lambda c, q, a: c.ryy(a, q[0], q[1]),
        lambda c, q, a: c.rzz(a, q[0], q[1]),
        lambda c, q, a: c.append(pauli(["XZI", "ZXI", "IIY"], [a, 0.3, -0.5], 0.7), q[:3]),
    ]
    for _ in range(40):
        rng.choice(pool)(circuit, rng.sample(range(n), 4), rng.uniform(-math.pi, math.pi))
    got = assert_round_trip(circuit)
    assert len(got) > 1


# -- hand-checked conventions ----------------------------------------------------------------
def block(qubits: int, *instructions: dict[str, Any]) -> dict[str, Any]:
    return {"gateset": "qis", "qubits": qubits, "circuit": list(instructions)}


def test_bell_state_is_exact() -> None:
    got = ideal_probabilities(block(2, {"gate": "h", "targets": [0]},
                                    {"gate": "x", "controls": [0], "targets": [1]}))
    assert got == {"0": 0.5, "3": 0.5}


def test_keys_are_little_endian_decimal() -> None:
    assert ideal_probabilities(block(3, {"gate": "x", "targets": [1]})) == {"2": 1.0}
    assert ideal_probabilities(block(3, {"gate": "x", "targets": [2]},
                                     {"gate": "x", "targets": [0]})) == {"5": 1.0}


def test_empty_circuit_and_max_width() -> None:
    assert ideal_probabilities(block(3)) == {"0": 1.0}
    top = MAX_QUBITS - 1
    assert ideal_probabilities(block(MAX_QUBITS, {"gate": "x", "targets": [top]})) == {
        str(2**top): 1.0
    }


def test_multi_controlled_x_is_toffoli() -> None:
    flips = [{"gate": "x", "targets": [q]} for q in (0, 1, 3)]
    got = ideal_probabilities(block(4, *flips, {"gate": "x", "controls": [0, 1, 3],
                                                "targets": [2]}))
    assert got == {"15": 1.0}
    got = ideal_probabilities(block(4, *flips[:2], {"gate": "x", "controls": [0, 1, 3],
                                                    "targets": [2]}))
    assert got == {"3": 1.0}


def test_controlled_swap_is_fredkin() -> None:
    # Not emitted by qiskit-ionq (it refuses cswap), but accepted: controls + two targets.
    fredkin = {"gate": "swap", "controls": [0], "targets": [1, 2]}
    one = {"gate": "x", "targets": [1]}
    assert ideal_probabilities(block(3, {"gate": "x", "targets": [0]}, one, fredkin)) == {
        "5": 1.0
    }
    assert ideal_probabilities(block(3, one, fredkin)) == {"2": 1.0}


def test_z_with_rotation_is_phase_not_rz() -> None:
    # Phase kickback of a controlled p(pi) onto |1> is -1 (qubit 0 ends in |1>); a controlled
    # rz(pi) would kick back i and leave qubit 0 evenly split.
    got = ideal_probabilities(block(
        2,
        {"gate": "x", "targets": [1]},
        {"gate": "h", "targets": [0]},
        {"gate": "z", "controls": [0], "targets": [1], "rotation": math.pi},
        {"gate": "h", "targets": [0]},
    ))
    assert got == {"3": 1.0}


def test_pauliexp_rightmost_letter_acts_on_first_target() -> None:
    flip = {"gate": "pauliexp", "terms": ["IX"], "coefficients": [1.0], "time": math.pi / 2}
    assert ideal_probabilities(block(2, {**flip, "targets": [0, 1]})) == {"1": 1.0}
    assert ideal_probabilities(block(2, {**flip, "targets": [1, 0]})) == {"2": 1.0}


def test_tiny_probabilities_are_omitted_and_values_rounded() -> None:
    got = ideal_probabilities(block(1, {"gate": "rx", "targets": [0], "rotation": 1e-7}))
    assert got == {"0": 1.0}
    got = ideal_probabilities(block(1, {"gate": "ry", "targets": [0], "rotation": math.pi / 2}))
    assert got == {"0": 0.5, "1": 0.5}


def test_error_is_a_value_error() -> None:
    assert issubclass(UnsupportedCircuitError, ValueError)


# -- refusals --------------------------------------------------------------------------------
def refused(input_block: Any, *fragments: str) -> None:
    with pytest.raises(UnsupportedCircuitError) as info:
        ideal_probabilities(input_block)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_unknown_and_native_gates_are_refused() -> None:
    refused(block(1, {"gate": "foo", "targets": [0]}),
            "gate 'foo' is not in IonQ's QIS gate set")
    refused(block(1, {"gate": "gpi2", "targets": [0], "rotation": 0.1}), "'gpi2'")
    refused(block(2, {"gate": "cx", "controls": [0], "targets": [1]}), "'cx'")
    refused(block(1, {"gate": "X", "targets": [0]}), "'X'")
    # The gate name is judged first, whatever else is wrong with the instruction.
    refused(block(1, {"gate": "cswap", "control": 0}), "gate 'cswap' is not in IonQ's QIS gate set")


def test_other_gatesets_multi_circuit_and_qasm_are_refused() -> None:
    refused({"gateset": "other", "qubits": 1, "circuit": []}, "'other'", "'qis' and 'native'")
    refused({"gateset": "native", "qubits": 1, "circuit": [{"gate": "x", "target": 0}]},
            "'x' is not in IonQ's native gate set")
    refused({"gateset": "qis", "qubits": 2, "circuits": [{"circuit": []}]},
            "multi-circuit jobs", "not supported by the emulator")
    refused({"qubits": 2, "data": "OPENQASM 3.0;"}, "OpenQASM")
    refused({"gateset": "qis", "qubits": 1, "circuit": [], "noise": {}}, "'input'", "noise")
    refused(["not", "a", "mapping"], "'input'")
    refused({"gateset": "qis", "qubits": 1, "circuit": [], 7: "x"}, "'input'", "7")


@pytest.mark.parametrize("qubits", [None, "2", 2.0, True, 0, -1, MAX_QUBITS + 1])
def test_bad_qubit_counts_are_refused(qubits: Any) -> None:
    refused({"gateset": "qis", "qubits": qubits, "circuit": []}, "'qubits'")


def test_missing_qubits_are_the_highest_index_plus_one() -> None:
    # IonQ's document (October 2026) makes input.qubits optional
    assert ideal_probabilities({"gateset": "qis", "circuit": [
        {"gate": "x", "targets": [2]}]}) == {"4": 1.0}
    assert ideal_probabilities({"gateset": "qis", "circuit": []}) == {"0": 1.0}


def test_missing_circuit_is_refused() -> None:
    refused({"gateset": "qis", "qubits": 1}, "'circuit'", "missing")
    refused({"gateset": "qis", "qubits": 1, "circuit": "h 0"}, "'circuit'")
    refused({"gateset": "qis", "qubits": 1, "circuit": {"gate": "h"}}, "'circuit'")


@pytest.mark.parametrize(
    ("instruction", "fragments"),
    [
        ("h", ("circuit[0]", "object")),
        ({"targets": [0]}, ("'gate'",)),
        ({"gate": 3, "targets": [0]}, ("'gate'",)),
        ({"gate": "h"}, ("'h'", "'targets'", "missing")),
        ({"gate": "h", "targets": []}, ("'targets'",)),
        ({"gate": "h", "targets": 0}, ("'targets'",)),
        ({"gate": "h", "targets": "0"}, ("'targets'",)),
        ({"gate": "h", "targets": [3]}, ("qubit 3", "out of range", "3-qubit")),
        ({"gate": "h", "targets": [-1]}, ("qubit -1", "out of range")),
        ({"gate": "h", "targets": [True]}, ("'targets'", "integer")),
        ({"gate": "h", "targets": [0.0]}, ("'targets'", "integer")),
        ({"gate": "x", "targets": [0, 1]}, ("'x'", "1 target")),
        ({"gate": "swap", "targets": [0]}, ("'swap'", "2 target")),
        ({"gate": "xx", "targets": [0], "rotation": 0.1}, ("'xx'", "2 target")),
        ({"gate": "x", "controls": [3], "targets": [0]}, ("'controls'", "out of range")),
        ({"gate": "x", "controls": [], "targets": [0]}, ("'controls'",)),
        ({"gate": "x", "controls": [1], "targets": [1]}, ("more than once",)),
        ({"gate": "x", "controls": [0, 0], "targets": [1]}, ("more than once",)),
        ({"gate": "swap", "targets": [1, 1]}, ("more than once",)),
        ({"gate": "rx", "targets": [0]}, ("'rx'", "'rotation'", "missing")),
        ({"gate": "zz", "targets": [0, 1]}, ("'zz'", "'rotation'", "missing")),
        ({"gate": "rx", "targets": [0], "rotation": "0.1"}, ("'rotation'", "number")),
        ({"gate": "rx", "targets": [0], "rotation": math.nan}, ("'rotation'", "finite")),
        ({"gate": "ry", "targets": [0], "rotation": math.inf}, ("'rotation'", "finite")),
        ({"gate": "rz", "targets": [0], "rotation": False}, ("'rotation'",)),
        ({"gate": "h", "targets": [0], "rotation": 0.5}, ("'h'", "'rotation'")),
        ({"gate": "x", "control": 1, "controls": [1], "targets": [0]}, ("'x'", "not both")),
        ({"gate": "x", "target": 0, "targets": [0]}, ("'x'", "not both")),
        ({"gate": "x", "target": [0]}, ("'target'", "integer")),
        ({"gate": "cnot", "target": 0}, ("'cnot'", "'control'", "missing")),
        ({"gate": "x", "controls": [1], "targets": [0], "phase": 0.1}, ("'x'", "phase")),
        ({"gate": "x", "targets": [0], 5: 0.1}, ("'x'", "5")),
        ({"gate": "xx", "controls": [1], "targets": [0, 2], "rotation": 0.1},
         ("controlled 'xx'",)),
    ],
)
def test_bad_instructions_are_refused(instruction: Any, fragments: tuple[str, ...]) -> None:
    refused(block(3, instruction), *fragments)


def test_ionq_s_singular_target_and_control_and_its_cnot_and_not_are_accepted() -> None:
    # IonQ's document (Gate_QisGate: target/control integers; QisGate enum: not, cnot) and its
    # examples ({"gate": "cnot", "target": 0, "control": 1}) mean the same as the lists.
    lists = ideal_probabilities(block(2, {"gate": "h", "targets": [0]},
                                      {"gate": "x", "targets": [1], "controls": [0]}))
    assert ideal_probabilities(block(2, {"gate": "h", "target": 0},
                                     {"gate": "cnot", "target": 1, "control": 0})) == lists
    assert ideal_probabilities(block(2, {"gate": "h", "target": 0},
                                     {"gate": "not", "targets": [1], "controls": [0]})) == lists
    assert ideal_probabilities(block(1, {"gate": "not", "target": 0})) == {"1": 1.0}
    assert gate_counts(block(2, {"gate": "h", "target": 0},
                             {"gate": "cnot", "target": 1, "control": 0})) == {"1q": 1, "2q": 1}


PAULIEXP: dict[str, Any] = {"gate": "pauliexp", "targets": [0, 1], "terms": ["XX", "ZZ"],
                            "coefficients": [0.5, 0.25], "time": 0.3}


def test_valid_pauliexp_fixture_is_accepted() -> None:
    # The refusals below each break exactly one thing of this instruction.
    got = ideal_probabilities(block(2, {"gate": "h", "targets": [0]}, PAULIEXP))
    assert len(got) > 1


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"terms": None}, ("'terms'",)),
        ({"terms": []}, ("'terms'",)),
        ({"terms": "XX"}, ("'terms'",)),
        ({"terms": ["XX", "Z"]}, ("'terms'", "'Z'")),
        ({"terms": ["XX", "ZA"]}, ("'terms'", "'ZA'")),
        ({"terms": ["xx", "ZZ"]}, ("'terms'", "'xx'")),
        ({"coefficients": [0.5]}, ("'coefficients'",)),
        ({"coefficients": [0.5, "1"]}, ("'coefficients'",)),
        ({"coefficients": 0.5}, ("'coefficients'",)),
        ({"time": None}, ("'time'",)),
        ({"time": True}, ("'time'",)),
        ({"rotation": 0.3}, ("'pauliexp'", "rotation")),
        ({"controls": [2]}, ("'pauliexp'", "controls")),
    ],
)
def test_bad_pauliexp_is_refused(change: dict[str, Any], fragments: tuple[str, ...]) -> None:
    instruction = {**PAULIEXP, **change}
    for key, value in change.items():
        if value is None:
            del instruction[key]
    refused(block(3, instruction), "'pauliexp'", *fragments)


def test_wide_non_commuting_pauliexp_is_refused() -> None:
    width = 11
    instruction = {"gate": "pauliexp", "targets": list(range(width)),
                   "terms": ["X" * width, "Z" + "I" * (width - 1)],
                   "coefficients": [1.0, 1.0], "time": 0.2}
    refused(block(width, instruction), "non-commuting")
