"""The job ledger (``IonQProvider(ledger=...)``), ``cancel_ledger`` and
``ionq-cancel --ledger``: programs that die without cleaning up, over real HTTP against the
emulator, with real processes and real signals."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from contract.observed import Emulator
from hostile_server import HostileServer, Seen, Tamper
from qiskit.providers import JobStatus
from support import bell, one_line, point_env_at, wait_for
from support.hold import HoldRequests

from qiskit_ionq_cancel import (
    CancelReport,
    IonQProvider,
    SamplerV2,
    Session,
    UsageError,
    cancel_ledger,
    cancel_on_exit,
)
from qiskit_ionq_cancel._core.ledger import Ledger, read_ledger
from qiskit_ionq_cancel.cli import main

KEY = "ledger-test-key-5b0e2c7d19"
OTHER_KEY = "ledger-other-key-9f3a6e1c04"
#: Guard for a Python subprocess (qiskit's import takes a second or two).
PROCESS_GUARD = 120

pytestmark = pytest.mark.emu(api_keys=[KEY, OTHER_KEY], queue_time=3600, run_time=1,
                             clock=None)


@pytest.fixture
def emu(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, with ``IONQ_API_KEY`` / ``IONQ_API_URL`` pointing at it."""
    point_env_at(monkeypatch, emu.url, KEY)
    monkeypatch.delenv("IONQ_CANCEL_LEDGER", raising=False)
    return emu


def records(path: Path) -> list[dict[str, Any]]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def posts(emu: Emulator) -> int:
    return sum(1 for e in emu.log.entries if e.method == "POST" and e.path.endswith("/jobs"))


