"""Chaos: generated fault schedules against the emulator, and after every run the four promises.

The suite checks the promises, not the paths, so a new code path is covered without anyone
remembering to add a test for it. Hypothesis draws a world:

* jobs in every state (queued, running, completed, failed, already cancelled), ids the server
  does not know, and inputs that are no job id at all, in any order, duplicates included;
* how the server behaves where IonQ's document is silent (a finished job's cancel, page caps,
  a bulk endpoint that is missing or lies);
* a schedule of faults: 429 with any ``Retry-After`` (up to 20 s), 5xx, connections dropped
  before or after the change, non-JSON 200s, answers that come late, and a cost endpoint
  (``cancel_jobs`` prices what it cancelled) that misbehaves so or answers JSON that is no
  price;
* the backend the jobs run on: the simulator (free, never priced) or a priced QPU;
* an API key of any shape a key can have;
* the call (``cancel`` job by job, ``cancel_jobs``, or from asyncio a ``gather`` of
  ``acancel`` calls or ``acancel_jobs``) and its deadline.

After each run:

1. every verdict matches the server (``True`` / ``CANCELLED`` only for a job the server says
   is canceled; ``False`` / ``DONE`` / ``ERROR`` only for one that finished so), and the
   ``saved`` figures price only jobs reported ``CANCELLED``;
2. every input is in the report;
3. no call hangs: it returns within its deadline + 3 s (a loose bound, so that a busy CI
   machine does not flake; the tight bound is measured by ``benchmarks/bench_deadline.py``);
4. the key, and any 12-character piece of it, is in no output, log record or exception.

The README's test run uses a fixed, derandomized set of examples (``CHAOS_EXAMPLES``, default
12). CI adds a longer search as its own step, seeded by the commit (see CONTRIBUTING.md).
A longer random search prints its seed::

    CHAOS_EXAMPLES=300 CHAOS_SEED=random python -m pytest -n 0 -m chaos tests/chaos
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import json
import logging
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis import strategies as st
from qiskit.providers import JobStatus
from support import BAD_IDS, CANONICAL_UUID, landed_before_the_body, report_in, server_status

from qiskit_ionq_cancel import (
    CancelReport,
    IonQCancelError,
    IonQProvider,
    RetryPolicy,
    UsageError,
    acancel,
    acancel_jobs,
    cancel,
    cancel_jobs,
)
from qiskit_ionq_cancel.emulator import Emulator, Fault, ManualClock

pytestmark = pytest.mark.chaos

#: How long a call may take past its deadline in a test (loose: CI machines are busy).
SLACK = 3.0
EXAMPLES = int(os.environ.get("CHAOS_EXAMPLES", "12"))
_SEED = os.environ.get("CHAOS_SEED", "")
RANDOM_SEARCH = _SEED != ""
SEED = random.randrange(2**32) if _SEED == "random" else int(_SEED or 0)

# -- the world ------------------------------------------------------------------------------

STATES = ("queued", "running", "completed", "failed", "canceled", "unknown", "invalid")
#: Every way of cancelling a finished job, but "claim" (a 200 that says "canceled" for a job
#: that completed): no client can tell that from a real cancel without reading back, which
#: callers ask for explicitly (see the verdict's docs).
FINISHED_MODES = ("conflict", "bad_request", "noop", "overwrite")
KEY_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F))  # printable ASCII, no blank
#: The package's and the tests' own source. Hypothesis draws text from the string constants of
#: local modules, so it offers keys such as ``counts``: a word of the report's JSON, which no
#: redactor can tell from that word (and no real key is). A key is drawn among those of which
#: nothing that must stay hidden (see ``pieces``) is already written in this wording.
OWN_WORDING = "\n".join(
    path.read_text(encoding="utf-8")
    for root in (Path(__file__).parents[2] / "qiskit_ionq_cancel", Path(__file__).parents[1])
    for path in sorted(root.rglob("*.py")))


def credible_key(key: str) -> bool:
    return not any(piece in OWN_WORDING for piece in pieces(key))


@dataclass(frozen=True)
class ScriptedFault:
    fault: Fault
    times: int
    method: str | None
    path: str | None

    def __repr__(self) -> str:  # short, for hypothesis' falsifying example
        f = self.fault
        what = {"status": f"HTTP {f.status} Retry-After={f.retry_after}",
                "hang": f"hang {f.delay}s", "drop": f"drop(after={f.after})",
                "garbage": "garbage 200", "json": f"json 200 {f.body!r}"}[f.kind]
        return f"<{what} x{self.times} {self.method or '*'} {self.path or '*'}>"


@dataclass(frozen=True)
class World:
    states: tuple[str, ...]
    key: str
    finished_cancel: str
    bulk_enabled: bool
    bulk_lies: bool
    page_cap: int | None
    faults: tuple[ScriptedFault, ...]
    operation: str
    deadline: float
    invalid: tuple[object, ...] = field(default=())
    backend: str = "simulator"


faults = st.builds(
    ScriptedFault,
    fault=st.one_of(
        st.builds(Fault.http, st.just(429),
                  st.sampled_from([None, "0", "1", "2", "20", "Wed, 21 Oct 2015 07:28:00 GMT"])),
        st.builds(Fault.http, st.sampled_from([500, 502, 503, 504, 520]),
                  after=st.booleans()),
        st.builds(Fault.drop, after=st.booleans()),
        st.just(Fault.garbage()),
        st.builds(Fault.hang, st.floats(0.05, 1.5)),
        st.sampled_from([Fault.json({"dry_run": False, "estimated_cost": {"value": "x"}}),
                         Fault.json(["no", "price"]),
                         Fault.json({"estimated_total_cost": -1, "estimated_unit": "usd"})]),
    ),
    times=st.integers(1, 4),
    method=st.sampled_from([None, "PUT", "GET"]),
    path=st.sampled_from([None, r"status/cancel", r"^/v0\.4/jobs$", r"/jobs/[0-9a-f-]+$",
                          r"/cost$", r"/jobs/estimate$"]),
)

worlds = st.builds(
    World,
    states=st.lists(st.sampled_from(STATES), min_size=1, max_size=8).map(tuple),
    key=st.text(KEY_ALPHABET, min_size=6, max_size=40).filter(credible_key),
    finished_cancel=st.sampled_from(FINISHED_MODES),
    bulk_enabled=st.booleans(),
    bulk_lies=st.booleans(),
    page_cap=st.sampled_from([None, 1, 2, 5]),
    faults=st.lists(faults, max_size=4).map(tuple),
    operation=st.sampled_from(["cancel", "cancel_jobs", "acancel", "acancel_jobs"]),
    deadline=st.floats(0.5, 3.0),
    invalid=st.lists(st.sampled_from(BAD_IDS), max_size=2).map(tuple),
    backend=st.sampled_from(["simulator", "qpu.forte-1"]),
)


@contextlib.contextmanager
def emulator_for(world: World) -> Iterator[tuple[Emulator, list[object]]]:
    """The emulator with the world's jobs, and the inputs to cancel (in the world's order)."""
    clock = ManualClock()
    emu = Emulator(api_keys=[world.key], clock=clock, queue_time=10.0, run_time=5.0,
                   finished_cancel=world.finished_cancel,  # type: ignore[arg-type]
                   bulk_enabled=world.bulk_enabled, bulk_lies=world.bulk_lies,
                   page_cap=world.page_cap, seed=0).start()
    try:
        store = emu.store
        wanted = list(world.states)
        # Jobs move on with the clock: make the ones that must be finished first, let them
        # finish, then the running ones, then the queued ones.
        made: dict[str, list[str]] = {s: [] for s in STATES}
        on = world.backend
        made["completed"] = store.add_jobs(wanted.count("completed"), backend=on)
        made["failed"] = store.add_jobs(wanted.count("failed"), will_fail=True, backend=on)
        clock.advance(20.0)
        made["running"] = store.add_jobs(wanted.count("running"), backend=on)
        clock.advance(11.0)
        made["queued"] = store.add_jobs(wanted.count("queued"), backend=on)
        made["canceled"] = store.add_jobs(wanted.count("canceled"), backend=on)
        for job_id in made["canceled"]:
            store.cancel(job_id)
        made["unknown"] = [str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4))
                           for i in range(wanted.count("unknown"))]
        inputs: list[object] = []
        invalid = list(world.invalid) or [BAD_IDS[0]]
        for state in wanted:
            inputs.append(invalid.pop(0) if state == "invalid" and invalid
                          else made[state].pop(0) if state != "invalid" else "not-an-id")
        for expected, made_id in zip(wanted, inputs, strict=True):
            if expected in ("queued", "running", "completed", "failed", "canceled"):
                assert isinstance(made_id, str)
                assert _ionq_state(store.status_of(made_id)) == expected, (expected, made_id)
        for scripted in world.faults:
            emu.faults.inject(scripted.fault, times=scripted.times, method=scripted.method,
                              path=scripted.path)
        yield emu, inputs
    finally:
        emu.stop()


def _ionq_state(status: str) -> str:
    return {"ready": "queued", "submitted": "queued", "started": "running"}.get(status, status)


class Captured(logging.Handler):
    """Every log record of every logger, formatted with its arguments."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1])
        self.texts.append(text)


