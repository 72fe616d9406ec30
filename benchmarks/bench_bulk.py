"""Benchmark: cancel_jobs() at scale, side by side with qiskit-ionq and a bare session.

The emulator runs as a separate process on 127.0.0.1 (with ``--preload N`` queued jobs, so
setting up 10,000 jobs costs no requests). Everything is measured in one run; the script
prints the figures, the ratios against the issue's targets, and exits 1 if one is missed.

    python benchmarks/bench_bulk.py

1. 50 ms added latency, 10,000 queued jobs: cancel_jobs (bulk + read-back of every job)
   against 15 round trips (0.75 s), and against qiskit-ionq's cancel_jobs, which cancels one
   job at a time: that one is measured on a sample of 100 jobs and scaled up (said so).
2. 50 ms latency, bulk endpoint off, 1,000 jobs: cancel_jobs against a bare pooled
   requests.Session doing only the PUTs with the same concurrency (target <= 1.3x).
3. Rate limit 100 requests/s, bulk off, 500 jobs: zero failures, within 1.25x of N / rate.
4. 100,000 ids: peak memory growth of the cancel_jobs call (tracemalloc), target <= 100 MB.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import requests
from shared import KEY, Targets, emulator_process

LATENCY = 0.05


def queued_ids(url: str) -> list[str]:
    """Every queued job's id, listed with the plugin's own client (not timed)."""
    from qiskit_ionq_cancel import IonQCancelClient

    client = IonQCancelClient(KEY, url)
    return [job["id"] for job in client.iter_jobs(status="ready")]


def timed(fn: object, *args: object, **kwargs: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> int:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # retries are expected under the rate limit
    os.environ["IONQ_API_KEY"] = KEY
    from qiskit_ionq.ionq_client import IonQClient

    from qiskit_ionq_cancel import CONCURRENCY, IonQProvider, cancel_jobs

    targets = Targets()
    verdict = targets.check

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; emulator in its own "
          f"process on 127.0.0.1; cancel_jobs concurrency {CONCURRENCY}")

    # 1. 10,000 jobs, 50 ms latency, bulk on.
    with emulator_process("--latency", str(LATENCY), "--preload", "10100") as url:
        ids = queued_ids(url)
        sample, bulk_ids = ids[:100], ids[100:]
        provider = IonQProvider(KEY, url=url)
        seconds, report = timed(cancel_jobs, bulk_ids, provider=provider)
        assert report.ok and len(report.cancelled) == len(bulk_ids), report
        stock_seconds, _ = timed(IonQClient(KEY, url).cancel_jobs, sample)
        stock_scaled = stock_seconds * len(bulk_ids) / len(sample)
        rtt = seconds / LATENCY
        print(f"\n1. {len(bulk_ids):,} queued jobs, {LATENCY * 1e3:.0f} ms latency, bulk:")
        print(f"   cancel_jobs, cancelled and verified: {seconds:.2f} s = {rtt:.1f} round trips "
              f"({report.requests} requests)  target <= 15: {verdict(rtt <= 15, 'bulk 10k')}")
        print(f"   qiskit-ionq cancel_jobs: {stock_seconds:.2f} s for a sample of "
              f"{len(sample)}, so about {stock_scaled:.0f} s for {len(bulk_ids):,}")
        print(f"   qiskit-ionq / ours = {stock_scaled / seconds:.0f}x")

    # 2. bulk off, 1,000 jobs, 50 ms latency.
    with emulator_process("--latency", str(LATENCY), "--preload", "2000", "--no-bulk") as url:
        ids = queued_ids(url)
        ours_ids, bare_ids = ids[:1000], ids[1000:]
        session = requests.Session()
        session.headers["Authorization"] = f"apiKey {KEY}"
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=CONCURRENCY))

        def put(job_id: str) -> None:
            session.put(f"{url}/jobs/{job_id}/status/cancel", timeout=30).raise_for_status()

        def bare() -> None:
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                list(pool.map(put, bare_ids))

        bare_seconds, _ = timed(bare)
        seconds, report = timed(cancel_jobs, ours_ids, provider=IonQProvider(KEY, url=url))
        assert report.ok, report
        ratio = seconds / bare_seconds
        print(f"\n2. 1,000 jobs, bulk endpoint off, {LATENCY * 1e3:.0f} ms latency, "
              f"{CONCURRENCY} in flight:")
        print(f"   cancel_jobs {seconds:.2f} s, bare pooled session PUTs {bare_seconds:.2f} s: "
              f"{ratio:.2f}x  target <= 1.3x: {verdict(ratio <= 1.3, 'bulk off')}")

    # 3. rate limit 100/s, bulk off, 500 jobs.
    with emulator_process("--rate-limit", "100", "--retry-after", "none", "--preload", "500",
                  "--no-bulk") as url:
        ids = queued_ids(url)
        time.sleep(1.0)  # let the listing's requests leave the server's rate window
        seconds, report = timed(cancel_jobs, ids, provider=IonQProvider(KEY, url=url))
        ideal = len(ids) / 100
        ratio = seconds / ideal
        failures = len(report.errors)
        print(f"\n3. {len(ids)} jobs, rate limit 100/s (429 without Retry-After), bulk off:")
        print(f"   cancel_jobs {seconds:.2f} s, {failures} failures, {report.requests} "
              f"requests; N/rate = {ideal:.2f} s: {ratio:.2f}x  target <= 1.25x and no "
              f"failures: {verdict(ratio <= 1.25 and failures == 0, 'rate limit')}")

    # 4. memory for 100,000 ids.
    with emulator_process("--preload", "100000") as url:
        ids = queued_ids(url)
        provider = IonQProvider(KEY, url=url)
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        seconds, report = timed(cancel_jobs, ids, provider=provider)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        growth = (peak - base) / 1e6
        print(f"\n4. {len(ids):,} ids: peak memory growth {growth:.1f} MB (tracemalloc), "
              f"{seconds:.1f} s under tracing  target <= 100 MB: "
              f"{verdict(growth <= 100 and report.ok, 'memory')}")

    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
