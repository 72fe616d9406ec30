"""``cancel_on_exit(watchdog=True)``: a watchdog process cancels the scope's jobs when the
program dies with the scope open (SIGKILL, SIGHUP to its group, an interpreter exit), stands
down when the scope ends, keeps the key off its command line and environment, and its own
death only costs the program one warning. Real processes, real signals, real HTTP to the
emulator."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract.observed import Emulator
from support import bell, one_line, point_env_at, wait_for

from qiskit_ionq_cancel import IonQProvider, UsageError, cancel_on_exit
from qiskit_ionq_cancel._core.ledger import read_ledger

KEY = "watchdog-test-key-3c9e1a7f52d4"
#: Guard for a Python subprocess (qiskit's import takes a second or two).
PROCESS_GUARD = 120
#: The scope's deadline in the programs below; the loose bound on the watchdog's cancel
#: after a death is 2 s + this + 3 s (the tight number: benchmarks/bench_watchdog.py).
DEADLINE = 10.0
BOUND = 2 + DEADLINE + 3

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=3600, run_time=1, clock=None)


@pytest.fixture
def emu(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, with ``IONQ_API_KEY`` / ``IONQ_API_URL`` pointing at it."""
    point_env_at(monkeypatch, emu.url, KEY)
    monkeypatch.delenv("IONQ_CANCEL_LEDGER", raising=False)
    return emu


@pytest.fixture
def strays() -> Iterator[list[int]]:
    """Pids a test started and must not leave running (a forked child, a watchdog)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie is dead


def cancels(emu: Emulator) -> int:
    return sum(1 for e in emu.log.entries if e.method == "PUT" and "cancel" in e.path)


def statuses(emu: Emulator, ids: list[str]) -> list[str]:
    return [emu.store.status_of(i) for i in ids]


PROGRAM = """
    import os, signal, sys, time
    from qiskit import QuantumCircuit
    from qiskit_ionq_cancel import IonQProvider, cancel_on_exit
    qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
    backend = IonQProvider().get_backend("simulator")

    def say(**fields):
        import json
        print(json.dumps(fields), flush=True)
"""


def program(body: str, **env: str) -> subprocess.Popen[str]:
    """A Python program: ``PROGRAM`` then ``body``; it prints JSON lines on stdout."""
    script = textwrap.dedent(PROGRAM) + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore", **env})


def said(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(PROCESS_GUARD)
        raise AssertionError(f"the program said nothing: {proc.stderr and proc.stderr.read()}")
    fields: dict[str, Any] = json.loads(line)
    return fields


def killed_and_cancelled(emu: Emulator, proc: subprocess.Popen[str], how: int,
                         strays: list[int]) -> dict[str, Any]:
    """The program said its ids, ledger and watchdog; it dies by ``how``; its jobs are
    cancelled within the bound, and its watchdog is gone after."""
    fields = said(proc)
    strays.append(fields["watchdog"])
    assert statuses(emu, fields["ids"]) == ["ready"] * len(fields["ids"])
    assert proc.wait(PROCESS_GUARD) == -how, proc.stderr and proc.stderr.read()
    wait_for(lambda: statuses(emu, fields["ids"]) == ["canceled"] * len(fields["ids"]),
             "the watchdog's cancel", timeout=BOUND)
    wait_for(lambda: not _alive(fields["watchdog"]), "the watchdog's exit", timeout=BOUND)
    return fields


# -- a death -------------------------------------------------------------------------------
def test_a_sigkilled_program_has_its_jobs_cancelled_by_its_watchdog(
        emu: Emulator, strays: list[int]) -> None:
    proc = program(f"""
        with cancel_on_exit(watchdog=True, deadline={DEADLINE}) as scope:
            jobs = [backend.run(qc) for _ in range(3)]
            say(ids=[j.job_id() for j in jobs], ledger=scope.ledger,
                watchdog=scope.watchdog_pid)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    fields = killed_and_cancelled(emu, proc, signal.SIGKILL, strays)

    written = [json.loads(line) for line in Path(fields["ledger"]).read_text().splitlines()]
    marks = [r["id"] for r in written if r["event"] == "cancelled"]
    assert sorted(marks) == sorted(fields["ids"])  # each job once
    report = [r for r in written if r["event"] == "watchdog_report"]
    assert len(report) == 1 and report[0]["counts"]["cancelled"] == 3
    assert report[0]["jobs"] == dict.fromkeys(fields["ids"], "CANCELLED")
    assert KEY not in Path(fields["ledger"]).read_text()
    Path(fields["ledger"]).unlink()  # a temporary ledger is kept after a death: it has the report


