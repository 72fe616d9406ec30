"""The CLI's messages fit the terminal: every line ``ionq-cancel`` writes to stderr (and its
summary lines on stdout) wraps at words to the terminal's width (``COLUMNS``; stderr's own
terminal; 80 when there is none), its continuation lines indented two spaces, no word (a
job id, a URL, a path) ever broken; ``--json`` is never wrapped; the ``[y/N]`` prompt stays
whole on the line the answer is typed on. Each case runs the command as a process, on real
failure paths against the emulator."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from contract.observed import Emulator
from support import one_line

from qiskit_ionq_cancel._core.ledger import Ledger
from qiskit_ionq_cancel.cli.output import Console
from qiskit_ionq_cancel.emulator.faults import Fault

KEY = "wrap-test-key-5c2f9e1a7b"
ROOT = Path(__file__).resolve().parents[2]
#: Guard for one process (qiskit's import takes a second or two).
PROCESS_GUARD = 120
#: The width every case is checked at (narrower than the default 80: more lines wrap; 80 is
#: the pseudo-terminal test's and the tables' own); the reference run (the message as one
#: line) is as wide as no message here is.
WIDTHS = (60,)
UNWRAPPED = 1000

pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=100, clock=None)


def env_for(url: str, columns: int | None, key: str = KEY) -> dict[str, str]:
    """A user's environment: ``key`` and ``url`` set, this tree first on the path, the
    terminal ``columns`` wide (``None``: no ``COLUMNS``)."""
    env = {k: v for k, v in os.environ.items() if k not in (
        "IONQ_API_KEY", "IONQ_API_URL", "QISKIT_IONQ_API_TOKEN", "IONQ_API_TOKEN",
        "QISKIT_IONQ_API_URL", "COLUMNS")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
               IONQ_API_KEY=key, IONQ_API_URL=url, PYTHONWARNINGS="ignore")
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return env


def run(url: str, args: list[str], columns: int, key: str = KEY
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qiskit_ionq_cancel.cli", *args],
                          capture_output=True, text=True, env=env_for(url, columns, key),
                          stdin=subprocess.DEVNULL, timeout=PROCESS_GUARD, check=False)


def too_wide(text: str, width: int) -> list[str]:
    """The lines of ``text`` wider than ``width`` that are not one unbreakable word."""
    return [line for line in text.splitlines()
            if len(line) > width and len(line.split()) > 1]


def as_words(text: str) -> list[str]:
    """The words of ``text``, numbers masked (times and counts of requests differ from one
    run to the next)."""
    return re.sub(r"\d+(?:\.\d+)?", "0", text).split()


# -- the failure paths: each sets the emulator up, and gives the command and a phrase of
#    its message (so that the case is known to be the failure it is named after) ----------
Case = Callable[[Emulator, Path], tuple[list[str], str, str]]


def rate_limited_past_the_deadline(emu: Emulator, tmp: Path) -> tuple[list[str], str, str]:
    ids = emu.store.add_jobs(2)
    emu.faults.inject(Fault.http(429, "20"), times=10_000)
    return ["status", "--deadline", "1", *ids], KEY, "HTTP 429: Too Many Requests"


def cancel_rate_limited_past_the_deadline(emu: Emulator, tmp: Path
                                          ) -> tuple[list[str], str, str]:
    ids = emu.store.add_jobs(2)
    emu.faults.inject(Fault.http(429, "20"), times=10_000, method="PUT")
    return (["cancel", "--deadline", "1", *ids], KEY,
            "not settled, outcome unknown. Run the same command again")


def unknown_key(emu: Emulator, tmp: Path) -> tuple[list[str], str, str]:
    ids = emu.store.add_jobs(2)
    return ["cancel", *ids], "not-this-emulators-key-0123456789", "refused the API key (HTTP 401)"


def bad_id_file(emu: Emulator, tmp: Path) -> tuple[list[str], str, str]:
    listed = tmp / "a folder with a long name" / "ids of the jobs to cancel.txt"
    listed.parent.mkdir()
    listed.write_text(f"{emu.store.add_jobs(1)[0]}\nnot-a-job-id\n", encoding="utf-8")
    return ["cancel", "--from-file", str(listed)], KEY, "line 2: 'not-a-job-id'"


def not_found(emu: Emulator, tmp: Path) -> tuple[list[str], str, str]:
    return (["cancel", str(uuid.uuid4()), str(uuid.uuid4())], KEY,
            "2 jobs not found for this API key: check the ids")


def ledger(emu: Emulator, tmp: Path) -> Ledger:
    writer = Ledger(tmp / "jobs.jsonl", emu.url)
    writer.submitted(writer.intent("simulator", None), str(uuid.uuid4()))  # not this key's
    writer.intent("qpu.forte-1", None)  # a death during POST /jobs: its id unknown
    writer.close()
    return writer


def ledger_cleanup(emu: Emulator, tmp: Path) -> tuple[list[str], str, str]:
    ledger(emu, tmp)
    return (["--ledger", str(tmp / "jobs.jsonl"), "--yes"], KEY,
            "#0 (id unknown): submitted at")


def ledger_status(emu: Emulator, tmp: Path) -> tuple[list[str], str, str]:
    ledger(emu, tmp)
    return (["status", "--ledger", str(tmp / "jobs.jsonl")], KEY,
            "1 job submitted with no id recorded")


CASES: list[Case] = [rate_limited_past_the_deadline, cancel_rate_limited_past_the_deadline,
                     unknown_key, bad_id_file, not_found, ledger_cleanup, ledger_status]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__)
def test_each_message_fits_the_terminal_with_all_its_words(
        emu: Emulator, tmp_path: Path, case: Case) -> None:
    args, key, phrase = case(emu, tmp_path)
    whole = run(emu.url, args, UNWRAPPED, key)
    assert whole.returncode in (1, 2), whole.stderr
    assert phrase in whole.stderr, whole.stderr  # the failure this case is about
    assert max(map(len, whole.stderr.splitlines())) > max(WIDTHS)  # one that must wrap
    for width in WIDTHS:
        done = run(emu.url, args, width, key)
        assert done.returncode == whole.returncode, done.stderr
        assert too_wide(done.stderr, width) == [], done.stderr
        assert too_wide(done.stdout, width) == [], done.stdout  # the summary lines too
        assert as_words(done.stderr) == as_words(whole.stderr)  # every word, in order
        assert phrase in one_line(done.stderr)
        assert "Traceback" not in done.stderr and KEY not in done.stderr


def test_json_is_never_wrapped(emu: Emulator) -> None:
    ids = emu.store.add_jobs(2)
    emu.faults.inject(Fault.http(429, "20"), times=10_000, method="PUT")
    done = run(emu.url, ["cancel", "--deadline", "1", "--json", *ids], 60)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert done.stdout == json.dumps(report, indent=2) + "\n"  # as dumped: nothing wrapped
    assert max(map(len, done.stdout.splitlines())) > 60  # (its messages are long lines)
    assert too_wide(done.stderr, 60) == [], done.stderr  # while stderr's message is wrapped
    assert "--deadline 1 s" in one_line(done.stderr)


def terminal(columns: int) -> tuple[int, int]:
    """A pseudo-terminal ``columns`` wide: (its primary end, its secondary end)."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return primary, secondary


