"""Ideal (noise-free) results of IonQ ``ionq.circuit.v1`` circuits, for the emulator.

The emulator answers a finished job with the exact outcome probabilities of the submitted
circuit, in the shape ``qiskit_ionq.IonQJob.result()`` reads: keys are decimal integer strings
``str(k)`` where bit ``i`` of ``k`` is qubit ``i`` (little-endian, the same index as Qiskit's
statevector), values are probabilities rounded to 12 digits, outcomes below ``1e-12`` omitted.

The accepted instructions cover all that ``qiskit_ionq.helpers.qiskit_circ_to_ionq_circ``
emits for the ``"qis"`` gate set, after its renaming (``ionq_api_aliases``) and its trimming of
the leading ``c`` from controlled gates:

* ``x y z h s si t ti v vi`` (``si``/``ti`` are ``sdg``/``tdg``, ``v``/``vi`` are ``sx``/``sxdg``);
* ``rx ry rz`` with ``"rotation"``; ``z`` with ``"rotation"`` is Qiskit's phase gate ``p``;
* any of the above with a ``"controls"`` list: the same gate with that many (closed) controls,
  so ``cx ccx mcx`` all arrive as ``x``, ``cp mcphase`` as ``z`` + rotation, ``csx`` as ``v``,
  ``crx`` as ``rx`` and so on; ``swap`` with controls is a Fredkin gate;
* ``swap`` and ``xx yy zz`` (``rxx ryy rzz`` with ``"rotation"``) on two targets;
* ``pauliexp``: ``exp(-i * time * sum_j coefficients[j] * terms[j])``. Each term is a Qiskit
  Pauli label, so its *rightmost* character acts on ``targets[0]`` (the serializer copies
  ``SparsePauliOp.to_list()`` labels verbatim).

Anything else -- an unknown gate, a missing, extra or ill-typed field, a qubit index out of
range, a gate set other than ``"qis"`` and ``"native"`` (whose gates are in ``native.py``), a
multi-circuit or OpenQASM input (the store splits and reads those itself) -- raises
:class:`UnsupportedCircuitError`, never a silently different result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, Final

from qiskit.circuit import Gate, QuantumCircuit
from qiskit.circuit.library import (
    HGate,
    PauliEvolutionGate,
    PhaseGate,
    RXGate,
    RXXGate,
    RYGate,
    RYYGate,
    RZGate,
    RZZGate,
    SdgGate,
    SGate,
    SwapGate,
    SXdgGate,
    SXGate,
    TdgGate,
    TGate,
    XGate,
    YGate,
    ZGate,
)
from qiskit.exceptions import QiskitError
from qiskit.quantum_info import PauliList, SparsePauliOp, Statevector
from qiskit.synthesis import MatrixExponential

from .native import NATIVE_GATES, append_native

__all__ = ["MAX_QUBITS", "UnsupportedCircuitError", "build_circuit", "circuit_width",
           "gate_counts", "ideal_probabilities"]

MAX_QUBITS: Final[int] = 20
"""Widest circuit the emulator simulates: a 20-qubit statevector is 16 MiB."""

_MIN_PROBABILITY: Final[float] = 1e-12
_DIGITS: Final[int] = 12
# A pauliexp with non-commuting terms is applied as its exact dense exponential, so it may act
# on this many targets at most (a 1024 x 1024 matrix); commuting terms have no such limit.
_MAX_DENSE_PAULIEXP_QUBITS: Final[int] = 10

_FIXED_GATES: Final[Mapping[str, Callable[[], Gate]]] = {
    "x": XGate,
    "y": YGate,
    "z": ZGate,
    "h": HGate,
    "s": SGate,
    "si": SdgGate,
    "t": TGate,
    "ti": TdgGate,
    "v": SXGate,
    "vi": SXdgGate,
}
_ROTATION_GATES: Final[Mapping[str, Callable[[float], Gate]]] = {
    "rx": RXGate,
    "ry": RYGate,
    "rz": RZGate,
}
_TWO_QUBIT_ROTATION_GATES: Final[Mapping[str, Callable[[float], Gate]]] = {
    "xx": RXXGate,
    "yy": RYYGate,
    "zz": RZZGate,
}
#: IonQ's other names (its document's ``QisGate`` enum): ``not`` is ``x``; ``cnot`` is ``x``
#: and needs a control.
_ALIASES: Final[Mapping[str, str]] = {"not": "x", "cnot": "x"}
_KNOWN_GATES: Final[frozenset[str]] = frozenset(
    {*_FIXED_GATES, *_ROTATION_GATES, *_TWO_QUBIT_ROTATION_GATES, *_ALIASES, "swap", "pauliexp"}
)
# IonQ's ``Gate_QisGate`` takes a singular ``target``/``control`` (its own examples use them)
# as well as the ``targets``/``controls`` lists qiskit-ionq sends.
_GATE_FIELDS: Final[frozenset[str]] = frozenset(
    {"gate", "target", "targets", "control", "controls", "rotation"}
)
_PAULIEXP_FIELDS: Final[frozenset[str]] = frozenset(
    {"gate", "target", "targets", "terms", "coefficients", "time"}
)
# ``registers``: a multi-circuit job's ``circuits[].registers`` (IonQ's ``Registers``).
_INPUT_FIELDS: Final[frozenset[str]] = frozenset({"gateset", "qubits", "circuit", "registers"})


class UnsupportedCircuitError(ValueError):
    """Raised when a circuit uses a gate or shape the emulator cannot simulate.

    The HTTP layer turns it into a 400.
    """


def build_circuit(input_block: Mapping[str, Any]) -> QuantumCircuit:
    """The Qiskit circuit of an IonQ ``ionq.circuit.v1`` input block (``qis`` or ``native``),
    every field checked; raises :class:`UnsupportedCircuitError`."""
    if not isinstance(input_block, Mapping):
        raise UnsupportedCircuitError("field 'input' must be an object")
    if "circuits" in input_block:
        raise UnsupportedCircuitError(
            "multi-circuit jobs (field 'circuits') are not supported by the emulator"
        )
    if "data" in input_block and "circuit" not in input_block:
        raise UnsupportedCircuitError(
            "OpenQASM inputs (field 'data') are not supported by the emulator"
        )
    gateset = input_block.get("gateset", "qis")
    if gateset not in ("qis", "native"):
        raise UnsupportedCircuitError(
            f"gateset {gateset!r} is not supported by the emulator; only 'qis' and 'native' are"
        )
    extra = sorted(str(key) for key in set(input_block) - _INPUT_FIELDS)
    if extra:
        raise UnsupportedCircuitError(f"unsupported field(s) in 'input': {', '.join(extra)}")

    if "circuit" not in input_block:
        raise UnsupportedCircuitError("field 'circuit' is missing")
    instructions = input_block["circuit"]
    if not _is_list(instructions):
        raise UnsupportedCircuitError("field 'circuit' must be a list of instructions")
    qubits = circuit_width(input_block)
    if not 1 <= qubits <= MAX_QUBITS:
        raise UnsupportedCircuitError(
            f"field 'qubits' must be between 1 and {MAX_QUBITS} (the emulator's limit), "
            f"got {qubits}"
        )
    if "registers" in input_block:
        _check_registers(input_block["registers"], qubits)

    circuit = QuantumCircuit(qubits)
    for index, instruction in enumerate(instructions):
        _append(circuit, instruction, f"circuit[{index}]", gateset)
    return circuit


def ideal_probabilities(input_block: Mapping[str, Any]) -> dict[str, float]:
    """Ideal outcome probabilities of an IonQ ``ionq.circuit.v1`` QIS input block.

    ``input_block`` is the job's ``input`` object, e.g.
    ``{"gateset": "qis", "qubits": 2, "circuit": [{"gate": "h", "targets": [0]}, ...]}``.
    Returns ``{str(k): p}`` with bit ``i`` of ``k`` being qubit ``i``, ``p`` rounded to 12
    digits, outcomes with ``p < 1e-12`` left out. Raises :class:`UnsupportedCircuitError`.
    """
    circuit = build_circuit(input_block)
    try:
        probabilities = Statevector(circuit).probabilities()
    except QiskitError as exc:  # pragma: no cover - every instruction was validated above
        raise UnsupportedCircuitError(f"the circuit cannot be simulated: {exc}") from exc
    return {
        str(outcome): round(float(probability), _DIGITS)
        for outcome, probability in enumerate(probabilities)
        if probability >= _MIN_PROBABILITY
    }


def circuit_width(input_block: Mapping[str, Any]) -> int:
    """The circuit's qubit count: ``input.qubits``, or, as IonQ's document makes that field
    optional, one more than the highest qubit index its gates name (1 for no gates)."""
    if "qubits" in input_block:
        return _as_int(input_block["qubits"], "field 'qubits'")
    highest = -1
    instructions = input_block.get("circuit")
    for instruction in instructions if isinstance(instructions, list) else []:
        if not isinstance(instruction, Mapping):
            continue
        for field in ("target", "targets", "control", "controls"):
            value = instruction.get(field)
            for qubit in value if isinstance(value, list) else [value]:
                if isinstance(qubit, Integral) and not isinstance(qubit, bool):
                    highest = max(highest, int(qubit))
    return max(highest + 1, 1)


def _check_registers(registers: object, qubits: int) -> None:
    """``Registers``: names mapped to lists of qubit indices of the circuit."""
    if not isinstance(registers, Mapping):
        raise UnsupportedCircuitError("field 'registers' must be an object")
    for name, indices in registers.items():
        if not _is_list(indices):
            raise UnsupportedCircuitError(f"register {name!r} must be a list of qubits")
        for qubit in indices:
            index = _as_int(qubit, f"register {name!r}")
            if not 0 <= index < qubits:
                raise UnsupportedCircuitError(
                    f"register {name!r}: qubit {index} is out of range for a "
                    f"{qubits}-qubit circuit")


def gate_counts(input_block: Mapping[str, Any]) -> dict[str, int]:
    """``stats.gate_counts`` of a circuit :func:`ideal_probabilities` accepted: how many
    gates act on one qubit (``"1q"``), two (``"2q"``), ..., counting targets and controls."""
    counts: dict[str, int] = {}
    for instruction in input_block.get("circuit", ()):
        width = sum(
            len(v) if _is_list(v) else 1
            for k, v in instruction.items() if k in ("target", "targets", "control", "controls")
        )
        counts[f"{width}q"] = counts.get(f"{width}q", 0) + 1
    return counts


def _append(circuit: QuantumCircuit, instruction: object, where: str,
            gateset: str = "qis") -> None:
    """Validate one IonQ instruction and append its Qiskit equivalent to ``circuit``."""
    if not isinstance(instruction, Mapping):
        raise UnsupportedCircuitError(f"{where} must be an object")
    name = instruction.get("gate")
    if not isinstance(name, str):
        raise UnsupportedCircuitError(f"{where}: field 'gate' is missing or not a string")
    if gateset == "native":
        if name not in NATIVE_GATES:
            raise UnsupportedCircuitError(
                f"gate {name!r} is not in IonQ's native gate set ({where}); the emulator "
                f"simulates {', '.join(sorted(NATIVE_GATES))}")
        targets = [] if name == "nop" and not {"target", "targets"} & set(instruction) else \
            _qubits(instruction, "target", f"{where} (gate {name!r})", circuit.num_qubits)
        append_native(circuit, instruction, name, targets, f"{where} (gate {name!r})",
                      _as_real, UnsupportedCircuitError)
        return
    if name not in _KNOWN_GATES:
        raise UnsupportedCircuitError(f"gate {name!r} is not in IonQ's QIS gate set ({where})")
    where = f"{where} (gate {name!r})"
    allowed = _PAULIEXP_FIELDS if name == "pauliexp" else _GATE_FIELDS
    extra = sorted(str(key) for key in set(instruction) - allowed)
    if extra:
        raise UnsupportedCircuitError(f"{where}: unsupported field(s) {', '.join(extra)}")

    num_qubits: int = circuit.num_qubits
    targets = _qubits(instruction, "target", where, num_qubits)
    controls: list[int] = []
    if "controls" in instruction or "control" in instruction:
        controls = _qubits(instruction, "control", where, num_qubits)
    if len(set(controls + targets)) != len(controls) + len(targets):
        raise UnsupportedCircuitError(f"{where}: a qubit appears more than once in it")
    if name == "cnot" and not controls:
        raise UnsupportedCircuitError(f"{where}: field 'control' or 'controls' is missing")
    name = _ALIASES.get(name, name)

    if name == "pauliexp":
        _append_pauliexp(circuit, instruction, targets, where)
        return

    has_rotation = "rotation" in instruction
    gate: Gate
    if name in _ROTATION_GATES or name in _TWO_QUBIT_ROTATION_GATES or (
        name == "z" and has_rotation
    ):
        if not has_rotation:
            raise UnsupportedCircuitError(f"{where}: field 'rotation' is missing")
        angle = _as_real(instruction["rotation"], f"{where}: field 'rotation'")
        if name == "z":
            gate = PhaseGate(angle)
        elif name in _ROTATION_GATES:
            gate = _ROTATION_GATES[name](angle)
        else:
            gate = _TWO_QUBIT_ROTATION_GATES[name](angle)
    else:  # a gate without parameters
        if has_rotation:
            raise UnsupportedCircuitError(f"{where}: gate takes no field 'rotation'")
        gate = SwapGate() if name == "swap" else _FIXED_GATES[name]()

    expected_targets: int = gate.num_qubits
    if len(targets) != expected_targets:
        raise UnsupportedCircuitError(
            f"{where}: needs {expected_targets} target(s), got {len(targets)}"
        )
    if controls:
        if name in _TWO_QUBIT_ROTATION_GATES:
            raise UnsupportedCircuitError(f"{where}: controlled {name!r} is not supported")
        gate = gate.control(len(controls))
    try:
        circuit.append(gate, controls + targets)
    except QiskitError as exc:  # pragma: no cover - arguments were validated above
        raise UnsupportedCircuitError(f"{where}: {exc}") from exc


def _append_pauliexp(
    circuit: QuantumCircuit, instruction: Mapping[str, Any], targets: list[int], where: str
) -> None:
    """Append ``exp(-i * time * sum_j c_j P_j)`` on ``targets`` (Qiskit label order)."""
    for field in ("terms", "coefficients", "time"):
        if field not in instruction:
            raise UnsupportedCircuitError(f"{where}: field {field!r} is missing")
    terms = instruction["terms"]
    if not _is_list(terms) or not terms:
        raise UnsupportedCircuitError(f"{where}: field 'terms' must be a non-empty list")
    for term in terms:
        if (
            not isinstance(term, str)
            or len(term) != len(targets)
            or not set(term) <= set("IXYZ")
        ):
            raise UnsupportedCircuitError(
                f"{where}: field 'terms' must hold strings of I, X, Y, Z with one letter per "
                f"target ({len(targets)}), got {term!r}"
            )
    coefficients = instruction["coefficients"]
    if not _is_list(coefficients) or len(coefficients) != len(terms):
        raise UnsupportedCircuitError(
            f"{where}: field 'coefficients' must be a list with one number per term"
        )
    reals = [_as_real(c, f"{where}: field 'coefficients'") for c in coefficients]
    time = _as_real(instruction["time"], f"{where}: field 'time'")

    operator = SparsePauliOp.from_list(list(zip(terms, reals, strict=True)))
    if len(PauliList(terms).commutes_with_all(PauliList(terms))) == len(terms):
        # Commuting terms: one Lie-Trotter step (Qiskit's default synthesis) is exact and
        # cheap at any width.
        gate = PauliEvolutionGate(operator, time=time)
    elif len(targets) <= _MAX_DENSE_PAULIEXP_QUBITS:
        # Non-commuting terms (IonQ's compiler-synthesis opt-in): the exact dense exponential.
        gate = PauliEvolutionGate(operator, time=time, synthesis=MatrixExponential())
    else:
        raise UnsupportedCircuitError(
            f"{where}: non-commuting terms on more than {_MAX_DENSE_PAULIEXP_QUBITS} targets "
            "are not supported by the emulator"
        )
    # Compose the synthesized definition rather than the gate: Statevector would otherwise
    # exponentiate the whole operator as a sparse matrix (slow, and warns on every call).
    try:
        circuit.compose(gate.definition, targets, inplace=True)
    except QiskitError as exc:  # pragma: no cover - arguments were validated above
        raise UnsupportedCircuitError(f"{where}: {exc}") from exc


def _qubits(
    instruction: Mapping[str, Any], singular: str, where: str, num_qubits: int
) -> list[int]:
    """The in-range qubit indices of ``instruction[singular]`` (one index) or of
    ``instruction[singular + "s"]`` (a non-empty list); exactly one of the two is given."""
    plural = singular + "s"
    if singular in instruction and plural in instruction:
        raise UnsupportedCircuitError(f"{where}: give field {singular!r} or {plural!r}, not both")
    if singular not in instruction and plural not in instruction:
        raise UnsupportedCircuitError(f"{where}: field {plural!r} (or {singular!r}) is missing")
    if singular in instruction:
        field, value = singular, [instruction[singular]]
    else:
        field, value = plural, instruction[plural]
        if not _is_list(value) or not value:
            raise UnsupportedCircuitError(f"{where}: field {field!r} must be a non-empty list")
    qubits = [_as_int(q, f"{where}: field {field!r}") for q in value]
    for qubit in qubits:
        if not 0 <= qubit < num_qubits:
            raise UnsupportedCircuitError(
                f"{where}: qubit {qubit} in field {field!r} is out of range for a "
                f"{num_qubits}-qubit circuit"
            )
    return qubits


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _as_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise UnsupportedCircuitError(f"{what}: expected an integer, got {value!r}")
    return int(value)


def _as_real(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise UnsupportedCircuitError(f"{what}: expected a finite number, got {value!r}")
    return float(value)
