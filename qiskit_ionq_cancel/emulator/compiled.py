"""A finished circuit job's compiled circuit: the ``ionq.native.v1`` artifact of IonQ's
document (``output.compilation.compiled_circuits``), which qiskit-ionq's
``job.compiled_circuit("native")`` reads.

IonQ compiles a ``qis`` circuit to its native gates; the emulator does the same exactly (up to
a global phase and to the Z rotations left at the end, which no measurement sees): Qiskit
transpiles the circuit to ``rz``, ``sx`` and ``rzz``, and the Z rotations are then carried
in a per-qubit frame ("virtual Z", as IonQ's native-gate guide describes): an ``sx`` after a
frame of ``a`` radians is ``gpi2(-a / 2 pi)``, an ``rzz(t)`` is ``zz(t / 2 pi)``. A ``native``
circuit is its own compiled circuit. Compiling happens when the artifact is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .simulate import UnsupportedCircuitError, build_circuit, circuit_width

__all__ = ["native_circuit"]

_DIGITS = 12


def _turns(radians: float) -> float:
    """An angle in turns (1.0 = 2 pi), in [0, 1)."""
    return round((radians / (2 * math.pi)) % 1.0, _DIGITS) % 1.0


def native_circuit(input_block: Mapping[str, Any]) -> dict[str, Any]:
    """``IonqNativeV1`` of a circuit job's input block: ``{"qubits", "circuit"}``."""
    if input_block.get("gateset") == "native":
        return {"qubits": circuit_width(input_block),
                "circuit": [dict(gate) for gate in input_block.get("circuit", [])]}
    from qiskit.compiler import transpile

    circuit = build_circuit(input_block)
    compiled = transpile(circuit, basis_gates=["rz", "sx", "rzz"], optimization_level=1,
                         seed_transpiler=0)
    frames = [0.0] * circuit.num_qubits
    gates: list[dict[str, Any]] = []
    for instruction in compiled.data:
        name = instruction.operation.name
        qubits = [compiled.find_bit(q).index for q in instruction.qubits]
        params = [float(p) for p in instruction.operation.params]
        if name == "rz":
            frames[qubits[0]] += params[0]
        elif name == "sx":
            gates.append({"gate": "gpi2", "target": qubits[0],
                          "phase": _turns(-frames[qubits[0]])})
        elif name == "rzz":
            gates.append({"gate": "zz", "targets": qubits,
                          "angle": round(params[0] / (2 * math.pi), _DIGITS)})
        elif name != "barrier":  # pragma: no cover - the basis above has no other gate
            raise UnsupportedCircuitError(f"cannot compile {name!r} to native gates")
    return {"qubits": circuit.num_qubits, "circuit": gates}
