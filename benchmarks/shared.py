"""What the benchmarks share: the emulator as a separate process (so it does not share
their GIL), a bare pooled session to compare with, and the tally of targets met or missed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests

KEY = "bench-key"
_PIDS: dict[str, int] = {}  # URL -> process id of each emulator started here


@contextmanager
def emulator_process(*extra: str) -> Iterator[str]:
    """Start `ionq-cancel emulator` with jobs queued for 10 hours; yield its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "emulator", "--port", "0",
         "--queue-time", "36000", "--seed", "1", *extra],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r}")
        url = line.rsplit(" ", 1)[-1].strip()
        _PIDS[url] = proc.pid
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def bare_session(pool_size: int = 10) -> requests.Session:
    """A plain pooled ``requests.Session`` with the key, keeping up to ``pool_size``
    connections (requests' default is 10)."""
    session = requests.Session()
    session.headers.update({"Authorization": f"apiKey {KEY}", "Content-Type": "application/json"})
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=pool_size))
    return session


def emulator_cpu_seconds(url: str) -> Callable[[], float | None]:
    """A reader of the CPU seconds (user + system) the emulator serving ``url`` (started by
    :func:`emulator_process`) has spent so far; it reads ``None`` without psutil."""
    try:
        import psutil  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return lambda: None
    process = psutil.Process(_PIDS[url])

    def read() -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    return read


class Targets:
    """Targets met or missed; the exit code says which."""

    def __init__(self) -> None:
        self.missed: list[str] = []

    def check(self, ok: bool, name: str) -> str:
        """Record one target; the word to print."""
        if not ok:
            self.missed.append(name)
        return "meets" if ok else "MISSES"

    def exit_code(self) -> int:
        """Print the verdict; 1 if any target was missed."""
        if self.missed:
            print(f"\nMISSED: {', '.join(self.missed)}")
            return 1
        print("\nAll targets met.")
        return 0
