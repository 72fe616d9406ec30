"""``ionq-cancel`` cancel and status, over real HTTP against the emulator.

``main([...])`` runs in-process with the key and URL in the environment, as a user would set
them; one test runs the installed console script to prove the entry point.
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from contract.observed import Emulator
from support import one_line, point_env_at

from qiskit_ionq_cancel import CancelReport, cancel_jobs
from qiskit_ionq_cancel.cli import commands, main

KEY = "cli-test-key-4d1e8b0c9a"
WRONG_KEY = "cli-wrong-key-77aa21f3"
#: Guard for the console-script process (qiskit's import takes a second or two).
PROCESS_GUARD = 120
#: Most ids one ``GET /jobs?ids=...`` may carry (the issue's limit).
MAX_IDS_PER_READ = 150

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, clock=None)


@pytest.fixture
def emu(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The emulator, with ``IONQ_API_KEY`` / ``IONQ_API_URL`` pointing at it."""
    point_env_at(monkeypatch, emu.url, KEY)
    return emu


def puts(emu: Emulator) -> list[str]:
    """Paths of every PUT (every cancel, single or bulk) the emulator received."""
    return [e.path for e in emu.log.entries if e.method == "PUT"]


def statuses(emu: Emulator, ids: list[str]) -> list[str]:
    return [emu.store.status_of(i) for i in ids]


