"""Issue 26: ``ionq-cancel`` speaks as a command does, not as Python. Every case runs the
command as a process (``python -m qiskit_ionq_cancel.cli``, this tree first on the path) and
checks what a user sees: no traceback, no exception class names, no logger names, the
user's own input where it is not a secret, and the exit code."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from contract.observed import Emulator
from hostile_server import HostileServer
from support import one_line, wait_for
from support.hold import HoldRequests

from qiskit_ionq_cancel import exceptions

KEY = "words-test-key-5c2f9e1a7b"
ROOT = Path(__file__).resolve().parents[2]
#: Guard for one process (qiskit's import takes a second or two).
PROCESS_GUARD = 120
#: ``UnreachableError:``, ``AuthenticationError:`` ...: our exception classes, as Python
#: prints them.
CLASS_PREFIX = re.compile("|".join(
    rf"\b{name}\b" for name in exceptions.__all__ if name.endswith("Error")))

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, clock=None)


def env_for(url: str | None = None, key: str | None = KEY, **more: str) -> dict[str, str]:
    """The environment of a user with ``key`` and ``url`` set, this tree first on the path."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "IONQ_API_KEY", "IONQ_API_URL", "QISKIT_IONQ_API_TOKEN", "IONQ_API_TOKEN",
        "QISKIT_IONQ_API_URL", "COLUMNS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if key is not None:
        env["IONQ_API_KEY"] = key
    if url is not None:
        env["IONQ_API_URL"] = url
    return {**env, **more}


def run(*args: str, env: dict[str, str] | None = None,
        stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qiskit_ionq_cancel.cli", *args],
                          capture_output=True, text=True, env=env or env_for(),
                          input=stdin if stdin is not None else "", timeout=PROCESS_GUARD,
                          check=False)


def assert_speaks_cli(done: subprocess.CompletedProcess[str], code: int) -> str:
    """No traceback, no class names, no logger names, no Python parameters, the exit code;
    returns stdout + stderr."""
    text = done.stdout + done.stderr
    assert done.returncode == code, text
    assert "Traceback" not in text
    assert not CLASS_PREFIX.search(text), text
    assert "qiskit_ionq_cancel" not in text  # a logger's or a module's name
    for python in ("token=", "report.errors", "cancel_jobs", "allow_insecure_http",
                   "RetryPolicy", "IonQProvider"):
        assert python not in text, text
    assert KEY not in text
    return text


def free_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- the command line itself --------------------------------------------------------------
def test_a_bare_command_prints_help() -> None:
    done = run()
    assert_speaks_cli(done, 2)
    assert done.stdout.startswith("usage: ionq-cancel")
    for command in ("cancel", "status", "demo", "emulator"):
        assert f"    {command} " in done.stdout
    assert "Exit codes: 0 done" in one_line(done.stdout)


@pytest.mark.parametrize(("word", "words"), [
    ("frobnicate", "unknown command 'frobnicate'."),
    ("stauts", "unknown command 'stauts'; did you mean 'status'?"),
])
def test_an_unknown_word_is_an_unknown_command(word: str, words: str) -> None:
    done = run(word, "--json")
    text = assert_speaks_cli(done, 2)
    assert words in one_line(done.stderr)
    assert "malformed" not in text and "job id" not in text


@pytest.mark.parametrize("given", ["617a1f8b-59d4-435d-aa33-69543", "deadbeef-cafe"])
def test_a_malformed_id_is_still_a_malformed_id(given: str) -> None:
    done = run(given, env=env_for("http://127.0.0.1:1/v0.4"))
    assert_speaks_cli(done, 2)
    assert "1 malformed job id(s); nothing was sent" in one_line(done.stderr)
    assert f"argument 1: '{given}'" in one_line(done.stderr)


@pytest.mark.parametrize("command", ["demo", "emulator"])
def test_demo_and_emulator_help_describe_them(command: str) -> None:
    done = run(command, "--help")
    assert_speaks_cli(done, 0)
    description = done.stdout.split("\n\n")[1]
    assert len(description) > 100
    if command == "emulator":  # how to get a job to cancel
        assert "--preload" in description and "--queue-time" in description


@pytest.mark.parametrize("command", [[], ["cancel"], ["status"], ["demo"], ["emulator"],
                                     ["watch"]])
