"""The ``ionq-cancel`` command: ``cancel`` (the default), ``status``, ``demo``, ``emulator`` and
``watch`` (the watchdog ``cancel_on_exit(watchdog=True)`` starts: :mod:`.watch`).

``ionq-cancel ID ...`` is short for ``ionq-cancel cancel ID ...``. Exit codes (each means one
thing; :data:`.messages.EXIT_CODES`): 0 done (every job cancelled or already final;
``status``: every job found), or nothing to do (no job matched a filter, the confirmation was
answered no); 1 not done: some job could not be cancelled (``status``: not found), or IonQ
could not be reached or did not answer; 2 a usage or input error, IonQ refused the key, or
the API URL is wrong (nothing was cancelled); 130 interrupted (Ctrl-C); 141 the output pipe
was closed; 143 terminated (SIGTERM). The API key is read from ``IONQ_API_KEY`` (as
qiskit-ionq reads it) or ``--api-key-file``, never from the command line, and never printed.
What the library raises is put in the command's words in :mod:`.messages`.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import errno
import gc
import json
import logging
import math
import os
import re
import shlex
import socket
import sys
import textwrap
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, NoReturn

from qiskit_ionq.exceptions import IonQTranspileLevelWarning

from .._core.deadline import Deadline, current, scope
from .._core.ledger import LedgerContents, read_ledger
from .._core.sigterm import TERMINATED, SigtermAsExit
from .._core.status import CANCELLABLE, FINAL, to_job_status
from .._core.validation import check_selection
from .._core.version import __version__
from .._http.client import IonQCancelClient
from .._redact import shown, worth_hiding
from ..bulk import cancel_jobs
from ..emulator import BACKENDS, FINISHED_CANCEL_MODES, Emulator, Price
from ..emulator.faults import RANDOM_KINDS
from ..exceptions import (
    AuthenticationError,
    InvalidSelectionError,
    NoAnswerError,
    UnknownJobStatusError,
    UnreachableError,
    UsageError,
    WrongBaseURLError,
)
from ..ledger import CHECK_READY, cancel_ledger, ledger_url, unknown_key, unknown_note
from ..provider import IonQProvider
from ..report import CancelReport, plural
from ..retry import RetryPolicy
from ..single import env_api_key
from .inputs import NO_KEY_HINT, BadUsage, api_key, api_url, read_ids
from .messages import Why, describe, plain
from .output import Console, JobLine, Outcome, jobs_json, jobs_table
from .watch import watch

#: Seconds ``cancel`` and ``status`` may take at most, unless ``--deadline`` says otherwise.
DEFAULT_DEADLINE = 30.0
#: Exit codes besides 0, 1 and 2 (see the module's docstring).
INTERRUPTED, PIPE_CLOSED = 130, 141
_COMMANDS = ("cancel", "status", "demo", "emulator", "watch")
_GLOBAL_OPTION = re.compile(r"-v+|--verbose|--debug")
#: Options that would put a secret on the command line (``--api-key-file`` is fine).
_KEY_OPTION = re.compile(
    r"--(?![\w-]*file(?:=|$))[\w-]*(key|token|secret|passw|auth)[\w-]*(=.*)?", re.IGNORECASE)
#: Options of ``cancel`` and ``status`` that take a value (the next argument, unless
#: ``--option=value``): that value is never a command, wherever it stands.
_VALUE_OPTIONS = frozenset({"--from-file", "--url", "--api-key-file", "--deadline", "--status",
                            "--target", "--session", "--ledger", "--label"})


def _takes_value(arg: str) -> bool:
    """Whether the argument after ``arg`` is its value (never a command or a job id): a
    value option's, or a key-like option's (refused later, and its value never shown)."""
    return arg in _VALUE_OPTIONS or (_KEY_OPTION.fullmatch(arg) is not None and "=" not in arg)


#: A word meant as a command, not a job id (which has digits and hyphens in its places).
_WORD = re.compile(r"[A-Za-z]+(?:[-_][A-Za-z]+)*")


class _Formatter(argparse.HelpFormatter):
    """argparse's, except that lines never break at a hyphen: 'ionq-cancel --ledger PATH'
    stays whole, to be copied."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


class _Parser(argparse.ArgumentParser):
    """argparse, except that its error messages never show the value of a key-like option
    (``--api-key KEY``, ``--token=...``), nor IONQ_API_KEY's key; other values typed are
    shown as typed."""

    #: The values given to key-like options in the command being parsed.
    hidden: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        head, sep, rest = message.partition("unrecognized arguments: ")
        if sep:
            rest = " ".join(self._masked(word) for word in rest.split(" "))
        message = _QUOTED.sub(lambda m: "'***'" if m[1] in self.hidden else m[0],
                              head + sep + rest)
        key = env_api_key()
        console = Console()
        console.hide(key)
        # One message wrapped to the terminal, and where to read more: argparse's own prints
        # the command's whole synopsis above an unwrapped line.
        console.err(f"{self.prog}: {message}. See '{self.prog} --help'.")
        self.exit(2)

    def _masked(self, word: str) -> str:
        option, equals, value = word.partition("=")
        if word in self.hidden:
            return "***"
        return f"{option}=***" if equals and word.startswith("-") and value in self.hidden \
            else word


_QUOTED = re.compile(r"'([^']*)'")


