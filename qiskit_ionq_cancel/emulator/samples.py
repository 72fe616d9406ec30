"""Per-shot outcomes and histograms of a finished job, drawn from its ideal probabilities.

IonQ's ``ionq.result.shots.json.v1`` is an array of decimal outcome strings, one per shot
(what qiskit-ionq reads from ``results.shots.url`` to build ``memory``), and
``ionq.result.histogram.json.v1`` the shot count of each outcome. The emulator draws the
shots once per job from a generator seeded by the job's own seed, so every read of one job
gives the same shots, and the histogram is always the count of those shots.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping

__all__ = ["histogram", "sample_shots"]


def sample_shots(probabilities: Mapping[str, float], shots: int, seed: int) -> list[str]:
    """``shots`` outcomes (decimal strings) drawn from ``probabilities``."""
    outcomes = list(probabilities)
    if not outcomes:
        return []
    weights = [probabilities[o] for o in outcomes]
    return random.Random(seed).choices(outcomes, weights=weights, k=shots)


def histogram(shots: list[str]) -> dict[str, int]:
    """How many of ``shots`` gave each outcome, outcomes in increasing order."""
    counts = Counter(shots)
    return {outcome: counts[outcome] for outcome in sorted(counts, key=int)}