# -- the ledger -----------------------------------------------------------------------------
def test_every_road_of_submitting_is_recorded_and_the_key_is_not(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    provider = IonQProvider(KEY, url=emu.url, ledger=ledger, label="run-7")
    backend = provider.get_backend("simulator")
    one = backend.run(bell(), shots=10)
    many = backend.run([bell(), bell()], shots=10)  # one multi-circuit parent job
    sampled = SamplerV2(backend=backend).run([bell()], shots=10)
    with Session(backend) as session:
        in_session = session.run(bell(), shots=10)
        session.cancel()
    wait_for(lambda: bool(sampled.ionq_jobs()), "the sampler's submit")
    sampled.cancel()
    expected = [one.job_id(), many.job_id(), *[j.job_id() for j in sampled.ionq_jobs()],
                in_session.job_id()]

    written = records(ledger)
    submitted = [r for r in written if r["event"] == "submitted"]
    assert sorted(r["id"] for r in submitted) == sorted(expected)
    assert len([r for r in written if r["event"] == "intent"]) == len(expected)
    assert all(r["url"] == emu.url and r["label"] == "run-7" and r["pid"] == os.getpid()
               and r["backend"] == "simulator" and r["time"] for r in submitted), submitted
    # (the sampler submits from its worker thread: its record may come before or after)
    sessions = {r["id"]: r["session"] for r in submitted}
    assert sessions.pop(in_session.job_id()) == session.session_id
    assert set(sessions.values()) == {None}
    assert KEY not in ledger.read_text()


def test_the_environment_variable_names_the_ledger(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONQ_CANCEL_LEDGER", str(tmp_path))  # a directory
    job = IonQProvider(KEY, url=emu.url, ledger_fsync=True).get_backend("simulator").run(bell())
    (file,) = tmp_path.glob("*.jsonl")
    assert str(os.getpid()) in file.name
    assert [r["id"] for r in records(file) if r["event"] == "submitted"] == [job.job_id()]
    assert records(file)[0]["label"].split(":")[1] == str(os.getpid())  # host:pid:start


def test_a_relative_ledger_is_where_it_named_when_the_program_changes_directory(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # IONQ_CANCEL_LEDGER=jobs.jsonl, then the program chdirs into its output directory
    # before its first submit: the cleanup run where the variable was set must find it.
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IONQ_CANCEL_LEDGER", "jobs.jsonl")
    backend = IonQProvider(KEY, url=emu.url).get_backend("simulator")
    monkeypatch.chdir(tmp_path / "out")
    job = backend.run(bell(), shots=10)
    assert not (tmp_path / "out" / "jobs.jsonl").exists()
    assert list(read_ledger(tmp_path / "jobs.jsonl").jobs) == [job.job_id()]


def test_a_directory_ledger_gets_one_file_per_process(emu: Emulator, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        from qiskit import QuantumCircuit
        from qiskit_ionq_cancel import IonQProvider
        qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
        provider = IonQProvider({KEY!r}, url={emu.url!r}, ledger={str(tmp_path)!r})
        print(provider.get_backend("simulator").run(qc).job_id())
    """)
    ids = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=PROCESS_GUARD, check=False,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        assert done.returncode == 0, done.stderr
        ids.append(done.stdout.strip())
    files = sorted(tmp_path.glob("ionq-jobs-*.jsonl"))
    assert len(files) == 2
    assert sorted(read_ledger(tmp_path).jobs) == sorted(ids)


def test_threads_sharing_a_ledger_never_interleave(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ledger = Ledger(tmp_path / "shared.jsonl", "http://127.0.0.1:1/v0.4")
    long_backend = "b" * 5000  # records well over a pipe buffer's atomic size

    def submit(n: int) -> None:
        ledger.submitted(ledger.intent(long_backend, None), f"{n:08d}-0000-4000-8000-"
                                                             "000000000000")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(submit, range(400)))
    contents = read_ledger(tmp_path / "shared.jsonl")
    assert contents.skipped == [] and len(contents.jobs) == 400 and contents.unknown == []


def test_processes_sharing_a_ledger_file_never_interleave(tmp_path: Path) -> None:
    shared = tmp_path / "shared.jsonl"
    script = textwrap.dedent(f"""
        import sys
        from qiskit_ionq_cancel._core.ledger import Ledger
        ledger = Ledger({str(shared)!r}, "http://127.0.0.1:1/v0.4")
        n = int(sys.argv[1])
        for i in range(300):
            entry = ledger.intent("b" * 5000, None)
            ledger.submitted(entry, f"{{n:04d}}{{i:04d}}-0000-4000-8000-000000000000")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(4)]
    assert [p.wait(timeout=PROCESS_GUARD) for p in procs] == [0] * 4
    contents = read_ledger(shared)
    assert contents.skipped == [] and len(contents.jobs) == 1200 and contents.unknown == []


@pytest.mark.parametrize("where", ["missing-dir", "under-a-file", "read-only-dir",
                                   "read-only-file", "full"])
def test_an_unwritable_ledger_fails_the_submit_before_it_is_sent(
        emu: Emulator, tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "read-only").mkdir(mode=0o555)
    (tmp_path / "read-only-file.jsonl").write_text("")
    (tmp_path / "read-only-file.jsonl").chmod(0o444)
    path = {"missing-dir": tmp_path / "no" / "such" / "jobs.jsonl",
            "under-a-file": tmp_path / "a-file" / "jobs.jsonl",
            "read-only-dir": tmp_path / "read-only",  # a directory ledger: a file in it
            "read-only-file": tmp_path / "read-only-file.jsonl",
            "full": Path("/dev/full")}[where]
    if where == "full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    if where.startswith("read-only") and os.geteuid() == 0:
        pytest.skip("root writes past the permission bits")
    backend = IonQProvider(KEY, url=emu.url, ledger=path).get_backend("simulator")
    with pytest.raises(UsageError, match=r"job ledger .* cannot be written.*nothing was "
                                         r"submitted"):
        backend.run(bell())
    assert posts(emu) == 0


def test_a_refused_submit_leaves_no_unknown_job(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    backend = IonQProvider("ledger-unknown-key-000000", url=emu.url,
                           ledger=ledger).get_backend("simulator")
    with pytest.raises(Exception, match=r"401|key"):
        backend.run(bell())
    assert [r["event"] for r in records(ledger)] == ["intent", "failed"]
    assert read_ledger(ledger).unknown == []


def test_a_second_ledger_that_cannot_be_written_leaves_no_unknown_job_in_the_first(
        emu: Emulator, tmp_path: Path) -> None:
    # The provider's ledger takes the intent, the watchdog's (its directory missing) fails:
    # nothing is sent, and the provider's ledger must not report "submitted, id unknown".
    ledger = tmp_path / "jobs.jsonl"
    backend = IonQProvider(KEY, url=emu.url, ledger=ledger).get_backend("simulator")
    with pytest.raises(UsageError, match="cannot be written"), \
            cancel_on_exit(watchdog=True, ledger=tmp_path / "missing" / "scope.jsonl"):
        backend.run(bell())
    assert posts(emu) == 0
    assert [r["event"] for r in records(ledger)] == ["intent", "failed"]
    assert read_ledger(ledger).unknown == []


# -- cancel_ledger --------------------------------------------------------------------------
def submit(emu: Emulator, ledger: Path, count: int, key: str = KEY) -> list[str]:
    backend = IonQProvider(key, url=emu.url, ledger=ledger).get_backend("simulator")
    return [backend.run(bell(), shots=10).job_id() for _ in range(count)]


def test_cancel_ledger_cancels_marks_and_a_second_run_is_harmless(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 3)
    emu.store.fail(ids[2])

    report = cancel_ledger(ledger)

    assert report.statuses == {ids[0]: JobStatus.CANCELLED, ids[1]: JobStatus.CANCELLED,
                               ids[2]: JobStatus.ERROR}
    assert report.ok and [emu.store.status_of(i) for i in ids[:2]] == ["canceled"] * 2
    marks = {r["id"]: r["event"] for r in records(ledger)
             if r["event"] in ("cancelled", "already_final")}
    assert marks == {ids[0]: "cancelled", ids[1]: "cancelled", ids[2]: "already_final"}

    puts_before = sum(1 for e in emu.log.entries if e.method == "PUT")
    again = cancel_ledger(ledger)
    assert again.statuses == report.statuses and again.ok  # each job once, as done
    assert all("earlier cleanup" in again.notes[i] for i in ids)
    assert sum(1 for e in emu.log.entries if e.method == "PUT") == puts_before


def test_a_torn_last_line_is_skipped_with_a_warning(
        emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 2)
    with ledger.open("a") as file:
        file.write('{"v":1,"event":"submitted","id":"')  # a writer killed mid-write
    with caplog.at_level(logging.WARNING, logger="qiskit_ionq_cancel"):
        report = cancel_ledger(ledger)
    assert report.cancelled == ids
    assert "jobs.jsonl:5" in caplog.text and "skipped" in caplog.text


def test_a_torn_line_with_a_record_appended_after_it_loses_only_the_torn_one(
        emu: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ledger = tmp_path / "jobs.jsonl"
    first = submit(emu, ledger, 1)
    with ledger.open("a") as file:
        file.write('{"v":1,"event":"submitted","id":"0f0f')  # killed mid-write ...
    later = submit(emu, ledger, 1)  # ... and another writer appends after it
    with caplog.at_level(logging.WARNING, logger="qiskit_ionq_cancel"):
        report = cancel_ledger(ledger)
    assert report.cancelled == first + later and report.not_reached == {}
    assert "jobs.jsonl:3" in caplog.text and "the start of a line" in caplog.text


def test_a_ledger_pointing_at_another_host_needs_that_url_named(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = tmp_path / "jobs.jsonl"
    writer = Ledger(ledger, "https://collector.example/v0.4")  # a tampered ledger, say
    writer.submitted(writer.intent("simulator", None), "0f0f0f0f-0000-4000-8000-000000000000")
    monkeypatch.delenv("IONQ_API_URL")
    with pytest.raises(UsageError, match=r"collector\.example/v0\.4, not IonQ's host"):
        cancel_ledger(ledger)
    assert len(emu.log) == 0


def test_an_empty_ledger_path_is_refused(emu: Emulator) -> None:
    with pytest.raises(UsageError, match="ledger= is empty"):
        IonQProvider(KEY, url=emu.url, ledger="")


def test_jobs_of_another_key_are_reported_not_found_or_forbidden(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    mine, theirs = submit(emu, ledger, 2)
    emu.store.forbid(theirs)  # IonQ answers 403 for a job the key may not touch
    writer = Ledger(ledger, emu.url)
    unknown = "0f0f0f0f-0000-4000-8000-000000000000"  # a job IonQ does not show this key
    writer.submitted(writer.intent("simulator", None), unknown)

    report = cancel_ledger(ledger)

    assert report.cancelled == [mine] and report.not_found == [unknown]
    assert theirs in report.errors and "403" in str(report.errors[theirs])
    assert theirs not in report.cancelled
    assert [r["id"] for r in records(ledger) if r["event"] == "not_found"] == [unknown]


def test_a_submit_whose_id_never_came_back_is_reported(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 1)
    Ledger(ledger, emu.url).intent("simulator", None)  # a death during POST /jobs
    report = cancel_ledger(ledger)
    assert report.cancelled == ids
    ((key, why),) = report.not_reached.items()
    assert "id unknown" in key and "ionq-cancel status --status ready" in why


def test_a_submit_whose_id_never_came_back_is_reported_when_its_pid_was_used_before(
        emu: Emulator, tmp_path: Path) -> None:
    # A ledger file kept for weeks: an earlier run had this process's pid (pids are
    # reused), so its intent and submitted records carry the ref this run's intent gets.
    # The earlier run's "submitted" must not close this run's intent.
    ledger = tmp_path / "jobs.jsonl"
    [earlier_job] = submit(emu, tmp_path / "other.jsonl", 1)
    probe = Ledger(tmp_path / "probe.jsonl", emu.url).intent("simulator", None)["ref"]
    host_pid, number = probe.rsplit(":", 1)
    ref = f"{host_pid}:{int(number) + 1}"  # the ref of this process's next intent
    earlier = {"ref": ref, "backend": "simulator", "session": None, "url": emu.url,
               "label": "an earlier run", "pid": os.getpid(), "host": "h"}
    ledger.write_text(
        json.dumps({"v": 1, "event": "intent", "time": "2026-11-01T00:00:00+00:00",
                    **earlier}) + "\n" +
        json.dumps({"v": 1, "event": "submitted", "id": earlier_job,
                    "time": "2026-11-01T00:00:01+00:00", **earlier}) + "\n")
    intent = Ledger(ledger, emu.url).intent("simulator", None)  # a death during POST /jobs
    assert intent["ref"] == ref
    contents = read_ledger(ledger)
    assert list(contents.jobs) == [earlier_job]
    assert [r["label"] for r in contents.unknown] == [intent["label"]]
    report = cancel_ledger(ledger)
    assert report.cancelled == [earlier_job]
    ((key, why),) = report.not_reached.items()
    assert "id unknown" in key and "ionq-cancel status --status ready" in why


def test_a_ledger_of_another_url_is_refused(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = tmp_path / "jobs.jsonl"
    submit(emu, ledger, 1)
    Ledger(ledger, "https://elsewhere.example/v0.4").submitted(
        Ledger(ledger, "https://elsewhere.example/v0.4").intent("simulator", None),
        "0f0f0f0f-0000-4000-8000-000000000000")
    before = len(emu.log)
    with pytest.raises(UsageError, match=r"elsewhere\.example.*refusing to send this key"):
        cancel_ledger(ledger)
    monkeypatch.delenv("IONQ_API_URL")  # the ledger's own URLs: two of them
    with pytest.raises(UsageError, match="2 API URLs"):
        cancel_ledger(ledger)
    assert len(emu.log) == before


def test_cancel_ledger_dry_run_sends_no_cancel(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 2)
    report = cancel_ledger(ledger, dry_run=True)
    assert list(report.not_reached) == ids and "would be cancelled" in report.not_reached[ids[0]]
    assert [emu.store.status_of(i) for i in ids] == ["ready", "ready"]
    assert not any(e.method == "PUT" for e in emu.log.entries)


# -- ionq-cancel --ledger -------------------------------------------------------------------
def test_the_command_cancels_a_ledger_and_a_second_run_reports_it_done(
        emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = submit(emu, tmp_path, 2)  # a directory
    monkeypatch.delenv("IONQ_API_URL")  # the URL comes from the ledger
    assert main(["cancel", "--ledger", str(tmp_path), "--dry-run", "--json"]) == 0
    assert [emu.store.status_of(i) for i in ids] == ["ready", "ready"]
    capsys.readouterr()
    assert main(["cancel", "--ledger", str(tmp_path), "--yes", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert {j["id"]: j["status"] for j in first["jobs"]} == dict.fromkeys(ids, "CANCELLED")
    assert main(["--ledger", str(tmp_path), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["counts"]["already_cancelled"] == 2 and second["counts"]["total"] == 2


def test_the_command_refuses_a_ledger_with_ids_or_of_another_url(
        emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = submit(emu, tmp_path / "jobs.jsonl", 1)
    assert main(["cancel", "--ledger", str(tmp_path / "jobs.jsonl"), ids[0]]) == 2
    assert "not several" in one_line(capsys.readouterr().err)
    assert main(["cancel", "--ledger", str(tmp_path / "jobs.jsonl"),
                 "--url", "http://127.0.0.1:9/v0.4"]) == 2
    assert "refusing to send this key" in one_line(capsys.readouterr().err)
    assert main(["cancel", "--ledger", str(tmp_path / "nothing-here")]) == 2
    assert "does not exist" in one_line(capsys.readouterr().err)
    assert emu.store.status_of(ids[0]) == "ready"


def test_the_command_says_what_to_do_about_a_job_whose_id_is_unknown(
        emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 1)
    Ledger(ledger, emu.url).intent("simulator", None)  # a death during POST /jobs
    assert main(["--ledger", str(ledger)]) == 1  # not done: a job may run, unknown
    out, err = capsys.readouterr()
    assert ids[0] in out and emu.store.status_of(ids[0]) == "canceled"
    assert "id unknown: check `ionq-cancel status --status ready`" in one_line(err)


def test_a_sigkilled_program_leaves_its_jobs_to_the_ledger_cleanup(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    script = textwrap.dedent("""
        import os, signal
        from qiskit import QuantumCircuit
        from qiskit_ionq_cancel import IonQProvider, cancel_on_exit
        qc = QuantumCircuit(1, 1); qc.h(0); qc.measure(0, 0)
        backend = IonQProvider().get_backend("simulator")
        with cancel_on_exit():  # no help against SIGKILL
            jobs = [backend.run(qc) for _ in range(3)]
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "IONQ_CANCEL_LEDGER": str(ledger)}
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=PROCESS_GUARD, check=False, env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    ids = list(read_ledger(ledger).jobs)
    assert len(ids) == 3 and [emu.store.status_of(i) for i in ids] == ["ready"] * 3

    cleanup = subprocess.run(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "--ledger", str(ledger), "--yes",
         "--json"], capture_output=True, text=True, timeout=PROCESS_GUARD, check=False,
        env=env)
    assert cleanup.returncode == 0, cleanup.stderr
    assert json.loads(cleanup.stdout)["counts"]["cancelled"] == 3
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 3
    assert KEY not in cleanup.stdout + cleanup.stderr
    assert KEY not in "".join(p.read_text() for p in ledger.iterdir())



# -- interrupted, and two cleanups at once --------------------------------------------------
def _cli(*args: str) -> list[str]:
    """The command, run by one window of one job at a time (``bulk.WINDOW = 1``): each job
    is settled before the next one's cancel is sent, so a held cancel leaves the ones
    before it done."""
    return [sys.executable, "-c", "import sys; import qiskit_ionq_cancel.bulk as bulk; "
            "bulk.WINDOW = 1; from qiskit_ionq_cancel.cli import main; "
            "sys.exit(main(sys.argv[1:]))", *args]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_ledger_cancel_prints_the_partial_table_and_marks_what_was_done(
        emu: Emulator, tmp_path: Path, sig: signal.Signals, code: int) -> None:
    done, held, earlier = emu.store.add_jobs(3)
    hold = HoldRequests(PROCESS_GUARD / 2, lambda seen: seen.method == "PUT"
                        and held.encode() in seen.path.encode() + seen.body)
    server = HostileServer(emu.url, hold)
    ledger = tmp_path / "jobs.jsonl"
    writer = Ledger(ledger, server.url)
    for job_id in (done, held, earlier):
        writer.submitted(writer.intent("simulator", None), job_id)
    writer.mark(earlier, "cancelled", "an-earlier-cleanup", "CANCELLED")
    env = {**os.environ, "IONQ_API_KEY": KEY, "IONQ_API_URL": server.url,
           "PYTHONWARNINGS": "ignore"}
    try:
        process = subprocess.Popen(_cli("--ledger", str(ledger), "--json"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=env)
        wait_for(lambda: len(hold.held) >= 1, "the second job's cancel in flight",
                 timeout=PROCESS_GUARD)
        process.send_signal(sig)
        out, err = process.communicate(timeout=PROCESS_GUARD)
    finally:
        hold.release()
        server.close()
    assert hold.gave_up == []  # it stopped while the server was silent
    assert process.returncode == code, err
    report = json.loads(out)  # before: nothing on stdout
    assert {j["id"]: j["status"] for j in report["jobs"]} == {
        earlier: "CANCELLED", done: "CANCELLED"}
    assert [(e["id"], e["reason"]) for e in report["errors"]] == [
        (held, "interrupted" if sig == signal.SIGINT else "terminated")]
    marks = [(r["id"], r["event"]) for r in records(ledger) if "ref" not in r]
    assert marks == [(earlier, "cancelled"), (done, "cancelled")]  # the held one: not marked
    assert [emu.store.status_of(i) for i in (done, held)] == ["canceled", "ready"]
    assert f"ionq-cancel status --ledger {ledger}" in one_line(err) and KEY not in out + err


def test_an_interrupted_cancel_ledger_raises_with_every_job_of_the_ledger(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hold = HoldRequests(PROCESS_GUARD / 2)  # every cancel
    server = HostileServer(emu.url, hold)
    monkeypatch.setenv("IONQ_API_URL", server.url)
    ledger = tmp_path / "jobs.jsonl"
    writer = Ledger(ledger, server.url)
    held = emu.store.add_jobs(2)
    for job_id in held:
        writer.submitted(writer.intent("simulator", None), job_id)
    writer.intent("simulator", None)  # a death during POST /jobs
    written = len(records(ledger))

    def ctrl_c() -> None:
        wait_for(lambda: bool(hold.held), "a cancel held", timeout=PROCESS_GUARD / 2)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=ctrl_c)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            cancel_ledger(ledger)
    finally:
        hold.release()
        timer.join()
        server.close()
    report = info.value.report  # type: ignore[attr-defined]
    assert sorted(report.errors) == sorted(held)  # sent, outcome unknown
    ((key, why),) = report.not_reached.items()
    assert "id unknown" in key and "id unknown" in why
    assert len(records(ledger)) == written  # nothing settled: nothing marked
    assert hold.gave_up == []


def test_two_cleanups_of_one_ledger_at_once_each_report_every_job_once(
        emu: Emulator, tmp_path: Path) -> None:
    """Two ``ionq-cancel --ledger`` started together take turns on the ledger's lock: the
    second sends nothing for the jobs the first settled, and each reports every job once."""
    ids: list[str] = []
    cancels: list[str] = []  # every id named by a cancel (one job's, or in a bulk body)

    def rule(request: Seen) -> Tamper | None:
        if request.method == "PUT":
            named = f"{request.path} {request.body.decode()}"
            cancels.extend(i for i in ids if i in named)
        return None

    server = HostileServer(emu.url, rule)
    backend = IonQProvider(KEY, url=server.url, ledger=tmp_path / "jobs.jsonl").get_backend(
        "simulator")
    ids.extend(backend.run(bell(), shots=10).job_id() for _ in range(5))
    env = {**os.environ, "IONQ_API_KEY": KEY, "IONQ_API_URL": server.url,
           "PYTHONWARNINGS": "ignore"}
    try:
        processes = [subprocess.Popen(
            [sys.executable, "-m", "qiskit_ionq_cancel.cli", "--ledger",
             str(tmp_path / "jobs.jsonl"), "--json"], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
        outputs = [p.communicate(timeout=PROCESS_GUARD) for p in processes]
    finally:
        server.close()
    assert sorted(cancels) == sorted(ids)  # one cancel a job: the second sent none
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        report = json.loads(out)
        rows = [row["id"] for row in report["jobs"] + report["errors"] + report["not_reached"]]
        assert sorted(rows) == sorted(ids)  # each job once, none an error
        assert {row["status"] for row in report["jobs"]} == {"CANCELLED"}
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 5
    contents = read_ledger(tmp_path / "jobs.jsonl")
    assert contents.skipped == [] and sorted(contents.marks) == sorted(ids)


def test_two_cancel_ledger_calls_at_once_are_harmless(emu: Emulator, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 6)
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda _: cancel_ledger(ledger), range(2)))
    for report in reports:
        assert report.ok and sorted(report.statuses) == sorted(ids)
        assert set(report.statuses.values()) == {JobStatus.CANCELLED}
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 6
    assert read_ledger(ledger).skipped == []


# -- ionq-cancel status --ledger ------------------------------------------------------------
def test_status_of_a_ledger_shows_every_job_and_each_submit_whose_id_is_unknown(
        emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ready, cancelled = submit(emu, ledger, 2)
    emu.store.cancel(cancelled)
    writer = Ledger(ledger, emu.url)
    gone = "0f0f0f0f-0000-4000-8000-000000000000"  # not this key's job
    writer.submitted(writer.intent("simulator", None), gone)
    writer.intent("qpu.forte-1", None)  # a death during POST /jobs
    (intent,) = read_ledger(ledger).unknown
    puts = sum(1 for e in emu.log.entries if e.method == "PUT")
    monkeypatch.setenv("COLUMNS", "200")

    assert main(["status", "--ledger", str(ledger), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"found": 2, "not_found": 1, "id_unknown": 1, "total": 4}
    assert [(j["id"], j["status"], j["ionq_status"]) for j in data["jobs"][:3]] == [
        (ready, "QUEUED", "ready"), (cancelled, "CANCELLED", "canceled"), (gone, None, None)]
    unknown = data["jobs"][3]
    assert unknown["id_unknown"] is True and unknown["submitted_at"] == intent["time"]
    assert unknown["backend"] == "qpu.forte-1" and "id unknown" in unknown["id"]
    assert data["not_found"] == [gone]

    assert main(["status", "--ledger", str(ledger)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "4 jobs: 2 found, 1 not found, 1 id unknown"
    assert re.search(rf"{ready} +QUEUED", out) and re.search(rf"{gone} +NOT FOUND", out)
    (row,) = [line for line in out.splitlines() if "ID UNKNOWN" in line]
    assert row.startswith("#0 (id unknown) ") and "qpu.forte-1" in row
    err = one_line(err)
    assert f"#0 (id unknown): submitted at {intent['time']} to qpu.forte-1" in err
    assert "1 job not found for this API key" in err
    assert "ionq-cancel status --status ready" in err
    assert sum(1 for e in emu.log.entries if e.method == "PUT") == puts  # nothing changed
    assert not [r for r in records(ledger) if r["event"] in ("cancelled", "not_found")]


def test_status_of_a_ledger_whose_jobs_are_all_found_exits_0(
        emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = submit(emu, tmp_path, 2)  # a directory
    monkeypatch.delenv("IONQ_API_URL")  # the URL comes from the ledger
    assert main(["status", "--ledger", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "2 jobs: 2 found, 0 not found"
    assert all(re.search(rf"{i} +QUEUED", out) for i in ids)


def test_status_of_a_ledger_refuses_ids_and_another_url(
        emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = submit(emu, tmp_path / "jobs.jsonl", 1)
    assert main(["status", "--ledger", str(tmp_path / "jobs.jsonl"), ids[0]]) == 2
    assert "not several" in one_line(capsys.readouterr().err)
    before = len(emu.log)
    assert main(["status", "--ledger", str(tmp_path / "jobs.jsonl"),
                 "--url", "http://127.0.0.1:9/v0.4"]) == 2
    assert "refusing to send this key" in one_line(capsys.readouterr().err)
    assert main(["status", "--ledger", str(tmp_path / "nothing-here")]) == 2
    assert "does not exist" in one_line(capsys.readouterr().err)
    assert len(emu.log) == before


# -- a new user's trial: what a cleanup saved, files that are not ledgers, the dry run, 80
# columns (each command run as a process, as a user types it) --------------------------------
FORTE = "qpu.forte-1"  # priced by the emulator: 0.088 usd for each job of add_jobs


def recorded(emu: Emulator, ledger: Path, count: int, backend: str = FORTE) -> list[str]:
    """``count`` jobs on ``backend``, recorded in ``ledger`` as a provider records them."""
    ids = emu.store.add_jobs(count, backend=backend)
    writer = Ledger(ledger, emu.url)
    for job_id in ids:
        writer.submitted(writer.intent(backend, None), job_id)
    writer.close()
    return ids


def command(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    """``ionq-cancel ARGS`` in a process of its own (the environment points at the
    emulator)."""
    return subprocess.run([sys.executable, "-m", "qiskit_ionq_cancel.cli", *args],
                          capture_output=True, text=True, timeout=PROCESS_GUARD, check=False,
                          env={**os.environ, "COLUMNS": str(columns),
                               "PYTHONWARNINGS": "ignore"})


def price_requests(emu: Emulator) -> int:
    return sum(e.path.endswith(("/cost", "/jobs/estimate")) for e in emu.log.entries)


def test_a_ledger_cleanup_says_what_it_saved(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = recorded(emu, ledger, 3)
    done = command("--ledger", str(ledger), "--yes")
    assert done.returncode == 0, done.stderr
    out = one_line(done.stdout)  # (the table wraps at 80 columns)
    assert out.startswith("3 jobs: 3 cancelled")
    assert ("Saved (IonQ's estimate of what the jobs this call cancelled would have cost; "
            "not a refund): 0.264 usd for 3 of 3 jobs") in out
    assert out.count("cancelled; saved 0.088 usd") == 3
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 3

    ledger = tmp_path / "json.jsonl"
    recorded(emu, ledger, 2)
    logged = len(emu.log.entries)
    done = command("--ledger", str(ledger), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["counts"]["cancelled"] == 2
    assert data["saved"]["jobs"] == 2 and data["saved"]["cost"] == pytest.approx(0.176)
    assert data["saved"]["reason"] is None and all("saved" in job for job in data["jobs"])
    sent = [e for e in emu.log.entries[logged:] if "/backends" not in e.path]
    assert any(e.path.endswith("/cost") for e in sent)
    assert data["requests"] == len(sent)  # the price requests counted with the others

    ledger = tmp_path / "unpriced.jsonl"
    recorded(emu, ledger, 2)
    before = price_requests(emu)
    done = command("--ledger", str(ledger), "--json", "--no-price")
    assert done.returncode == 0, done.stderr
    saved = json.loads(done.stdout)["saved"]
    assert saved["jobs"] == 2 and saved["reason"] == "pricing was off: price=False"
    assert price_requests(emu) == before

    again = command("--ledger", str(ledger), "--json")  # settled by the run before
    saved = json.loads(again.stdout)["saved"]
    assert saved["jobs"] == 0 and len(saved["already_cancelled"]) == 2


def test_cancel_ledger_takes_price_and_reports_saved(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    recorded(emu, ledger, 2)
    with pytest.raises(UsageError, match="price must be True, False or None"):
        cancel_ledger(ledger, price="yes")  # type: ignore[arg-type]
    assert len(emu.log) == 0
    report = cancel_ledger(ledger)
    assert report.saved.jobs == 2 and report.saved.cost == pytest.approx(0.176)
    assert report.requests == len(emu.log)
    ledger = tmp_path / "off.jsonl"
    recorded(emu, ledger, 1)
    before = price_requests(emu)
    report = cancel_ledger(ledger, price=False)
    assert report.saved.jobs == 1 and report.saved.off == "price=False"
    assert price_requests(emu) == before


@pytest.mark.parametrize("text", [b"shopping list\nmilk\neggs\n", bytes(range(256)) * 8])
def test_a_file_that_is_not_a_ledger_is_a_usage_error(
        emu: Emulator, tmp_path: Path, text: bytes) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(text)
    lines = len([line for line in text.splitlines() if line.strip()])
    for args in (["--ledger", str(notes), "--yes"], ["status", "--ledger", str(notes)],
                 ["--ledger", str(notes), "--dry-run"]):
        done = command(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert (f"{str(notes)!r} holds no ledger records ({lines} lines unreadable): is it a "
                "ledger?") in one_line(done.stderr)
        assert done.stdout == ""
    with pytest.raises(UsageError, match="holds no ledger records"):
        cancel_ledger(notes)
    assert len(emu.log) == 0 and notes.read_bytes() == text


def test_a_torn_last_line_warns_once_and_damaged_lines_are_counted(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = recorded(emu, ledger, 2)
    with ledger.open("a") as file:
        file.write('{"v":1,"event":"submitted","id":"')  # a writer killed mid-write
    damaged = tmp_path / "damaged.jsonl"
    lines = ledger.read_text().splitlines()
    damaged.write_text("\n".join([lines[0], "garbage", lines[1], "more garbage", *lines[2:]]))
    done = command("-v", "--ledger", str(ledger), "--json")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "skipped" in line]
    assert len(warnings) == 1 and f"{ledger}:5" in warnings[0], done.stderr
    assert "writer killed mid-write" in warnings[0]
    assert json.loads(done.stdout)["counts"]["cancelled"] == 2

    done = command("-v", "status", "--ledger", str(damaged))
    warnings = [line for line in done.stderr.splitlines() if "skipped" in line]
    assert len(warnings) == 1, done.stderr
    assert f"2 lines ({damaged}:2, 4) that are not a ledger record" in warnings[0]
    assert f"its last line, {damaged}:7" in warnings[0]
    assert all(i in done.stdout for i in ids)


def test_a_record_of_an_unknown_format_version_is_refused(
        emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    recorded(emu, ledger, 1)
    with ledger.open("a") as file:
        file.write(json.dumps({"v": 99, "event": "submitted", "id": "0f0f0f0f-0000-4000-"
                               "8000-000000000000", "url": emu.url}) + "\n")
    with pytest.raises(UsageError, match="line 3, is a record of format version 99"):
        cancel_ledger(ledger)
    done = command("--ledger", str(ledger))
    assert done.returncode == 2 and "format version 99" in one_line(done.stderr)
    assert len(emu.log) == 0


def test_an_empty_ledger_directory_says_so_and_a_missing_one_is_an_error(
        emu: Emulator, tmp_path: Path) -> None:
    empty = tmp_path / "12345"  # a run that submitted nothing, or the wrong $SLURM_JOB_ID
    empty.mkdir()
    for args in (["--ledger", str(empty), "--yes"], ["status", "--ledger", str(empty)],
                 ["--ledger", str(empty), "--dry-run"]):
        done = command(*args)
        assert done.returncode == 0, done.stderr
        assert f"no ledger records in {empty}" in one_line(done.stderr)
    assert cancel_ledger(empty).total == 0
    missing = command("--ledger", str(tmp_path / "67890"))
    assert missing.returncode == 2 and "does not exist" in one_line(missing.stderr)
    assert len(emu.log) == 0


def test_the_ledger_dry_run_reads_like_a_dry_run_by_id(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = recorded(emu, ledger, 3)
    emu.store.cancel(ids[2])
    by_ledger = command("--ledger", str(ledger), "--dry-run")
    by_id = command("--dry-run", *ids)
    assert by_ledger.returncode == by_id.returncode == 0, by_ledger.stderr
    assert by_ledger.stdout == by_id.stdout
    assert one_line(by_ledger.stdout).startswith(  # (the line wraps at 80 columns)
        "Dry run, nothing was changed. 3 jobs: 2 would be cancelled, 1 already cancelled, "
        "0 already finished, 0 not found job id ")
    assert "would cancel" in by_ledger.stdout and "NOT REACHED" not in by_ledger.stdout
    as_json = json.loads(command("--ledger", str(ledger), "--dry-run", "--json").stdout)
    assert as_json == json.loads(command("--dry-run", "--json", *ids).stdout)
    assert not any(e.method == "PUT" for e in emu.log.entries)
    assert not [r for r in records(ledger) if r["event"] in ("cancelled", "already_final")]

    Ledger(ledger, emu.url).intent(FORTE, None)  # a death during POST /jobs
    done = command("--ledger", str(ledger), "--dry-run")
    assert done.returncode == 1  # as the cancel would: a job that cannot be cancelled by id
    assert "0 not found, 1 id unknown job id " in one_line(done.stdout)  # then the table
    assert re.search(r"^#0 \(id unknown\) +ID UNKNOWN +.*id unknown$", done.stdout, re.M)


def test_an_id_unknown_row_fits_80_columns(emu: Emulator, tmp_path: Path) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = recorded(emu, ledger, 1)
    for _ in range(2):  # two deaths during POST /jobs: two keys
        Ledger(ledger, emu.url).intent(FORTE, None)
    first, second = read_ledger(ledger).unknown
    done = command("--ledger", str(ledger), "--yes")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert max(map(len, lines)) <= 80, done.stdout
    rows = [n for n, line in enumerate(lines) if "(id unknown)" in line]
    assert [lines[n].split("  ")[0] for n in rows] == ["#0 (id unknown)", "#1 (id unknown)"]
    assert all(re.match(r"#\d \(id unknown\) +NOT REACHED +no cancel sent: submitted at",
                        lines[n]) for n in rows)
    assert rows[1] - rows[0] <= 8  # the note wraps to a few lines (it took 17)
    err = one_line(done.stderr)
    assert f"#0 (id unknown): submitted at {first['time']} to {FORTE}" in err
    assert f"#1 (id unknown): submitted at {second['time']} to {FORTE}" in err
    assert emu.store.status_of(ids[0]) == "canceled"

    status = command("status", "--ledger", str(ledger))
    assert max(map(len, status.stdout.splitlines())) <= 80
    assert re.search(r"^#1 \(id unknown\) +ID UNKNOWN +", status.stdout, re.M)


def test_a_cleanup_waiting_for_another_s_lock_keeps_its_deadline(
        emu: Emulator, tmp_path: Path) -> None:
    """Another cleanup holds the ledger's lock (hung on its server, say): cancel_ledger's
    wait for it is within its deadline, and the jobs it could not reach are reported."""
    import fcntl

    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 2)
    holder = os.open(ledger, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # the other cleanup
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(cancel_ledger(ledger,
                                                                          deadline=1.0)))
    try:
        started = time.monotonic()
        thread.start()
        thread.join(1.0 + 10.0)  # a guard; the bound is asserted below
        elapsed = time.monotonic() - started
    finally:
        os.close(holder)  # releases the lock
        thread.join(PROCESS_GUARD)
    assert elapsed <= 1.0 + 3.0
    [report] = outcome
    assert sorted(report.not_reached) == sorted(ids)
    assert [emu.store.status_of(i) for i in ids] == ["ready"] * 2


def id_answered(path_suffix: str, new_id: str) -> Callable[[Seen], Tamper | None]:
    """A hostile server's rule: the answer to ``POST ...<path_suffix>`` names ``new_id``."""
    def rule(seen: Seen) -> Tamper | None:
        if seen.method != "POST" or not seen.path.endswith(path_suffix):
            return None

        def act(sock: Any, answer: Any) -> None:
            body = json.loads(answer.body)
            body["id"] = new_id
            sock.sendall(answer.raw(json.dumps(body).encode()))
        return Tamper(act)
    return rule

def test_an_answer_whose_id_is_no_job_id_never_writes_it(emu: Emulator, tmp_path: Path) -> None:
    """A server answering POST /jobs with an id that is no IonQ job id (here, one holding
    the key): the ledger never writes it (the key is never written), and the submit stays
    an intent whose id is unknown, which the cleanup reports."""
    server = HostileServer(emu.url, id_answered("/jobs", f"job-{KEY}"))
    ledger = tmp_path / "jobs.jsonl"
    try:
        IonQProvider(KEY, url=server.url, ledger=ledger).get_backend("simulator").run(
            bell(), shots=10)
    finally:
        server.close()
    assert KEY[:12] not in ledger.read_text()
    contents = read_ledger(ledger)
    assert contents.jobs == {} and len(contents.unknown) == 1


def test_a_session_id_holding_the_key_is_never_written(emu: Emulator, tmp_path: Path,
                                                      api_contract: Any) -> None:
    """A server answering POST /sessions with an id that holds the key: a submit in that
    session records its session in the ledger's intent, without the key (the ledger writes
    its URL and label redacted; the session went in as the server had it)."""
    server = HostileServer(emu.url, id_answered("/sessions", f"session-{KEY}"))
    ledger = tmp_path / "jobs.jsonl"
    try:
        backend = IonQProvider(KEY, url=server.url, ledger=ledger).get_backend("simulator")
        with contextlib.suppress(Exception), Session(backend) as session:
            session.run(bell(), shots=10)
    finally:
        server.close()
    intents = [r for r in records(ledger) if r["event"] == "intent"]
    assert len(intents) == 1 and intents[0]["session"] == "session-***"
    assert KEY[:12] not in ledger.read_text()
    # (the session's end is sent to the id the server gave, which is no UUID: the contract
    # check flags that request, and only that one)
    assert all("sessions/session-" in p for p in api_contract.problems)
    api_contract.clear()


def test_cancel_ledger_says_what_its_cancel_saved(emu: Emulator, tmp_path: Path) -> None:
    """The report of a ledger's cleanup carries its cancel's saved figures (it said 'this
    call cancelled no job' beside the jobs it had cancelled)."""
    ledger = tmp_path / "jobs.jsonl"
    backend = IonQProvider(KEY, url=emu.url, ledger=ledger).get_backend("qpu.forte-1")
    ids = [backend.run(bell(), shots=100).job_id() for _ in range(2)]
    report = cancel_ledger(ledger)
    assert report.cancelled == ids
    assert report.saved.jobs == 2 and report.saved.priced == 2
    assert report.saved.cost is not None and report.saved.unit == "usd"


def test_a_ctrl_c_while_the_cleanup_marks_the_ledger_carries_every_job(
        emu: Emulator, tmp_path: Path) -> None:
    """A Ctrl-C landing as cancel_ledger marks what its cancel established (the jobs are
    cancelled by then): the KeyboardInterrupt carries every job on its report (it carried
    none), and the next cleanup still settles them."""
    from types import FrameType

    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 2)

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        if frame.f_code is not Ledger.mark.__code__:
            return None
        if event == "line":  # as a signal handled there would be
            raise KeyboardInterrupt
        return trace

    sys.settrace(trace)
    try:
        with pytest.raises(KeyboardInterrupt) as caught:
            cancel_ledger(ledger)
    finally:
        sys.settrace(None)
    assert [emu.store.status_of(i) for i in ids] == ["canceled"] * 2  # sent and done
    report = getattr(caught.value, "report", None)
    assert isinstance(report, CancelReport)
    assert report.statuses == dict.fromkeys(ids, JobStatus.CANCELLED)
    assert cancel_ledger(ledger).statuses == dict.fromkeys(ids, JobStatus.CANCELLED)