@contextlib.contextmanager
def everything_said() -> Iterator[list[str]]:
    """Log records (root at DEBUG) and whatever reaches stdout / stderr, as texts."""
    handler = Captured()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()
    texts: list[str] = []
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield texts
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        texts += [*handler.texts, out.getvalue(), err.getvalue()]


def pieces(key: str, size: int = 12) -> set[str]:
    """The key itself and every piece of it of ``size`` characters."""
    return {key} | {key[i:i + size] for i in range(max(0, len(key) - size) + 1)}


def assert_key_never_shown(key: str, texts: list[str]) -> None:
    for piece in pieces(key):
        for text in texts:
            assert piece not in text, f"{piece!r} of the key shown in: {text[:300]!r}"


def texts_of_error(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), *map(str, error.args)]
    report = getattr(error, "report", None)
    if isinstance(report, CancelReport):
        texts += texts_of_report(report)
    return texts


def texts_of_report(report: CancelReport) -> list[str]:
    return [str(report), repr(report), json.dumps(report.to_dict(), default=str),
            *(texts for e in report.errors.values() for texts in (str(e), repr(e)))]


# -- the promises ---------------------------------------------------------------------------

def check_verdict(emu: Emulator, job_id: object, verdict: bool | None,
                  error: BaseException | None) -> None:
    """A verdict for one job agrees with the server."""
    on_server = server_status(emu, job_id) if isinstance(job_id, str) else None
    if error is not None:
        assert isinstance(error, IonQCancelError), repr(error)
        if not (isinstance(job_id, str) and CANONICAL_UUID.fullmatch(job_id)):
            assert isinstance(error, UsageError), repr(error)
        return
    if verdict:
        assert on_server == "canceled", (job_id, verdict, on_server)
    else:
        assert on_server in ("completed", "failed"), (job_id, verdict, on_server)


