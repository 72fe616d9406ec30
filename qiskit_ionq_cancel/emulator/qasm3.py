"""``ionq.qasm3.v1`` jobs: an OpenQASM 3 program (``input.data``), sampled shot by shot.

qiskit-ionq sends a circuit this way when the flat gate list cannot express it: a
measurement in the middle, a reset, or control flow. The program is read with Qiskit's
OpenQASM 3 importer (the maintained ``qiskit-qasm3-import`` package, imported only when such
a job arrives) and sampled with Qiskit's ``BasicSimulator``, which runs each shot through its
measurements and resets. Control flow is refused, as qiskit-ionq says IonQ does today.

The result is IonQ's ``ionq.result.shots.json.v2``: ``{"shots": [{"registers": {name:
[bit, ...]}}, ...]}``, one entry per shot, each classical register's bits by index.
"""

from __future__ import annotations

from typing import Any

from .simulate import MAX_QUBITS, UnsupportedCircuitError

__all__ = ["register_shots"]


def register_shots(data: object, shots: int, seed: int) -> list[dict[str, Any]]:
    """Sample the OpenQASM 3 program ``data`` ``shots`` times; each shot's registers."""
    if not isinstance(data, str) or not data.strip():
        raise UnsupportedCircuitError("field 'input.data' must hold an OpenQASM 3 program")
    try:
        from qiskit import qasm3
        from qiskit.circuit import ControlFlowOp
        from qiskit.compiler import transpile
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
    simulator = BasicSimulator()
    result = simulator.run(transpile(circuit, simulator), shots=shots, memory=True,
                           seed_simulator=seed).result()
    positions = {reg.name: [circuit.find_bit(bit).index for bit in reg]
                 for reg in circuit.cregs}
    return [{"registers": {name: [(value >> i) & 1 for i in indices]
                           for name, indices in positions.items()}}
            for value in (int(word, 16) for word in result.data(0)["memory"])]
