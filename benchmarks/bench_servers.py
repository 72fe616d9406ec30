"""Benchmark: speed against servers that behave unlike our emulator's defaults (issue 11).

The emulator is set up to behave like each server: pages capped at 25, token-bucket rate
limits with whole-second ``Retry-After`` (or none), 50 ms latency without the bulk route,
503 past 8 requests in flight, Cloudflare-style 52x answers, an unreachable URL. Everything
is measured in one run; each figure is printed next to its target; exit 1 if one is missed.

    python benchmarks/bench_servers.py [SECTION ...]   # pages rates adaptive 52x unreachable

Its sections are numbered as issue 11's targets: target 4 (the 10,000-job bulk round trips)
is in bench_bulk.py, target 7 (the single-cancel overhead and the import cost) in
bench_cancel.py.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import socket
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from shared import KEY, Targets, bare_session, emulator_process

LATENCY = 0.05
#: (rate a second, burst, Retry-After mode) of the token buckets measured; the first is the
#: issue's.
BUCKETS = [(100, 100, "seconds"), (100, 100, "none"), (50, 10, "seconds"),
           (200, 400, "seconds"), (100, 10, "none")]


def queued_ids(url: str) -> list[str]:
    """Every queued job's id, listed with the plugin's own client (not timed)."""
    from qiskit_ionq_cancel._http.client import IonQCancelClient

    client = IonQCancelClient(KEY, url)
    return [job["id"] for job in client.iter_jobs(status="ready")]


def bare_puts(url: str, ids: list[str], threads: int) -> float:
    """Seconds for a bare pooled requests.Session doing only the PUTs, `threads` at once."""
    session = bare_session(threads)

    def put(job_id: str) -> None:
        session.put(f"{url}/jobs/{job_id}/status/cancel", timeout=30).raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(put, ids))
    return time.perf_counter() - start


def capped_pages(verdict: Targets) -> None:
    from qiskit_ionq_cancel import IonQProvider, cancel_jobs
    from qiskit_ionq_cancel.emulator import Emulator, ManualClock

    clock = ManualClock()
    with Emulator(queue_time=100, run_time=10, clock=clock, seed=1, page_cap=25) as emu:
        done = emu.store.add_jobs(200)
        clock.advance(200)  # those 200 complete
        queued = emu.store.add_jobs(1800)
        start = time.perf_counter()
        report = cancel_jobs(done + queued, provider=IonQProvider(KEY, url=emu.url))
        seconds = time.perf_counter() - start
        right = (report.ok and set(report.cancelled) == set(queued)
                 and all(str(report.statuses[i]) == "JobStatus.DONE" for i in done)
                 and all(emu.store.status_of(i) == "canceled" for i in queued))
    print("\n1. Pages capped at 25, 2,000 jobs (200 already completed), bulk on:")
    print(f"   cancel_jobs: {report.requests} requests, {seconds:.2f} s (emulator in-process), "
          f"all verified and reported right: {right}")
    print(f"   target <= 100 requests, all right: "
          f"{verdict.check(report.requests <= 100 and right, 'capped pages')}")


class Retries(logging.Handler):
    """Counts the client's retry warnings by the answer that caused them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.answers: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        for what in ("HTTP 429", "HTTP 503", "connection failed"):
            if what in message:
                self.answers[what] = self.answers.get(what, 0) + 1


@contextlib.contextmanager
def retries_counted() -> Iterator[Retries]:
    """Count the client's retries (its warnings, kept off the screen)."""
    logger = logging.getLogger("qiskit_ionq_cancel")
    handler = Retries()
    logging.disable(logging.NOTSET)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        logging.disable(logging.WARNING)


def rate_limits(verdict: Targets) -> None:
    from qiskit_ionq_cancel import IonQProvider, cancel_jobs

    print("\n2. Token buckets, 500 jobs, bulk off (429s: the client's retries after one):")
    for rate, burst, mode in BUCKETS:
        with emulator_process("--rate-limit", str(rate), "--rate-burst", str(burst),
                              "--retry-after", mode, "--preload", "500", "--no-bulk") as url:
            ids = queued_ids(url)
            time.sleep(burst / rate + 0.5)  # let the listing's requests leave the bucket
            with retries_counted() as retries:
                start = time.perf_counter()
                report = cancel_jobs(ids, provider=IonQProvider(KEY, url=url))
                seconds = time.perf_counter() - start
        ideal = len(ids) / rate
        ratio = seconds / ideal
        throttled = retries.answers.get("HTTP 429", 0)
        failures = len(report.errors)
        main_case = (rate, burst, mode) == BUCKETS[0]
        ok = ratio <= 1.25 and failures == 0 and (throttled <= 10 or not main_case)
        limits = "<= 1.25x, 0 failures" + (", <= 10 429s" if main_case else "")
        print(f"   {rate}/s burst {burst}, Retry-After {mode:7s}: {seconds:5.2f} s = "
              f"{ratio:.2f}x N/rate, {failures} failures, {throttled} 429s  target {limits}: "
              f"{verdict.check(ok, f'rate {rate}/{burst}/{mode}')}")