def check_report(emu: Emulator, inputs: list[object], report: CancelReport) -> None:
    """Every input is in the report once (a job no cancel was sent for is in it too, in
    ``not_reached``), and every settled row agrees with the server."""
    keys = [*report.statuses, *report.errors, *report.not_reached]
    assert len(keys) == len(set(keys)), "a job is reported twice"
    ids = {i for i in inputs if isinstance(i, str) and CANONICAL_UUID.fullmatch(i)}
    assert ids <= set(keys), f"lost: {sorted(ids - set(keys))}"
    others = {i if isinstance(i, str) else repr(i) for i in inputs} - ids
    assert report.total >= len(ids) + len(others), (report.total, inputs)
    as_qiskit = {"canceled": JobStatus.CANCELLED, "completed": JobStatus.DONE,
                 "failed": JobStatus.ERROR}
    for job_id, status in report.statuses.items():
        on_server = server_status(emu, job_id)
        assert on_server in as_qiskit, (job_id, status, on_server)
        assert status is as_qiskit[on_server], (job_id, status, on_server)
    saved = report.saved
    assert set(saved.figures) <= set(report.cancelled), "a job priced that was not cancelled"
    assert saved.cost is None or (saved.cost >= 0 and saved.unit is not None), saved


def run(world: World) -> None:
    note(f"world: {world}")
    with emulator_for(world) as (emu, inputs):
        provider = IonQProvider(world.key, url=emu.url,
                                retry_policy=RetryPolicy(deadline=world.deadline))
        outputs: list[str] = []
        with everything_said() as said:
            start = time.monotonic()
            if world.operation == "cancel":
                for job_id in inputs:
                    started = time.monotonic()
                    verdict: bool | None = None
                    error: BaseException | None = None
                    try:
                        verdict = cancel(job_id, provider=provider,  # type: ignore[arg-type]
                                         deadline=world.deadline)
                    except Exception as exc:
                        error = exc
                        outputs += texts_of_error(exc)
                    assert time.monotonic() - started <= world.deadline + SLACK
                    check_verdict(emu, job_id, verdict, error)
            elif world.operation == "acancel":  # gathered: one batch, each its own verdict
                outcomes = asyncio.run(gathered(inputs, provider, world.deadline))
                assert time.monotonic() - start <= world.deadline + SLACK
                for job_id, outcome in zip(inputs, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        outputs += texts_of_error(outcome)
                        check_verdict(emu, job_id, None, outcome)
                    else:
                        check_verdict(emu, job_id, outcome, None)
            else:
                call = cancel_jobs if world.operation == "cancel_jobs" else awaited(acancel_jobs)
                report = call(inputs, provider=provider,  # type: ignore[arg-type]
                              deadline=world.deadline)
                assert time.monotonic() - start <= world.deadline + SLACK
                outputs += texts_of_report(report)
                check_report(emu, inputs, report)
            provider.client.close()
        assert_key_never_shown(world.key, outputs + said)


async def gathered(inputs: list[object], provider: IonQProvider,
                   deadline: float) -> list[bool | BaseException]:
    return await asyncio.gather(*(acancel(i, provider=provider,  # type: ignore[arg-type]
                                          deadline=deadline) for i in inputs),
                                return_exceptions=True)


def awaited(call: Callable[..., Awaitable[CancelReport]]) -> Callable[..., CancelReport]:
    """``call``, run to its end in an event loop of its own."""
    def run_it(*args: Any, **kwargs: Any) -> CancelReport:
        async def main() -> CancelReport:
            return await call(*args, **kwargs)
        return asyncio.run(main())
    return run_it


def _settings() -> settings:
    # A random search does not shrink: every example runs in real time (deadlines, late
    # answers), so shrinking one takes minutes. Its seed and the whole world are printed.
    phases = ([Phase.explicit, Phase.reuse, Phase.generate] if RANDOM_SEARCH
              else list(Phase))
    return settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM_SEARCH,
                    database=None, print_blob=True, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_search_says_its_seed(capsys: pytest.CaptureFixture[str]) -> None:
    """A long random search can be repeated: its seed is printed (CHAOS_SEED=... again)."""
    with capsys.disabled():
        print(f"\nchaos: {EXAMPLES} examples, "
              f"{'random search, seed ' + str(SEED) if RANDOM_SEARCH else 'derandomized'}")
    assert EXAMPLES >= 1


@seed(SEED)
@_settings()
@given(worlds)
def test_the_four_promises_hold_in_any_world(world: World) -> None:
    note(f"CHAOS_SEED={SEED}")
    run(world)


# -- interrupts at random moments ------------------------------------------------------------

#: How long a call may take to return after Ctrl-C in a test (the promise is 1 s; loose here).
INTERRUPT_SLACK = 3.0


def with_ctrl_c_after(seconds: float, call: Callable[[], CancelReport]) -> dict[str, Any]:
    """Run ``call`` while a real SIGINT is sent to this process after ``seconds`` (unless the
    call returned first). Returns what happened: ``report`` (it returned), ``interrupt`` (the
    KeyboardInterrupt it raised), ``sent`` and ``returned`` (monotonic times). A Ctrl-C that
    lands outside the call (just before it began, or after it returned) is swallowed here,
    so it never escapes into the test runner; then nothing of the call is recorded."""
    happened: dict[str, Any] = {}
    go, done = threading.Event(), threading.Event()

    def fire() -> None:
        go.wait()  # not while the main thread is still starting this thread
        if not done.wait(seconds):
            happened["sent"] = time.monotonic()
            os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=fire, daemon=True)
    timer.start()
    try:
        try:
            go.set()
            happened["report"] = call()
        except KeyboardInterrupt as exc:
            # raised inside the call (the traceback goes deeper than this frame), or before
            if exc.__traceback__ is not None and exc.__traceback__.tb_next is not None:
                happened["interrupt"] = exc
        happened["returned"] = time.monotonic()
        done.set()
        timer.join()
        time.sleep(0.01)  # a signal sent just now is handled inside this try
    except KeyboardInterrupt:
        done.set()
        timer.join()
    return happened


