"""The emulator as a separate process, for the benchmarks (so it does not share their GIL)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

KEY = "bench-key"


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
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