def test_a_job_tracked_by_hand_is_cancelled_by_the_watchdog_after_a_sigkill(
        emu: Emulator, strays: list[int]) -> None:
    # Submitted by plain qiskit-ionq (no package code on its road), handed to scope.track()
    proc = program(f"""
        from qiskit_ionq import IonQProvider as StockProvider
        stock = StockProvider(os.environ["IONQ_API_KEY"], url=os.environ["IONQ_API_URL"])
        with cancel_on_exit(watchdog=True, deadline={DEADLINE}) as scope:
            job = stock.get_backend("simulator").run(qc)
            scope.track(job)
            say(ids=[job.job_id()], ledger=scope.ledger, watchdog=scope.watchdog_pid)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    fields = killed_and_cancelled(emu, proc, signal.SIGKILL, strays)
    written = [json.loads(line) for line in Path(fields["ledger"]).read_text().splitlines()]
    assert [r["event"] for r in written if r.get("id") in fields["ids"]] == \
        ["submitted", "cancelled"]
    assert KEY not in Path(fields["ledger"]).read_text()
    Path(fields["ledger"]).unlink()


def test_a_tracked_job_whose_client_holds_no_key_does_not_keep_the_key_from_the_watchdog(
        emu: Emulator, strays: list[int]) -> None:
    # The first job recorded for a URL handed the watchdog its client's key: an empty one
    # for a client that holds none, and no later submit to that URL handed another, so the
    # watchdog could cancel nothing there (the package's own submits included).
    proc = program(f"""
        from qiskit_ionq import IonQProvider as StockProvider
        stock = StockProvider(os.environ["IONQ_API_KEY"], url=os.environ["IONQ_API_URL"])
        with cancel_on_exit(watchdog=True, deadline={DEADLINE}) as scope:
            keyless = stock.get_backend("simulator").run(qc)
            keyless._client._token = None  # its client holds no key (any more)
            scope.track(keyless)
            job = backend.run(qc)  # then a submit of this package's, with the key
            say(ids=[keyless.job_id(), job.job_id()], ledger=scope.ledger,
                watchdog=scope.watchdog_pid)
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    fields = killed_and_cancelled(emu, proc, signal.SIGKILL, strays)
    assert KEY not in Path(fields["ledger"]).read_text()
    Path(fields["ledger"]).unlink()


def test_sighup_to_the_programs_process_group_does_not_reach_the_watchdog(
        emu: Emulator, strays: list[int]) -> None:
    script = textwrap.dedent(PROGRAM) + textwrap.dedent(f"""
        with cancel_on_exit(watchdog=True, deadline={DEADLINE}) as scope:
            jobs = [backend.run(qc) for _ in range(2)]
            say(ids=[j.job_id() for j in jobs], ledger=scope.ledger,
                watchdog=scope.watchdog_pid)
            time.sleep({PROCESS_GUARD})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    fields = said(proc)
    os.killpg(proc.pid, signal.SIGHUP)  # as a closed terminal sends: the whole group
    strays.append(fields["watchdog"])
    assert proc.wait(PROCESS_GUARD) == -signal.SIGHUP
    wait_for(lambda: statuses(emu, fields["ids"]) == ["canceled"] * 2,
             "the watchdog's cancel", timeout=BOUND)
    wait_for(lambda: not _alive(fields["watchdog"]), "the watchdog's exit", timeout=BOUND)
    Path(fields["ledger"]).unlink()


def test_forked_children_do_not_keep_the_watchdog_waiting(
        emu: Emulator, strays: list[int]) -> None:
    proc = program(f"""
        import subprocess
        with cancel_on_exit(watchdog=True, deadline={DEADLINE}) as scope:
            jobs = [backend.run(qc) for _ in range(2)]
            child = os.fork()
            if child == 0:  # a forked worker that outlives its parent
                time.sleep({PROCESS_GUARD})
                os._exit(0)
            execed = subprocess.Popen(["sleep", "{PROCESS_GUARD}"], close_fds=False)
            say(ids=[j.job_id() for j in jobs], ledger=scope.ledger,
                watchdog=scope.watchdog_pid, children=[child, execed.pid])
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    fields = said(proc)
    strays.extend(fields["children"])
    assert all(_alive(pid) for pid in fields["children"])
    strays.append(fields["watchdog"])
    assert proc.wait(PROCESS_GUARD) == -signal.SIGKILL
    wait_for(lambda: statuses(emu, fields["ids"]) == ["canceled"] * 2,
             "the watchdog's cancel while the children live", timeout=BOUND)
    assert all(_alive(pid) for pid in fields["children"])  # they held no write end
    Path(fields["ledger"]).unlink()


def test_forked_children_ending_inside_the_scope_leave_the_parents_jobs_alone(
        emu: Emulator, strays: list[int]) -> None:
    # A child forked inside the scope inherits it (and its SIGTERM handler): when the child
    # unwinds the block (sys.exit, SIGTERM, an exception), its copy of the scope cancels
    # the child's own job, not the jobs the parent submitted and still owns; neither may
    # the watchdog.
    proc = program(f"""
        endings = [lambda: sys.exit(0), lambda: os.kill(os.getpid(), signal.SIGTERM),
                   lambda: 1 / 0]
        with cancel_on_exit(watchdog=True, deadline={DEADLINE}) as scope:
            jobs = [backend.run(qc) for _ in range(2)]
            codes = []
            for ending in endings:
                child = os.fork()
                if child == 0:
                    say(child=backend.run(qc).job_id())  # the child's own job: its copy's
                    ending()
                codes.append(os.waitpid(child, 0)[1])
            say(ids=[j.job_id() for j in jobs], watchdog=scope.watchdog_pid, codes=codes,
                ledger=scope.ledger)
            time.sleep({PROCESS_GUARD})  # the parent keeps the scope open
    """)
    own = [said(proc)["child"] for _ in range(3)]
    fields = said(proc)  # (said once the children had ended: their cancels were done)
    strays.append(fields["watchdog"])
    assert all(os.WIFEXITED(code) for code in fields["codes"])  # each unwound the block
    assert _alive(fields["watchdog"])
    assert statuses(emu, fields["ids"]) == ["ready"] * 2
    assert statuses(emu, own) == ["canceled"] * 3 and cancels(emu) == 3
    proc.kill()
    proc.wait(PROCESS_GUARD)
    wait_for(lambda: not _alive(fields["watchdog"]), "the watchdog's exit", timeout=BOUND)
    Path(fields["ledger"]).unlink()


def test_a_child_forked_while_a_submit_waits_for_the_watchdog_ends_its_block_in_time(
        emu: Emulator, strays: list[int]) -> None:
    # The first submit of a watchdog scope waits for the watchdog to be ready holding the
    # watchdog's lock (here: stopped, so it waits). A child forked meanwhile inherits the
    # lock held by a thread it does not have: its scope's end (which stands down, inert in
    # a child) waited for it forever, far past the scope's deadline.
    proc = program(f"""
        import threading
        with cancel_on_exit(watchdog=True, deadline={DEADLINE}) as scope:
            os.kill(scope.watchdog_pid, signal.SIGSTOP)  # never ready while stopped
            submit = threading.Thread(target=backend.run, args=(qc,))
            submit.start()
            while not scope._watchdog._lock.locked():  # the submit is waiting for it
                time.sleep(0.01)
            child = os.fork()
            if child == 0:
                sys.exit(0)  # the child unwinds the block
            say(child=child, watchdog=scope.watchdog_pid)
            limit, ended = time.monotonic() + {BOUND}, 0
            while not ended and time.monotonic() < limit:
                ended = os.waitpid(child, os.WNOHANG)[0]
                time.sleep(0.05)
            say(ended=bool(ended))
            os.kill(scope.watchdog_pid, signal.SIGCONT)
            submit.join()
    """)
    fields = said(proc)
    strays += [fields["child"], fields["watchdog"]]
    assert said(proc) == {"ended": True}, "the child's block did not end within its deadline"
    assert proc.wait(PROCESS_GUARD) == 0, proc.stderr and proc.stderr.read()


def test_an_interpreter_exit_with_a_started_scope_open_cancels(
        emu: Emulator, strays: list[int]) -> None:
    proc = program(f"""
        scope = cancel_on_exit(watchdog=True, deadline={DEADLINE}).start()
        jobs = [backend.run(qc) for _ in range(2)]
        say(ids=[j.job_id() for j in jobs], ledger=scope.ledger, watchdog=scope.watchdog_pid)
        # no scope.close(): the script ends with the scope open
    """)
    fields = said(proc)
    strays.append(fields["watchdog"])
    assert proc.wait(PROCESS_GUARD) == 0
    wait_for(lambda: statuses(emu, fields["ids"]) == ["canceled"] * 2,
             "the watchdog's cancel", timeout=BOUND)
    assert proc.stderr is not None
    assert "the interpreter exits with the scope open" in proc.stderr.read()
    wait_for(lambda: not _alive(fields["watchdog"]), "the watchdog's exit", timeout=BOUND)
    Path(fields["ledger"]).unlink()


# -- the scope's end -----------------------------------------------------------------------
def test_a_normal_end_stands_the_watchdog_down(emu: Emulator) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    with cancel_on_exit(watchdog=True) as scope:
        job = backend.run(bell(), shots=10)
        watchdog, ledger = scope.watchdog_pid, scope.ledger
        assert watchdog is not None and ledger is not None and _alive(watchdog)
        assert Path(ledger).name.startswith(f"ionq-cancel-watch-{os.getpid()}-")
        assert list(read_ledger(ledger).jobs) == [job.job_id()]
    assert not _alive(watchdog)  # gone, and reaped
    assert emu.store.status_of(job.job_id()) == "ready" and cancels(emu) == 0
    assert not Path(ledger).exists()  # its temporary ledger with it
    assert scope.watchdog_pid is None and scope.report is None


def test_started_scope_closes_and_a_second_close_does_nothing(
        emu: Emulator, tmp_path: Path) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    ledger = tmp_path / "scope.jsonl"
    scope = cancel_on_exit(watchdog=True, ledger=ledger).start()
    watchdog = scope.watchdog_pid
    assert watchdog is not None
    with pytest.raises(UsageError, match="open already"):
        scope.start()  # no second watchdog
    job = backend.run(bell(), shots=10)
    scope.close()
    scope.close()
    assert not _alive(watchdog) and cancels(emu) == 0
    assert emu.store.status_of(job.job_id()) == "ready"
    assert list(read_ledger(ledger).jobs) == [job.job_id()]  # a ledger given is kept


def test_an_exception_cancels_in_the_process_then_stands_the_watchdog_down(
        emu: Emulator) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    with pytest.raises(RuntimeError), cancel_on_exit(watchdog=True) as scope:
        job = backend.run(bell(), shots=10)
        watchdog = scope.watchdog_pid
        raise RuntimeError("boom")
    assert watchdog is not None and not _alive(watchdog)
    assert scope.report is not None and scope.report.cancelled == [job.job_id()]


def test_a_ledger_without_a_watchdog_or_empty_is_refused() -> None:
    with pytest.raises(UsageError, match="watchdog=True"):
        cancel_on_exit(ledger="jobs.jsonl")
    with pytest.raises(UsageError, match="empty"):
        cancel_on_exit(watchdog=True, ledger="")


# -- the key -------------------------------------------------------------------------------
def test_the_key_is_not_in_the_watchdogs_command_line_or_environment(emu: Emulator) -> None:
    assert os.environ["IONQ_API_KEY"] == KEY  # the program's environment holds it
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    with cancel_on_exit(watchdog=True) as scope:
        backend.run(bell(), shots=10)  # the watchdog has the key by now
        pid = scope.watchdog_pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"watch" in cmdline and b"PATH=" in environ  # what was read is the watchdog's
    assert KEY.encode() not in cmdline and KEY.encode() not in environ


# -- faults --------------------------------------------------------------------------------
def test_the_watchdogs_crash_warns_once_and_does_not_stop_the_program(
        emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    with caplog.at_level(logging.WARNING, logger="qiskit_ionq_cancel"), \
            cancel_on_exit(watchdog=True) as scope:
        backend.run(bell(), shots=10)
        watchdog = scope._watchdog
        assert watchdog is not None and watchdog.pid is not None
        os.kill(watchdog.pid, signal.SIGKILL)
        assert watchdog.process is not None
        watchdog.process.wait(PROCESS_GUARD)
        jobs = [backend.run(bell(), shots=10) for _ in range(2)]  # goes on
    warnings = [r.getMessage() for r in caplog.records if "the watchdog (pid" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert f"'ionq-cancel --ledger {watchdog.path}'" in warnings[0]
    assert [emu.store.status_of(j.job_id()) for j in jobs] == ["ready"] * 2
    assert len(read_ledger(watchdog.path).jobs) == 3  # the ledger still records them
    watchdog.path.unlink()  # kept: the warning named it


@pytest.mark.parametrize("executable", ["", "/nonexistent/python"])
def test_a_watchdog_that_cannot_start_warns_once_and_does_not_stop_the_program(
        emu: Emulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path, executable: str) -> None:
    # No interpreter to run it (an embedded Python's empty sys.executable; EMFILE and
    # EAGAIN fail the same way): the scope's entry raised, and the program stopped there.
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    ledger = tmp_path / "scope.jsonl"
    monkeypatch.setattr(sys, "executable", executable)
    with caplog.at_level(logging.WARNING, logger="qiskit_ionq_cancel"), \
            pytest.raises(RuntimeError, match="the user's"), \
            cancel_on_exit(watchdog=True, ledger=ledger) as scope:
        assert scope.watchdog_pid is None and scope.ledger == str(ledger.absolute())
        jobs = [backend.run(bell(), shots=10) for _ in range(2)]  # goes on
        raise RuntimeError("the user's")
    warnings = [r.getMessage() for r in caplog.records if "the watchdog" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "could not be started" in warnings[0]
    assert f"'ionq-cancel --ledger {ledger.absolute()}'" in warnings[0]
    assert sorted(read_ledger(ledger).jobs) == sorted(j.job_id() for j in jobs)
    assert [emu.store.status_of(j.job_id()) for j in jobs] == ["canceled"] * 2  # the scope


def test_no_temporary_directory_for_the_watchdogs_ledger_does_not_stop_the_program(
        emu: Emulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    # TMPDIR names a directory that is not there (a batch job's scratch not made yet).
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with caplog.at_level(logging.WARNING, logger="qiskit_ionq_cancel"), \
            pytest.raises(RuntimeError, match="the user's"), \
            cancel_on_exit(watchdog=True) as scope:
        assert scope.watchdog_pid is None and scope.ledger is None
        job = backend.run(bell(), shots=10)  # goes on
        raise RuntimeError("the user's")
    warnings = [r.getMessage() for r in caplog.records if "the watchdog" in r.getMessage()]
    assert len(warnings) == 1 and "could not be started" in warnings[0], warnings
    assert emu.store.status_of(job.job_id()) == "canceled"  # the scope's own cancel


def test_two_watchdogs_and_the_command_on_one_ledger_report_each_job_once(
        emu: Emulator, tmp_path: Path, strays: list[int]) -> None:
    ledger = tmp_path / "shared.jsonl"
    proc = program(f"""
        with cancel_on_exit(watchdog=True, ledger={str(ledger)!r}, deadline={DEADLINE}) as a:
            with cancel_on_exit(watchdog=True, ledger={str(ledger)!r},
                                deadline={DEADLINE}) as b:  # both own these jobs
                jobs = [backend.run(qc) for _ in range(3)]
                say(ids=[j.job_id() for j in jobs], watchdogs=[a.watchdog_pid, b.watchdog_pid])
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    fields = said(proc)
    strays.extend(fields["watchdogs"])
    assert proc.wait(PROCESS_GUARD) == -signal.SIGKILL
    wait_for(lambda: not any(_alive(pid) for pid in fields["watchdogs"]),
             "both watchdogs' exit", timeout=2 * BOUND)
    assert statuses(emu, fields["ids"]) == ["canceled"] * 3
    written = [json.loads(line) for line in ledger.read_text().splitlines()]
    marks = [r["id"] for r in written if r["event"] in ("cancelled", "already_final")]
    assert sorted(marks) == sorted(fields["ids"])  # one cleanup settled each job
    reports = [r for r in written if r["event"] == "watchdog_report"]
    assert len(reports) == 2
    assert all(sorted(r["jobs"]) == sorted(fields["ids"]) for r in reports)  # each once
    assert all(set(r["jobs"].values()) == {"CANCELLED"} for r in reports)
    sent = cancels(emu)

    cleanup = subprocess.run(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "--ledger", str(ledger), "--json"],
        capture_output=True, text=True, timeout=PROCESS_GUARD, check=False)
    assert cleanup.returncode == 0, cleanup.stderr
    out = json.loads(cleanup.stdout)
    assert out["counts"]["already_cancelled"] == 3 and out["counts"]["total"] == 3, out
    assert sorted(j["id"] for j in out["jobs"]) == sorted(fields["ids"])  # each once
    assert cancels(emu) == sent  # nothing sent again


# -- the command ---------------------------------------------------------------------------
def test_the_watch_command_stands_down_and_needs_a_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "empty.jsonl"
    ledger.touch()
    watch = subprocess.Popen(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch", "--ledger", str(ledger)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert watch.stdout is not None and watch.stdout.readline() == b"ready\n"
    _, err = watch.communicate(b'{"stand_down": true}\n', timeout=PROCESS_GUARD)
    assert watch.returncode == 0 and err == b""
    assert ledger.read_text() == ""  # nothing cancelled, nothing written

    ended = subprocess.run(  # the pipe closes, the ledger names no job: nothing to do
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch", "--ledger", str(ledger)],
        input=b"", capture_output=True, timeout=PROCESS_GUARD, check=False)
    assert ended.returncode == 0 and "0 jobs" in one_line(ended.stderr.decode())

    missing = subprocess.run(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch", "--ledger",
         str(tmp_path / "none")], input=b"", capture_output=True, timeout=PROCESS_GUARD,
        check=False)
    assert missing.returncode == 2 and "does not exist" in one_line(missing.stderr.decode())

    usage = subprocess.run([sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch"],
                           input=b"", capture_output=True, timeout=PROCESS_GUARD, check=False)
    assert usage.returncode == 2 and b"--ledger" in usage.stderr


def test_the_watch_command_refuses_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not\na ledger\n")
    ended = subprocess.run(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch", "--ledger", str(garbage)],
        input=b"", capture_output=True, timeout=PROCESS_GUARD, check=False)
    assert ended.returncode == 2
    assert ("holds no ledger records (2 lines unreadable): is it a ledger?"
            in one_line(ended.stderr.decode()))
    assert garbage.read_text() == "not\na ledger\n"  # no watchdog_report appended


def test_the_watchdogs_report_says_what_it_saved(emu: Emulator, tmp_path: Path) -> None:
    from qiskit_ionq_cancel._core.ledger import Ledger

    ledger = tmp_path / "jobs.jsonl"
    ids = emu.store.add_jobs(2, backend="qpu.forte-1")  # 0.088 usd each
    writer = Ledger(ledger, emu.url)
    for job_id in ids:
        writer.submitted(writer.intent("qpu.forte-1", None), job_id)
    writer.close()
    key = json.dumps({"url": emu.url, "key": KEY}).encode() + b"\n"
    ended = subprocess.run(  # the key, then the pipe closes: the program died
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch", "--ledger", str(ledger)],
        input=key, capture_output=True, timeout=PROCESS_GUARD, check=False)
    assert ended.returncode == 0, ended.stderr
    assert statuses(emu, ids) == ["canceled"] * 2
    (report,) = [json.loads(line) for line in ledger.read_text().splitlines()
                 if json.loads(line)["event"] == "watchdog_report"]
    assert report["saved"]["jobs"] == 2 and report["saved"]["unit"] == "usd"
    assert report["saved"]["cost"] == pytest.approx(0.176)


# -- a Jupyter kernel ----------------------------------------------------------------------
KERNEL_CELL = """
import json
from qiskit import QuantumCircuit
from qiskit_ionq_cancel import IonQProvider, cancel_on_exit
qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
backend = IonQProvider().get_backend("simulator")
scope = cancel_on_exit(watchdog=True, deadline=%s).start()  # lasts as long as the kernel
jobs = [backend.run(qc) for _ in range(2)]
print(json.dumps({"ids": [j.job_id() for j in jobs], "watchdog": scope.watchdog_pid,
                  "ledger": scope.ledger}))
"""


def test_a_kernel_restart_cancels_the_jobs_of_a_started_scope(
        emu: Emulator, strays: list[int]) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    # ipykernel's own python3 kernel, with this interpreter (as notebooks/execute.py does)
    manager = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[], ensure_native_kernel=True))
    manager.start_kernel(env={**os.environ, "PYTHONWARNINGS": "ignore"})
    client = manager.client()
    client.start_channels()
    try:
        for now in (False, True):  # a restart as Jupyter asks it, then a forced one (SIGKILL
            # to the kernel's process group)
            client.wait_for_ready(timeout=PROCESS_GUARD)
            printed: list[str] = []

            def hook(message: dict[str, Any], printed: list[str] = printed) -> None:
                if message["msg_type"] == "stream":
                    printed.append(message["content"]["text"])

            reply = client.execute_interactive(KERNEL_CELL % DEADLINE, output_hook=hook,
                                               timeout=PROCESS_GUARD)
            assert reply["content"]["status"] == "ok", reply["content"]
            fields = json.loads("".join(printed))
            strays.append(fields["watchdog"])
            assert statuses(emu, fields["ids"]) == ["ready"] * 2
            manager.restart_kernel(now=now)
            ids: list[str] = fields["ids"]
            watchdog: int = fields["watchdog"]
            wait_for(lambda: statuses(emu, ids) == ["canceled"] * 2,  # noqa: B023 (waited here)
                     f"the watchdog's cancel after a restart (now={now})", timeout=BOUND)
            wait_for(lambda: not _alive(watchdog), "the watchdog's exit",  # noqa: B023
                     timeout=BOUND)
            Path(fields["ledger"]).unlink()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_dead_watchdog_does_not_kill_a_program_that_made_sigpipe_fatal(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "scope.jsonl"
    proc = program(f"""
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as some command-line tools do
        other = IonQProvider(url=os.environ["IONQ_API_URL"].replace("127.0.0.1", "localhost"))
        with cancel_on_exit(watchdog=True, ledger={str(ledger)!r}, deadline={DEADLINE}) as scope:
            backend.run(qc)
            watchdog = scope._watchdog
            os.kill(watchdog.pid, signal.SIGKILL)
            watchdog.process.wait()
            job = other.get_backend("simulator").run(qc)  # a new URL: its key goes down the
            # pipe of a dead watchdog
            say(id=job.job_id())
    """)
    fields = said(proc)
    _, err = proc.communicate(timeout=PROCESS_GUARD)
    assert proc.returncode == 0, err
    assert err.count("the watchdog (pid") == 1, err
    assert emu.store.status_of(fields["id"]) == "ready"  # the program went on
    assert len(read_ledger(ledger).jobs) == 2  # and recorded both jobs


def test_the_watch_command_cancels_its_labels_jobs_and_says_what_it_could_not(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    mine = IonQProvider(KEY, url=emu.url, ledger=ledger, label="scope-a")
    others = IonQProvider(KEY, url=emu.url, ledger=ledger, label="scope-b")
    job = mine.get_backend("simulator").run(bell(), shots=10)
    other = others.get_backend("simulator").run(bell(), shots=10)
    assert mine.client.ledger is not None
    mine.client.ledger.intent("simulator", None)  # a submit whose id never came back
    watch = subprocess.run(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch", "--ledger", str(ledger),
         "--label", "scope-a"], input=json.dumps({"url": emu.url, "key": KEY}) + "\n",
        capture_output=True, text=True, timeout=PROCESS_GUARD, check=False,
        env={k: v for k, v in os.environ.items() if k != "IONQ_API_KEY"})
    assert watch.returncode == 1, watch.stderr  # not done: one job's id is unknown
    assert emu.store.status_of(job.job_id()) == "canceled"
    assert emu.store.status_of(other.job_id()) == "ready"  # another scope's: left alone
    assert watch.stdout.strip() == "ready"
    assert "1 job not settled: run 'ionq-cancel --ledger" in one_line(watch.stderr)
    report = [r for r in map(json.loads, ledger.read_text().splitlines())
              if r["event"] == "watchdog_report"]
    assert report[0]["counts"]["cancelled"] == 1 and report[0]["counts"]["not_reached"] == 1
    assert KEY not in watch.stderr + ledger.read_text()


def test_scopes_one_after_another_leave_no_descriptor_open(emu: Emulator) -> None:
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    with cancel_on_exit(watchdog=True):  # the first: imports, connections
        backend.run(bell(), shots=10)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with cancel_on_exit(watchdog=True):
            backend.run(bell(), shots=10)
    # None left open by the scopes (fewer is no leak: an earlier test's garbage may close)
    assert len(os.listdir("/proc/self/fd")) <= before
