"""Benchmark: what pricing a cancel costs (``CancelReport.saved``), side by side with the same
cancel unpriced.

The emulator runs as a separate process on 127.0.0.1 with 50 ms added latency. Each round
submits 1,000 queued QPU jobs (not timed) and cancels them with ``cancel_jobs(...,
price=False)``, then submits 1,000 more and cancels them with ``price=True``, on the same
emulator, each next to the other, in alternating order; the medians of 5 rounds are compared.
Targets (issue 23): 1,000 jobs of one shape (one ``GET /jobs/{id}/cost`` and one ``GET
/jobs/estimate`` price them all) take <= 1.5x the unpriced cancel; 1,000 jobs of 1,000
different shapes (one ``GET /jobs/{id}/cost`` each) <= 3x. Also shown, without a target:
1,000 jobs of 10 shapes (a sweep over a few circuits; 20 price requests). The script prints
the figures and the ratios, and exits 1 if a target is missed.

    python benchmarks/bench_saved.py
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from shared import KEY, Targets, emulator_process

from qiskit_ionq_cancel import CancelReport

LATENCY = 0.05
JOBS = 1000
ROUNDS = 5
FORTE = "qpu.forte-1"


def circuit(index: int, shapes: int) -> list[dict[str, object]]:
    """The circuit of job ``index`` among jobs of ``shapes`` shapes (up to 1,000: 1 to 50 H
    gates, 1 to 20 CNOTs)."""
    index %= shapes
    hs, cnots = index // 20 + 1, index % 20 + 1
    h: dict[str, object] = {"gate": "h", "targets": [0]}
    cnot: dict[str, object] = {"gate": "cnot", "control": 0, "target": 1}
    return [h] * hs + [cnot] * cnots


def submit(url: str, shapes: int) -> list[str]:
    """JOBS queued jobs on qpu.forte-1 (not timed)."""
    from qiskit_ionq_cancel._http.client import IonQCancelClient

    client = IonQCancelClient(KEY, url)

    def one(index: int) -> str:
        body = {"backend": FORTE, "type": "ionq.circuit.v1", "shots": 100,
                "input": {"gateset": "qis", "qubits": 2, "circuit": circuit(index, shapes)}}
        return str(client.post("jobs", json_body=body)["id"])

    try:
        with ThreadPoolExecutor(32) as pool:
            return list(pool.map(one, range(JOBS)))
    finally:
        client.close()


def timed_cancel(url: str, ids: list[str], price: bool) -> tuple[float, CancelReport]:
    from qiskit_ionq_cancel import IonQProvider, cancel_jobs

    provider = IonQProvider(KEY, url=url)
    start = time.perf_counter()
    report = cancel_jobs(ids, provider=provider, price=price)
    seconds = time.perf_counter() - start
    provider.client.close()
    assert report.ok and len(report.cancelled) == len(ids), report.summary()
    if price:
        assert report.saved.priced == len(ids) and report.saved.cost is not None, \
            report.saved
    return seconds, report


def compare(shapes: int) -> tuple[list[float], list[float], CancelReport]:
    """ROUNDS rounds of (unpriced, priced) on one emulator; the seconds of each."""
    plain: list[float] = []
    priced: list[float] = []
    report = CancelReport()
    with emulator_process("--latency", str(LATENCY)) as url:
        for round_ in range(ROUNDS):
            order = (False, True) if round_ % 2 == 0 else (True, False)
            for price in order:
                ids = submit(url, shapes)
                seconds, outcome = timed_cancel(url, ids, price)
                (priced if price else plain).append(seconds)
                if price:
                    report = outcome
    return plain, priced, report


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> int:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    os.environ["IONQ_API_KEY"] = KEY
    targets = Targets()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores (shared: other work on "
          f"this machine moves the figures); emulator in its own process on 127.0.0.1, "
          f"{LATENCY * 1e3:.0f} ms latency; {JOBS:,} queued jobs on {FORTE} per cancel, "
          f"{ROUNDS} rounds, priced and unpriced side by side")
    for shapes, bound, name in ((1, 1.5, "one shape"), (JOBS, 3.0, "1,000 different shapes"),
                                (10, None, "10 shapes")):
        plain, priced, report = compare(shapes)
        ratio = median(priced) / median(plain)
        saved = report.saved
        print(f"\n{name}: unpriced {median(plain):.3f} s (runs "
              f"{', '.join(f'{s:.2f}' for s in plain)}), priced {median(priced):.3f} s (runs "
              f"{', '.join(f'{s:.2f}' for s in priced)})")
        verdict = "no target" if bound is None else \
            f"target <= {bound:g}x: {targets.check(ratio <= bound, name)}"
        print(f"   priced / unpriced = {ratio:.2f}x  {verdict}")
        print(f"   last priced report: {report.requests} requests; figures "
              f"{json.dumps(saved.sources)}; {saved.describe()}")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
