"""qiskit-ionq's own primitives (``IonQSampler`` / ``IonQEstimator``, qiskit-ionq pull request
#237) on this package's backends, against the emulator: cancelled through this package, and
through its drop-ins, with a verdict.

Needs a qiskit-ionq with ``qiskit_ionq.ionq_primitives`` (``nox -s tests-pr237``); skipped
elsewhere."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from contract.observed import Emulator
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp
from support import bell

from qiskit_ionq_cancel import (
    BatchCancelError,
    IonQProvider,
    cancel,
    cancel_jobs,
    cancel_on_exit,
)
from qiskit_ionq_cancel._compat import upstream
from qiskit_ionq_cancel.emulator import ManualClock

if upstream.primitive_classes() is None:
    pytest.skip(f"qiskit-ionq {upstream.installed_version()} has no ionq_primitives (pull "
                "request #237); run `nox -s tests-pr237`", allow_module_level=True)

from qiskit_ionq.ionq_primitives import IonQPrimitiveJob as StockPrimitiveJob
from qiskit_ionq.ionq_primitives import IonQSampler as StockSampler

from qiskit_ionq_cancel import IonQEstimator, IonQSampler

KEY = "primitives-237-key-01"

#: #237 tags every job's ``metadata`` with integers (``qiskit_primitive_pub_index`` and
#: ``_count``), where IonQ's document says metadata values are strings. The contract check
#: reports them in the requests our client sends for it, and in the emulator's answers while
#: it echoes metadata as sent (its ``metadata`` is cut short there, so only where is matched).
_INTEGER_METADATA = re.compile(
    r"^request POST /v0\.4/jobs body at \['metadata'\]\['qiskit_primitive_pub_(index|count)'\]: "
    r"\d+ is not of type 'string'"
    r"|^answer 200 to GET /v0\.4/jobs\S* body at (\['jobs'\]\[\d+\])?\['metadata'\]: ")


@pytest.fixture(autouse=True)
def integer_metadata(api_contract: Any) -> Iterator[None]:
    """The contract findings these tests expect (#237's integer metadata values), and
    nothing else."""
    yield
    problems = api_contract.problems
    api_contract.clear()
    assert all(_INTEGER_METADATA.search(p) for p in problems), problems


@pytest.fixture
def held() -> Iterator[Emulator]:
    """Jobs stay queued (the clock never moves)."""
    with Emulator(api_keys=[KEY], queue_time=10, clock=ManualClock(), seed=21) as emu:
        yield emu


@pytest.fixture
def fast() -> Iterator[Emulator]:
    """Jobs complete at once."""
    with Emulator(api_keys=[KEY], queue_time=0, run_time=0, seed=22) as emu:
        yield emu


def backend_of(emu: Emulator) -> Any:
    return IonQProvider(KEY, url=emu.url).get_backend("simulator")


def server(emu: Emulator, job: Any) -> list[str]:
    return [emu.store.status_of(i) for i in job.ionq_job_ids]


def test_the_emulator_takes_the_tags_237_sends_and_keeps_them(fast: Emulator) -> None:
    job = StockSampler(backend=backend_of(fast)).run([bell(), bell()], shots=20)
    tags = [fast.store.get(i)["metadata"] for i in job.ionq_job_ids]
    assert [(t["qiskit_primitive"], str(t["qiskit_primitive_pub_index"]),
             str(t["qiskit_primitive_pub_count"])) for t in tags] == [
        ("sampler", "0", "2"), ("sampler", "1", "2")]
    result = job.result()
    assert [r.metadata["ionq_job_id"] for r in result] == job.ionq_job_ids
    assert set(result[0].data.c.get_counts()) <= {"00", "11"}


def test_a_parameter_sweep_pub_is_one_multi_circuit_job_of_same_named_circuits(
        fast: Emulator, held: Emulator) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1, name="sweep")
    circuit.ry(theta, 0)
    circuit.measure(0, 0)
    pub = (circuit, [[0.0], [math.pi]])
    job = StockSampler(backend=backend_of(fast)).run([pub], shots=20)
    (ionq_id,) = job.ionq_job_ids
    assert len(fast.store.get(ionq_id)["child_job_ids"]) == 2  # one circuit per binding
    counts = job.result()[0].data.c
    assert counts.get_counts(0) == {"0": 20} and counts.get_counts(1) == {"1": 20}
    queued = StockSampler(backend=backend_of(held)).run([pub], shots=20)
    assert cancel(queued) is True
    assert server(held, queued) == ["canceled"]


def test_cancel_of_upstream_s_sampler_job_cancels_every_ionq_job_on_the_server(
        held: Emulator) -> None:
    job = StockSampler(backend=backend_of(held)).run([bell(), bell()], shots=20)
    assert server(held, job) == ["ready", "ready"]
    assert cancel(job) is True
    assert server(held, job) == ["canceled", "canceled"]
    assert job.cancelled() and job.status() is JobStatus.CANCELLED


def test_cancel_of_a_completed_upstream_sampler_job_is_false(fast: Emulator) -> None:
    job = StockSampler(backend=backend_of(fast)).run([bell()], shots=20)
    job.result()
    assert cancel(job) is False
    assert server(fast, job) == ["completed"]


def test_cancel_jobs_reports_each_ionq_job_of_an_upstream_primitive_job(
        held: Emulator) -> None:
    sampler = StockSampler(backend=backend_of(held))
    first = sampler.run([bell(), bell()], shots=20)
    second = sampler.run([bell()], shots=20)
    report = cancel_jobs([first, second])
    assert report.cancelled == first.ionq_job_ids + second.ionq_job_ids
    assert report.ok
    alone = cancel_jobs(sampler.run([bell()], shots=20))  # one job, not in a list
    assert len(alone.cancelled) == 1


def test_cancel_on_exit_cancels_upstream_s_jobs_on_our_backend(held: Emulator) -> None:
    with pytest.raises(RuntimeError), cancel_on_exit() as scope:
        job = StockSampler(backend=backend_of(held)).run([bell()], shots=20)
        raise RuntimeError("the notebook cell failed")
    assert server(held, job) == ["canceled"]
    assert scope.report is not None and scope.report.cancelled == job.ionq_job_ids


def test_a_tracked_upstream_primitive_job_is_cancelled_through_its_ionq_jobs(
        held: Emulator) -> None:
    # Its IonQ jobs were submitted outside the block: only track() tells the scope of them.
    job = StockSampler(backend=backend_of(held)).run([bell()], shots=20)
    with pytest.raises(RuntimeError), cancel_on_exit() as scope:
        scope.track(job)
        raise RuntimeError("stop")
    assert server(held, job) == ["canceled"]


def test_the_drop_in_sampler_s_cancel_gives_the_verdict(held: Emulator) -> None:
    job = IonQSampler(backend=backend_of(held)).run([bell(), bell()], shots=20)
    assert isinstance(job, StockPrimitiveJob)
    assert job.cancel() is True
    assert server(held, job) == ["canceled", "canceled"]
    assert job.cancel_report is not None
    assert job.cancel_report.cancelled == job.ionq_job_ids


def test_the_drop_in_sampler_s_completed_job_is_not_cancelled(fast: Emulator) -> None:
    job = IonQSampler(backend=backend_of(fast), default_shots=20).run([bell()])
    counts = job.result()[0].data.c.get_counts()
    assert sum(counts.values()) == 20
    assert job.cancel() is False
    assert job.cancel_report is not None and job.cancel_report.already_final == job.ionq_job_ids


def test_cancel_on_exit_tracks_the_drop_in_s_job_on_a_stock_backend(held: Emulator) -> None:
    # A stock qiskit-ionq backend: its IonQ jobs are not seen by the scope, the drop-in's
    # primitive job is (and stands for them).
    from qiskit_ionq import IonQProvider as StockProvider

    stock = StockProvider(KEY, url=held.url).get_backend("simulator")
    with pytest.raises(RuntimeError), cancel_on_exit() as scope:
        job = IonQSampler(backend=stock).run([bell()], shots=20)
        raise RuntimeError("stop")
    assert server(held, job) == ["canceled"]
    assert scope.report is not None and scope.report.cancelled == job.ionq_job_ids


def test_the_drop_in_estimator_s_cancel_gives_the_verdict(held: Emulator) -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    job = IonQEstimator(backend=backend_of(held)).run([(circuit, SparsePauliOp("ZZ"))])
    assert isinstance(job, StockPrimitiveJob)
    assert job.cancel() is True
    assert set(server(held, job)) == {"canceled"}


def test_an_unknown_outcome_is_raised_after_every_ionq_job_was_tried(held: Emulator) -> None:
    job = IonQSampler(backend=backend_of(held)).run([bell(), bell()], shots=20)
    gone, kept = job.ionq_job_ids
    held.store.delete(gone)  # IonQ no longer knows it: 404
    with pytest.raises(BatchCancelError, match=gone) as raised:
        job.cancel()
    assert raised.value.report.not_found == [gone]
    assert raised.value.report.cancelled == [kept]
    assert job.cancel_report is raised.value.report
    assert held.store.status_of(kept) == "canceled"


def test_a_primitive_job_that_submitted_nothing_cancels_nothing(held: Emulator) -> None:
    job = IonQSampler(backend=backend_of(held)).run([])
    assert job.cancel() is False
    assert cancel(job) is False
    assert cancel_jobs([job]).total == 0
