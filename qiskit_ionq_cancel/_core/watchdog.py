"""The parent's side of ``cancel_on_exit(watchdog=True)``: a process that outlives this one.

A scope with a watchdog starts ``ionq-cancel watch`` (``subprocess``, never a fork of this
process) in a session of its own, so a signal to this process's group (a terminal's SIGHUP,
a kernel restart) does not reach it. The watchdog's stdin is the read end of a pipe whose
only write end this process holds: when this process dies in any way, SIGKILL included, the
kernel closes it and the watchdog reads end-of-file. It then cancels the jobs the scope's
ledger records (each submit in the scope writes its intent and its id there, as a provider's
ledger does) and writes its report there. A scope that ends sends ``stand down`` first.

The pipe is a connected pair of Unix stream sockets (``socket.socketpair``), read as the
watchdog's stdin like any pipe: a socket can be written with ``MSG_NOSIGNAL``, so a watchdog
that died gives this process ``EPIPE``, never SIGPIPE, even where the program made SIGPIPE
fatal again (``signal.signal(SIGPIPE, SIG_DFL)``, as some command-line tools do).

The API key goes down the pipe, once per API URL, before the first submit to it: never on
the watchdog's command line or in its environment (key-like variables are left out of it).
The write end is close-on-exec and non-inheritable (PEP 446's default for sockets), and
closed in children forked from this process (``os.register_at_fork``), so no child keeps the
watchdog waiting after this process died.

A watchdog that dies or never starts must not stop the program: this side logs one warning
per scope, naming the ledger (``ionq-cancel --ledger`` cancels what it records), and goes on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .ledger import Ledger, default_label

__all__ = ["READY", "STAND_DOWN", "Watchdog", "submit_ledgers", "watching"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: The line the watchdog prints once it is ready (its imports done) to notice a death.
READY = b"ready\n"
#: The message that tells the watchdog its scope ended: exit without cancelling.
STAND_DOWN = {"stand_down": True}
#: Seconds the first submit waits for the watchdog to be ready (Python and Qiskit imported).
READY_WAIT = 60.0
#: Seconds a scope's end waits for its watchdog to exit after ``stand down``.
EXIT_WAIT = 10.0
#: Environment variables the watchdog does not inherit (it gets its key on the pipe).
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL", re.IGNORECASE)

_open_ends: set[socket.socket] = set()  # write ends of this process's live watchdogs' pipes
_open_ends_lock = threading.Lock()
_watchdogs: weakref.WeakSet[Watchdog] = weakref.WeakSet()  # this process's, for a fork


def _close_in_child() -> None:
    """In a child forked from this process: close every watchdog's write end, so that only
    this process keeps its watchdogs waiting (detached first: the socket objects must not
    close the same numbers again later, when another file may have them). The locks are
    new: a thread of the parent may have held one at the fork (a first submit holds its
    watchdog's while it waits for it to be ready), and that thread is not in the child,
    so the child's scope's end waited for it forever."""
    global _open_ends_lock
    _open_ends_lock = threading.Lock()
    for watchdog in list(_watchdogs):
        watchdog._lock = threading.Lock()
    for end in list(_open_ends):
        with contextlib.suppress(OSError):
            os.close(end.detach())
    _open_ends.clear()


if hasattr(os, "register_at_fork"):  # POSIX (the watchdog is POSIX-only)
    os.register_at_fork(after_in_child=_close_in_child)

_watching = threading.local()  # per thread: the watchdogs of the scopes owning its submit


@contextlib.contextmanager
def watching(watchdogs: Sequence[Watchdog]) -> Iterator[None]:
    """Inside the block, this thread's submits are recorded in ``watchdogs``' ledgers."""
    previous: tuple[Watchdog, ...] = getattr(_watching, "now", ())
    _watching.now = tuple(watchdogs)
    try:
        yield
    finally:
        _watching.now = previous


def submit_ledgers(url: str, key: str | None) -> list[Ledger]:
    """The ledgers this thread's submit to ``url`` is recorded in besides its provider's:
    those of the watchdogs of the scopes that own it (each has been given ``key``)."""
    return [w.ledger_for(url, key) for w in getattr(_watching, "now", ())]


def _environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items()
            if not _SECRET_NAME.search(name)}


class Watchdog:
    """One scope's watchdog process and the ledger it holds.

    Args:
        ledger: The scope's ledger file; ``None``: a temporary one,
            ``ionq-cancel-watch-<pid>-*.jsonl`` in the temporary directory (its path is
            logged; it is removed when the scope ends and the watchdog stood down).
        deadline: Seconds the watchdog's cancel may take.
    """

    def __init__(self, ledger: str | os.PathLike[str] | None, deadline: float) -> None:
        self.temporary = ledger is None
        if ledger is None:
            fd, name = tempfile.mkstemp(prefix=f"ionq-cancel-watch-{os.getpid()}-",
                                        suffix=".jsonl")
            os.close(fd)
            ledger = name
        #: The ledger file the scope's submits are recorded in, and the watchdog reads.
        self.path = Path(ledger).absolute()
        #: Only this scope's records are the watchdog's to cancel (a ledger may be shared).
        self.label = f"{default_label()}:watch-{uuid.uuid4().hex[:12]}"
        self._ledgers: dict[str, Ledger] = {}
        self._keyed: set[str] = set()  # the URLs whose key the watchdog was handed
        self._lock = threading.Lock()
        self._warned = False
        self._ready = False
        self._write: socket.socket | None = None
        self._owner = os.getpid()  # a forked child's copy of this object is inert
        _watchdogs.add(self)
        #: The watchdog process; ``None`` when it could not be started.
        self.process: subprocess.Popen[bytes] | None = None
        try:
            self.process = self._start(deadline)
        except OSError as exc:  # no descriptors or processes left, no interpreter to run:
            # the program goes on (its submits still recorded in the ledger), warned once
            self._warn(f"could not be started ({exc.strerror or exc})")
            return
        logger.info("cancel_on_exit: watchdog pid %d holds the job ledger %s",
                    self.process.pid, self.path)

    def _start(self, deadline: float) -> subprocess.Popen[bytes]:
        write, read = socket.socketpair()  # both close-on-exec and non-inheritable
        try:
            read.shutdown(socket.SHUT_WR)  # one way: the program writes, the watchdog reads
            write.shutdown(socket.SHUT_RD)
            process = subprocess.Popen(  # noqa: S603 (our own command, no shell)
                [sys.executable, "-m", "qiskit_ionq_cancel.cli", "watch", "--ledger",
                 str(self.path), "--label", self.label, "--deadline", f"{deadline:g}"],
                stdin=read.fileno(), stdout=subprocess.PIPE, start_new_session=True,
                env=_environment())
        except BaseException:
            write.close()
            raise
        finally:
            read.close()
        with _open_ends_lock:
            self._write = write
            _open_ends.add(write)
        return process

    @property
    def pid(self) -> int | None:
        """The watchdog's process id (``None``: it could not be started)."""
        return None if self.process is None else self.process.pid

    def ledger_for(self, url: str, key: str | None) -> Ledger:
        """The ledger a submit to ``url`` is recorded in; the first for this URL that has
        a key hands the watchdog ``key`` (after waiting for it to be ready). A job whose
        client holds no key (one tracked by hand) is recorded all the same: a later submit
        to the URL brings the key (the watchdog keeps the first it is given)."""
        with self._lock:
            ledger = self._ledgers.get(url)
            if ledger is None:
                self._wait_ready()
                ledger = self._ledgers[url] = Ledger(self.path, url, label=self.label,
                                                     secret=key)
            else:
                self.check()
            if key and url not in self._keyed:
                self._send({"url": url, "key": str(key),
                            "insecure": url.startswith("http://")})
                self._keyed.add(url)
            return ledger

    def check(self) -> None:
        """Warn (once) if the watchdog has exited while its scope is open."""
        if os.getpid() != self._owner or self.process is None:
            return
        code = self.process.poll()
        if code is not None:
            self._warn(f"exited (code {code})")

    def _wait_ready(self) -> None:
        if self._ready or self._warned or not self._mine():
            return
        assert self.process is not None and self.process.stdout is not None  # (_mine)
        stdout = self.process.stdout
        limit = time.monotonic() + READY_WAIT
        while True:  # select, not a bare read: a watchdog that hangs must not block us
            left = limit - time.monotonic()
            if left <= 0 or not select.select([stdout], [], [], left)[0]:
                self._warn(f"was not ready after {READY_WAIT:g} s")
                return
            line = stdout.readline()
            if line == READY:
                self._ready = True
                stdout.close()  # the watchdog prints nothing more
                return
            if not line:  # it exited
                self.process.wait()
                self._warn(f"exited at its start (code {self.process.returncode})")
                return

    def _mine(self) -> bool:
        """Whether this process started the watchdog (not a child forked since, whose copy
        of the write end was closed at the fork: its number may name another file now)."""
        return self._write is not None and os.getpid() == self._owner

    def _send(self, message: dict[str, Any]) -> None:
        end = self._write
        if end is None or not self._mine():
            return
        try:
            end.sendall((json.dumps(message) + "\n").encode(), socket.MSG_NOSIGNAL)
        except OSError as exc:  # EPIPE, ECONNRESET: it died
            self._warn(f"cannot be reached ({exc.strerror or exc})")

    def _warn(self, what: str) -> None:
        if self._warned:
            return
        self._warned = True
        logger.warning(
            "cancel_on_exit: the watchdog%s %s: if this process dies now, the "
            "scope's jobs are not cancelled. They are recorded in the job ledger %s; "
            "'ionq-cancel --ledger %s' cancels them.",
            "" if self.process is None else f" (pid {self.process.pid})", what, self.path,
            self.path)

    def _close_pipe(self) -> None:
        with _open_ends_lock:
            if self._write is not None:
                _open_ends.discard(self._write)
                self._write.close()
                self._write = None

    def stand_down(self) -> None:
        """The scope ended: tell the watchdog to exit without cancelling, and wait for it
        (killed after :data:`EXIT_WAIT` s: it never outlives its work)."""
        process = self.process
        if process is None:  # never started: only the ledgers' descriptors to close
            self._close_ledgers()
            return
        with self._lock:
            if not self._mine():
                return
            if process.poll() is not None:
                self.check()
            elif self._ledgers:
                self._send(STAND_DOWN)
            else:  # it was handed nothing (no submit): nothing to stand down from
                process.kill()
            self._close_pipe()
        try:
            process.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            logger.warning("cancel_on_exit: the watchdog (pid %d) did not stand down within "
                           "%g s; stopping it", process.pid, EXIT_WAIT)
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._close_ledgers()
        if self.temporary and not self._warned:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def _close_ledgers(self) -> None:
        for ledger in self._ledgers.values():  # their descriptors (a late write reopens)
            ledger.close()

    def abandon(self) -> None:
        """This process is exiting with the scope open: close the pipe without standing
        down, so the watchdog cancels the scope's jobs (in its own time, not this exit's)."""
        with self._lock:
            if not self._mine():
                return
            self.check()
            self._close_pipe()
        if self.process is not None and self.process.poll() is None:
            logger.warning("cancel_on_exit: the interpreter exits with the scope open; its "
                           "watchdog (pid %d) cancels its unfinished jobs and writes its "
                           "report to %s", self.process.pid, self.path)
