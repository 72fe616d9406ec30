"""Benchmark: job.cancel() side by side with qiskit-ionq's and with a bare requests.Session.

Everything runs against the project's emulator, started as a separate process on 127.0.0.1,
in one run, so the numbers are comparable. It prints the figures and the ratios against the
targets of the issues, and exits 1 when a target is missed.

    python benchmarks/bench_cancel.py [--jobs 200] [--rounds 5]

Targets measured here:
- emulator: >= 1,000 single-job cancels a second from a client in another process;
- our job.cancel() within 1.3x of a bare keep-alive requests.Session.put;
- `from qiskit_ionq_cancel import IonQProvider, cancel_jobs` adds at most 50 ms to
  `import qiskit_ionq` (the package itself imports its modules lazily).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import requests
from shared import KEY, Targets, bare_session, emulator_process

BELL = {
    "type": "ionq.circuit.v1", "backend": "simulator", "shots": 100, "name": "bell",
    "input": {"gateset": "qis", "qubits": 2, "circuit": [
        {"gate": "h", "targets": [0]}, {"gate": "x", "controls": [0], "targets": [1]}]},
}


def submit(url: str, count: int) -> list[str]:
    s = bare_session()
    return [s.post(f"{url}/jobs", json=BELL, timeout=10).json()["id"] for _ in range(count)]


def per_call(fn: Callable[[str], object], ids: list[str]) -> float:
    """Median-free mean seconds per call over ids (one timed loop)."""
    start = time.perf_counter()
    for job_id in ids:
        fn(job_id)
    return (time.perf_counter() - start) / len(ids)


def put_cancel(client: requests.Session, url: str) -> Callable[[str], object]:
    """A bare cancel: one PUT through ``client``."""
    return lambda job_id: client.put(f"{url}/jobs/{job_id}/status/cancel", timeout=30)


def job_cancel(jobs: dict[str, Any]) -> Callable[[str], object]:
    """``job.cancel()`` of the job object with the given id."""
    return lambda job_id: jobs[job_id].cancel()


def bench_single_cancel(url: str, jobs: int, rounds: int) -> dict[str, list[float]]:
    """Seconds per cancel for each client, one figure per round (the clients interleaved
    within each round, so a round's figures saw the same machine)."""
    from qiskit_ionq import IonQProvider as StockProvider

    from qiskit_ionq_cancel import IonQProvider

    os.environ["IONQ_API_URL"] = url  # qiskit-ionq reads backend sizes from here
    ours_backend = IonQProvider(KEY, url=url).get_backend("simulator")
    stock_backend = StockProvider(KEY, url=url).get_backend("simulator")
    bare, lean = bare_session(), bare_session()
    lean.trust_env = False  # as ours: the environment is not re-read on every request

    results: dict[str, list[float]] = {"bare": [], "lean": [], "ours": [], "stock": []}
    for round_no in range(rounds):
        order = list(results)
        order = order[round_no % 4:] + order[:round_no % 4]  # rotate to even out drift
        for name in order:
            ids = submit(url, jobs)
            if name in ("bare", "lean"):
                cancel = put_cancel((bare if name == "bare" else lean), url)
            else:
                backend = ours_backend if name == "ours" else stock_backend
                cancel = job_cancel({i: backend.retrieve_job(i) for i in ids})
            results[name].append(per_call(cancel, ids))
    return results


def bench_emulator_rate(url: str, total: int, threads: int) -> float:
    """Single-job cancels a second the emulator serves to `threads` keep-alive connections.

    The client is the stdlib's http.client, not requests: requests itself spends about 1 ms
    a call here, which would measure the client rather than the emulator.
    """
    ids = submit(url, total)
    chunks = [ids[i::threads] for i in range(threads)]
    parts = urlsplit(url)

    def worker(chunk: list[str]) -> None:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        for job_id in chunk:
            conn.request("PUT", f"{parts.path}/jobs/{job_id}/status/cancel",
                         headers={"Authorization": f"apiKey {KEY}"})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, body
        conn.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, chunks))
    return total / (time.perf_counter() - start)


def bench_import(repeats: int) -> tuple[float, float]:
    """Median seconds of `import qiskit_ionq`, and what importing the public names adds."""
    code = ("import time; t0 = time.perf_counter(); import qiskit_ionq; "
            "t1 = time.perf_counter(); from qiskit_ionq_cancel import IonQProvider, cancel_jobs; "
            "t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")
    # Bytecode cached, as after `pip install` (which compiles it): a first run writes it,
    # and PYTHONDONTWRITEBYTECODE (set on some machines) would otherwise make every run
    # compile the sources again.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, check=True)
    base, extra = [], []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, check=True).stdout.split()
        base.append(float(out[0]))
        extra.append(float(out[1]))
    return statistics.median(base), statistics.median(extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200, help="jobs per client per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--rate-jobs", type=int, default=4000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    targets = Targets()
    verdict = targets.check

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; emulator in its own "
          "process on 127.0.0.1")
    with emulator_process() as url:
        seq = bench_emulator_rate(url, args.rate_jobs, 1)
        par = bench_emulator_rate(url, args.rate_jobs, 4)
        print(f"\nEmulator, single-job cancels: {seq:,.0f}/s over 1 keep-alive connection, "
              f"{par:,.0f}/s over 4 (http.client)")
        print(f"  target >= 1,000/s: {verdict(max(seq, par) >= 1000, 'emulator rate')}")

        rounds = bench_single_cancel(url, args.jobs, args.rounds)
        t = {name: statistics.median(times) for name, times in rounds.items()}
        print(f"\njob.cancel() per call (median of {args.rounds} rounds x {args.jobs} jobs):")
        print(f"  bare requests.Session.put   {t['bare'] * 1e3:7.3f} ms")
        print(f"  same, trust_env=False       {t['lean'] * 1e3:7.3f} ms")
        print(f"  qiskit_ionq_cancel          {t['ours'] * 1e3:7.3f} ms")
        print(f"  qiskit_ionq (stock)         {t['stock'] * 1e3:7.3f} ms")
        # Compared round by round (each round's clients ran back to back), then the median:
        # a busy moment of the machine then slows both sides of a ratio, not one of them.
        ratios = sorted(o / min(b, lean) for o, b, lean in
                        zip(rounds["ours"], rounds["bare"], rounds["lean"], strict=True))
        ratio = statistics.median(ratios)
        print(f"  ours / faster bare, per round: {ratios[0]:.2f}x to {ratios[-1]:.2f}x, "
              f"median {ratio:.2f}x  (target <= 1.3x: "
              f"{verdict(ratio <= 1.3, 'cancel vs bare put')})")
        print(f"  stock / ours       = {t['stock'] / t['ours']:.2f}x  (how much faster ours is)")

    base, extra = bench_import(7)
    print(f"\nimport qiskit_ionq: {base * 1e3:.0f} ms; from qiskit_ionq_cancel import "
          f"IonQProvider, cancel_jobs adds {extra * 1e3:.1f} ms (median of 7 fresh processes, "
          "bytecode cached)")
    print(f"  target <= 50 ms: {verdict(extra <= 0.050, 'import time')}")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