#: A fault that holds a call for 20 s: a 429 asking for a 20 s wait, or an answer 20 s late.
stalls = st.builds(
    ScriptedFault,
    fault=st.sampled_from([Fault.http(429, "20"), Fault.hang(20.0)]),
    times=st.integers(1, 4),
    method=st.sampled_from([None, "PUT", "GET"]),
    path=st.just(r"/jobs"),  # not the backend read of IonQProvider(), made before the call
)


def run_interrupted(world: World, after: float) -> None:
    note(f"world: {world}; Ctrl-C after {after:.2f} s")
    with emulator_for(world) as (emu, inputs):
        provider = IonQProvider(world.key, url=emu.url,
                                retry_policy=RetryPolicy(deadline=world.deadline))
        outputs: list[str] = []
        with everything_said() as said:
            happened = with_ctrl_c_after(after, lambda: cancel_jobs(
                inputs, provider=provider, deadline=world.deadline))  # type: ignore[arg-type]
            report: CancelReport | None = happened.get("report")
            interrupt = happened.get("interrupt")
            if interrupt is not None:
                assert "sent" in happened, "a KeyboardInterrupt nobody sent"
                assert happened["returned"] - happened["sent"] <= 1.0 + INTERRUPT_SLACK
                report = getattr(interrupt, "report", None)
                # Only a Ctrl-C handled on the call's entry, before its try, has none
                assert isinstance(report, CancelReport) or landed_before_the_body(
                    interrupt, cancel_jobs), "Ctrl-C lost the report"
            if report is not None:
                outputs += texts_of_report(report)
                check_report(emu, inputs, report)
            else:
                note("the Ctrl-C landed before the call began")
            provider.client.close()
        assert_key_never_shown(world.key, outputs + said)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals reach only the main thread")