def _hidden_values(argv: Sequence[str]) -> frozenset[str]:
    """The values of key-like options in ``argv`` (``--api-key K``, ``--api-key=K``)."""
    hidden: set[str] = set()
    for position, arg in enumerate(argv):
        match = _KEY_OPTION.fullmatch(arg)
        if match and match[2]:
            hidden.add(match[2][1:])
        elif match and position + 1 < len(argv):
            hidden.add(argv[position + 1])
    return frozenset(hidden)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ionq-cancel",
        description="Truthful cancels of IonQ jobs, and a local emulator of IonQ's v0.4 API.",
        epilog="'ionq-cancel ID ...' is short for 'ionq-cancel cancel ID ...'. The API key "
               "comes from IONQ_API_KEY or --api-key-file, never from the command line. "
               "Exit codes: 0 done or nothing to do, 1 not done (a job not cancelled or not "
               "found, IonQ unreachable), 2 usage error, wrong key or URL (nothing "
               "cancelled), 130 interrupted, 141 output pipe closed, 143 terminated.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    logs = _Parser(add_help=False)  # also after the command (their own names: argparse
    # would let the command's defaults overwrite what was given before it)
    logs.add_argument("-v", "--verbose", action="count", default=0, dest="sub_verbose",
                      help="show what happens (-v: info, -vv: debug)")
    logs.add_argument("--debug", action="store_true", dest="sub_debug",
                      help="show every detail of an error, with logs (the key hidden)")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="show what happens (-v: info, -vv: debug)")
    parser.add_argument("--debug", action="store_true",
                        help="show every detail of an error, with logs (the key hidden)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = _Parser(add_help=False)
    common.add_argument("ids", nargs="*", metavar="ID", help="IonQ job id")
    common.add_argument("--from-file", metavar="FILE", help="read ids from FILE ('-': stdin), "
                        "one a line; blank lines and '#' comments are ignored")
    common.add_argument("--json", action="store_true", help="print machine-readable JSON")
    common.add_argument("--url", help="IonQ API URL (default: IONQ_API_URL, else "
                        "https://api.ionq.co/v0.4)")
    common.add_argument("--api-key-file", metavar="FILE",
                        help="read the API key from FILE's first line (default: IONQ_API_KEY)")
    common.add_argument("--allow-insecure-http", action="store_true",
                        help="allow a plain http:// URL to a host other than this machine "
                             "(the key then travels unencrypted)")
    common.add_argument("--deadline", type=_seconds, default=DEFAULT_DEADLINE,
                        metavar="SECONDS", help="give up on what is not done after SECONDS, "
                        f"the whole command included (default {DEFAULT_DEADLINE:g})")

    cancel = commands.add_parser(
        "cancel", parents=[common, logs], allow_abbrev=False,
        help="cancel jobs by id or by filter, then report what each one really is (default)",
        description="Cancel IonQ jobs, read each back, and report it. Give ids, or a filter "
                    "(which asks for confirmation unless --yes).")
    _filters(cancel, CANCELLABLE)
    cancel.add_argument("--dry-run", action="store_true",
                        help="show what would be cancelled, change nothing")
    cancel.add_argument("-y", "--yes", action="store_true",
                        help="cancel the jobs a filter matches without asking")
    cancel.add_argument("--price", action=argparse.BooleanOptionalAction, default=None,
                        help="say what the jobs cancelled were expected to cost (IonQ's "
                             "estimate from GET /jobs/{id}/cost and /jobs/estimate, not a "
                             "refund), fetched beside the cancel; it never delays a verdict "
                             "(default: on for up to 1,000 jobs, off above)")
    cancel.add_argument("--ledger", metavar="PATH",
                        help="cancel every unfinished job a job ledger (a file, or a "
                             "directory of them) records, and mark what was done in it")

    status = commands.add_parser(
        "status", parents=[common, logs], allow_abbrev=False,
        help="show jobs without changing them",
        description="Show IonQ jobs' status without changing them. Give ids, or a filter, "
                    "or --ledger.")
    _filters(status, (*CANCELLABLE, *FINAL))
    status.add_argument("--ledger", metavar="PATH",
                        help="show every job a job ledger (a file, or a directory of them) "
                             "records, and each submit whose id it never got")

    demo = commands.add_parser(
        "demo", parents=[logs], allow_abbrev=False,
        help="cancel jobs on the built-in emulator and show what cancel() returns",
        description="Start the built-in emulator, submit two Bell circuits, cancel one while "
                    "it is queued and let the other finish, then try to cancel that one too. "
                    "Each line printed is checked against the emulator's own state; exit 0 "
                    "when all hold, 1 when one does not. Needs no API key and no network.")
    demo.add_argument("--queue-time", type=_positive, default=1.5, metavar="S",
                      help="seconds a job is queued (default 1.5)")

    emu = commands.add_parser(
        "emulator", parents=[logs], allow_abbrev=False,
        help="serve the IonQ v0.4 jobs API emulator",
        description="Serve an emulator of IonQ's v0.4 jobs API on this machine, for trying "
                    "ionq-cancel and for tests, until Ctrl-C. Jobs are queued for "
                    "--queue-time seconds, then run for --run-time. To have a job to cancel, "
                    "start with --preload N (N queued jobs) and a --queue-time long enough "
                    "to type the command, e.g. 'ionq-cancel emulator --port 8001 "
                    "--preload 3 --queue-time 600', then, in another terminal, "
                    "'IONQ_API_KEY=any IONQ_API_URL=http://127.0.0.1:8001/v0.4 "
                    "ionq-cancel status --status ready'.")
    emu.add_argument("--host", default="127.0.0.1", help="address to listen on "
                     "(default 127.0.0.1)")
    emu.add_argument("--port", type=_port, default=0,
                     help="port, 0-65535 (default 0: a free one, printed at start)")
    emu.add_argument("--api-key", action="append", default=[], metavar="KEY",
                     help="accept only this key (repeatable; default: any non-empty key)")
    emu.add_argument("--queue-time", type=_non_negative, default=1.0, metavar="S",
                     help="seconds a job waits as 'ready' (default 1; make it long, e.g. "
                          "600, to have time to cancel)")
    emu.add_argument("--run-time", type=_non_negative, default=0.5, metavar="S",
                     help="seconds a job runs as 'started' (default 0.5)")
    emu.add_argument("--latency", type=_non_negative, default=0.0, metavar="S",
                     help="seconds added to every answer")
    emu.add_argument("--rate-limit", type=_positive, default=None, metavar="PER_S",
                     help="requests a second before answering 429")
    emu.add_argument("--retry-after", choices=("seconds", "date", "none"), default="seconds",
                     help="how a 429 says when to retry (default seconds)")
    emu.add_argument("--fault-rate", type=_share, default=0.0, metavar="P",
                     help="share of answers replaced by a fault (0..1)")
    emu.add_argument("--fault-kinds", type=_fault_kinds, default=list(RANDOM_KINDS),
                     metavar="KINDS",
                     help=f"comma-separated faults to draw from (default {','.join(RANDOM_KINDS)})")
    emu.add_argument("--seed", type=int, default=None, help="seed for ids and faults")
    emu.add_argument("--finished-cancel", choices=FINISHED_CANCEL_MODES, default="conflict",
                     metavar="MODE",
                     help="what cancelling a finished job answers: "
                          f"{', '.join(FINISHED_CANCEL_MODES)} (default conflict: a 409)")
    emu.add_argument("--preload", type=_count(0), default=0, metavar="N",
                     help="start with N queued one-qubit jobs, to cancel (default 0)")
    emu.add_argument("--no-bulk", action="store_true",
                     help="answer 404 to the bulk cancel endpoint")
    emu.add_argument("--rate-burst", type=_at_least_one, default=None, metavar="N",
                     help="requests the rate limit lets through at once (default: a tenth "
                          "of a second's worth)")
    emu.add_argument("--page-cap", type=_count(1), default=None, metavar="N",
                     help="pages of GET /jobs hold at most N jobs, whatever limit asks")
    emu.add_argument("--max-in-flight", type=_count(1), default=None, metavar="N",
                     help="answer 503 to requests beyond N being handled at once")
    emu.add_argument("--log-size", type=_count(1), default=100_000, metavar="N",
                     help="requests the request log keeps, oldest dropped (default 100000)")
    emu.add_argument("--price", type=_price, action="append", default=[],
                     metavar="BACKEND=JSON",
                     help="the emulator's price table (not the cancel command's --price): "
                          "what a QPU charges, as IonQ's rate card entry (repeatable), e.g. "
                          "qpu.forte-1='{\"unit\": \"compute_second\", \"unit_cost\": 1.5}' "
                          "or qpu.forte-1='{\"unit\": \"gates\", \"cost_1q_gate\": 0.0002, "
                          "\"cost_2q_gate\": 0.002, \"job_cost_minimum\": 5}'; "
                          "\"currency\": \"credit\" to bill in credits (default: example "
                          "figures, not IonQ's prices)")
    watcher = commands.add_parser(
        "watch", parents=[logs], allow_abbrev=False,
        help="the watchdog cancel_on_exit(watchdog=True) starts: cancel a program's jobs "
             "when it dies",
        description="The watchdog process of cancel_on_exit(watchdog=True), which starts it "
                    "with a pipe as its stdin. It prints 'ready', then reads the pipe: the API "
                    "key for each URL (never on the command line or in the environment), or "
                    "'stand down' (exit 0, nothing cancelled). When the pipe closes without "
                    "'stand down', the program died with its scope open: it cancels the "
                    "unfinished jobs the ledger records (those of --label), marks them there, "
                    "writes its report there and exits: 0 every job cancelled or already "
                    "final, 1 some job not (run 'ionq-cancel --ledger PATH' to see each), 2 "
                    "the ledger cannot be read.")
    watcher.add_argument("--ledger", metavar="PATH", required=True,
                         help="the job ledger the scope records its submits in")
    watcher.add_argument("--label", metavar="LABEL", default=None,
                         help="cancel only the jobs recorded with this label (default: all)")
    watcher.add_argument("--deadline", type=_seconds, default=DEFAULT_DEADLINE,
                         metavar="SECONDS", help="give up on what is not cancelled after "
                         f"SECONDS (default {DEFAULT_DEADLINE:g})")
    return parser


def _filters(parser: argparse.ArgumentParser, statuses: Sequence[str]) -> None:
    found = parser.add_argument_group("filter (instead of ids)")
    found.add_argument("--status", choices=statuses, metavar="STATUS",
                       help=f"jobs with this IonQ status: {', '.join(statuses)}")
    found.add_argument("--target", metavar="BACKEND", help="jobs on this backend, e.g. simulator")
    found.add_argument("--session", metavar="SESSION_ID", help="jobs of this session")


# -- argument types: each refuses what the command cannot use, as a usage error (exit 2) --
def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, not {text!r}")
    return value


def _price(text: str) -> tuple[str, Price]:
    backend, sep, spec = text.partition("=")
    priced = [b for b in BACKENDS if b != "simulator"]
    if not sep or backend not in priced:
        raise argparse.ArgumentTypeError(
            f"expected BACKEND=JSON with BACKEND one of {', '.join(priced)}, not {text!r}")
    try:
        fields = json.loads(spec)
        if not isinstance(fields, dict):
            raise ValueError("a price is a JSON object, e.g. {\"unit\": \"compute_second\", "
                             "\"unit_cost\": 1.5}")
        return backend, Price.from_fields(fields)
    except ValueError as exc:  # json.JSONDecodeError is one
        raise argparse.ArgumentTypeError(f"{backend}: {exc}") from None


def _seconds(text: str) -> float:
    value = _number(text) if text.strip().lower() not in ("nan", "inf", "-inf") else -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, not {text!r}")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, not {text!r}")
    return value


