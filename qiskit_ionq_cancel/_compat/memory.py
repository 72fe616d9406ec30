"""Per-shot ``memory`` in the form Qiskit's primitives read, for qiskit-ionq's results.

Two gaps in qiskit-ionq's ``Result`` (1.1.1 and main) break ``BackendSamplerV2``, which runs
circuits with ``memory=True`` and reads nothing but ``memory``:

* for the ideal simulator qiskit-ionq never fetches per-shot data, so ``memory`` is ``None``
  and the sampler silently returns all-zero samples;
* elsewhere it stores ``memory`` as bit strings (``"11"``), while Qiskit's level-2 memory
  is hexadecimal (``"0x3"``): ``Result.get_memory()`` accepts both, the sampler parses every
  entry as hex and gets wrong outcomes.

:func:`complete_memory` fills the first gap from the job's own counts (each outcome as many
times as it was counted, in an order shuffled by a seeded generator, so the samples agree
with ``get_counts()`` exactly) and fixes the second by rewriting bit strings as hex.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["complete_memory"]


def _hex(outcome: str) -> str:
    return hex(int(outcome.replace(" ", "") or "0", 2))


def complete_memory(result: Any, seed: int | None = None) -> None:
    """Give every experiment of ``result`` (a Qiskit ``Result``) hex ``memory`` (in place)."""
    for index, experiment in enumerate(getattr(result, "results", None) or ()):
        data = getattr(experiment, "data", None)
        if data is None:
            continue
        memory = getattr(data, "memory", None)
        if memory:
            data.memory = [m if str(m).startswith("0x") else _hex(str(m)) for m in memory]
            continue
        counts = getattr(data, "counts", None)
        if not counts:
            continue
        shots = [_hex(k) if not str(k).startswith("0x") else str(k)
                 for k, n in counts.items() for _ in range(int(n))]
        random.Random(None if seed is None else seed + index).shuffle(shots)  # noqa: S311
        data.memory = shots
        names = getattr(data, "_data_attributes", None)  # what Result.data() reports
        if isinstance(names, list) and "memory" not in names:
            names.append("memory")