def test_each_help_fits_an_80_column_terminal_and_keeps_commands_whole(
        command: list[str]) -> None:
    done = run(*command, "--help", env={**env_for(), "COLUMNS": "80"})
    assert_speaks_cli(done, 0)
    assert [line for line in done.stdout.splitlines() if len(line) > 80] == []
    assert not [line for line in done.stdout.splitlines() if line.endswith("'ionq-")]


@pytest.mark.parametrize(("args", "words"), [
    (["--port", "99999"], "argument --port: a port is 0-65535 (0: a free one), not '99999'"),
    (["--port", "abc"], "argument --port: invalid int value: 'abc'"),
    (["--latency", "-1"], "argument --latency: expected 0 or more, not '-1'"),
    (["--latency", "nan"], "argument --latency: expected a finite number, not 'nan'"),
    (["--queue-time", "-1"], "argument --queue-time: expected 0 or more, not '-1'"),
    (["--preload", "-1"], "argument --preload: expected 0 or more, not '-1'"),
    (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
])
def test_emulator_numbers_it_cannot_use_are_usage_errors(args: list[str], words: str) -> None:
    done = run("emulator", *args)
    assert_speaks_cli(done, 2)
    assert words in one_line(done.stderr)
    assert "listening" not in done.stdout


def test_a_key_option_value_is_never_shown() -> None:
    done = run("emulator", "--api-key", "emu-secret-77", "--port", "abc", "emu-secret-77")
    assert_speaks_cli(done, 2)
    assert "invalid int value: 'abc'" in one_line(done.stderr)
    assert "emu-secret-77" not in one_line(done.stderr)


def test_a_one_letter_key_garbles_no_usage_error() -> None:
    done = run("status", "--deadline", "soon", env=env_for(key="e"))
    assert_speaks_cli(done, 2)
    assert "argument --deadline: invalid number: 'soon'" in one_line(done.stderr)


def test_a_port_in_use_says_so() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        done = run("emulator", "--port", str(port))
    assert_speaks_cli(done, 2)
    assert done.stderr.strip().startswith(
        f"ionq-cancel emulator: port {port} is in use; pick another with --port")


def test_a_closed_pipe_ends_quietly(emu: Emulator) -> None:
    ids = emu.store.add_jobs(3)
    process = subprocess.Popen(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "status", *ids],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(emu.url))
    assert process.stdout is not None
    process.stdout.close()  # as '| head' does once it has read enough
    _, err = process.communicate(timeout=PROCESS_GUARD)
    assert process.returncode in (0, 141)
    assert err == ""


def test_ctrl_c_in_demo_is_one_line_and_130() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "demo", "--queue-time", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(key=None))
    assert process.stdout is not None
    try:
        while "Waiting for job B" not in (line := process.stdout.readline()):
            assert line, "the demo ended before waiting for job B"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=PROCESS_GUARD)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == 130
    assert err == "ionq-cancel demo: interrupted\n"


