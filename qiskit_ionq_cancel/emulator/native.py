"""IonQ's native gates (``"gateset": "native"``): ``gpi``, ``gpi2``, ``ms``, ``zz`` and ``nop``.

Phases and angles are in turns (1.0 = 2*pi), as IonQ's native-gate guide and its v0.4
document (``Gate_NativeGate``: ``phase``, ``phases``, ``angle``) define them:

* ``gpi(phi)``  = [[0, e^{-i 2 pi phi}], [e^{i 2 pi phi}, 0]]
* ``gpi2(phi)`` = 1/sqrt(2) [[1, -i e^{-i 2 pi phi}], [-i e^{i 2 pi phi}, 1]]
* ``ms(phi0, phi1, theta=0.25)``: the Molmer-Sorensen gate of IonQ's guide (fully
  entangling at ``theta`` = 0.25);
* ``zz(theta)`` = exp(-i pi theta Z(x)Z) (``theta`` in ``angle``, or in ``phase`` as cirq-ionq
  sends it);
* ``nop``: a wait, the identity.

The matrices are written out here rather than taken from ``qiskit_ionq.ionq_gates``: an
emulator that borrowed the client's own definitions could never catch a client that gets
them wrong. Qubit order is Qiskit's (``targets[0]`` is the least significant bit), which is
how qiskit-ionq serializes its ``MSGate`` / ``ZZGate``.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.circuit.library import UnitaryGate

__all__ = ["NATIVE_GATES", "append_native"]

_Check = Callable[[object, str], float]


def _gpi(phi: float) -> np.ndarray:
    return np.array([[0, cmath.exp(-2j * math.pi * phi)],
                     [cmath.exp(2j * math.pi * phi), 0]])


def _gpi2(phi: float) -> np.ndarray:
    return np.array([[1, -1j * cmath.exp(-2j * math.pi * phi)],
                     [-1j * cmath.exp(2j * math.pi * phi), 1]]) / math.sqrt(2)


def _ms(phi0: float, phi1: float, theta: float) -> np.ndarray:
    c, s = math.cos(math.pi * theta), math.sin(math.pi * theta)
    plus, minus = 2j * math.pi * (phi0 + phi1), 2j * math.pi * (phi0 - phi1)
    return np.array([
        [c, 0, 0, -1j * s * cmath.exp(-plus)],
        [0, c, -1j * s * cmath.exp(minus), 0],
        [0, -1j * s * cmath.exp(-minus), c, 0],
        [-1j * s * cmath.exp(plus), 0, 0, c],
    ])


def _zz(theta: float) -> np.ndarray:
    a = cmath.exp(-1j * math.pi * theta)
    return np.diag([a, a.conjugate(), a.conjugate(), a])


NATIVE_GATES: Final[frozenset[str]] = frozenset({"gpi", "gpi2", "ms", "zz", "nop"})
# Every native gate may carry the fields of IonQ's ``Gate_NativeGate``; those a gate does not
# use are checked for type and otherwise ignored. ``controls`` is refused: the document lists
# it, but no native gate has controls.
_FIELDS: Final[frozenset[str]] = frozenset(
    {"gate", "target", "targets", "phase", "phases", "angle", "rotation"})


def append_native(circuit: QuantumCircuit, instruction: Mapping[str, Any], name: str,
                  targets: list[int], where: str, as_real: _Check,
                  error: type[ValueError]) -> None:
    """Append one validated native instruction (``name`` in :data:`NATIVE_GATES`, its
    in-range ``targets`` already read) to ``circuit``; raise ``error`` on a bad field."""
    extra = sorted(str(key) for key in set(instruction) - _FIELDS)
    if extra:
        raise error(f"{where}: unsupported field(s) {', '.join(extra)}")
    for field in ("phase", "angle", "rotation"):
        if field in instruction:
            as_real(instruction[field], f"{where}: field {field!r}")
    if name == "nop":  # IonQ's no-op (a wait): nothing happens to the state
        return
    width = 1 if name in ("gpi", "gpi2") else 2
    if len(targets) != width:
        raise error(f"{where}: needs {width} target(s), got {len(targets)}")
    if name in ("gpi", "gpi2"):
        if "phase" not in instruction:
            raise error(f"{where}: field 'phase' is missing")
        phase = as_real(instruction["phase"], f"{where}: field 'phase'")
        matrix = _gpi(phase) if name == "gpi" else _gpi2(phase)
    elif name == "ms":
        phases = instruction.get("phases")
        if (not isinstance(phases, Sequence) or isinstance(phases, str)
                or len(phases) != 2):
            raise error(f"{where}: field 'phases' must be a list of two numbers")
        phi0, phi1 = (as_real(p, f"{where}: field 'phases'") for p in phases)
        theta = as_real(instruction.get("angle", 0.25), f"{where}: field 'angle'")
        matrix = _ms(phi0, phi1, theta)
    else:
        # zz's angle: ``angle``, or ``phase`` as cirq-ionq sends it (its ZZGate.phase is the
        # same theta); both must agree.
        given = {as_real(instruction[f], f"{where}: field {f!r}")
                 for f in ("angle", "phase") if f in instruction}
        if not given:
            raise error(f"{where}: field 'angle' (or 'phase') is missing")
        if len(given) > 1:
            raise error(f"{where}: fields 'angle' and 'phase' disagree")
        matrix = _zz(given.pop())
    circuit.append(UnitaryGate(matrix, label=name, check_input=False), targets)
