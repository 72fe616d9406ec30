"""The job ledger: a JSON-lines record, on disk, of every job a provider submitted.

A killed program (SIGKILL, the OOM killer, a Slurm allocation ended whole) runs no cleanup;
this record lets a later ``ionq-cancel --ledger`` cancel what it left behind. Each submit
writes two records: an ``intent`` before ``POST /jobs`` and a ``submitted`` one (with the
job id) after it, so a death in between leaves "submitted at T, id unknown", not silence.

Each record is one ``os.write()`` to a descriptor opened with ``O_APPEND``: on one host,
processes and threads sharing a file never interleave their lines (POSIX appends of a
regular file are atomic with respect to each other). Appends from several hosts to one file
on NFS or Lustre are not: give a directory, and each process writes its own file there.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .._redact import redact
from ..exceptions import UsageError
from .deadline import SIGNAL_POLL, Deadline, current

__all__ = ["ENV_VAR", "FINAL_MARKS", "Ledger", "LedgerContents", "default_label", "locked",
           "read_ledger"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: The environment variable naming the ledger when ``IonQProvider(ledger=...)`` is not given.
ENV_VAR = "IONQ_CANCEL_LEDGER"
#: The format version written in every record.
VERSION = 1
#: Marks a cleanup writes after which a job needs no further cancel.
FINAL_MARKS = frozenset({"cancelled", "already_final"})
_MARKS = FINAL_MARKS | {"not_found"}

_START = time.time()
#: Numbers the intents of this process (every ledger object's): with host and pid, a ref is
#: unique (next() on a count is atomic under the GIL).
_REFS = itertools.count(1)


def plural(count: int, noun: str) -> str:
    """``"1 line"``, ``"2 lines"`` (report.plural's twin: report is a layer above)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def default_label() -> str:
    """``host:pid:start``: this process, and when it started (UTC), unique on one cluster."""
    start = datetime.datetime.fromtimestamp(_START, datetime.timezone.utc)
    return f"{socket.gethostname()}:{os.getpid()}:{start.strftime('%Y%m%dT%H%M%SZ')}"


class Ledger:
    """Appends records to a ledger file, or to this process's own file in a directory.

    Args:
        path: A file (created if missing), or an existing directory: each process then
            writes ``ionq-jobs-<host>-<pid>.jsonl`` in it.
        url: The API base URL the jobs go to (recorded; the key never is).
        label: The run label recorded with each job (default: :func:`default_label`).
        fsync: ``os.fsync()`` after each record, so it survives a power loss or a node
            crash, not only the process's death (which the page cache survives).
        secret: The API key, kept out of everything written.
    """

    def __init__(self, path: str | os.PathLike[str], url: str, *, label: str | None = None,
                 fsync: bool = False, secret: str | None = None) -> None:
        self.path = Path(path).absolute()  # where it was named: a later chdir moves nothing
        self.url = redact(url, secret)
        self.label = redact(label, secret) if label else None
        self.fsync = fsync
        self._secret = secret
        self._fd: int | None = None
        self._pid = -1
        self._lock = threading.Lock()  # the open, not the writes (O_APPEND orders those)

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def file(self) -> Path:
        """The file this process appends to."""
        if self.path.is_dir():
            return self.path / f"ionq-jobs-{socket.gethostname()}-{os.getpid()}.jsonl"
        return self.path

    def _open(self) -> int:
        pid = os.getpid()
        if self._fd is not None and self._pid == pid:
            return self._fd
        with self._lock:
            if self._fd is None or self._pid != pid:  # first use, or a forked child
                target = self.file()
                try:
                    self._fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                except OSError as exc:
                    raise self._unwritable(target, exc) from None
                self._pid = pid
        return self._fd

    def _unwritable(self, target: Path, exc: OSError) -> UsageError:
        return UsageError(
            f"The job ledger {str(target)!r} cannot be written ({exc.strerror or exc}); "
            "nothing was submitted. Give a writable file or directory (ledger= or "
            f"{ENV_VAR}), or none to submit without a ledger.")

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line, with one ``os.write()``.

        Raises:
            UsageError: The ledger cannot be opened or written (full, read-only, gone).
        """
        line = (json.dumps({"v": VERSION, **record}, separators=(",", ":")) + "\n").encode()
        fd = self._open()
        try:
            written = os.write(fd, line)
            if written != len(line):  # a short write (a full disk): the line is torn
                raise OSError(28, "No space left on device (short write)")
            if self.fsync:
                os.fsync(fd)
        except OSError as exc:
            raise self._unwritable(self.file(), exc) from None

    def intent(self, backend: str, session: str | None) -> dict[str, Any]:
        """Record that a job is about to be submitted; returns the fields its ``submitted``
        (or ``failed``) record repeats."""
        host = socket.gethostname()
        # (the session id is the server's answer, the backend the caller's: both redacted,
        # as the URL and the label are)
        base = {"ref": f"{host}:{os.getpid()}:{next(_REFS)}",
                "backend": redact(backend, self._secret),
                "session": None if session is None else redact(str(session), self._secret),
                "url": self.url, "label": self.label or default_label(),
                "pid": os.getpid(), "host": host}
        self.write({"event": "intent", "time": _now(), **base})
        return base

    def submitted(self, base: dict[str, Any], job_id: str) -> None:
        """Record the id of the job whose intent was ``base``."""
        self.write({"event": "submitted", "id": job_id, "time": _now(), **base})

    def failed(self, base: dict[str, Any], error: BaseException) -> None:
        """Record that the submit of ``base`` failed (its job may still exist: a failure
        after the request was sent), so the intent is not reported as an unknown job."""
        self.write({"event": "failed", "error": type(error).__name__, "time": _now(), **base})

    def mark(self, job_id: str, outcome: str, label: str, status: str | None = None) -> None:
        """Record what a cleanup established for a job (``cancelled``, ``already_final``,
        ``not_found``; ``status``: its Qiskit status name)."""
        assert outcome in _MARKS
        self.write({"event": outcome, "id": job_id, "status": status, "url": self.url,
                    "time": _now(), "label": label, "pid": os.getpid(),
                    "host": socket.gethostname()})

    def note(self, event: str, **fields: Any) -> None:
        """Record something else than a job (a watchdog's report): readers skip it."""
        assert event not in _MARKS | {"intent", "submitted", "failed"}
        self.write({"event": event, "time": _now(), "pid": os.getpid(),
                    "host": socket.gethostname(), **fields})

    def close(self) -> None:
        """Close the descriptor (a later write opens it again)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


@dataclass
class LedgerContents:
    """What a ledger holds, read back.

    Attributes:
        jobs: Job id -> its ``submitted`` record (first seen), in the order written.
        unknown: ``intent`` records with neither a ``submitted`` nor a ``failed`` one: a
            job may exist whose id was never known.
        marks: Job id -> the last cleanup mark (``cancelled``, ...) and its record.
        skipped: Lines that could not be read (``file:line``), each warned about.
        labels: Job id -> every label it was recorded with (scopes sharing a ledger, nested
            scopes: one job, several records).
        records: How many records were read (0: an empty ledger, such as the directory of
            a run that submitted nothing, or the wrong directory).
    """

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    marks: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    labels: dict[str, set[str]] = field(default_factory=dict)
    records: int = 0
    #: Each unknown intent's ``ref@time`` -> its position among the ledger's unknown intents,
    #: kept by :meth:`only`: an unknown job has one number however the ledger is split.
    positions: dict[str, int] = field(default_factory=dict)

    def number(self, intent: dict[str, Any]) -> int:
        """The position of the unknown ``intent`` among the whole ledger's."""
        return self.positions.get(_intent_key(intent), -1)

    def urls(self) -> set[str]:
        """Every API URL the jobs and the unknown intents went to."""
        return {str(r.get("url")) for r in (*self.jobs.values(), *self.unknown)}

    def only(self, *, url: str | None = None, label: str | None = None) -> LedgerContents:
        """The jobs and unknown intents recorded for ``url`` and with ``label`` (``None``:
        any); the marks are kept whoever wrote them (a job settled is settled)."""
        def kept(record: dict[str, Any], labels: set[str]) -> bool:
            return (url is None or record.get("url") == url) and \
                (label is None or label in labels)
        return replace(self, jobs={i: r for i, r in self.jobs.items()
                                   if kept(r, self.labels.get(i, set()))},
                       unknown=[r for r in self.unknown if kept(r, {str(r.get("label"))})])


@contextlib.contextmanager
def locked(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the ledger (a file or a directory) for a cleanup, so
    two cleanups of one ledger (two watchdogs, a watchdog and ``ionq-cancel --ledger``) take
    turns: the second reads the first's marks and sends nothing for the jobs it settled.
    Writers of records take no lock (``O_APPEND`` orders them). A ledger that cannot be
    opened is not locked: reading it reports why."""
    try:
        import fcntl  # POSIX; here, not at the top: the ledger is written on any system
        fd = os.open(path, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        _lock(fd, path, fcntl)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock(fd: int, path: str | os.PathLike[str], fcntl: Any) -> None:
    """Take the lock, waiting while another cleanup holds it, within the call's deadline
    (its deadline scope): a lock still held when it runs out is not waited for (the
    cleanup then has no time left to send anything: its jobs are reported not reached).
    Tried every :data:`SIGNAL_POLL` seconds rather than blocked on: a main thread blocked in
    ``flock`` would let no Ctrl-C in, and would outlive any deadline."""
    deadline = current() or Deadline(None)  # none: wait on, letting a Ctrl-C in
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if deadline.expired or deadline.interrupted:
                logger.warning("Job ledger %s: another cleanup still held it when the "
                               "deadline ran out; not waiting for it", path)
                return
            deadline.wait(SIGNAL_POLL)
        except OSError as exc:  # NFS emulates flock with POSIX locks, which a read-only
            # descriptor cannot take: the cleanups then only may overlap (a second cancel of
            # a job is harmless; it is reported twice)
            logger.info("Job ledger %s: not locked (%s)", path, exc.strerror or exc)
            return


def _files(path: Path) -> Iterator[Path]:
    if path.is_dir():
        yield from sorted(p for p in path.iterdir() if p.suffix == ".jsonl" and p.is_file())
    else:
        yield path


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, bool]:
    """One line's record, and whether a torn record was in front of it: a torn write (a
    writer killed mid-write) with another writer's record appended after it gives that
    record at the line's end. A record is a JSON object with a format version ``v`` and an
    ``event``: any other line (of a file that is not a ledger, say) is not one."""
    for start in (0, raw.rfind(b'{"v":')):
        if start < 0:
            continue
        try:
            record = json.loads(raw[start:])
        except ValueError:  # (bytes that are not UTF-8 too: UnicodeDecodeError)
            continue
        if isinstance(record, dict) and "v" in record and isinstance(record.get("event"), str):
            return record, start > 0
    return None, True


def _not_a_ledger(file: Path, unreadable: int) -> UsageError:
    return UsageError(
        f"{str(file)!r} holds no ledger records ({plural(unreadable, 'line')} unreadable): "
        f"is it a ledger? Give the file or directory the program wrote (its ledger= or "
        f"{ENV_VAR}); nothing was sent.")


def _warn_skipped(file: Path, lines: int, skipped: list[tuple[int, bool]]) -> None:
    """One warning for the lines of ``file`` that are not whole records: a torn last line
    (a writer killed mid-write), the torn start of a line another writer appended to, and
    any other line, which no writer of a ledger leaves (the file is damaged, or holds
    something else too)."""
    last = [n for n, whole in skipped if whole and n == lines]
    starts = [n for n, whole in skipped if not whole]
    middle = [n for n, whole in skipped if whole and n != lines]
    parts = []
    if last:
        parts.append(f"its last line, {file}:{last[0]}, not a whole record (a writer killed "
                     "mid-write)")
    if starts:
        many = "a line" if len(starts) == 1 else f"{len(starts)} lines"
        parts.append(f"the start of {many} ({_where(file, starts)}), "
                     "a record torn by a writer killed mid-write (the record appended after "
                     "it is read)")
    if middle:
        parts.append(f"{plural(len(middle), 'line')} ({_where(file, middle)}) that "
                     f"{'is' if len(middle) == 1 else 'are'} not a ledger record: the file is "
                     "damaged, or holds more than the ledger")
    logger.warning("Job ledger %s: skipped %s", file, "; and ".join(parts))


def _where(file: Path, numbers: list[int]) -> str:
    """``file:3``, ``file:3, 7, 9``: at most five line numbers."""
    shown = ", ".join(map(str, numbers[:5]))
    return f"{file}:{shown}" + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")


def read_ledger(path: str | os.PathLike[str], *, warn: bool = True) -> LedgerContents:
    """Read a ledger file, or every ``*.jsonl`` file of a ledger directory.

    A line that is not a whole record (the last one, torn by a writer killed mid-write) is
    skipped, with one warning a file (``warn``) naming how many; every other record is used.

    Raises:
        UsageError: The path does not exist or cannot be read; a file holds no ledger
            record but lines that are not (it is not a ledger); a record is of a format
            version this package does not read.
    """
    root = Path(path)
    if not root.exists():
        raise UsageError(f"The job ledger {str(root)!r} does not exist: give the file or "
                         f"directory the program wrote (its ledger= or {ENV_VAR}).")
    contents = LedgerContents()
    intents: list[dict[str, Any]] = []  # in the order written
    # Ref -> the positions in ``intents`` of its intents not yet ended: an ending closes the
    # latest one (a file kept for long can hold two runs of one pid, hence one ref).
    open_intents: dict[str, list[int]] = {}
    for file in _files(root):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise UsageError(f"The job ledger {str(file)!r} cannot be read "
                             f"({exc.strerror or exc}).") from None
        records: list[dict[str, Any]] = []
        skipped: list[tuple[int, bool]] = []  # (line number, the whole line unreadable)
        lines = data.splitlines()
        last = max((n for n, raw in enumerate(lines, 1) if raw.strip()), default=0)
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            record, torn = _parse(raw)
            if torn:
                skipped.append((number, record is None))
            if record is None:
                continue
            if record["v"] != VERSION:
                raise UsageError(
                    f"The job ledger {str(file)!r}, line {number}, is a record of format "
                    f"version {record['v']!r}; this version of qiskit-ionq-cancel reads "
                    f"version {VERSION} only: run the cleanup with the version that wrote "
                    "it (or a newer one); nothing was sent.")
            records.append(record)
        # A line beginning as a record does is a torn one (a file of one torn record is a
        # ledger whose writer died in its first write); without any, it is not a ledger.
        if skipped and not records and not any(
                lines[n - 1].lstrip().startswith(b'{"v":') for n, _ in skipped):
            raise _not_a_ledger(file, len(skipped))
        if skipped and warn:
            _warn_skipped(file, last, skipped)
        contents.skipped += [f"{file}:{number}" for number, _ in skipped]
        contents.records += len(records)
        for record in records:
            event = record["event"]
            ref = str(record.get("ref"))
            if event == "intent":
                open_intents.setdefault(ref, []).append(len(intents))
                intents.append(record)
            elif event in ("submitted", "failed"):
                if open_intents.get(ref):
                    open_intents[ref].pop()
                if event == "submitted" and isinstance(record.get("id"), str):
                    contents.jobs.setdefault(record["id"], record)
                    contents.labels.setdefault(record["id"], set()).add(
                        str(record.get("label")))
            elif event in _MARKS and isinstance(record.get("id"), str):
                contents.marks[record["id"]] = record
    still_open = sorted(n for positions in open_intents.values() for n in positions)
    contents.unknown = [intents[n] for n in still_open]
    contents.positions = {_intent_key(r): n for n, r in enumerate(contents.unknown)}
    return contents


def _intent_key(intent: dict[str, Any]) -> str:
    """What tells an intent apart: its ref, and its time (two runs of one pid share refs)."""
    return f"{intent.get('ref')}@{intent.get('time')}"