# -- talking to IonQ ----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["status", "cancel"])
def test_an_unreachable_url_is_said_in_cli_words(command: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/v0.4"
    done = run(command, str(uuid.uuid4()), env=env_for(url))
    text = assert_speaks_cli(done, 1)
    assert f"could not reach IonQ at {url}" in one_line(done.stderr)
    assert "--url or IONQ_API_URL" in one_line(done.stderr)
    assert "warning" not in text.lower()  # the retries' logs: only with -v


def test_verbose_shows_logs_and_debug_the_details(emu: Emulator) -> None:
    url = f"http://127.0.0.1:{free_port()}/v0.4"
    verbose = run("status", "-v", str(uuid.uuid4()), env=env_for(url))
    assert_speaks_cli(verbose, 1)
    assert re.search(r"^warning: .*retrying", verbose.stderr, re.MULTILINE)
    debug = run("status", "--debug", str(uuid.uuid4()), env=env_for(url))
    assert debug.returncode == 1
    assert "UnreachableError" in debug.stderr  # the details are for --debug
    assert KEY not in debug.stdout + debug.stderr


def test_a_refused_key_is_said_in_cli_words(emu: Emulator) -> None:
    ids = emu.store.add_jobs(1)
    done = run(*ids, env=env_for(emu.url, key="words-wrong-key-0000"))
    assert_speaks_cli(done, 2)
    assert f"IonQ refused the API key (HTTP 401) at {emu.url}" in one_line(done.stderr)
    assert "IONQ_API_KEY or --api-key-file" in one_line(done.stderr)
    assert emu.store.status_of(ids[0]) == "ready"


def test_a_url_with_a_bad_port_names_the_port(emu: Emulator) -> None:
    done = run("status", str(uuid.uuid4()), "--url", "http://127.0.0.1:99999/v0.4")
    assert_speaks_cli(done, 2)
    assert "--url has port 99999, out of range" in one_line(done.stderr)
    assert len(emu.log) == 0


def test_an_already_cancelled_job_is_said_to_be(emu: Emulator) -> None:
    ids = emu.store.add_jobs(2)
    env = env_for(emu.url)
    assert run(ids[0], env=env).returncode == 0
    puts = sum(e.method == "PUT" for e in emu.log.entries)

    done = run(*ids, env=env)

    assert_speaks_cli(done, 0)
    assert done.stdout.startswith("2 jobs: 1 cancelled, 1 already cancelled")
    assert f"{ids[0]}  CANCELLED  already cancelled" in done.stdout
    assert f"{ids[1]}  CANCELLED  cancelled" in done.stdout
    assert sum(e.method == "PUT" for e in emu.log.entries) == puts + 1  # none for ids[0]
    data = json.loads(run("--json", ids[0], env=env).stdout)
    assert data["counts"]["already_cancelled"] == 1
    assert data["jobs"] == [{"id": ids[0], "status": "CANCELLED",
                             "action": "already cancelled"}]


@pytest.mark.parametrize("command", [["cancel", "--yes"], ["cancel", "--dry-run"], ["status"]])
def test_a_target_that_is_no_backend_is_a_usage_error_naming_the_backends(
        emu: Emulator, command: list[str]) -> None:
    # a mistyped backend is a mistake to fix (exit 2), not "nothing to do" (exit 0)
    emu.store.add_jobs(1)
    done = run(*command, "--target", "qpu.nonexistent", env=env_for(emu.url))
    assert_speaks_cli(done, 2)
    assert "no backend 'qpu.nonexistent'; its backends are: " in one_line(done.stderr)
    assert "simulator" in one_line(done.stderr).split("its backends are:")[1]
    assert done.stdout == ""


def test_a_known_backend_with_no_jobs_is_nothing_to_do(emu: Emulator) -> None:
    emu.store.add_jobs(1)  # on the simulator
    done = run("cancel", "--yes", "--target", "qpu.forte-1", env=env_for(emu.url))
    assert_speaks_cli(done, 0)
    assert "No cancellable job matches target=qpu.forte-1; nothing to do." in one_line(done.stderr)


def test_files_starting_with_a_bom_are_read(emu: Emulator, tmp_path: Path) -> None:
    ids = emu.store.add_jobs(2)
    (tmp_path / "ids").write_text("\ufeff" + "\n".join(ids) + "\n", encoding="utf-8")
    (tmp_path / "key").write_text(f"\ufeff{KEY}\n", encoding="utf-8")
    done = run("--from-file", str(tmp_path / "ids"), "--api-key-file", str(tmp_path / "key"),
               env=env_for(emu.url, key=None))
    assert_speaks_cli(done, 0)
    assert [emu.store.status_of(i) for i in ids] == ["canceled", "canceled"]
    stdin = run("status", "--from-file", "-", env=env_for(emu.url), stdin="\ufeff" + ids[0])
    assert_speaks_cli(stdin, 0)


# -- tables, deadlines, interrupts ----------------------------------------------------------
@pytest.mark.parametrize("columns", [60, 80, 200])
def test_tables_fit_the_terminal(emu: Emulator, columns: int) -> None:
    ids = emu.store.add_jobs(2, backend="qpu.forte-enterprise-1")
    missing = str(uuid.uuid4())
    env = env_for(emu.url, COLUMNS=str(columns))
    for args in (["status", *ids, missing], ["--dry-run", *ids, missing], [*ids, missing]):
        done = run(*args, env=env)
        assert_speaks_cli(done, 1)
        rows = done.stdout.splitlines()[1:]  # the summary line is not a table
        assert all(len(row) <= columns for row in rows), done.stdout
        for job_id in [*ids, missing]:
            assert sum(job_id in row for row in rows) == 1  # each id whole, once
    if columns >= 80:  # the cancel's row of a job not found: one line
        assert f"{missing}  NOT FOUND  not found for this API key\n" in done.stdout


def test_a_deadline_is_reported_as_the_user_gave_it(start_emulator: object) -> None:
    emu = start_emulator(api_keys=[KEY], queue_time=100, clock=None,  # type: ignore[operator]
                         fault_rate=1.0, fault_kinds=["503"])
    ids = emu.store.add_jobs(2)

    done = run("--deadline", "2", *ids, env=env_for(emu.url))

    assert_speaks_cli(done, 1)
    rows = [row for row in done.stdout.splitlines() if row.startswith(tuple(ids))]
    assert len(rows) == 2  # one line a failed job, the id once
    assert all(row.endswith("UNKNOWN  --deadline 2 s reached")
               for row in rows), done.stdout
    elapsed = float(re.search(r"after (\d+\.\d) s", one_line(done.stderr))[1])  # type: ignore[index]
    assert 1.0 <= elapsed <= 2 + 3
    assert "stopped at --deadline 2 s" in one_line(done.stderr)
    assert "0.001" not in done.stdout + done.stderr
    assert "--deadline" in one_line(done.stderr).split("Run the same command again")[1]


def test_ctrl_c_while_cancelling_reports_in_cli_words(emu: Emulator) -> None:
    hold = HoldRequests(PROCESS_GUARD / 2)
    server = HostileServer(emu.url, hold)
    ids = emu.store.add_jobs(2)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "qiskit_ionq_cancel.cli", *ids], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env_for(server.url))
        wait_for(lambda: len(hold.held) >= 1, "a cancel request in flight",
                 timeout=PROCESS_GUARD)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=PROCESS_GUARD)
    finally:
        hold.release()
        server.close()
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    assert_speaks_cli(done, 130)
    for job_id in ids:
        assert f"{job_id}  UNKNOWN  interrupted\n" in out
    assert "stays in effect" in one_line(err) and "ionq-cancel status" in one_line(err)


