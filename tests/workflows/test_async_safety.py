"""``async with cancel_on_exit():`` against the emulator: a task cancelled by a timeout
cancels its jobs, scopes in concurrent tasks own only their own, and the cancel on the way
out is shielded from the task's own cancellation."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
from contract.observed import Emulator
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus
from support import wait_for

from qiskit_ionq_cancel import CancelReport, CancelScope, IonQJob, IonQProvider, cancel_on_exit
from qiskit_ionq_cancel.emulator import Fault

KEY = "async-safety-key-4e5f6a7b"

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=3600, run_time=1, clock=None)


def circuit() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    qc.h(0)
    qc.measure(0, 0)
    return qc


@pytest.fixture
def provider(emu: Emulator) -> IonQProvider:
    return IonQProvider(KEY, url=emu.url)


def test_a_task_cancelled_by_a_timeout_cancels_only_its_own_jobs(
        emu: Emulator, provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    scopes: dict[str, CancelScope] = {}
    jobs: dict[str, list[IonQJob]] = {"timed out": [], "finished": []}

    async def sweep(name: str, submitted: asyncio.Event, go_on: asyncio.Event) -> None:
        async with cancel_on_exit() as scope:
            scopes[name] = scope
            for _ in range(2):  # submitted from worker threads: they follow the task
                jobs[name].append(await asyncio.to_thread(backend.run, circuit()))
            submitted.set()
            if name == "timed out":  # waits for its job's result (an hour away)
                await asyncio.to_thread(jobs[name][0].wait_for_final_state, wait=0.1)
            await go_on.wait()

    async def main() -> None:
        submitted = {name: asyncio.Event() for name in jobs}
        go_on = asyncio.Event()
        finished = asyncio.ensure_future(sweep("finished", submitted["finished"], go_on))
        timed_out = asyncio.wait_for(sweep("timed out", submitted["timed out"], go_on), 1.0)
        with pytest.raises(asyncio.TimeoutError):
            await timed_out
        await submitted["finished"].wait()
        go_on.set()
        await finished

    asyncio.run(main())
    lost = [job.job_id() for job in jobs["timed out"]]
    kept = [job.job_id() for job in jobs["finished"]]
    assert [emu.store.status_of(i) for i in lost] == ["canceled", "canceled"]
    assert [emu.store.status_of(i) for i in kept] == ["ready", "ready"]
    report = scopes["timed out"].report
    assert report is not None and sorted(report.cancelled) == sorted(lost)
    assert report.total == 2  # the other task's jobs are not its own
    assert scopes["finished"].report is None
    assert all(job.status() is JobStatus.CANCELLED for job in jobs["timed out"])


def test_a_task_ending_in_an_exception_cancels_its_jobs_and_the_exception_goes_on(
        emu: Emulator, provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")

    async def main() -> tuple[CancelScope, IonQJob]:
        scope = cancel_on_exit()
        with pytest.raises(RuntimeError, match="sweep went wrong"):
            async with scope:
                job = backend.run(circuit())  # in the task itself, too
                raise RuntimeError("sweep went wrong")
        return scope, job

    scope, job = asyncio.run(main())
    assert emu.store.status_of(job.job_id()) == "canceled"
    assert scope.report is not None and scope.report.cancelled == [job.job_id()]


def test_the_cancel_on_exit_is_shielded_from_a_second_cancellation(
        emu: Emulator, provider: IonQProvider) -> None:
    backend = provider.get_backend("simulator")
    # the cancel's request is answered late: time for a second cancellation to land
    emu.faults.inject(Fault.hang(1.0), times=1, method="PUT", path="status/cancel")
    made: list[IonQJob] = []
    scope = cancel_on_exit()

    async def sweep() -> None:
        async with scope:
            made.append(await asyncio.to_thread(backend.run, circuit()))
            await asyncio.Event().wait()  # until cancelled

    def cleaning_up() -> bool:
        return any(t.name == "ionq-cancel-on-exit" for t in threading.enumerate())

    async def main() -> None:
        task = asyncio.ensure_future(sweep())
        while not made:
            await asyncio.sleep(0.01)
        task.cancel()  # the first cancellation: the scope starts cancelling the job
        await asyncio.to_thread(wait_for, cleaning_up, "the cancel on the way out")
        task.cancel()  # a second one, while the cancel is in flight
        with pytest.raises(asyncio.CancelledError):
            await task
        ended.append(scope.report)  # what was known as the task ended

    ended: list[CancelReport | None] = []
    asyncio.run(main())
    (job,) = made
    assert emu.store.status_of(job.job_id()) == "canceled"  # the cancel went through
    # over before the task ended: its report was in by then (its thread may take a moment
    # more to exit, so that is not what is looked at)
    assert ended == [scope.report]
    assert scope.report is not None and scope.report.cancelled == [job.job_id()]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_an_asyncio_program_cancels_the_task_s_jobs(emu: Emulator,
                                                              sig: signal.Signals) -> None:
    # asyncio.run cancels the task (Ctrl-C), or the loop ends in SystemExit(143) and
    # asyncio.run cancels it (SIGTERM): the scope cancels its jobs on the way out.
    script = textwrap.dedent(f"""
        import asyncio
        from qiskit import QuantumCircuit
        from qiskit_ionq_cancel import IonQProvider, cancel_on_exit
        qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
        backend = IonQProvider({KEY!r}, url={emu.url!r}).get_backend("simulator")

        async def main():
            async with cancel_on_exit():
                jobs = [await asyncio.to_thread(backend.run, qc) for _ in range(2)]
                print(" ".join(j.job_id() for j in jobs), flush=True)
                await asyncio.Event().wait()  # until the signal the test sends

        asyncio.run(main())
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        assert proc.stdout is not None
        ids = proc.stdout.readline().split()
        assert len(ids) == 2, proc.stderr.read() if proc.stderr else ""
        assert all(emu.store.status_of(i) == "ready" for i in ids)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == (128 + signal.SIGTERM if sig == signal.SIGTERM else -sig)
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 2
    assert "2 jobs: 2 cancelled" in err
    assert KEY not in err
