"""What a first-time user of ``ionq-cancel`` trips on, each run as a process against the
emulator: a Ctrl-C at the ``[y/N]`` question, a typo in an option."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from contract.observed import Emulator
from support import one_line

KEY = "first-use-key-8d1e4c7a2b"
ROOT = Path(__file__).resolve().parents[2]
#: Guard for one process (qiskit's import takes a second or two).
PROCESS_GUARD = 120

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, clock=None)


def env_for(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (
        "IONQ_API_KEY", "IONQ_API_URL", "QISKIT_IONQ_API_TOKEN", "IONQ_API_TOKEN",
        "QISKIT_IONQ_API_URL", "COLUMNS")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
               IONQ_API_KEY=KEY, IONQ_API_URL=url, PYTHONWARNINGS="ignore", COLUMNS="80")
    return env


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qiskit_ionq_cancel.cli", *args],
                          capture_output=True, text=True, env=env_for(url),
                          stdin=subprocess.DEVNULL, timeout=PROCESS_GUARD, check=False)


def read_until(stream: int, marker: bytes) -> bytes:
    """What ``stream`` gives until ``marker`` has come (or the stream ends)."""
    seen = b""
    while marker not in seen:
        chunk = os.read(stream, 4096)
        if not chunk:
            break
        seen += chunk
    return seen


@pytest.mark.parametrize(("signum", "code", "word"), [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_at_the_question_says_nothing_was_sent_on_a_line_of_its_own(
        emu: Emulator, signum: int, code: int, word: str) -> None:
    ids = emu.store.add_jobs(2)
    primary, secondary = pty.openpty()  # stdin a terminal: the command asks
    err_read, err_write = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "qiskit_ionq_cancel.cli", "--status", "ready"],
            stdin=secondary, stdout=subprocess.PIPE, stderr=err_write, env=env_for(emu.url))
        os.close(err_write)
        asked = read_until(err_read, b"[y/N] ")
        assert asked.endswith(b"[y/N] "), asked
        process.send_signal(signum)  # as Ctrl-C (or a kill) while the user reads the list
        out, _ = process.communicate(timeout=PROCESS_GUARD)
        err = (asked + read_until(err_read, b"\0")).decode()
    finally:
        os.close(err_read)
        os.close(secondary)
        os.close(primary)
    assert process.returncode == code, err
    after = err.split("[y/N] ", 1)[1]
    assert after.startswith("\n"), err  # not glued to the question
    assert f"ionq-cancel cancel: {word} at the question; nothing was cancelled" in one_line(
        after)
    assert "stays in effect" not in err and "Traceback" not in err  # no cancel was sent
    assert out == b"" and [emu.store.status_of(i) for i in ids] == ["ready", "ready"]
    assert not [e for e in emu.log.entries if e.method == "PUT"]


def test_end_of_input_at_the_question_ends_its_line(emu: Emulator) -> None:
    ids = emu.store.add_jobs(1)
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "qiskit_ionq_cancel.cli", "--status", "ready"],
            stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env_for(emu.url))
        os.write(primary, b"\x04")  # Ctrl-D: end of input, no answer typed
        out, err = process.communicate(timeout=PROCESS_GUARD)
    finally:
        os.close(secondary)
        os.close(primary)
    assert process.returncode == 0, err
    assert "[y/N] \nNothing cancelled (answered no)" in err
    assert out == "" and emu.store.status_of(ids[0]) == "ready"


@pytest.mark.parametrize(("args", "words"), [
    (["--dryrun"], "ionq-cancel cancel: unknown option '--dryrun'; did you mean '--dry-run'?"),
    (["status", "--jsn"], "ionq-cancel status: unknown option '--jsn'; did you mean '--json'?"),
    (["--stauts", "ready"],  # not "unknown command 'ready'"
     "ionq-cancel cancel: unknown option '--stauts'; did you mean '--status'?"),
    (["status", "--dry-run"], "ionq-cancel status: unknown option '--dry-run'. See "
                              "'ionq-cancel status --help'"),
    (["emulator", "--prelaod", "3"],
     "ionq-cancel emulator: unknown option '--prelaod'; did you mean '--preload'?"),
])
def test_a_mistyped_option_is_named_with_the_closest_one(
        emu: Emulator, args: list[str], words: str) -> None:
    job_id = emu.store.add_jobs(1)[0]
    done = run(emu.url, *args, *([] if "emulator" in args else [job_id]))
    assert done.returncode == 2, done.stderr
    assert words in one_line(done.stderr)
    assert "usage:" not in done.stderr and "unrecognized arguments" not in done.stderr
    assert done.stdout == "" and len(emu.log) == 0 and emu.store.status_of(job_id) == "ready"


def test_a_mistyped_option_never_shows_its_value(emu: Emulator) -> None:
    done = run(emu.url, f"--bogus={KEY}", str(uuid.uuid4()))
    assert done.returncode == 2 and "unknown option '--bogus'." in one_line(done.stderr)
    assert KEY not in done.stderr + done.stdout


def test_a_missing_key_file_says_why_its_path_is_not_shown(emu: Emulator,
                                                          tmp_path: Path) -> None:
    missing = tmp_path / "ionq.key"
    done = run(emu.url, "status", "--api-key-file", str(missing), str(uuid.uuid4()))
    assert done.returncode == 2, done.stderr
    assert (f"ionq-cancel status: cannot read the API key file given to --api-key-file "
            f"({len(str(missing))} characters; not shown, in case it is a key): No such file "
            "or directory") in one_line(done.stderr)
    assert len(emu.log) == 0


def test_a_url_without_the_version_is_named_as_given(emu: Emulator) -> None:
    root = emu.url.removesuffix("/v0.4")  # http://127.0.0.1:PORT, as a user might type it
    done = run(emu.url, "status", "--url", root, str(uuid.uuid4()))
    assert done.returncode == 2, done.stderr
    assert (f"ionq-cancel status: {root} has no IonQ jobs API (HTTP 404): try {emu.url}. "
            "Fix --url or IONQ_API_URL.") in one_line(done.stderr)
    assert "/jobs" not in done.stderr  # not the request's own URL, with its query


@pytest.mark.parametrize(("args", "words"), [
    (["--status", "redy"], "ionq-cancel cancel: argument --status: invalid choice: 'redy' "
                           "(choose from 'submitted', 'ready', 'started'). See 'ionq-cancel "
                           "cancel --help'."),
    (["status", "--session"], "ionq-cancel status: argument --session: expected one "
                              "argument. See 'ionq-cancel status --help'."),
])
def test_a_bad_option_value_is_one_message_that_fits_the_terminal(
        emu: Emulator, args: list[str], words: str) -> None:
    done = run(emu.url, *args)
    assert done.returncode == 2, done.stderr
    assert words in one_line(done.stderr)
    assert "usage:" not in done.stderr  # not the command's whole synopsis above it
    assert [line for line in done.stderr.splitlines() if len(line) > 80] == []
    assert len(emu.log) == 0
