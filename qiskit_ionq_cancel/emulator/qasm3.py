"""``ionq.qasm3.v1`` jobs: an OpenQASM 3 program (``input.data``), sampled.

qiskit-ionq sends a circuit this way when the flat gate list cannot express it: a
measurement in the middle, a reset, or control flow. The program is read with Qiskit's
OpenQASM 3 importer (the maintained ``qiskit-qasm3-import`` package, imported only when such
a job arrives). A program whose measurements all come last is sampled from one statevector
(fast at any shot count); any other (a measurement in the middle, a reset) is run shot by
shot with Qiskit's ``BasicSimulator``, which costs about 0.5 us per shot and amplitude, so
the emulator refuses (a 400) such a program when ``shots * 2**qubits`` exceeds
:data:`MAX_SHOT_BY_SHOT_WORK` (about 2 s of work: an answer to ``POST /jobs`` well inside a
client's read timeout). Control flow is refused, as qiskit-ionq says IonQ does today.

The result is IonQ's ``ionq.result.shots.json.v2``: ``{"shots": [{"registers": {name:
[bit, ...]}}, ...]}``, one entry per shot, each classical register's bits by index.
"""

from __future__ import annotations

from typing import Any

from .simulate import MAX_QUBITS, UnsupportedCircuitError

__all__ = ["MAX_SHOT_BY_SHOT_WORK", "register_shots"]

#: Most ``shots * 2**qubits`` a program with mid-circuit measurements or resets may ask for
#: (simulated shot by shot); e.g. 1,024 shots of 12 qubits, or 64 shots of 16.
MAX_SHOT_BY_SHOT_WORK = 2**22


def register_shots(data: object, shots: int, seed: int) -> list[dict[str, Any]]:
    """Sample the OpenQASM 3 program ``data`` ``shots`` times; each shot's registers."""
    if not isinstance(data, str) or not data.strip():
        raise UnsupportedCircuitError("field 'input.data' must hold an OpenQASM 3 program")
    try:
        from qiskit import qasm3
        from qiskit.circuit import ControlFlowOp
        from qiskit.compiler import transpile
        from qiskit.exceptions import QiskitError
        from qiskit.providers.basic_provider import BasicSimulator
    except ImportError as exc:  # pragma: no cover - qiskit is a dependency
        raise UnsupportedCircuitError(f"OpenQASM 3 cannot be simulated here: {exc}") from None
    try:
        circuit = qasm3.loads(data)
    except ImportError:
        raise UnsupportedCircuitError(
            "ionq.qasm3.v1 jobs need the 'qiskit-qasm3-import' package in the emulator's "
            "environment (pip install qiskit-qasm3-import)") from None
    except Exception as exc:  # the importer raises several types; all mean "cannot read it"
        raise UnsupportedCircuitError(
            f"the OpenQASM 3 program cannot be read: {str(exc)[:300]}") from None
    if any(isinstance(i.operation, ControlFlowOp) for i in circuit.data):
        raise UnsupportedCircuitError(
            "control flow (if/while/for/switch) in an OpenQASM 3 program is not supported")
    if not 1 <= circuit.num_qubits <= MAX_QUBITS:
        raise UnsupportedCircuitError(
            f"the program must use 1 to {MAX_QUBITS} qubits (the emulator's limit), "
            f"got {circuit.num_qubits}")
    if not circuit.cregs:
        raise UnsupportedCircuitError("the program declares no classical register")
    positions = {reg.name: [circuit.find_bit(bit).index for bit in reg]
                 for reg in circuit.cregs}
    final = _final_measurements(circuit)
    if final is not None:
        body, measured = final
        try:
            values = _sample_final(body, measured, shots, seed)
        except QiskitError as exc:  # an operation Statevector cannot apply
            raise UnsupportedCircuitError(f"the program cannot be simulated: {exc}") from None
    else:
        if shots * 2**circuit.num_qubits > MAX_SHOT_BY_SHOT_WORK:
            raise UnsupportedCircuitError(
                f"a program with a measurement before its end or a reset is simulated shot "
                f"by shot: shots x 2^qubits may be at most {MAX_SHOT_BY_SHOT_WORK} in the "
                f"emulator, got {shots} x 2^{circuit.num_qubits}; use fewer shots")
        simulator = BasicSimulator()
        result = simulator.run(transpile(circuit, simulator), shots=shots, memory=True,
                               seed_simulator=seed).result()
        values = [int(word, 16) for word in result.data(0)["memory"]]
    return [{"registers": {name: [(value >> i) & 1 for i in indices]
                           for name, indices in positions.items()}}
            for value in values]


def _final_measurements(circuit: Any) -> tuple[Any, dict[int, int]] | None:
    """The program without its measurements and which qubit each measured bit reads
    (bit index -> qubit index), when every measurement comes after the last gate on its
    qubit and there is no reset; else ``None``."""
    from qiskit.circuit import QuantumCircuit

    body = QuantumCircuit(circuit.num_qubits)
    measured: dict[int, int] = {}
    done: set[int] = set()
    for instruction in circuit.data:
        name = instruction.operation.name
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        clbits = [circuit.find_bit(c).index for c in instruction.clbits]
        if name == "barrier":
            continue
        if name == "measure":
            if clbits[0] in measured:
                return None
            measured[clbits[0]] = qubits[0]
            done.add(qubits[0])
            continue
        if name == "reset" or clbits or done.intersection(qubits):
            return None
        body.append(instruction.operation, qubits)
    return body, measured


def _sample_final(body: Any, measured: dict[int, int], shots: int, seed: int) -> list[int]:
    """``shots`` values of the classical bits (bit i of a value is bit i), drawn from one
    statevector of ``body``."""
    from qiskit.quantum_info import Statevector

    if not measured:
        return [0] * shots
    qargs = sorted(set(measured.values()))
    state = Statevector(body)
    state.seed(seed)
    words = state.sample_memory(shots, qargs=qargs)  # qargs[0] is the rightmost letter
    where = {qubit: len(qargs) - 1 - i for i, qubit in enumerate(qargs)}
    memo: dict[str, int] = {}
    values = []
    for word in words:
        value = memo.get(word)
        if value is None:
            value = sum(1 << bit for bit, qubit in measured.items()
                        if word[where[qubit]] == "1")
            memo[word] = value
        values.append(value)
    return values