class TtyStdin:
    """A terminal on stdin that answers the prompt with ``answer``."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.asked = 0

    def isatty(self) -> bool:
        return True

    def readline(self) -> str:
        self.asked += 1
        return self.answer


# -- cancel by id -------------------------------------------------------------------------
def test_a_command_after_its_options_is_still_the_command(
        emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(2)
    assert main(["--url", emu.url, "status", "--json", ids[0]]) == 0
    assert json.loads(capsys.readouterr().out)["jobs"][0]["status"] == "QUEUED"
    assert main(["--json", "--url", emu.url, "cancel", ids[1]]) == 0
    assert statuses(emu, ids) == ["ready", "canceled"]


def test_an_option_value_named_like_a_command_stays_a_value(
        emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = emu.store.add_jobs(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "status").write_text(ids[0] + "\n")  # an ids file named "status"
    assert main(["--from-file", "status", "--url", emu.url]) == 0
    assert statuses(emu, ids) == ["canceled"]


@pytest.mark.parametrize("prefix", [[], ["cancel"], ["-v"], ["-v", "cancel"]])
def test_ids_are_cancelled(emu: Emulator, capsys: pytest.CaptureFixture[str],
                           prefix: list[str]) -> None:
    ids = emu.store.add_jobs(3)
    done = emu.store.add_jobs(1)
    emu.store.fail(done[0])

    assert main([*prefix, *ids, *done]) == 0

    out = capsys.readouterr().out
    assert "3 cancelled, 1 already finished" in out
    for job_id in ids + done:
        assert job_id in out
    assert statuses(emu, ids) == ["canceled"] * 3
    assert statuses(emu, done) == ["failed"]


def test_json_maps_each_id_to_cancelled(emu: Emulator,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(4)

    assert main(["--json", *ids]) == 0

    data = json.loads(capsys.readouterr().out)
    assert {job["id"]: job["status"] for job in data["jobs"]} == dict.fromkeys(ids, "CANCELLED")
    assert data["errors"] == []
    assert data["counts"]["cancelled"] == 4


def test_a_malformed_id_stops_everything(emu: Emulator,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(2)

    assert main([ids[0], "not-a-uuid", ids[1], ids[0].upper()]) == 2

    err = one_line(capsys.readouterr().err)
    assert "'not-a-uuid'" in err
    assert repr(ids[0].upper()) in err
    assert "nothing was sent" in err
    assert puts(emu) == []
    assert len(emu.log) == 0
    assert statuses(emu, ids) == ["ready", "ready"]


def test_an_unknown_id_exits_1(emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(1)
    missing = str(uuid.uuid4())

    assert main(["--json", ids[0], missing]) == 1

    data = json.loads(capsys.readouterr().out)
    assert [job["id"] for job in data["jobs"]] == ids
    assert [(e["id"], e["error"]) for e in data["errors"]] == [(missing, "JobNotFoundError")]
    assert statuses(emu, ids) == ["canceled"]


def test_ids_from_a_file(emu: Emulator, capsys: pytest.CaptureFixture[str],
                         tmp_path: Path) -> None:
    ids = emu.store.add_jobs(3)
    untouched = emu.store.add_jobs(1)
    path = tmp_path / "ids.txt"
    path.write_text(f"# jobs to stop\n{ids[0]}\n\n  {ids[1]}  # the second\n{ids[2]}\n{ids[0]}\n")

    assert main(["--from-file", str(path)]) == 0

    assert "3 jobs: 3 cancelled" in capsys.readouterr().out
    assert statuses(emu, ids) == ["canceled"] * 3
    assert statuses(emu, untouched) == ["ready"]


def test_a_malformed_line_in_the_file_is_named(emu: Emulator,
                                               capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    ids = emu.store.add_jobs(1)
    path = tmp_path / "ids.txt"
    path.write_text(f"{ids[0]}\n# fine\nbad id\n")

    assert main(["--from-file", str(path)]) == 2

    assert f"{path} line 3: 'bad id'" in one_line(capsys.readouterr().err)
    assert len(emu.log) == 0


def test_ids_from_stdin(emu: Emulator, capsys: pytest.CaptureFixture[str],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = emu.store.add_jobs(2)
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(ids) + "\n"))

    assert main(["--from-file", "-", "--json"]) == 0

    data = json.loads(capsys.readouterr().out)
    assert {job["id"]: job["status"] for job in data["jobs"]} == dict.fromkeys(ids, "CANCELLED")
    assert statuses(emu, ids) == ["canceled", "canceled"]


@pytest.mark.parametrize(("args", "words"), [
    (["cancel"], "no job ids and no filter"),
    (["status"], "no job ids"),
    (["--from-file", "/nonexistent/ids.txt"], "cannot read ids"),
    (["--status", "ready", "617a1f8b-59d4-435d-aa33-695433d7155e"], "not both"),
    (["--session", "not-a-session", "--yes"], "--session 'not-a-session' is not a session id"),
    (["status", "--session", "not-a-session"], "--session 'not-a-session' is not a session id"),
    (["--url", "not-a-url", "617a1f8b-59d4-435d-aa33-695433d7155e"],
     "--url is not an http(s) URL"),
    (["status", "--url", "http://example.com/v0.4", "617a1f8b-59d4-435d-aa33-695433d7155e"],
     "Refusing plain http://"),
])
def test_usage_errors_exit_2(emu: Emulator, capsys: pytest.CaptureFixture[str],
                             args: list[str], words: str) -> None:
    assert main(args) == 2
    assert words in one_line(capsys.readouterr().err)
    assert len(emu.log) == 0


@pytest.mark.parametrize(("json_output", "bar"), [(False, True), (True, False)])
def test_progress_bar_only_on_a_terminal_without_json(
        emu: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        json_output: bool, bar: bool) -> None:
    ids = emu.store.add_jobs(1)
    seen: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> CancelReport:
        seen.append(kwargs["progress"])
        return cancel_jobs(*args, **kwargs)

    monkeypatch.setattr(commands, "cancel_jobs", spy)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)

    assert main([*ids, *(["--json"] if json_output else [])]) == 0

    assert seen == [bar]
    assert statuses(emu, ids) == ["canceled"]


def test_no_progress_bar_when_stderr_is_not_a_terminal(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> CancelReport:
        seen.append(kwargs["progress"])
        return cancel_jobs(*args, **kwargs)

    monkeypatch.setattr(commands, "cancel_jobs", spy)

    assert main(emu.store.add_jobs(1)) == 0
    assert seen == [False]


# -- dry run ------------------------------------------------------------------------------
def test_dry_run_with_ids_reads_in_chunks_and_changes_nothing(
        emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(MAX_IDS_PER_READ + 10)
    emu.store.fail(ids[0])

    assert main(["--dry-run", "--json", *ids]) == 0

    data = json.loads(capsys.readouterr().out)
    assert data["dry_run"] is True
    assert data["counts"] == {"would_cancel": len(ids) - 1, "already_cancelled": 0,
                              "already_final": 1, "not_found": 0, "total": len(ids)}
    shown = {job["id"]: (job["status"], job["would_cancel"]) for job in data["jobs"]}
    assert shown[ids[0]] == ("ERROR", False)
    assert shown[ids[1]] == ("QUEUED", True)
    assert puts(emu) == []
    reads = [e for e in emu.log.entries if e.method == "GET" and e.path == "/v0.4/jobs"]
    assert len(reads) == 2
    assert all(e.query.count("ids=") <= MAX_IDS_PER_READ for e in reads)
    assert set(statuses(emu, ids[1:])) == {"ready"}


def test_dry_run_table_marks_unknown_ids(emu: Emulator,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(1)
    missing = str(uuid.uuid4())

    assert main(["--dry-run", ids[0], missing]) == 1

    out = capsys.readouterr().out
    assert out.startswith("Dry run, nothing was changed")
    assert f"{ids[0]}  QUEUED" in out and "would cancel" in out
    assert f"{missing}  NOT FOUND" in out
    assert puts(emu) == []


def test_dry_run_with_a_filter_lists_the_matching_jobs(
        emu: Emulator, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    qpu = emu.store.add_jobs(2, backend="qpu.forte-1")
    sim = emu.store.add_jobs(1)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no --yes needed for a dry run

    assert main(["--target", "qpu.forte-1", "--dry-run", "--json"]) == 0

    data = json.loads(capsys.readouterr().out)
    assert sorted(job["id"] for job in data["jobs"]) == sorted(qpu)
    assert puts(emu) == []
    assert statuses(emu, qpu + sim) == ["ready"] * 3


# -- cancel by filter ---------------------------------------------------------------------
def test_filter_with_yes_cancels_only_the_matching_jobs(
        emu: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    qpu = emu.store.add_jobs(2, backend="qpu.forte-1")
    sim = emu.store.add_jobs(3)

    assert main(["--target", "qpu.forte-1", "--yes"]) == 0

    assert "2 jobs: 2 cancelled" in capsys.readouterr().out
    assert statuses(emu, qpu) == ["canceled", "canceled"]
    assert statuses(emu, sim) == ["ready"] * 3


def test_filter_without_yes_refuses_a_stdin_that_is_not_a_terminal(
        emu: Emulator, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = emu.store.add_jobs(2)
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))

    assert main(["--status", "ready"]) == 2

    err = one_line(capsys.readouterr().err)
    assert "not a terminal" in err and "--yes" in err
    assert len(emu.log) == 0
    assert statuses(emu, ids) == ["ready", "ready"]


def test_filter_asks_and_cancels_on_yes(emu: Emulator, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = emu.store.add_jobs(2)
    session = str(uuid.uuid4())
    other = emu.store.add_jobs(1, session_id=session)
    emu.store.fail(other[0])  # not cancellable: not counted, not asked about
    stdin = TtyStdin("y\n")
    monkeypatch.setattr(sys, "stdin", stdin)

    assert main(["--status", "ready"]) == 0

    captured = capsys.readouterr()
    assert "Cancel 2 jobs matching status=ready? [y/N]" in one_line(captured.err)
    assert stdin.asked == 1
    assert "2 jobs: 2 cancelled" in captured.out
    assert statuses(emu, ids) == ["canceled", "canceled"]


def test_filter_asks_and_does_nothing_on_no(emu: Emulator,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    session = str(uuid.uuid4())
    ids = emu.store.add_jobs(2, session_id=session)
    monkeypatch.setattr(sys, "stdin", TtyStdin("\n"))

    assert main(["--session", session]) == 0  # answering no is not a failure

    err = one_line(capsys.readouterr().err)
    assert f"Cancel 2 jobs matching session_id={session}? [y/N]" in err
    assert "Nothing cancelled (answered no); nothing to do." in err
    assert puts(emu) == []
    assert statuses(emu, ids) == ["ready", "ready"]


# -- credentials --------------------------------------------------------------------------
def test_api_key_file(emu: Emulator, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IONQ_API_KEY", WRONG_KEY)  # the file wins over the environment
    path = tmp_path / "key"
    path.write_text(f"  {KEY}  \nsecond line is ignored\n")
    ids = emu.store.add_jobs(1)

    assert main([ids[0], "--api-key-file", str(path)]) == 0

    assert statuses(emu, ids) == ["canceled"]
    assert KEY not in capsys.readouterr().out


def test_an_unreadable_key_file_exits_2(emu: Emulator, capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    ids = emu.store.add_jobs(1)

    assert main(["status", ids[0], "--api-key-file", str(tmp_path / "missing")]) == 2

    assert "cannot read the API key file" in one_line(capsys.readouterr().err)
    assert len(emu.log) == 0


def test_missing_key_exits_2(emu: Emulator, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IONQ_API_KEY")
    ids = emu.store.add_jobs(1)

    assert main(ids) == 2

    assert "IONQ_API_KEY" in one_line(capsys.readouterr().err)
    assert len(emu.log) == 0
    assert statuses(emu, ids) == ["ready"]


@pytest.mark.parametrize("option", [["--api-key", KEY], [f"--api-key={KEY}"], ["--token", KEY],
                                    # a word (no digit) is not taken for a command, nor a
                                    # command for anything but the option's value
                                    ["--api-key", "mypassword"], ["--api-key", "demo"],
                                    ["--token", "cancel"]])
def test_a_key_on_the_command_line_is_refused(emu: Emulator,
                                              capsys: pytest.CaptureFixture[str],
                                              option: list[str]) -> None:
    ids = emu.store.add_jobs(1)
    value = option[-1].rpartition("=")[2]
    for argv in ([ids[0], *option], [*option, ids[0]]):
        assert main(argv) == 2

        captured = capsys.readouterr()
        assert "refusing an API key on the command line" in one_line(captured.err)
        assert KEY not in captured.out + captured.err
        if value not in ("demo", "cancel"):  # (words of the message itself)
            assert value not in captured.out + captured.err
    assert len(emu.log) == 0


def test_the_key_appears_in_no_output(emu: Emulator, capsys: pytest.CaptureFixture[str],
                                      caplog: pytest.LogCaptureFixture,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    ids = emu.store.add_jobs(3)
    texts: list[str] = []

    def run(args: list[str]) -> int:
        code = main(args)
        captured = capsys.readouterr()
        texts.extend([captured.out, one_line(captured.err)])
        return code

    assert run(["-vv", ids[0]]) == 0
    assert run(["status", "-vv", "--json", ids[0]]) == 0
    assert run(["-vv", "--dry-run", ids[1]]) == 0
    assert run([KEY, ids[2]]) == 2  # the key pasted as an id is not echoed
    assert "'***'" in texts[-1]
    monkeypatch.setenv("IONQ_API_KEY", WRONG_KEY)
    assert run(["-vv", ids[1]]) == 2  # IonQ answers 401
    assert "refused the API key" in texts[-1]
    assert run(["status", "-vv", ids[1]]) == 2
    assert "refused the API key" in texts[-1]
    assert run(["-vv", "--target", "simulator", "--yes"]) == 2

    assert statuses(emu, ids) == ["canceled", "ready", "ready"]
    assert any("401" in e for e in [caplog.text, *texts])  # the failures were seen
    for text in [caplog.text, *texts]:
        assert KEY not in text
        assert WRONG_KEY not in text


# -- status -------------------------------------------------------------------------------
def test_status_shows_jobs_without_changing_them(emu: Emulator,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    ids = emu.store.add_jobs(2)
    emu.store.fail(ids[1])

    assert main(["status", *ids]) == 0

    out = capsys.readouterr().out
    assert out.startswith("2 jobs: 2 found, 0 not found")
    assert f"{ids[0]}  QUEUED" in out
    assert f"{ids[1]}  ERROR" in out
    assert puts(emu) == []
    assert statuses(emu, ids) == ["ready", "failed"]


def test_status_json_and_not_found(emu: Emulator, capsys: pytest.CaptureFixture[str],
                                   tmp_path: Path) -> None:
    ids = emu.store.add_jobs(1)
    missing = str(uuid.uuid4())
    path = tmp_path / "ids"
    path.write_text(f"{missing}\n")

    assert main(["status", "--json", ids[0], "--from-file", str(path)]) == 1

    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"found": 1, "not_found": 1, "total": 2}
    assert data["not_found"] == [missing]
    by_id = {job["id"]: job for job in data["jobs"]}
    assert (by_id[ids[0]]["status"], by_id[ids[0]]["ionq_status"]) == ("QUEUED", "ready")
    assert (by_id[missing]["found"], by_id[missing]["status"]) == (False, None)
    assert puts(emu) == []


def test_status_takes_the_same_filters(emu: Emulator,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    ready = emu.store.add_jobs(2)
    done = emu.store.add_jobs(1)
    emu.store.fail(done[0])

    assert main(["status", "--status", "ready"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 jobs: 2 found")
    assert all(i in out for i in ready) and done[0] not in out
    assert main(["status", "--status", "failed", "--json"]) == 0  # any status, for status
    assert [job["id"] for job in json.loads(capsys.readouterr().out)["jobs"]] == done
    assert main(["status", "--status", "started"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "0 jobs: 0 found, 0 not found"  # no empty table header
    assert "No job matches status=started." in one_line(captured.err)
    assert puts(emu) == []


def test_dry_run_and_cancel_use_one_vocabulary(emu: Emulator,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    queued, cancelled, failed = emu.store.add_jobs(3)
    assert main([cancelled]) == 0
    emu.store.fail(failed)
    capsys.readouterr()

    assert main(["--dry-run", queued, cancelled, failed]) == 0
    out = capsys.readouterr().out
    assert one_line(out).startswith("Dry run, nothing was changed. 3 jobs: 1 would be "
                                    "cancelled, 1 already cancelled, 1 already finished, "
                                    "0 not found")
    assert f"{cancelled}  CANCELLED" in out and "already cancelled" in out

    sent = len(puts(emu))
    assert main([queued, cancelled, failed]) == 0  # the same jobs, for real
    out = capsys.readouterr().out
    assert one_line(out).startswith("3 jobs: 1 cancelled, 1 already cancelled, "
                                    "1 already finished")
    assert f"{cancelled}  CANCELLED  already cancelled" in out
    assert f"{queued}  CANCELLED  cancelled" in out
    assert len(puts(emu)) == sent + 1  # one cancel, for the queued job only


def test_a_filter_matching_nothing_prints_no_table(emu: Emulator,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--status", "started", "--yes"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "No cancellable job matches status=started; nothing to do." in one_line(captured.err)


def test_one_job_is_asked_about_as_one_job(emu: Emulator, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    (job_id,) = emu.store.add_jobs(1)
    monkeypatch.setattr(sys, "stdin", TtyStdin("y\n"))
    assert main(["--status", "ready"]) == 0
    captured = capsys.readouterr()
    assert "Cancel 1 job matching status=ready? [y/N]" in one_line(captured.err)
    assert captured.out.startswith("1 job: 1 cancelled")
    assert statuses(emu, [job_id]) == ["canceled"]


@pytest.mark.skipif(ipaddress.ip_address("::ffff:127.0.0.1").is_loopback,
                    reason="this Python counts an IPv4-mapped loopback address as loopback")
def test_allow_insecure_http_is_a_flag(emu: Emulator, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # The emulator, reached by an address the URL check does not count as loopback.
    port = urlsplit(emu.url).port
    monkeypatch.setenv("IONQ_API_URL", f"http://[::ffff:127.0.0.1]:{port}/v0.4")
    ids = emu.store.add_jobs(1)

    assert main(["status", *ids]) == 2
    err = one_line(capsys.readouterr().err)
    assert "Refusing plain http://" in err and "pass --allow-insecure-http" in err
    assert "allow_insecure_http=True" not in err
    assert len(emu.log) == 0

    assert main(["status", "--allow-insecure-http", *ids]) == 0
    assert main(["--allow-insecure-http", *ids]) == 0
    assert statuses(emu, ids) == ["canceled"]


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("cancel", "status", "demo", "emulator"):
        assert f"    {command} " in out


# -- the installed command ----------------------------------------------------------------
def test_the_console_script(emu: Emulator) -> None:
    script = Path(sys.executable).with_name("ionq-cancel")
    assert script.exists(), f"{script} is not installed: pip install -e ."
    ids = emu.store.add_jobs(2)

    done = subprocess.run([str(script), *ids, "--json"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=PROCESS_GUARD, check=False)

    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {job["id"]: job["status"] for job in data["jobs"]} == dict.fromkeys(ids, "CANCELLED")
    assert statuses(emu, ids) == ["canceled", "canceled"]
    assert KEY not in done.stdout + done.stderr