def _at_least_one(text: str) -> float:
    value = _number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, not {text!r}")
    return value


def _share(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a share from 0 to 1, not {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None


def _port(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535 (0: a free one), not {text!r}")
    return value


def _count(least: int) -> Callable[[str], int]:
    def count(text: str) -> int:
        value = _integer(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"expected {least} or more, not {text!r}")
        return value
    return count


def _fault_kinds(text: str) -> list[str]:
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    unknown = [kind for kind in kinds if kind not in RANDOM_KINDS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fault kind(s) {', '.join(map(repr, unknown))}; known: "
            f"{', '.join(RANDOM_KINDS)}")
    return kinds


# -- routing --------------------------------------------------------------------------------
def _route(argv: Sequence[str]) -> list[str]:
    """Put the command where argparse expects it: ``cancel`` is inserted unless a command or
    help is there; a command named after options (``--url U status ...``) is moved before
    them (no job id, option value or filter can be a command's name)."""
    args = list(argv)
    for position, arg in enumerate(args):
        if _GLOBAL_OPTION.fullmatch(arg):
            continue
        if arg in _COMMANDS or arg in ("-h", "--help", "--version"):
            return args
        later = next((i for i in range(position + 1, len(args)) if args[i] in _COMMANDS
                      and not _takes_value(args[i - 1])), None)
        if arg.startswith("-") and later is not None:
            return [*args[:position], args[later], *args[position:later], *args[later + 1:]]
        return [*args[:position], "cancel", *args[position:]]
    return args


def _unknown_command(argv: Sequence[str]) -> str | None:
    """The first word given where a command or a job id goes, when it is a word (letters,
    no digits: no job id) and not a command: ``ionq-cancel frobnicate``."""
    if any(arg in _COMMANDS and not (position and _takes_value(argv[position - 1]))
           for position, arg in enumerate(argv)):
        return None
    for position, arg in enumerate(argv):
        if arg.startswith("-") or (position and _takes_value(argv[position - 1])):
            continue
        id_like = len(arg) >= 8 and set(arg.lower()) <= set("0123456789abcdef-")
        return arg if _WORD.fullmatch(arg) and not id_like else None
    return None


def _options(parser: argparse.ArgumentParser) -> dict[str, bool]:
    """Each option string of ``parser`` -> whether it takes a value."""
    return {option: action.nargs != 0 for action in parser._actions
            for option in action.option_strings}


def _unknown_option(argv: Sequence[str]) -> tuple[str, str, str | None] | None:
    """The first option the command does not have (``--dryrun``, ``status --dry-run``), as
    (command, option, the closest it has or ``None``); argparse alone would print the
    top-level usage and 'unrecognized arguments', or take the option's value for a
    command (``--stauts ready``: "unknown command 'ready'"). Key-like options are left to
    their own refusal, and a value is never shown: only the option's name."""
    parser = _parser()
    top = _options(parser)
    command = next((arg for position, arg in enumerate(argv) if arg in _COMMANDS
                    and not (position and _takes_value(argv[position - 1]))), "cancel")
    chooser = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    known = {**top, **_options(chooser.choices[command])}
    skip = False
    for arg in argv:
        if skip or arg == "--":
            if arg == "--":
                break
            skip = False
            continue
        name = arg.partition("=")[0]
        if not arg.startswith("-") or arg == "-" or _KEY_OPTION.fullmatch(arg) \
                or _GLOBAL_OPTION.fullmatch(arg):
            continue
        if name in known:
            skip = known[name] and "=" not in arg
            continue
        close = difflib.get_close_matches(name, [o for o in known if o.startswith("--")], n=1,
                                          cutoff=0.7)
        return command, name, close[0] if close else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ionq-cancel``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(args)
    except BrokenPipeError:  # '| head' stopped reading: stop quietly, as git does
        _drop_output()
        return PIPE_CLOSED
    except KeyboardInterrupt:
        with contextlib.suppress(OSError):
            print("ionq-cancel: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # a bug (cancel and status say theirs in _jobs_command)
        console = Console()
        console.hide(env_api_key())
        text, code = describe(exc)
        console.err(f"ionq-cancel: {text}")
        if "--debug" in args:
            console.err(traceback.format_exc(), wrap=False)
        return code


def _drop_output() -> None:
    """Point stdout and stderr at /dev/null, so the interpreter's last flush of a closed
    pipe raises nothing."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                os.dup2(null, stream.fileno())


def _main(argv: list[str]) -> int:
    if not [arg for arg in argv if not _GLOBAL_OPTION.fullmatch(arg)]:
        _parser().print_help()  # a bare 'ionq-cancel': what it can do, nothing done
        return 2
    console = Console()
    console.hide(env_api_key())
    mistyped = _unknown_option(argv)
    if mistyped is not None:
        which, option, closest = mistyped
        console.err(f"ionq-cancel {which}: unknown option {option!r}"
                    f"{f'; did you mean {closest!r}?' if closest else '.'} See 'ionq-cancel "
                    f"{which} --help' for its options.")
        return 2
    unknown = _unknown_command(argv)
    if unknown is not None:
        close = difflib.get_close_matches(unknown, _COMMANDS, n=1)
        key = env_api_key()
        console.err(f"ionq-cancel: unknown command "
                    f"{shown(unknown, key if worth_hiding(key) else None)}"
                    f"{f'; did you mean {close[0]!r}?' if close else '.'} Commands: "
                    f"{', '.join(_COMMANDS)}; 'ionq-cancel ID ...' cancels jobs by id. See "
                    "'ionq-cancel --help'.")
        return 2
    argv = _route(argv)
    command = next((a for a in argv if a in _COMMANDS), None)
    if command in ("cancel", "status") and any(_KEY_OPTION.fullmatch(a) for a in argv):
        console.err(f"ionq-cancel {command}: refusing an API key on the command line; "
                    f"{NO_KEY_HINT}")
        return 2
    _Parser.hidden = _hidden_values(argv)
    args = _parser().parse_args(argv)
    args.verbose += args.sub_verbose
    args.debug = args.debug or args.sub_debug
    _log_to(console, args.verbose, args.debug)
    if args.command == "demo":
        return _demo(args)
    if args.command == "emulator":
        return _serve_emulator(args)
    if args.command == "watch":
        return watch(args, console)
    with scope(args.deadline) as deadline:  # the whole command, every request and wait
        args.deadline_left = deadline
        return _jobs_command(args, console)


# -- logs -----------------------------------------------------------------------------------
class _LogFormat(logging.Formatter):
    """``info: what happened``, in the command's words; with ``--debug``, the time, the
    logger and every detail. The key is taken out of both."""

    def __init__(self, console: Console, debug: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s" if debug else None)
        self.console = console
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if self.debug:
            return self.console.redact(super().format(record))
        return self.console.redact(f"{record.levelname.lower()}: {plain(record.getMessage())}")


_log_handler: logging.Handler | None = None


def _log_to(console: Console, verbosity: int, debug: bool) -> None:
    """Logs go to stderr with ``-v`` (info) or ``-vv`` / ``--debug`` (debug); without them,
    nowhere (what matters is in the command's own output)."""
    global _log_handler
    root = logging.getLogger()
    if _log_handler is not None:
        root.removeHandler(_log_handler)
    if not (verbosity or debug):
        _log_handler = logging.NullHandler()  # not even warnings: they are retries' noise
    else:
        _log_handler = logging.StreamHandler(sys.stderr)
        _log_handler.setFormatter(_LogFormat(console, debug))
        root.setLevel(logging.DEBUG if debug or verbosity > 1 else logging.INFO)
    root.addHandler(_log_handler)
    logging.captureWarnings(True)  # Python warnings are logs too: shown with -v


# -- demo and emulator ----------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    try:
        return run_demo(lambda line: print(line, flush=True), queue_time=args.queue_time)
    except KeyboardInterrupt:
        print("ionq-cancel demo: interrupted", file=sys.stderr)
        return INTERRUPTED


def _serve_emulator(args: argparse.Namespace) -> int:
    name = "ionq-cancel emulator"
    try:
        emulator = Emulator(
            host=args.host, port=args.port, api_keys=args.api_key,
            queue_time=args.queue_time, run_time=args.run_time, latency=args.latency,
            rate_limit=args.rate_limit, rate_burst=args.rate_burst,
            retry_after=args.retry_after, page_cap=args.page_cap,
            max_in_flight=args.max_in_flight,
            fault_rate=args.fault_rate, fault_kinds=args.fault_kinds,
            seed=args.seed, finished_cancel=args.finished_cancel,
            bulk_enabled=not args.no_bulk, preload=args.preload, log_size=args.log_size,
            prices=dict(args.price),
        ).bind()
    except socket.gaierror as exc:
        print(f"{name}: cannot listen on {args.host!r}: {exc.strerror}; check --host",
              file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"{name}: port {args.port} is in use; pick another with --port (0: any "
                  "free port)", file=sys.stderr)
        elif exc.errno == errno.EACCES:
            print(f"{name}: no permission to listen on port {args.port}; pick one above "
                  "1023 with --port", file=sys.stderr)
        else:
            print(f"{name}: cannot listen on {args.host} port {args.port}: "
                  f"{exc.strerror or exc}; check --host and --port", file=sys.stderr)
        return 2
    except ValueError as exc:  # the emulator's own checks, its parameters named as flags
        print(f"{name}: {_as_flags(str(exc))}", file=sys.stderr)
        return 2
    # What exists now (the imports, the preloaded jobs) lives as long as the process: frozen,
    # the garbage collector's full passes no longer walk it (one pass took 50 ms of CPU with
    # 10,000 preloaded jobs, in the middle of some request).
    gc.collect()
    gc.freeze()
    print(f"IonQ emulator listening on {emulator.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()  # Ctrl-C is how it stops: exit 0
    return 0


def _as_flags(text: str) -> str:
    """``fault_rate must be ...`` -> ``--fault-rate must be ...``."""
    return re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", lambda m: "--" + m[0].replace("_", "-"), text)


# -- cancel and status ----------------------------------------------------------------------
def _why(args: argparse.Namespace, interrupted: str | None = None) -> Why:
    """How the command stopped. Retries give up before the deadline when the next wait
    would pass it (a wait is at most ``backoff_max``): so close to it counts as reaching it."""
    started: Deadline = args.deadline_left
    near = min(RetryPolicy().backoff_max, args.deadline / 2)
    return Why(deadline=args.deadline, elapsed=started.elapsed,
               expired=started.remaining < near, interrupted=interrupted)


def _jobs_command(args: argparse.Namespace, console: Console) -> int:
    name = f"ionq-cancel {args.command}"
    sigterm = SigtermAsExit()  # SIGTERM unwinds like Ctrl-C: partial report, then exit 143
    sigterm.install()
    try:
        key = api_key(args.api_key_file)  # before the ids: one pasted from the key is hidden
        console.hide(key)
        if getattr(args, "ledger", None) is not None:
            return _status_ledger(args, console, key) if args.command == "status" \
                else _cancel_ledger(args, console, key)
        ids = read_ids(args.ids, args.from_file, key)
        filters, described = _filter_args(args, ids, key)
        if args.command == "status":
            with _client(key, args) as client:
                lines = _lookup(client, ids) if ids else _matching(client, filters,
                                                                   cancellable_only=False)
                if not lines and described:
                    _no_such_target(client, args)
                    console.err(f"No job matches {described}.")
            console.out(jobs_json(lines, dry_run=False) if args.json
                        else jobs_table(lines, dry_run=False))
            missing = [line.job_id for line in lines if not line.found]
            if missing and not args.json:
                console.err(f"{plural(len(missing), 'job')} not found for this API key: "
                            "check the ids, and that IONQ_API_KEY (or --api-key-file) is the "
                            "key they were submitted with.")
            return 0 if not missing else 1
        return _cancel(args, console, key, ids, filters, described)
    except BadUsage as exc:
        console.err(f"{name}: {exc}")
        return 2
    except _Unanswered as exc:
        console.err(f"{name}: {exc.word} at the question; nothing was cancelled (no cancel "
                    "was sent).")
        return exc.code
    except KeyboardInterrupt:
        console.err(f"{name}: interrupted; a cancel already sent stays in effect (check "
                    f"with 'ionq-cancel status {_status_hint(args)}')")
        return INTERRUPTED
    except SystemExit as exc:
        if exc.code != TERMINATED:
            raise
        console.err(f"{name}: terminated; a cancel already sent stays in effect (check "
                    f"with 'ionq-cancel status {_status_hint(args)}')")
        return TERMINATED
    except BrokenPipeError:
        raise
    except Exception as exc:  # IonQ unreachable, retries ran out, an odd answer: say so
        text, code = describe(exc, _why(args))
        console.err(f"{name}: {text}")
        if args.debug:
            console.err(f"details: {type(exc).__name__}: {exc}\n{traceback.format_exc()}",
                        wrap=False)
        return code
    finally:
        sigterm.restore()


def _status_hint(args: argparse.Namespace) -> str:
    """What to give ``ionq-cancel status`` to see the jobs of this command."""
    ledger = getattr(args, "ledger", None)
    return "ID ..." if ledger is None else f"--ledger {shlex.quote(ledger)}"


def _filter_args(args: argparse.Namespace, ids: list[str],
                 key: str | None) -> tuple[dict[str, str | None], str]:
    """The filter of ``--status/--target/--session`` and its description, checked by the
    library's own rules (in the command's words)."""
    try:
        filters = check_selection(bool(ids), args.status, args.target, args.session,
                                  secret=key, cancelling=args.command == "cancel")
    except InvalidSelectionError as exc:
        nothing = " (nothing is cancelled by default)" if args.command == "cancel" else ""
        words = {
            "both": "give job ids or a filter (--status, --target, --session), not both",
            "none": "no job ids and no filter: give IDs, --from-file FILE, or --status/"
                    f"--target/--session{nothing}",
            "target": "--target must not be empty",
            "session": f"--session {shown(args.session, key)} is not a session id: expected "
                       "a lower-case UUID such as '617a1f8b-59d4-435d-aa33-695433d7155e'; "
                       "nothing was sent",
        }
        raise BadUsage(words.get(exc.rule, plain(str(exc)))) from None
    described = ", ".join(f"{k}={v}" for k, v in filters.items() if v is not None)
    return filters, described


def _no_such_target(client: IonQCancelClient, args: argparse.Namespace) -> None:
    """Nothing matched: when ``--target`` names no backend IonQ has, a usage error (exit
    2) that says which ones it has, as for any other mistyped argument."""
    if not args.target:
        return
    try:
        names = sorted(client.backends_catalog())
    except Exception as exc:  # only a check: without the list, "nothing matched" stands
        logging.getLogger(__name__).info("Could not list the backends: %s", exc)
        return
    if names and args.target not in names:
        raise BadUsage(f"IonQ has no backend {args.target!r}; its backends are: "
                       f"{', '.join(names)} (give one with --target)")


def _cancel(args: argparse.Namespace, console: Console, key: str, ids: list[str],
            filters: dict[str, str | None], described: str) -> int:
    if described and not (args.yes or args.dry_run) and not _interactive():
        raise BadUsage(f"refusing to cancel the jobs matching {described} without "
                       "confirmation: stdin is not a terminal to ask on. Pass --yes to "
                       "confirm, or --dry-run to see them first.")
    if args.dry_run:
        with _client(key, args) as client:
            lines = _lookup(client, ids) if ids else _matching(client, filters)
            if not lines and described:
                _no_such_target(client, args)
                console.err(f"No cancellable job matches {described}.")
        console.out(jobs_json(lines, dry_run=True) if args.json
                    else jobs_table(lines, dry_run=True))
        return 0 if all(line.found for line in lines) else 1
    with _provider(key, args) as provider:
        client = provider.client
        sent_before = client.requests_sent
        final: dict[str, str] = {}
        if described:
            lines = _matching(client, filters)
            if not lines:
                _no_such_target(client, args)
                console.err(f"No cancellable job matches {described}; nothing to do.")
                if args.json:
                    console.out(json.dumps(Outcome(CancelReport(), set(), _why(args)).to_dict(),
                                           indent=2))
                return 0
            if not args.yes and not _confirm(console, lines, described):
                console.err("Nothing cancelled (answered no); nothing to do.")
                return 0
            ids = [line.job_id for line in lines]
        else:
            final = _final_already(client, ids)
        try:
            pending = [job_id for job_id in ids if job_id not in final]
            # within the command's scope: it narrows to what is left, never extends it
            report = cancel_jobs(pending, provider=provider, deadline=args.deadline,
                                 progress=sys.stderr.isatty() and not args.json,
                                 price=args.price) \
                if pending else CancelReport()
        except (KeyboardInterrupt, SystemExit) as exc:  # the partial report, then exit
            partial = getattr(exc, "report", None)
            if isinstance(partial, CancelReport):
                why = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated"
                outcome = _outcome(args, ids, final, partial, client.requests_sent -
                                   sent_before, why)
                console.out(json.dumps(outcome.to_dict(), indent=2) if args.json
                            else outcome.table())
            raise
        outcome = _outcome(args, ids, final, report, client.requests_sent - sent_before)
    console.out(json.dumps(outcome.to_dict(), indent=2) if args.json else outcome.table())
    if args.debug:  # the library's own words for each job not settled
        for job_id, error in report.errors.items():
            console.err(f"details: {job_id}: {type(error).__name__}: {error}")
    return _verdict(console, outcome)


def _cancel_ledger(args: argparse.Namespace, console: Console, key: str) -> int:
    """``cancel --ledger PATH``: every unfinished job the ledger records (``cancel_ledger``).
    The URL is ``--url`` / IONQ_API_URL, which every record must name, else the ledger's.
    Ctrl-C or SIGTERM prints the partial table (the ledger marks only what was done).
    ``--dry-run`` is ``status --ledger`` in the words of a dry run by id."""
    if args.dry_run:
        return _status_ledger(args, console, key)
    # (read here for the URL and the unknown jobs; cancel_ledger reads it again under the
    # ledger's lock, and says what it skipped: once)
    contents = _read_ledger(args, console, warn=False)
    if not contents.records:
        console.out(json.dumps(Outcome(CancelReport(), set(), _why(args)).to_dict(), indent=2)
                    if args.json else Outcome(CancelReport(), set(), _why(args)).table())
        return 0
    with _provider(key, args) as provider:
        try:
            report = cancel_ledger(args.ledger, provider=provider, deadline=args.deadline,
                                   price=args.price)
        except UsageError as exc:
            raise BadUsage(plain(str(exc))) from None
        except (KeyboardInterrupt, SystemExit) as exc:  # the partial report, then exit
            partial = getattr(exc, "report", None)
            if isinstance(partial, CancelReport):
                _ledger_report(args, console, contents, partial, "interrupted"
                               if isinstance(exc, KeyboardInterrupt) else "terminated")
            raise
    unknown = _ledger_report(args, console, contents, report)
    before = _earlier(report)
    rest = CancelReport(statuses=report.statuses, errors=report.errors,
                        not_reached={k: v for k, v in report.not_reached.items()
                                     if k not in unknown},
                        notes=report.notes, elapsed=report.elapsed, requests=report.requests,
                        saved=report.saved)
    code = _verdict(console, Outcome(rest, before, _why(args)))
    return max(code, 1) if unknown else code


def _status_ledger(args: argparse.Namespace, console: Console, key: str) -> int:
    """``status --ledger PATH``: every job the ledger records, as IonQ has it now, then each
    submit whose id never reached the ledger ("id unknown", with its time). ``cancel
    --ledger PATH --dry-run`` is the same, in the words of a dry run by id (what a cancel
    would do with each job: a job an earlier cleanup settled reads as IonQ has it now)."""
    dry_run = args.command == "cancel"
    contents = _read_ledger(args, console)
    if contents.records:
        with _client(key, args) as client:
            try:
                ledger_url(contents, client.url)  # every record at this URL: else not this
            except UsageError as exc:  # key's
                raise BadUsage(plain(str(exc))) from None
            lines = _lookup(client, list(contents.jobs)) if contents.jobs else []
    else:
        lines = []
    lines += [JobLine(unknown_key(contents.number(record)), None, intent=record)
              for record in contents.unknown]
    console.out(jobs_json(lines, dry_run=dry_run) if args.json
                else jobs_table(lines, dry_run=dry_run))
    missing = [line for line in lines if not line.found and line.intent is None]
    if missing and not args.json:
        console.err(f"{plural(len(missing), 'job')} not found for this API key: check that "
                    "IONQ_API_KEY (or --api-key-file) is the key they were submitted with.")
    if contents.unknown and not args.json:
        console.err(f"{plural(len(contents.unknown), 'job')} submitted with no id recorded "
                    f"(the program died during its POST /jobs): {CHECK_READY}.")
        for record in contents.unknown:
            console.err(f"  {unknown_key(contents.number(record))}: {unknown_note(record)}")
    return 1 if missing or contents.unknown else 0


def _earlier(report: CancelReport) -> set[str]:
    """The jobs of a ledger cancel's report settled by an earlier cleanup (with a note)."""
    return {job_id for job_id in report.cancelled if job_id in report.notes}


def _read_ledger(args: argparse.Namespace, console: Console, *,
                 warn: bool = True) -> LedgerContents:
    """The ledger of ``--ledger`` (with no ids or filter beside it); without ``--url`` or
    IONQ_API_URL, ``args.url`` becomes the one URL it names. A ledger with no record says
    so on stderr (a run that submitted nothing, or the wrong path)."""
    if args.ids or args.from_file or args.status or args.target or args.session:
        raise BadUsage("give --ledger PATH, or job ids, or a filter; not several")
    try:
        contents = read_ledger(args.ledger, warn=warn)
        if not contents.records:
            console.err(f"ionq-cancel {args.command}: no ledger records in {args.ledger} (a "
                        "run that submitted nothing with it, or another path: check it); "
                        "nothing to do.")
        if not (args.url or os.environ.get("IONQ_API_URL")
                or os.environ.get("QISKIT_IONQ_API_URL")):
            args.url = ledger_url(contents, None)
    except UsageError as exc:
        raise BadUsage(plain(str(exc))) from None
    return contents


def _ledger_report(args: argparse.Namespace, console: Console, contents: LedgerContents,
                   report: CancelReport, interrupted: str | None = None) -> set[str]:
    """Print a ledger cancel's report (and, on stderr, what to do about each job whose id
    is unknown); returns the report keys of those."""
    unknown = {unknown_key(contents.number(record)) for record in contents.unknown}
    before = _earlier(report)
    report.elapsed = args.deadline_left.elapsed
    outcome = Outcome(report, before, _why(args, interrupted))
    console.out(json.dumps(outcome.to_dict(), indent=2) if args.json else outcome.table())
    for entry in sorted(unknown):  # no id to cancel it by: what to do instead
        if entry in report.not_reached:
            console.err(f"ionq-cancel cancel: {entry}: {report.not_reached[entry]}")
    return unknown


def _final_already(client: IonQCancelClient, ids: list[str]) -> dict[str, str]:
    """The jobs already final (id -> IonQ status), read before any cancel, so that one
    already cancelled is reported as such and no cancel is sent for it. When the read
    gets no answer, every job goes to the cancel, which reads them back anyway."""
    try:
        # A quarter of the command's time at most: the cancel comes first, this read only
        # tells "already cancelled" from "cancelled now".
        with scope(max(0.5, (current() or Deadline(None)).remaining / 4)):
            found = client.lookup_jobs(ids)
    except (AuthenticationError, WrongBaseURLError, UnreachableError):
        raise  # the cancels would fail the same way: say it once
    except NoAnswerError as exc:
        logging.getLogger(__name__).info("Reading the jobs first failed (%s); cancelling "
                                         "them all", exc)
        return {}
    return {job_id: str(job["status"]) for job_id, job in found.items()
            if isinstance(job, dict) and job.get("status") in FINAL}


def _outcome(args: argparse.Namespace, ids: list[str], final: dict[str, str],
             report: CancelReport, requests: int, interrupted: str | None = None) -> Outcome:
    """The library's report with the jobs found final before it, in the order given."""
    statuses = dict(report.statuses)
    for job_id, status in final.items():
        with contextlib.suppress(UnknownJobStatusError):
            statuses[job_id] = to_job_status(status, job_id)
    order = {job_id: n for n, job_id in enumerate(ids)}
    merged = CancelReport(
        statuses=dict(sorted(statuses.items(), key=lambda kv: order.get(kv[0], len(order)))),
        errors=report.errors, not_reached=report.not_reached, notes=report.notes,
        elapsed=args.deadline_left.elapsed, requests=requests, saved=report.saved)
    before = {job_id for job_id, status in final.items() if status == "canceled"}
    report.saved.already_cancelled = [job_id for job_id in ids if job_id in before] + [
        job_id for job_id in report.saved.already_cancelled if job_id not in before]
    return Outcome(merged, before, _why(args, interrupted))


def _verdict(console: Console, outcome: Outcome) -> int:
    """What to do next, on stderr, and the exit code."""
    report, why = outcome.report, outcome.why
    name = "ionq-cancel cancel"
    if not report.errors and not report.not_reached:
        return 0
    if report.not_reached:  # no cancel was sent for these: they may still run
        console.err(f"{name}: {plural(len(report.not_reached), 'job')} not reached (no cancel "
                    f"sent): {next(iter(report.not_reached.values()))}. Run the same command "
                    "again" + (", with a longer --deadline." if why.expired else "."))
    errors = list(report.errors.values())
    for kind in (AuthenticationError, WrongBaseURLError, UnreachableError):
        same = [e for e in errors if isinstance(e, kind)]
        if same:
            text, code = describe(same[0], why)
            console.err(f"{name}: {text} ({len(same)} of {plural(report.total, 'job')})")
            if len(same) == report.total and code == 2:
                return 2
    settled_no = {*report.not_found, *report.invalid}  # once: each is a list built anew
    unknown = [i for i in report.errors if i not in settled_no]
    if why.expired and unknown:
        console.err(f"{name}: stopped at --deadline {why.deadline:g} s, after "
                    f"{why.elapsed:.1f} s: {plural(len(unknown), 'job')} not settled, "
                    "outcome unknown. Run the same command again, with a longer --deadline.")
    elif unknown:
        console.err(f"{name}: the outcome of {plural(len(unknown), 'job')} is unknown: see "
                    f"them with 'ionq-cancel status {_ids_hint(unknown)}', or run the same "
                    "command again.")
    if report.not_found:
        console.err(f"{name}: {plural(len(report.not_found), 'job')} not found for this API "
                    "key: check the ids, and that IONQ_API_KEY (or --api-key-file) is the key "
                    "they were submitted with.")
    return 1


def _ids_hint(ids: list[str]) -> str:
    return " ".join(ids[:2]) + (" ..." if len(ids) > 2 else "")


def _interactive() -> bool:
    """stdin is a terminal a question can be asked on."""
    return sys.stdin is not None and sys.stdin.isatty()


def _confirm(console: Console, lines: list[JobLine], described: str) -> bool:
    for line in lines[:10]:
        console.err(f"  {line.job_id}  {line.ionq_status}  "
                    f"{(line.job or {}).get('backend') or '-'}")
    if len(lines) > 10:
        console.err(f"  ... and {len(lines) - 10} more")
    try:  # the question within: a signal may come as soon as it is written
        console.err(f"Cancel {plural(len(lines), 'job')} matching {described}? [y/N] ",
                    end="")
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        console.err("")  # what follows on a line of its own, not after the question
        raise _Unanswered("interrupted", INTERRUPTED) from None
    except SystemExit as exc:
        if exc.code != TERMINATED:
            raise
        console.err("")
        raise _Unanswered("terminated", TERMINATED) from None
    if not answer.endswith("\n"):  # Ctrl-D: no answer typed, no line ended by the terminal
        console.err("")
    return answer.strip().lower() in ("y", "yes")


class _Unanswered(Exception):
    """Ctrl-C or SIGTERM while the ``[y/N]`` question waited: no cancel was sent."""

    def __init__(self, word: str, code: int) -> None:
        super().__init__(word)
        self.word, self.code = word, code


# -- IonQ -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _client(key: str, args: argparse.Namespace) -> Iterator[IonQCancelClient]:
    client = IonQCancelClient(key, api_url(key, args),
                              allow_insecure_http=args.allow_insecure_http,
                              retry_policy=_policy(args))
    try:
        yield client
    finally:
        client.close()


def _policy(args: argparse.Namespace) -> RetryPolicy:
    """Retries bounded by the command's ``--deadline`` (its scope holds what is left)."""
    return RetryPolicy(deadline=args.deadline)


@contextlib.contextmanager
def _provider(key: str, args: argparse.Namespace) -> Iterator[IonQProvider]:
    base = api_url(key, args)
    with warnings.catch_warnings():  # qiskit-ionq's advice on transpiling: not this command's
        warnings.simplefilter("ignore", IonQTranspileLevelWarning)
        provider = IonQProvider(key, url=base, allow_insecure_http=args.allow_insecure_http,
                                retry_policy=_policy(args))
    try:
        yield provider
    finally:
        provider.client.close()


def _lookup(client: IonQCancelClient, ids: list[str]) -> list[JobLine]:
    """Every id with its job as IonQ returns it (``None``: not returned)."""
    found = client.lookup_jobs(ids)
    return [JobLine(job_id, found.get(job_id)) for job_id in ids]


def _matching(client: IonQCancelClient, filters: dict[str, str | None], *,
              cancellable_only: bool = True) -> list[JobLine]:
    """The jobs a filter matches (that can still be cancelled, unless ``cancellable_only``
    is off), all listed before any cancel."""
    status, target, session_id = filters["status"], filters["target"], filters["session_id"]
    listed = client.cancellable_jobs(status=status, target=target, session_id=session_id) \
        if cancellable_only else [
            job for job in client.iter_jobs(status=status, target=target, session_id=session_id)
            if isinstance(job, dict) and job.get("id")]
    return [JobLine(str(job["id"]), job) for job in listed]
