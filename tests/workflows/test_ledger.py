"""The job ledger (``IonQProvider(ledger=...)``), ``cancel_ledger`` and
``ionq-cancel --ledger``: programs that die without cleaning up, over real HTTP against the
emulator, with real processes and real signals."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from contract.observed import Emulator
from qiskit.providers import JobStatus
from support import bell, point_env_at, wait_for

from qiskit_ionq_cancel import (
    IonQProvider,
    SamplerV2,
    Session,
    UsageError,
    cancel_ledger,
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


@pytest.mark.parametrize("where", ["missing-dir", "under-a-file", "full"])
def test_an_unwritable_ledger_fails_the_submit_before_it_is_sent(
        emu: Emulator, tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("")
    path = {"missing-dir": tmp_path / "no" / "such" / "jobs.jsonl",
            "under-a-file": tmp_path / "a-file" / "jobs.jsonl",
            "full": Path("/dev/full")}[where]
    if where == "full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
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
    assert "not several" in capsys.readouterr().err
    assert main(["cancel", "--ledger", str(tmp_path / "jobs.jsonl"),
                 "--url", "http://127.0.0.1:9/v0.4"]) == 2
    assert "refusing to send this key" in capsys.readouterr().err
    assert main(["cancel", "--ledger", str(tmp_path / "nothing-here")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert emu.store.status_of(ids[0]) == "ready"


def test_the_command_says_what_to_do_about_a_job_whose_id_is_unknown(
        emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ledger = tmp_path / "jobs.jsonl"
    ids = submit(emu, ledger, 1)
    Ledger(ledger, emu.url).intent("simulator", None)  # a death during POST /jobs
    assert main(["--ledger", str(ledger)]) == 1  # not done: a job may run, unknown
    out, err = capsys.readouterr()
    assert ids[0] in out and emu.store.status_of(ids[0]) == "canceled"
    assert "id unknown: check `ionq-cancel status --status ready`" in err


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

