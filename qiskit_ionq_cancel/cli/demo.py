"""``ionq-cancel demo``: the plugin at work on the built-in emulator, checked as it goes.

Submits two Bell circuits, cancels one while it is queued, lets the other finish, then tries
to cancel that one too. Every line it prints is checked against the emulator's own state; it
returns 0 only when all of them hold.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable

from qiskit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit_ionq.exceptions import IonQJobStateError, IonQTranspileLevelWarning

from ..emulator import Emulator
from ..job import IonQJob
from ..provider import IonQProvider
from ..report import plural


def _status(job: IonQJob) -> str:
    status = job.status()
    return status.name if isinstance(status, JobStatus) else str(status)


def run_demo(out: Callable[[str], None] = print, *, queue_time: float = 1.5,
             run_time: float = 0.2) -> int:
    """Run the demo, writing lines through ``out``; return the process exit code."""
    key = secrets.token_hex(16)  # a throwaway key for the emulator; never printed
    failures: list[str] = []

    def check(ok: bool, claim: str) -> str:
        if not ok:
            failures.append(claim)
        return "ok" if ok else "FALSE"

    with warnings.catch_warnings(), Emulator(api_keys=[key], queue_time=queue_time,
                                             run_time=run_time) as emu:
        # qiskit-ionq warns about the user's transpiler settings; not this demo's subject.
        warnings.simplefilter("ignore", IonQTranspileLevelWarning)
        out(f"IonQ v0.4 emulator (built in) at {emu.url}: no account or network needed")
        provider = IonQProvider(key, url=emu.url)
        backend = provider.get_backend("simulator")
        bell = QuantumCircuit(2, 2, name="bell")
        bell.h(0)
        bell.cx(0, 1)
        bell.measure([0, 1], [0, 1])

        job_a = backend.run(bell, shots=1000)
        job_b = backend.run(bell, shots=1000)
        out(f"Submitted two Bell circuits to {backend.name}:")
        for label, job in (("A", job_a), ("B", job_b)):
            out(f"  job {label} {job.job_id()}  {_status(job)}")

        returned = job_a.cancel()
        server_a = emu.store.status_of(job_a.job_id())
        out(f"job_a.cancel() -> {returned}   status: {_status(job_a)}   "
            f"(the emulator has it as {server_a!r})  "
            f"[{check(returned and server_a == 'canceled', 'job A cancelled')}]")

        try:
            job_a.result()
            result_error = "no error"
        except IonQJobStateError as exc:
            result_error = type(exc).__name__
        out(f"job_a.result() -> {result_error}  "
            f"[{check(result_error == 'IonQJobStateError', 'result() of A refused')}]")

        out(f"Waiting for job B to run (queue {queue_time:g} s, run {run_time:g} s) ...")
        job_b.wait_for_final_state(timeout=30, wait=0.1)
        counts = job_b.result().get_counts()
        verdict = check(set(counts) <= {"00", "11"} and sum(counts.values()) == 1000,
                        "Bell counts only 00 and 11")
        out(f"job B {_status(job_b)}, counts {dict(sorted(counts.items()))}  [{verdict}]")

        before = len(emu.log)
        returned_b = job_b.cancel()
        sent = len(emu.log) - before
        verdict = check(returned_b is False and sent == 0 and job_b.status() is JobStatus.DONE,
                        "B not cancelled, no request")
        out(f"job_b.cancel() -> {returned_b}   status: {_status(job_b)}   "
            f"(already finished: {plural(sent, 'request')} sent)  [{verdict}]")
        server_b = emu.store.status_of(job_b.job_id())
        out(f"The emulator has job B as {server_b!r}  "
            f"[{check(server_b == 'completed', 'B completed on the server')}]")

    if failures:
        out(f"FAILED: {len(failures)} check(s) did not hold: {'; '.join(failures)}")
        return 1
    out("All checks passed: cancel() said what really happened.")
    return 0
