"""What the emulator charges: a price per backend, a model of quantum compute time, and the
cost of a job (``GET /jobs/{UUID}/cost``) and of an estimate (``GET /jobs/estimate``).

IonQ's v0.4 document (October 1, 2026) gives the shapes, not the figures: a rate card entry
(``RateCardEntry``) is priced either by ``gates`` (``cost_1q_gate``, ``cost_2q_gate``, an
optional ``job_cost_minimum``) or by ``compute_second`` (``unit_cost``), and a job's
``cost_model`` is ``2QGE_operations`` or ``QCT`` (quantum compute time). The emulator reads
them so:

- ``gates``: ``shots * (1q_gates * cost_1q_gate + 2q_gates * cost_2q_gate)``, at least
  ``job_cost_minimum`` (a price per gate per shot, as IonQ's cloud listings quote it);
- ``compute_second``: ``unit_cost`` per second of predicted quantum compute time, which is
  ``shots * (SHOT_US + 1q_gates * GATE_1Q_US + 2q_gates * GATE_2Q_US)`` microseconds.

A gate on three or more qubits counts as one two-qubit gate; an ``ionq.qasm3.v1`` program's
gates are not counted (its price is the job minimum, or its shots' overhead).
``error_mitigation`` does not change a price (the document does not say how it would).

:data:`DEFAULT_PRICES` are example figures to test against, **not IonQ's prices**. The
simulator is free: its jobs carry no ``estimated_cost`` ("free targets such as simulators
have no currency unit that can describe them").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

PriceUnit = Literal["gates", "compute_second"]

#: The compute-time model (example figures): microseconds a shot takes besides its gates
#: (state preparation and readout), and a gate on one and on two qubits.
SHOT_US = 1_000
GATE_1Q_US = 100
GATE_2Q_US = 600
#: Compute times are ``int32`` in IonQ's document: longer predictions are capped at this.
INT32_MAX = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class Price:
    """How one backend is priced: a ``RateCardEntry`` of IonQ's document, plus its
    ``currency`` (``usd``, or ``credit`` for organizations billed in credits)."""

    unit: PriceUnit
    cost_1q_gate: float = 0.0
    cost_2q_gate: float = 0.0
    job_cost_minimum: float | None = None
    unit_cost: float = 0.0
    currency: str = "usd"

    def __post_init__(self) -> None:
        if self.unit not in ("gates", "compute_second"):
            raise ValueError(f"a price's unit must be gates or compute_second, not "
                             f"{self.unit!r}")
        figures = (self.cost_1q_gate, self.cost_2q_gate, self.unit_cost,
                   self.job_cost_minimum or 0.0)
        if any(isinstance(f, bool) or not isinstance(f, (int, float)) or not f >= 0
               or not math.isfinite(f) for f in figures):
            raise ValueError("prices must be finite numbers, 0 or more")
        if not isinstance(self.currency, str) or not self.currency:
            raise ValueError("a price's currency must be a word, e.g. usd or credit")

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Price:
        """A price from a mapping of its fields (``ValueError`` naming what is wrong)."""
        unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown price field(s) {', '.join(unknown)}; a price has "
                             f"{', '.join(f.name for f in dataclasses.fields(cls))}")
        if "unit" not in fields:
            raise ValueError("a price needs a unit: gates or compute_second")
        return cls(**fields)

    @property
    def cost_model(self) -> str:
        """``cost_model`` of a job on this backend (IonQ's ``ApiCostModel``)."""
        return "QCT" if self.unit == "compute_second" else "2QGE_operations"

    def rate(self, backend: str) -> dict[str, Any]:
        """This price as a ``RateCardEntry`` (its fields only where the document says)."""
        entry: dict[str, Any] = {"sku": f"emulator-{backend}", "unit": self.unit}
        if self.unit == "compute_second":
            entry["unit_cost"] = self.unit_cost
        else:
            entry["cost_1q_gate"] = self.cost_1q_gate
            entry["cost_2q_gate"] = self.cost_2q_gate
            if self.job_cost_minimum is not None:
                entry["job_cost_minimum"] = self.job_cost_minimum
        return entry

    def cost(self, shots: int, oneq: int, twoq: int, *, minimum: bool = True) -> float:
        """The cost of ``shots`` shots of a circuit with these gate counts (``minimum``:
        the job minimum applies, as it does to a whole job but not to part of one)."""
        if self.unit == "compute_second":
            value = compute_us(shots, oneq, twoq) / 1_000_000 * self.unit_cost
        else:
            value = shots * (oneq * self.cost_1q_gate + twoq * self.cost_2q_gate)
            if minimum and self.job_cost_minimum is not None:
                value = max(value, self.job_cost_minimum)
        return round(value, 6)


#: Example figures, **not IonQ's prices**: ``qpu.forte-1`` by compute time (0.80 per second),
#: ``qpu.forte-enterprise-1`` by gates (0.0001 per one-qubit gate and 0.001 per two-qubit
#: gate per shot, at least 1.00 a job), both in ``usd``. The simulator is free.
DEFAULT_PRICES: Mapping[str, Price] = {
    "qpu.forte-1": Price(unit="compute_second", unit_cost=0.80),
    "qpu.forte-enterprise-1": Price(unit="gates", cost_1q_gate=0.0001, cost_2q_gate=0.001,
                                    job_cost_minimum=1.00),
}


def compute_us(shots: int, oneq: int, twoq: int) -> int:
    """Predicted quantum compute time in microseconds (capped at :data:`INT32_MAX`)."""
    return min(INT32_MAX, shots * (SHOT_US + oneq * GATE_1Q_US + twoq * GATE_2Q_US))


def gate_widths(gate_counts: Mapping[str, int]) -> tuple[int, int]:
    """``stats.gate_counts`` (``{"1q": n, "2q": m, "3q": ...}``) as one- and two-qubit gates
    (a wider gate counts as one two-qubit gate)."""
    oneq = gate_counts.get("1q", 0)
    return oneq, sum(n for width, n in gate_counts.items() if width not in ("0q", "1q"))


def check_prices(prices: Mapping[str, Price | Mapping[str, Any]] | None,
                 backends: Mapping[str, int]) -> dict[str, Price]:
    """The price table of an emulator: :data:`DEFAULT_PRICES` with ``prices`` instead for the
    backends it names (a :class:`Price`, or a mapping of its fields). ``ValueError`` for a
    backend the emulator does not have, the simulator (free), or a bad price."""
    table = dict(DEFAULT_PRICES)
    for backend, price in (prices or {}).items():
        if backend not in backends or backend == "simulator":
            raise ValueError(f"prices: {backend!r} is not a priced backend (one of "
                             f"{', '.join(b for b in backends if b != 'simulator')})")
        table[backend] = price if isinstance(price, Price) else Price.from_fields(price)
    return table


def partial_shots(shots: int, ran: float) -> int:
    """Shots done when a run is stopped after the share ``ran`` (0 to 1) of its time."""
    return math.floor(shots * min(1.0, max(0.0, ran)))
