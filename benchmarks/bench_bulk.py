"""Benchmark: cancel_jobs() at scale, side by side with qiskit-ionq and a bare session.

The emulator runs as a separate process on 127.0.0.1 (with ``--preload N`` queued jobs, so
setting up 10,000 jobs costs no requests). Everything is measured in one run; the script
prints the figures, the ratios against the issue's targets, and exits 1 if one is missed.

    python benchmarks/bench_bulk.py

1. 50 ms added latency, 10,000 queued jobs: cancel_jobs (bulk + read-back of every job)
   against 6 round trips (0.3 s), the median of 3 runs, each on a fresh emulator, each
   next to a run of bare clients sending only the same requests, with none of its checks:
   a pooled requests.Session (what cancel_jobs is built on) and raw http.client (the
   cheapest HTTP in the standard library), the floors this machine and emulator set; with the
   CPU seconds the client and the emulator spent (on 2 cores these bound the time more than
   the latency does), and the round trips counted where latency dominates (1 s: wall time
   over latency then counts the round trips one after another on the critical path). And
   against qiskit-ionq's cancel_jobs, which cancels one job at a time: that one is measured
   on a sample of 100 jobs and scaled up (said so).
2. 100,000 ids: peak memory growth of the cancel_jobs call (tracemalloc), target <= 100 MB.

Bulk off, rate limits, capped pages and other servers' ways: bench_servers.py.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import sys
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any, TypeVar
from urllib.parse import urlsplit

from shared import KEY, Targets, bare_session, emulator_cpu_seconds, emulator_process

from qiskit_ionq_cancel import CancelReport

T = TypeVar("T")
Sender = Callable[..., Any]  # (method, path below the URL, body=None) -> the JSON answer
SenderFactory = Callable[[str], Sender]  # the base URL -> a Sender
LATENCY = 0.05
#: A latency long enough that the time is latency, not CPU (for counting round trips).
SLOW = 1.0
BULK_JOBS = 10_000


def queued_ids(url: str) -> list[str]:
    """Every queued job's id, listed with the plugin's own client (not timed)."""
    from qiskit_ionq_cancel._http.client import IonQCancelClient

    client = IonQCancelClient(KEY, url)
    return [job["id"] for job in client.iter_jobs(status="ready")]


def bulk_run(latency: float) -> tuple[float, int, float, float | None]:
    """Cancel BULK_JOBS queued jobs on a fresh emulator: (seconds, requests, client CPU
    seconds, emulator CPU seconds or None without psutil)."""
    from qiskit_ionq_cancel import IonQProvider, cancel_jobs

    with emulator_process("--latency", str(latency), "--preload", str(BULK_JOBS)) as url:
        ids = queued_ids(url)
        provider = IonQProvider(KEY, url=url)
        emulator = emulator_cpu_seconds(url)
        cpu_before, emulator_before = time.process_time(), emulator()
        seconds, report = timed(cancel_jobs, ids, provider=provider)
        client_cpu, emulator_after = time.process_time() - cpu_before, emulator()
        assert isinstance(report, CancelReport)
        assert report.ok and len(report.cancelled) == len(ids), report
    spent = None if emulator_after is None or emulator_before is None else \
        emulator_after - emulator_before
    return seconds, report.requests, client_cpu, spent


def bare_run(latency: float, sender: SenderFactory) -> float:
    """Seconds for a bare client doing only the requests cancel_jobs needs here (the bulk
    cancels, then the read-back of each chunk as soon as its cancel is in, CONCURRENCY at
    once), with none of its checks, retries or bookkeeping, on a fresh emulator like
    bulk_run: the floor this machine and emulator set. ``sender``: :func:`requests_sender`
    or :func:`raw_sender`."""
    from qiskit_ionq_cancel.bulk import BULK_CHUNK, CONCURRENCY, VERIFY_CHUNK

    with emulator_process("--latency", str(latency), "--preload", str(BULK_JOBS)) as url:
        ids = queued_ids(url)
        send = sender(url)

        def cancel(chunk: list[str]) -> list[str]:
            send("PUT", "/jobs/status/cancel", json.dumps({"ids": chunk}))
            return chunk

        def read(chunk: list[str]) -> dict[str, str]:
            query = "&".join(f"ids={i}" for i in chunk) + f"&limit={len(chunk)}"
            return {job["id"]: job["status"] for job in send("GET", f"/jobs?{query}")["jobs"]}

        statuses: dict[str, str] = {}
        start = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            reads = []
            for done in as_completed([pool.submit(cancel, ids[i:i + BULK_CHUNK])
                                      for i in range(0, len(ids), BULK_CHUNK)]):
                chunk = done.result()
                reads += [pool.submit(read, chunk[i:i + VERIFY_CHUNK])
                          for i in range(0, len(chunk), VERIFY_CHUNK)]
            for answer in reads:
                statuses.update(answer.result())
        seconds = time.perf_counter() - start
        assert len(statuses) == len(ids) and set(statuses.values()) == {"canceled"}
    return seconds


def requests_sender(url: str) -> Sender:
    """Requests through one pooled ``requests.Session`` (what cancel_jobs is built on)."""
    from qiskit_ionq_cancel.bulk import CONCURRENCY

    session = bare_session(CONCURRENCY)

    def send(method: str, path: str, body: str | None = None) -> Any:
        answer = session.request(method, url + path, data=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    return send


def raw_sender(url: str) -> Sender:
    """Requests through ``http.client``, one kept-alive connection per thread (the cheapest
    HTTP in the standard library)."""
    parts = urlsplit(url)
    headers = {"Authorization": f"apiKey {KEY}", "Content-Type": "application/json"}
    local = threading.local()

    def send(method: str, path: str, body: str | None = None) -> Any:
        if not hasattr(local, "connection"):
            local.connection = http.client.HTTPConnection(parts.hostname or "", parts.port,
                                                          timeout=30)
        local.connection.request(method, parts.path + path, body=body, headers=headers)
        answer = local.connection.getresponse()
        data = answer.read()
        if answer.status >= 400:
            raise RuntimeError(f"HTTP {answer.status}")
        return json.loads(data)

    return send


def timed(fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> int:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # retries are expected under the rate limit
    os.environ["IONQ_API_KEY"] = KEY
    from qiskit_ionq.ionq_client import IonQClient

    from qiskit_ionq_cancel import IonQProvider, cancel_jobs
    from qiskit_ionq_cancel.bulk import CONCURRENCY

    targets = Targets()
    verdict = targets.check

    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; emulator in its own "
          f"process on 127.0.0.1; cancel_jobs concurrency {CONCURRENCY}")

    # 1. 10,000 jobs, 50 ms latency, bulk on; each run of ours next to one of the floor.
    runs, bare, raw = [], [], []
    for _ in range(3):
        runs.append(bulk_run(LATENCY))
        bare.append(bare_run(LATENCY, requests_sender))
        raw.append(bare_run(LATENCY, raw_sender))
    seconds, requests_sent, client_cpu, emulator_cpu = sorted(runs)[1]  # the median
    bare_seconds, raw_seconds = sorted(bare)[1], sorted(raw)[1]
    rtt = seconds / LATENCY
    slow_seconds, *_ = bulk_run(SLOW)
    bare_slow = bare_run(SLOW, requests_sender)
    with emulator_process("--latency", str(LATENCY), "--preload", "100") as url:
        sample = queued_ids(url)
        stock_seconds, _ = timed(IonQClient(KEY, url).cancel_jobs, sample)
    stock_scaled = stock_seconds * BULK_JOBS / len(sample)
    print(f"\n1. {BULK_JOBS:,} queued jobs, {LATENCY * 1e3:.0f} ms latency, bulk "
          f"(median of 3 runs: {', '.join(f'{r[0]:.2f}' for r in runs)} s):")
    print(f"   cancel_jobs, cancelled and verified: {seconds:.2f} s = {rtt:.1f} round trips "
          f"({requests_sent} requests)  target <= 6: {verdict(rtt <= 6, 'bulk 10k')}")
    cpu = ("CPU time not measured (psutil is not installed)" if emulator_cpu is None else
           f"CPU spent: client {client_cpu:.2f} s, emulator {emulator_cpu:.2f} s, "
           f"on {os.cpu_count()} cores")
    print(f"   {cpu}")
    print(f"   bare pooled session doing only the same requests, no checks (median of 3: "
          f"{', '.join(f'{b:.2f}' for b in bare)} s): {bare_seconds:.2f} s = "
          f"{bare_seconds / LATENCY:.1f} round trips; cancel_jobs / bare = "
          f"{seconds / bare_seconds:.2f}x")
    print(f"   the same with raw http.client, one connection per thread (median of 3: "
          f"{', '.join(f'{b:.2f}' for b in raw)} s): {raw_seconds:.2f} s = "
          f"{raw_seconds / LATENCY:.1f} round trips")
    print(f"   at {SLOW:g} s latency (latency dominates): {slow_seconds:.2f} s = "
          f"{slow_seconds / SLOW:.1f} round trips on the critical path (bare session: "
          f"{bare_slow / SLOW:.1f})")
    print(f"   qiskit-ionq cancel_jobs: {stock_seconds:.2f} s for a sample of "
          f"{len(sample)}, so about {stock_scaled:.0f} s for {BULK_JOBS:,}")
    print(f"   qiskit-ionq / ours = {stock_scaled / seconds:.0f}x")

    # 2. memory for 100,000 ids.
    with emulator_process("--preload", "100000") as url:
        ids = queued_ids(url)
        provider = IonQProvider(KEY, url=url)
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        seconds, report = timed(cancel_jobs, ids, provider=provider)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        growth = (peak - base) / 1e6
        print(f"\n2. {len(ids):,} ids: peak memory growth {growth:.1f} MB (tracemalloc), "
              f"{seconds:.1f} s under tracing  target <= 100 MB: "
              f"{verdict(growth <= 100 and report.ok, 'memory')}")

    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
