"""What the installed pytest plugin (entry point ``ionq_emulator``) costs a pytest run that has
nothing to do with IonQ: ``def test_x(): pass`` in an empty directory, run with the plugin and
with ``-p no:ionq_emulator``, alternately, in fresh processes; plus what importing the plugin
adds to ``import pytest``. Target: <= 50 ms. Exits 1 when it is missed.

The runs are compared by the CPU time (user + system) each process used, which a busy
machine disturbs far less than the wall-clock time (printed too).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared import Targets

_IMPORT = ("import time; import pytest; t0 = time.perf_counter(); "
           "import qiskit_ionq_cancel.pytest_plugin; "
           "import sys; print(time.perf_counter() - t0, 'qiskit' in sys.modules)")


def _env() -> dict[str, str]:
    # Bytecode cached, as after `pip install`; see bench_cancel.bench_import.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    return env


def bench_run(repeats: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (CPU, wall) seconds of the unrelated pytest run with the plugin, and without."""
    env = _env()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_x.py").write_text("def test_x():\n    pass\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_x.py"]

        def once(*extra: str) -> tuple[float, float]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([*base, *extra], cwd=tmp, env=env, check=True,
                           capture_output=True)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            return cpu, wall

        once()  # warm the bytecode and the file cache
        once("-p", "no:ionq_emulator")
        on, off = [], []
        for _ in range(repeats):
            on.append(once())
            off.append(once("-p", "no:ionq_emulator"))
    def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
        return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))

    return medians(on), medians(off)


def bench_import(repeats: int) -> tuple[float, bool]:
    """Median seconds that importing the plugin adds to ``import pytest``, and whether it
    imported qiskit."""
    env = _env()
    subprocess.run([sys.executable, "-c", _IMPORT], env=env, check=True, capture_output=True)
    runs = [subprocess.run([sys.executable, "-c", _IMPORT], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
            for _ in range(repeats)]
    return statistics.median(float(r[0]) for r in runs), any(r[1] == "True" for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    targets = Targets()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    on, off = bench_run(args.repeats)
    cost = on[0] - off[0]
    print(f"\nUnrelated pytest run (one empty test), median of {args.repeats} fresh processes "
          f"each, CPU time (wall time):\n  with the plugin {on[0] * 1e3:.0f} ms "
          f"({on[1] * 1e3:.0f} ms), with -p no:ionq_emulator {off[0] * 1e3:.0f} ms "
          f"({off[1] * 1e3:.0f} ms): the plugin costs {cost * 1e3:.0f} ms of CPU")
    print(f"  target <= 50 ms: {targets.check(cost <= 0.050, 'plugin cost per pytest run')}")
    imported, qiskit = bench_import(args.repeats)
    print(f"\nImporting the plugin after pytest: {imported * 1e3:.1f} ms (median of "
          f"{args.repeats}); it {'imports' if qiskit else 'does not import'} qiskit")
    return targets.exit_code()


if __name__ == "__main__":
    sys.exit(main())