def read_all(primary: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the other end is closed: all read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


def test_without_columns_the_width_is_stderrs_terminals(emu: Emulator) -> None:
    # stdout is a pipe (as in 'ionq-cancel status ... | less'): the width of stderr's own
    # terminal counts for stderr, not a default for stdout's lack of one
    primary, secondary = terminal(50)
    process = subprocess.Popen(
        [sys.executable, "-m", "qiskit_ionq_cancel.cli", "status", str(uuid.uuid4())],
        stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL, text=True,
        env=env_for(emu.url, None))
    os.close(secondary)
    process.communicate(timeout=PROCESS_GUARD)
    err = read_all(primary)
    assert process.returncode == 1, err
    assert "1 job not found for this API key" in one_line(err)
    assert too_wide(err, 50) == [] and len(err.splitlines()) > 2, err


def test_the_prompt_stays_whole_on_the_line_the_answer_is_typed_on(emu: Emulator) -> None:
    session = str(uuid.uuid4())
    ids = emu.store.add_jobs(2, session_id=session)
    primary, secondary = terminal(60)  # stdin a terminal: the command asks
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "qiskit_ionq_cancel.cli", "cancel", "--session", session],
            stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env_for(emu.url, 60))
        os.write(primary, b"n\n")
        out, err = process.communicate(timeout=PROCESS_GUARD)
    finally:
        os.close(secondary)
        os.close(primary)
    assert process.returncode == 0, err
    prompt = f"Cancel 2 jobs matching session_id={session}? [y/N] "
    assert len(prompt) > 60  # wider than the terminal, and left whole
    lines = err.splitlines()
    assert sorted(line.split()[0] for line in lines[:2]) == sorted(ids)  # listed as they were
    assert lines[2].startswith(prompt)  # the answer (echoed by the terminal) comes after it
    assert lines[2][len(prompt):].startswith("Nothing cancelled (answered no)")
    assert out == "" and [emu.store.status_of(i) for i in ids] == ["ready", "ready"]


def test_the_console_redacts_then_wraps_and_leaves_tracebacks_and_prompts_whole(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    console = Console()
    secret = "k" * 60
    console.hide(secret)
    console.err(f"ionq-cancel: the key {secret} was refused")  # 36 columns once redacted
    console.err("Traceback (most recent call last):\n" + "frame " * 10, wrap=False)
    prompt = "Cancel 2 jobs matching status=ready, target=qpu.forte-1? [y/N] "
    console.err(f"a first line of the prompt, wider than the terminal\n{prompt}", end="")
    assert capsys.readouterr().err.split("\n") == [
        "ionq-cancel: the key *** was refused",
        "Traceback (most recent call last):", "frame " * 10,
        "a first line of the prompt, wider than", "  the terminal", prompt]
