"""Benchmark: how far past its deadline a call returns, and how long after Ctrl-C.

Three misbehaving servers on 127.0.0.1, run in this process (the client mostly waits, so
sharing the GIL does not matter here, and the emulator's faults can be set per run):

- ``slow``: the emulator answering every request 0.4 s late, one job a page;
- ``429``: the emulator answering every request 429 with ``Retry-After: 20``;
- ``drip``: a raw server that drips its status line a byte every 0.1 s, forever.

For each, ``cancel(id, deadline=D)`` and ``cancel_jobs(30 ids, deadline=D)`` run ``--runs``
times; the time past ``D`` each returns at is reported (p50/p99; negative: it returned
early, the server having answered or the retry being refused as too long). Then each call
runs with a long deadline and a real SIGINT (``os.kill``) is sent while it waits; the time
from the signal to the ``KeyboardInterrupt`` leaving the call (with ``cancel_jobs``'s report
complete) is reported. It prints the figures and the ratios against the targets of
issue 21, and exits 1 when a target is missed.

    python benchmarks/bench_deadline.py [--runs 10] [--interrupts 10] [--deadline 2]

Targets measured here:
- a call returns within its deadline + 0.5 s (p99);
- a call interrupted by Ctrl-C re-raises within 1 s (p99).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socketserver
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator

from shared import KEY, Targets

from qiskit_ionq_cancel import IonQProvider, cancel, cancel_jobs
from qiskit_ionq_cancel.emulator import Emulator, Fault, FaultConfig

JOBS = 30  # per cancel_jobs
LATE_BY = 0.4  # seconds the slow server answers late
INTERRUPT_AFTER = 0.2  # seconds into a call when the signal is sent
LONG_DEADLINE = 60.0  # of the interrupted calls: only the signal stops them
OVER_TARGET = 0.5  # seconds past the deadline
INTERRUPT_TARGET = 1.0  # seconds after the signal


class _Drip(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(1)
        with contextlib.suppress(OSError):
            self.request.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\n" * 1000:  # never a whole head
                self.request.sendall(bytes([byte]))
                time.sleep(0.1)


class _DripServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def drip_server() -> Iterator[str]:
    server = _DripServer(("127.0.0.1", 0), _Drip)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v0.4"
    finally:
        server.shutdown()
        server.server_close()


def set_mode(emu: Emulator, mode: str) -> None:
    emu.faults.clear()
    if mode == "slow":
        emu.faults.configure(FaultConfig(latency=LATE_BY))
    else:
        emu.faults.configure(FaultConfig())
        emu.faults.inject(Fault.http(429, "20"), times=1_000_000)


def calls(provider: IonQProvider, ids: Callable[[], list[str]]
          ) -> dict[str, Callable[[float], object]]:
    return {
        "cancel": lambda d: _quiet(lambda: cancel(ids()[0], provider=provider, deadline=d)),
        "cancel_jobs": lambda d: cancel_jobs(ids(), provider=provider, deadline=d),
    }


def _quiet(call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception as exc:  # a deadline passed: what is measured is when
        return exc


def overrun(call: Callable[[float], object], deadline: float, runs: int) -> list[float]:
    """Seconds past ``deadline`` each of ``runs`` calls returned at."""
    over = []
    for _ in range(runs):
        start = time.monotonic()
        call(deadline)
        over.append(time.monotonic() - start - deadline)
    return over


def interrupted(call: Callable[[float], object], runs: int) -> tuple[list[float], int]:
    """Seconds from SIGINT to the call's ``KeyboardInterrupt``, and how many reports were
    incomplete (runs that returned before the signal are left out)."""
    latencies, incomplete = [], 0
    for _ in range(runs):
        sent: list[float] = []
        timer = threading.Timer(INTERRUPT_AFTER, _fire, args=(sent,))
        returned = False
        try:
            timer.start()
            call(LONG_DEADLINE)
            returned = True
            timer.join()  # it returned first: the signal lands in these waits, not counted
            time.sleep(0.5)
        except KeyboardInterrupt as exc:
            caught = time.monotonic()
            if returned or not sent:
                continue
            report = getattr(exc, "report", None)
            if report is not None and report.total != JOBS:
                incomplete += 1
            latencies.append(caught - sent[0])
    return latencies, incomplete


def _fire(sent: list[float]) -> None:
    sent.append(time.monotonic())
    os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C: the main thread gets it


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--interrupts", type=int, default=10)
    parser.add_argument("--deadline", type=float, default=2.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    targets = Targets()
    verdict = targets.check
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores; servers in this process "
          f"on 127.0.0.1; deadline {args.deadline:g} s, {JOBS} jobs per cancel_jobs")
    over_all: list[float] = []
    late_all: list[float] = []
    with Emulator(api_keys=[KEY], queue_time=36000, seed=1, page_cap=1) as emu, \
            drip_server() as drip:
        for mode in ("slow", "429", "drip"):
            url = drip if mode == "drip" else emu.url
            if mode != "drip":
                set_mode(emu, mode)
            provider = IonQProvider(KEY, url=url)
            ids = (lambda: emu.store.add_jobs(JOBS)) if mode != "drip" else (
                lambda: [f"{i:08x}-0000-4000-8000-000000000000" for i in range(JOBS)])
            print(f"\n{mode} server:")
            for name, call in calls(provider, ids).items():
                over = overrun(call, args.deadline, args.runs)
                late, incomplete = interrupted(call, args.interrupts)
                over_all += over
                late_all += late
                print(f"  {name:<12} past the deadline p50 {pct(over, .5):+.3f} s, p99 "
                      f"{pct(over, .99):+.3f} s ({len(over)} runs); after Ctrl-C p50 "
                      f"{pct(late, .5):.3f} s, p99 {pct(late, .99):.3f} s ({len(late)} runs"
                      f"{f', {incomplete} reports incomplete' if incomplete else ''})")
                if incomplete:
                    targets.missed.append(f"{mode} {name} report after Ctrl-C")
            provider.client.close()
    p99_over, p99_late = pct(over_all, .99), pct(late_all, .99)
    print(f"\nAll calls: past the deadline p50 {statistics.median(over_all):+.3f} s, p99 "
          f"{p99_over:+.3f} s = {max(p99_over, 0) / OVER_TARGET:.2f}x the {OVER_TARGET:g} s "
          f"allowed  ({verdict(p99_over <= OVER_TARGET, 'deadline overrun')})")
    print(f"After Ctrl-C: p50 {statistics.median(late_all):.3f} s, p99 {p99_late:.3f} s = "
          f"{p99_late / INTERRUPT_TARGET:.2f}x the {INTERRUPT_TARGET:g} s allowed  "
          f"({verdict(p99_late <= INTERRUPT_TARGET, 'interrupt latency')})")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