def test_the_progress_bar_does_not_finish_for_a_failed_cancel(emu: Emulator) -> None:
    import fcntl
    import pty
    import struct
    import termios

    ids = emu.store.add_jobs(1)
    missing = str(uuid.uuid4())
    primary, secondary = pty.openpty()  # stderr a terminal: the bar is shown
    # 24 rows of 100 columns (a new terminal has 0: no room for a bar)
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "qiskit_ionq_cancel.cli", *ids, missing],
            stdout=subprocess.PIPE, stderr=secondary, text=True, env=env_for(emu.url))
        os.close(secondary)
        out, _ = process.communicate(timeout=PROCESS_GUARD)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    bar = b"".join(chunks).decode(errors="replace")
    assert process.returncode == 1, bar
    assert "1/2" in bar and "1 not settled" in bar
    assert "100%" not in bar and "2/2" not in bar
    assert f"{missing}  NOT FOUND" in out


def test_the_cli_page_lists_every_exit_code_and_option() -> None:
    from qiskit_ionq_cancel.cli.commands import _parser
    from qiskit_ionq_cancel.cli.messages import EXIT_CODES

    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    codes = page.split("## Exit codes", 1)[1]
    for code in EXIT_CODES:
        assert f"\n| {code} | " in codes
    parser = _parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    for name, sub in [("", parser), *commands.choices.items()]:  # type: ignore[union-attr]
        for action in sub._actions:
            for option in action.option_strings:
                assert f"`{option}" in page, f"{name} {option} is not in docs/cli.md"


@pytest.mark.parametrize("command", ["cancel", "status"])
def test_an_ids_file_with_no_ids_says_so(command: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing found today\n\n", encoding="utf-8")
    done = run(command, "--from-file", str(empty), env=env_for("http://127.0.0.1:1/v0.4"))
    assert_speaks_cli(done, 2)
    assert f"{str(empty)!r} holds no job ids" in one_line(done.stderr)
    stdin = run(command, "--from-file", "-", env=env_for("http://127.0.0.1:1/v0.4"), stdin="")
    assert_speaks_cli(stdin, 2)
    assert "stdin holds no job ids" in stdin.stderr
