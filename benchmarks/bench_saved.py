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

With 1,000 shapes the pricing is 1,000 requests (IonQ has no batch cost endpoint) against
the unpriced cancel's 8, so each round also times a bare client sending the same 1,000
``GET /jobs/{id}/cost`` (the priced cancel's jobs) on the same emulator: plain keep-alive
``requests.Session`` objects, one per thread, on a ``ThreadPoolExecutor`` of the pricer's
concurrency, with none of our checks. ``(priced - unpriced) / bare`` is the pricing's extra
time against the least a Python client takes for the same requests; target <= 1.3x. Shown
too, without a target: the same bare client with ``trust_env`` off (a plain session re-reads
the proxy variables, CA bundle and ~/.netrc on every request; our transport reads them once).

    python benchmarks/bench_saved.py [--only one|many|ten] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import requests
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


def timed_bare(url: str, ids: list[str], trust_env: bool = True) -> float:
    """Seconds for a bare client to send ``GET /jobs/{id}/cost`` for each of ``ids``: one
    plain keep-alive ``requests.Session`` per thread, as many threads as the pricer may have
    requests in flight, none of our checks, retries, deadline or bookkeeping.
    ``trust_env=False``: the sessions do not re-read the proxy variables, CA bundle and
    ~/.netrc on every request (nor does our transport: it reads them once)."""
    from qiskit_ionq_cancel.bulk import CONCURRENCY

    local = threading.local()
    sessions: list[requests.Session] = []

    def cost(job_id: str) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = trust_env
            session.headers["Authorization"] = f"apiKey {KEY}"
            sessions.append(session)
        answer = session.get(f"{url}/jobs/{job_id}/cost", timeout=30)
        answer.raise_for_status()
        return float(answer.json()["estimated_cost"]["value"])

    start = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        figures = list(pool.map(cost, ids))
    seconds = time.perf_counter() - start
    for session in sessions:
        session.close()
    assert len(figures) == len(ids)
    return seconds


def compare(shapes: int, bare: bool, rounds: int
            ) -> tuple[list[float], list[float], list[float], list[float], CancelReport]:
    """``rounds`` rounds of (unpriced, priced, and with ``bare`` the bare clients sending
    the priced cancel's price requests, plain and with trust_env off) on one emulator, the
    order alternating; the seconds of each."""
    plain: list[float] = []
    priced: list[float] = []
    bares: list[float] = []
    leans: list[float] = []
    report = CancelReport()
    with emulator_process("--latency", str(LATENCY)) as url:
        for round_ in range(rounds):
            order = (False, True) if round_ % 2 == 0 else (True, False)
            for price in order:
                ids = submit(url, shapes)
                seconds, outcome = timed_cancel(url, ids, price)
                (priced if price else plain).append(seconds)
                if price:
                    report = outcome
                    for trust in ((True, False) if round_ % 2 == 0 else (False, True)) \
                            if bare else ():
                        (bares if trust else leans).append(timed_bare(url, ids, trust))
    return plain, priced, bares, leans, report


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def runs(values: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("one", "many", "ten"),
                        help="one case: one shape, 1,000 shapes or 10 shapes")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    os.environ["IONQ_API_KEY"] = KEY
    targets = Targets()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores (shared: other work on "
          f"this machine moves the figures); emulator in its own process on 127.0.0.1, "
          f"{LATENCY * 1e3:.0f} ms latency; {JOBS:,} queued jobs on {FORTE} per cancel, "
          f"{args.rounds} rounds, priced and unpriced side by side")
    cases = {"one": (1, 1.5, "one shape"), "many": (JOBS, 3.0, "1,000 different shapes"),
             "ten": (10, None, "10 shapes")}
    for key, (shapes, bound, name) in cases.items():
        if args.only not in (None, key):
            continue
        plain, priced, bare, lean, report = compare(shapes, shapes == JOBS, args.rounds)
        ratio = median(priced) / median(plain)
        saved = report.saved
        print(f"\n{name}: unpriced {median(plain):.3f} s (runs {runs(plain)}), priced "
              f"{median(priced):.3f} s (runs {runs(priced)})" +
              (f", bare {median(bare):.3f} s (runs {runs(bare)})" if bare else ""))
        verdict = "no target" if bound is None else \
            f"target <= {bound:g}x: {targets.check(ratio <= bound, name)}"
        print(f"   priced / unpriced = {ratio:.2f}x  {verdict}")
        if bare:
            # per round (each bare run beside its own priced and unpriced), then the median
            extra = [(p - u) / b for p, u, b in zip(priced, plain, bare, strict=True)]
            overhead = median(extra)
            print(f"   (priced - unpriced) / bare = {overhead:.2f}x (rounds {runs(extra)}; "
                  f"of the medians {(median(priced) - median(plain)) / median(bare):.2f}x)  "
                  f"target <= 1.3x: {targets.check(overhead <= 1.3, name + ', against bare')}")
            lean_extra = [(p - u) / b for p, u, b in zip(priced, plain, lean, strict=True)]
            print(f"   bare with trust_env off {median(lean):.3f} s (runs {runs(lean)}): "
                  f"(priced - unpriced) / it = {median(lean_extra):.2f}x (rounds "
                  f"{runs(lean_extra)}; no target)")
        print(f"   last priced report: {report.requests} requests; figures "
              f"{json.dumps(saved.sources)}; {saved.describe()}")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
