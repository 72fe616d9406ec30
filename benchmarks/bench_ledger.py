"""Benchmark: what the job ledger adds to a submit (``IonQProvider(ledger=...)``).

Submits the same circuit through ``backend.run`` without a ledger, with one, and with one
and ``ledger_fsync=True``, against the project's emulator started as a separate process on
127.0.0.1, in interleaved rounds (so drift in the machine's load hits all three alike). It
prints the per-job cost of each, the ledger's added cost, and the ratios; it exits 1 when a
target is missed.

    python benchmarks/bench_ledger.py [--jobs 200] [--rounds 5] [--dir /some/fs]

Target measured here (issue 24): the ledger (without fsync) adds at most 2 ms a job. fsync's
cost depends on the file system (``--dir``): it is reported, not a target.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from qiskit import QuantumCircuit
from shared import KEY, Targets, emulator_process

from qiskit_ionq_cancel import IonQProvider
from qiskit_ionq_cancel._core.ledger import Ledger, read_ledger

TARGET_MS = 2.0


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def per_job(provider: IonQProvider, jobs: int) -> float:
    """Seconds per ``backend.run`` over ``jobs`` submits (one timed loop)."""
    backend = provider.get_backend("simulator")
    circuit = bell()
    backend.run(circuit, shots=10)  # warm: connection, backend size, transpiler caches
    start = time.perf_counter()
    for _ in range(jobs):
        backend.run(circuit, shots=10)
    return (time.perf_counter() - start) / jobs


def writes_alone(path: Path, fsync: bool, jobs: int) -> float:
    """Seconds per job of the ledger's own two records (intent, id), without HTTP: the
    part of the end-to-end difference that is the ledger's, free of the emulator's noise."""
    ledger = Ledger(path, "http://127.0.0.1:1/v0.4", fsync=fsync)
    start = time.perf_counter()
    for _ in range(jobs):
        ledger.submitted(ledger.intent("simulator", None),
                         "0f0f0f0f-0000-4000-8000-000000000000")
    ledger.close()
    return (time.perf_counter() - start) / jobs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where the ledgers go (default: a temp "
                        "directory, usually on /tmp)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    targets = Targets()
    where = Path(tempfile.mkdtemp(dir=args.dir, prefix="bench-ledger-"))
    runs: dict[str, list[float]] = {"none": [], "ledger": [], "ledger+fsync": []}
    with emulator_process() as url:
        providers = {
            "none": IonQProvider(KEY, url=url),
            "ledger": IonQProvider(KEY, url=url, ledger=where / "plain.jsonl"),
            "ledger+fsync": IonQProvider(KEY, url=url, ledger=where / "fsync.jsonl",
                                         ledger_fsync=True),
        }
        for _ in range(args.rounds):
            for name, provider in providers.items():
                runs[name].append(per_job(provider, args.jobs))
    recorded = len(read_ledger(where / "plain.jsonl").jobs)
    assert recorded == args.rounds * (args.jobs + 1), recorded  # every submit is in it

    base = statistics.median(runs["none"])
    print(f"ledger in {where} ({args.rounds} rounds x {args.jobs} submits, median per job)")
    for name, values in runs.items():
        cost = statistics.median(values)
        print(f"  {name:<13} {cost * 1e3:7.3f} ms/job  x{cost / base:.3f} of no ledger"
              f"  (+{(cost - base) * 1e3:.3f} ms)")
    added = (statistics.median(runs["ledger"]) - base) * 1e3
    print(f"ledger adds {added:.3f} ms/job (target <= {TARGET_MS} ms): "
          f"{targets.check(added <= TARGET_MS, 'ledger cost')}")
    fsync = (statistics.median(runs["ledger+fsync"]) - base) * 1e3
    print(f"ledger with fsync adds {fsync:.3f} ms/job (two fsyncs a job; reported only)")
    for fsync in (False, True):
        alone = writes_alone(where / f"alone-{fsync}.jsonl", fsync, args.jobs * args.rounds)
        print(f"the ledger's two writes alone{' with fsync' if fsync else ''}: "
              f"{alone * 1e6:.1f} us/job")
    shutil.rmtree(where)
    return targets.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
