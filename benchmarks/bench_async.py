"""Benchmark: the asyncio forms against cancel_jobs(), side by side in the same run.

The emulator runs as a separate process on 127.0.0.1 (``--preload``: jobs queued for 10
hours, so setting up costs no requests). In each round, three disjoint sets of 100 queued
jobs are cancelled, in a rotating order:

* ``cancel_jobs(ids)``, the blocking bulk call;
* ``asyncio.gather`` of 100 ``acancel(id)`` calls (gathered into bulk requests);
* ``acancel_jobs(ids)``.

and, for scale, 100 ``asyncio.to_thread(cancel, id)`` calls (what asyncio code did before:
no gathering). Each call is timed inside its event loop (the loop's own start-up is not the
call's), with the same provider (warm connections). The figures are the medians of the
rounds, at no added latency (the costs of the package itself) and at 50 ms (a network);
the targets are ratios to ``cancel_jobs`` in the same run:

* gather of 100 ``acancel`` <= 2x ``cancel_jobs`` of the same 100;
* ``acancel_jobs`` <= 1.2x ``cancel_jobs``.

    python benchmarks/bench_async.py

The script exits 1 if a target is missed. Absolute times depend on the machine and on what
else runs on it; the ratios are what the targets are about.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from shared import KEY, Targets, emulator_process

JOBS = 100
ROUNDS = 15
LATENCIES = (0.0, 0.05)


def queued_ids(url: str) -> list[str]:
    """Every queued job's id, listed with the plugin's own client (not timed)."""
    from qiskit_ionq_cancel._http.client import IonQCancelClient

    client = IonQCancelClient(KEY, url)
    try:
        return [job["id"] for job in client.iter_jobs(status="ready")]
    finally:
        client.close()


def in_loop(make: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """Seconds the awaitable ``make()`` takes inside an event loop, and its result."""
    async def main() -> tuple[float, Any]:
        start = time.perf_counter()
        result = await make()
        return time.perf_counter() - start, result
    return asyncio.run(main())


def measure(latency: float) -> dict[str, list[float]]:
    """Seconds of each way, one entry a round."""
    from qiskit_ionq_cancel import IonQProvider, acancel, acancel_jobs, cancel, cancel_jobs

    ways = ["cancel_jobs", "gather of acancel", "acancel_jobs", "to_thread(cancel)"]
    times: dict[str, list[float]] = {way: [] for way in ways}
    with emulator_process("--latency", str(latency),
                          "--preload", str(JOBS * (len(ways) * ROUNDS + 1))) as url:
        ids = queued_ids(url)
        provider = IonQProvider(KEY, url=url)
        cancel_jobs(ids[:JOBS], provider=provider)  # warm: connections, imports
        batches = iter(ids[i:i + JOBS] for i in range(JOBS, len(ids), JOBS))

        def run(way: str, batch: list[str]) -> tuple[float, list[bool]]:
            if way == "cancel_jobs":
                start = time.perf_counter()
                report = cancel_jobs(batch, provider=provider)
                return time.perf_counter() - start, [s.name == "CANCELLED"
                                                     for s in report.statuses.values()]
            if way == "acancel_jobs":
                seconds, report = in_loop(lambda: acancel_jobs(batch, provider=provider))
                return seconds, [s.name == "CANCELLED" for s in report.statuses.values()]
            if way == "gather of acancel":
                return in_loop(lambda: asyncio.gather(
                    *(acancel(i, provider=provider) for i in batch)))
            return in_loop(lambda: asyncio.gather(
                *(asyncio.to_thread(cancel, i, provider=provider) for i in batch)))

        for round_ in range(ROUNDS):
            order = ways[round_ % len(ways):] + ways[:round_ % len(ways)]  # rotate
            for way in order:
                seconds, verdicts = run(way, next(batches))
                assert verdicts == [True] * JOBS, (way, verdicts.count(True))
                times[way].append(seconds)
        provider.client.close()
    return times


def main() -> int:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    targets = Targets()
    verdict = targets.check
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores (shared with other work: "
          f"load average {load:.1f} at the start); emulator in its own process on "
          f"127.0.0.1; {JOBS} queued jobs a call, median of {ROUNDS} rounds, each way's "
          "calls interleaved with the others'")
    for latency in LATENCIES:
        times = measure(latency)
        median = {way: statistics.median(seconds) for way, seconds in times.items()}
        base = median["cancel_jobs"]
        print(f"\n{latency * 1e3:.0f} ms added latency:")
        for way, seconds in times.items():
            print(f"   {way:<20} {median[way] * 1e3:7.1f} ms  ({median[way] / base:.2f}x "
                  f"cancel_jobs)  rounds: {', '.join(f'{s * 1e3:.0f}' for s in seconds)}")
        gathered = median["gather of acancel"] / base
        whole = median["acancel_jobs"] / base
        print(f"   gather of {JOBS} acancel / cancel_jobs = {gathered:.2f}x  target <= 2x: "
              f"{verdict(gathered <= 2.0, f'gather of acancel at {latency:g} s')}")
        print(f"   acancel_jobs / cancel_jobs = {whole:.2f}x  target <= 1.2x: "
              f"{verdict(whole <= 1.2, f'acancel_jobs at {latency:g} s')}")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