def adaptive(verdict: Targets) -> None:
    from qiskit_ionq_cancel import IonQProvider, cancel_jobs

    with emulator_process("--latency", str(LATENCY), "--preload", "4000", "--no-bulk") as url:
        ids = queued_ids(url)
        bare = {n: bare_puts(url, ids[i * 1000:(i + 1) * 1000], n)
                for i, n in enumerate((16, 32, 64))}
        start = time.perf_counter()
        report = cancel_jobs(ids[3000:], provider=IonQProvider(KEY, url=url))
        seconds = time.perf_counter() - start
    best = min(bare.values())
    ratio = seconds / best
    print(f"\n3a. {LATENCY * 1e3:.0f} ms latency, bulk off, 1,000 jobs:")
    print("   bare pooled session " + ", ".join(f"{n} threads {s:.2f} s"
                                                for n, s in bare.items()))
    print(f"   cancel_jobs {seconds:.2f} s, {len(report.errors)} failures: {ratio:.2f}x the "
          f"best bare  target <= 1.3x: "
          f"{verdict.check(ratio <= 1.3 and report.ok, 'latency-bound')}")

    with emulator_process("--latency", str(LATENCY), "--preload", "2000", "--no-bulk",
                          "--max-in-flight", "8") as url:
        ids = queued_ids(url)
        bare8 = bare_puts(url, ids[:1000], 8)
        with retries_counted() as retries:
            start = time.perf_counter()
            report = cancel_jobs(ids[1000:], provider=IonQProvider(KEY, url=url))
            seconds = time.perf_counter() - start
    ratio = seconds / bare8
    print(f"\n3b. 503 past 8 in flight, {LATENCY * 1e3:.0f} ms latency, bulk off, 1,000 jobs:")
    print(f"   bare session of 8 {bare8:.2f} s; cancel_jobs {seconds:.2f} s "
          f"({retries.answers.get('HTTP 503', 0)} 503s), {len(report.errors)} failures: "
          f"{ratio:.2f}x  "
          f"target <= 1.3x, 0 failures: "
          f"{verdict.check(ratio <= 1.3 and report.ok, 'overload 503')}")


def cloudflare(verdict: Targets) -> None:
    from qiskit_ionq_cancel import RetryPolicy
    from qiskit_ionq_cancel._http.client import IonQCancelClient
    from qiskit_ionq_cancel.emulator import Emulator, Fault

    retried = []
    policy = RetryPolicy(backoff_initial=0.01)
    with Emulator(queue_time=100) as emu:
        client = IonQCancelClient(KEY, emu.url, retry_policy=policy)
        for status in range(520, 530):
            (job_id,) = emu.store.add_jobs(1)
            emu.faults.inject(Fault.http(status), method="GET", path=r"/jobs/[0-9a-f-]+$")
            emu.faults.inject(Fault.http(status), method="PUT")
            mark = len(emu.log)
            try:
                client.retrieve_job(job_id)
                ok = client.cancel(job_id).cancelled
            except Exception:
                ok = False
            retried.append(ok and [e.status for e in emu.log.entries[mark:]] ==
                           [status, 200, status, 200])
    print(f"\n5. 520-529 on a read and on a cancel: {sum(retried)} of 10 retried and "
          f"recovered  target all: {verdict.check(all(retried), '52x retried')}")


def unreachable(verdict: Targets) -> None:
    from qiskit_ionq_cancel.cli.commands import DEFAULT_DEADLINE, main

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound, not listening: every connect is refused
    cases = {"connection refused": f"http://127.0.0.1:{sock.getsockname()[1]}/v0.4",
             "unroutable host (TEST-NET-1)": "http://192.0.2.1/v0.4"}
    print(f"\n6. ionq-cancel <one id> against an unreachable URL (default --deadline "
          f"{DEFAULT_DEADLINE:g} s):")
    for name, url in cases.items():
        os.environ["IONQ_API_URL"] = url
        err = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["cancel", str(uuid.uuid4()), "--allow-insecure-http"])
        seconds = time.perf_counter() - start
        named = url in err.getvalue()
        ok = code != 0 and named and seconds <= DEFAULT_DEADLINE / 2
        print(f"   {name}: exit {code} after {seconds:.2f} s, URL named: {named}  target "
              f"well within the deadline (<= {DEFAULT_DEADLINE / 2:g} s), URL named: "
              f"{verdict.check(ok, f'fail fast, {name}')}")
    sock.close()
    del os.environ["IONQ_API_URL"]


def main() -> int:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # retries are expected here
    os.environ["IONQ_API_KEY"] = KEY
    targets = Targets()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; emulator in its own "
          "process on 127.0.0.1 unless said")
    sections = {"pages": capped_pages, "rates": rate_limits, "adaptive": adaptive,
                "52x": cloudflare, "unreachable": unreachable}
    for name in sys.argv[1:] or list(sections):
        sections[name](targets)
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