@seed(SEED)
@settings(_settings(), max_examples=max(1, EXAMPLES // 3))
@given(worlds.filter(lambda w: w.operation == "cancel_jobs"), stalls, st.floats(0.0, 1.5),
       st.floats(10.0, 60.0))
def test_every_input_is_reported_when_ctrl_c_comes_at_any_moment(world: World,
                                                                  stall: ScriptedFault,
                                                                  after: float,
                                                                  deadline: float) -> None:
    # A long deadline and a stall first: only the Ctrl-C can end a wait on a 20 s
    # Retry-After or an answer 20 s late.
    note(f"CHAOS_SEED={SEED}")
    run_interrupted(dataclasses.replace(world, deadline=deadline,
                                        faults=(stall, *world.faults)), after)


# -- the awaiting task cancelled at random moments ----------------------------------------------


def run_task_cancelled(world: World, after: float) -> None:
    note(f"world: {world}; the task cancelled after {after:.2f} s")
    with emulator_for(world) as (emu, inputs):
        provider = IonQProvider(world.key, url=emu.url,
                                retry_policy=RetryPolicy(deadline=world.deadline))
        outputs: list[str] = []

        async def timed() -> CancelReport:
            return await asyncio.wait_for(acancel_jobs(  # the timeout cancels the task
                inputs, provider=provider, deadline=world.deadline), after)  # type: ignore[arg-type]

        with everything_said() as said:
            start = time.monotonic()
            report: CancelReport | None = None
            try:
                report = asyncio.run(timed())
            except asyncio.TimeoutError as exc:
                assert time.monotonic() - start <= after + 1.0 + INTERRUPT_SLACK
                report = report_in(exc)
                if report is None:  # cancelled before it began: it sent nothing
                    note("the task was cancelled before the call began")
                    assert not any(e.method == "PUT" for e in emu.log.entries)
            if report is not None:
                outputs += texts_of_report(report)
                check_report(emu, inputs, report)
            provider.client.close()
        assert_key_never_shown(world.key, outputs + said)


@seed(SEED)
@settings(_settings(), max_examples=max(1, EXAMPLES // 3))
@given(worlds.filter(lambda w: w.operation == "acancel_jobs"), stalls, st.floats(0.0, 1.5),
       st.floats(10.0, 60.0))
def test_every_input_is_reported_when_the_awaiting_task_is_cancelled_at_any_moment(
        world: World, stall: ScriptedFault, after: float, deadline: float) -> None:
    # As Ctrl-C above, but asyncio's way: a timeout cancels the task awaiting acancel_jobs.
    note(f"CHAOS_SEED={SEED}")
    run_task_cancelled(dataclasses.replace(world, deadline=deadline,
                                           faults=(stall, *world.faults)), after)
