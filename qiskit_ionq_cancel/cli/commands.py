"""The ``ionq-cancel`` command: ``cancel`` (the default), ``status``, ``demo`` and ``emulator``.

``ionq-cancel ID ...`` is short for ``ionq-cancel cancel ID ...``. Exit codes of ``cancel``
and ``status``: 0 every job cancelled, already final (``status``: found), or nothing to do
(no job matched a filter, or the confirmation was answered no); 1 some job could not be
cancelled (``status``: not found), or IonQ could not be reached; 2 a usage or input error
(nothing was sent), IonQ refused the key, or the API URL is wrong. The API key is read from
``IONQ_API_KEY`` (as qiskit-ionq reads it) or ``--api-key-file``, never from the command
line, and never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import NoReturn

from qiskit_ionq.exceptions import IonQTranspileLevelWarning

from .._core.deadline import scope
from .._core.sigterm import TERMINATED, SigtermAsExit
from .._core.status import CANCELLABLE, FINAL
from .._core.validation import check_selection
from .._core.version import __version__
from .._http.client import IonQCancelClient
from .._redact import redact, shown, worth_hiding
from ..bulk import cancel_jobs
from ..emulator import FINISHED_CANCEL_MODES, Emulator
from ..emulator.faults import RANDOM_KINDS
from ..exceptions import (
    AuthenticationError,
    InvalidSelectionError,
    UnreachableError,
    WrongBaseURLError,
)
from ..provider import IonQProvider
from ..report import CancelReport, plural
from ..retry import RetryPolicy
from ..single import env_api_key
from .inputs import NO_KEY_HINT, BadUsage, api_key, api_url, read_ids
from .output import Console, JobLine, jobs_json, jobs_table, report_table

#: Seconds ``cancel`` and ``status`` may take at most, unless ``--deadline`` says otherwise.
DEFAULT_DEADLINE = 30.0
_COMMANDS = frozenset({"cancel", "status", "demo", "emulator"})
_GLOBAL_OPTION = re.compile(r"-v+|--verbose")
#: Options that would put a secret on the command line (``--api-key-file`` is fine).
_KEY_OPTION = re.compile(
    r"--(?![\w-]*file(?:=|$))[\w-]*(key|token|secret|passw|auth)[\w-]*(=.*)?", re.IGNORECASE)
#: Options of ``cancel`` and ``status`` that take a value (the next argument, unless
#: ``--option=value``): that value is never a command, wherever it stands.
_VALUE_OPTIONS = frozenset({"--from-file", "--url", "--api-key-file", "--deadline", "--status",
                            "--target", "--session"})
#: Words an argparse error may quote as they are: commands and IonQ statuses.
_SHOWN_WORDS = frozenset({*_COMMANDS, *CANCELLABLE, *FINAL})


class _Parser(argparse.ArgumentParser):
    """argparse, except that its error messages show none of the values typed (they may hold
    the key): what it quotes becomes ``'***'`` unless it is a command or a status, an
    unrecognized argument ``***`` (``--option=***``), and IONQ_API_KEY's key is taken out."""

    def error(self, message: str) -> NoReturn:
        head, sep, rest = message.partition("unrecognized arguments: ")
        if sep:
            rest = " ".join(word.split("=", 1)[0] + "=***" if word.startswith("-") and
                            "=" in word else word if word.startswith("-") else "***"
                            for word in rest.split())
        message = _QUOTED.sub(lambda m: m[0] if m[1] in _SHOWN_WORDS or m[1].startswith("-")
                              else "'***'", head + sep + rest)
        key = env_api_key()
        super().error(redact(message, key) if worth_hiding(key) else message)


_QUOTED = re.compile(r"'([^']*)'")



def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ionq-cancel",
        description="Truthful cancels of IonQ jobs, and a local emulator of IonQ's v0.4 API.",
        epilog="'ionq-cancel ID ...' is short for 'ionq-cancel cancel ID ...'. The API key "
               "comes from IONQ_API_KEY or --api-key-file, never from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v: info, -vv: debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    common.add_argument("-v", "--verbose", action="count", default=0, dest="sub_verbose",
                        help="log more (-v: info, -vv: debug)")
    common.add_argument("--deadline", type=_seconds, default=DEFAULT_DEADLINE,
                        metavar="SECONDS", help="give up on what is not done after SECONDS, "
                        f"the whole command included (default {DEFAULT_DEADLINE:g})")

    cancel = commands.add_parser(
        "cancel", parents=[common], allow_abbrev=False,
        help="cancel jobs by id or by filter, then report what each one really is (default)",
        description="Cancel IonQ jobs, read each back, and report it. Give ids, or a filter "
                    "(which asks for confirmation unless --yes).")
    _filters(cancel, CANCELLABLE)
    cancel.add_argument("--dry-run", action="store_true",
                        help="show what would be cancelled, change nothing")
    cancel.add_argument("-y", "--yes", action="store_true",
                        help="cancel the jobs a filter matches without asking")

    status = commands.add_parser(
        "status", parents=[common], allow_abbrev=False, help="show jobs without changing them",
        description="Show IonQ jobs' status without changing them. Give ids, or a filter.")
    _filters(status, (*CANCELLABLE, *FINAL))

    demo = commands.add_parser("demo", help="cancel jobs on the built-in emulator and show "
                                            "what cancel() returns")
    demo.add_argument("--queue-time", type=float, default=1.5, help="seconds a job is queued")

    emu = commands.add_parser("emulator", help="serve the IonQ v0.4 jobs API emulator")
    emu.add_argument("--host", default="127.0.0.1", help="address to listen on "
                     "(default 127.0.0.1)")
    emu.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    emu.add_argument("--api-key", action="append", default=[], metavar="KEY",
                     help="accept only this key (repeatable; default: any non-empty key)")
    emu.add_argument("--queue-time", type=float, default=1.0, metavar="S",
                     help="seconds a job waits as 'ready' (default 1)")
    emu.add_argument("--run-time", type=float, default=0.5, metavar="S",
                     help="seconds a job runs as 'started' (default 0.5)")
    emu.add_argument("--latency", type=float, default=0.0, metavar="S",
                     help="seconds added to every answer")
    emu.add_argument("--rate-limit", type=float, default=None, metavar="PER_S",
                     help="requests a second before answering 429")
    emu.add_argument("--retry-after", choices=("seconds", "date", "none"), default="seconds",
                     help="how a 429 says when to retry (default seconds)")
    emu.add_argument("--fault-rate", type=float, default=0.0, metavar="P",
                     help="share of answers replaced by a fault (0..1)")
    emu.add_argument("--fault-kinds", default=",".join(RANDOM_KINDS),
                     help=f"comma-separated faults to draw from (default {','.join(RANDOM_KINDS)})")
    emu.add_argument("--seed", type=int, default=None, help="seed for ids and faults")
    emu.add_argument("--finished-cancel", choices=FINISHED_CANCEL_MODES, default="conflict",
                     help="what cancelling a finished job answers (default conflict: a 409)")
    emu.add_argument("--preload", type=int, default=0, metavar="N",
                     help="start with N queued one-qubit jobs (for benchmarks)")
    emu.add_argument("--no-bulk", action="store_true",
                     help="answer 404 to the bulk cancel endpoint")
    emu.add_argument("--rate-burst", type=float, default=None, metavar="N",
                     help="requests the rate limit lets through at once (default: a tenth "
                          "of a second's worth)")
    emu.add_argument("--page-cap", type=int, default=None, metavar="N",
                     help="pages of GET /jobs hold at most N jobs, whatever limit asks")
    emu.add_argument("--max-in-flight", type=int, default=None, metavar="N",
                     help="answer 503 to requests beyond N being handled at once")
    emu.add_argument("--log-size", type=int, default=100_000, metavar="N",
                     help="requests the request log keeps, oldest dropped (default 100000)")
    return parser


def _filters(parser: argparse.ArgumentParser, statuses: Sequence[str]) -> None:
    found = parser.add_argument_group("filter (instead of ids)")
    found.add_argument("--status", choices=statuses, help="jobs with this IonQ status")
    found.add_argument("--target", metavar="BACKEND", help="jobs on this backend, e.g. simulator")
    found.add_argument("--session", metavar="SESSION_ID", help="jobs of this session")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value


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
                      and args[i - 1] not in _VALUE_OPTIONS), None)
        if arg.startswith("-") and later is not None:
            return [*args[:position], args[later], *args[position:later], *args[later + 1:]]
        return [*args[:position], "cancel", *args[position:]]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ionq-cancel``; returns the exit code."""
    argv = _route(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in _COMMANDS), None)
    if command in ("cancel", "status") and any(_KEY_OPTION.fullmatch(a) for a in argv):
        print(f"ionq-cancel {command}: refusing an API key on the command line; {NO_KEY_HINT}",
              file=sys.stderr)
        return 2
    args = _parser().parse_args(argv)
    verbosity = args.verbose + getattr(args, "sub_verbose", 0)
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(lambda line: print(line, flush=True), queue_time=args.queue_time)
    if args.command == "emulator":
        return _serve_emulator(args)
    with scope(args.deadline):  # the whole command, every request and wait in it
        return _jobs_command(args)


def _serve_emulator(args: argparse.Namespace) -> int:
    try:
        emulator = Emulator(
            host=args.host, port=args.port, api_keys=args.api_key,
            queue_time=args.queue_time, run_time=args.run_time, latency=args.latency,
            rate_limit=args.rate_limit, rate_burst=args.rate_burst,
            retry_after=args.retry_after, page_cap=args.page_cap,
            max_in_flight=args.max_in_flight,
            fault_rate=args.fault_rate,
            fault_kinds=[k for k in args.fault_kinds.split(",") if k],
            seed=args.seed, finished_cancel=args.finished_cancel,
            bulk_enabled=not args.no_bulk, preload=args.preload, log_size=args.log_size,
        ).bind()
    except (ValueError, OSError) as exc:
        print(f"ionq-cancel emulator: {exc}", file=sys.stderr)
        return 2
    # What exists now (the imports, the preloaded jobs) lives as long as the process: frozen,
    # the garbage collector's full passes no longer walk it (one pass took 50 ms of CPU with
    # 10,000 preloaded jobs, in the middle of some request).
    gc.collect()
    gc.freeze()
    print(f"IonQ emulator listening on {emulator.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()
    return 0


# -- cancel and status ----------------------------------------------------------------------
def _jobs_command(args: argparse.Namespace) -> int:
    console = Console()
    name = f"ionq-cancel {args.command}"
    sigterm = SigtermAsExit()  # SIGTERM unwinds like Ctrl-C: partial report, then exit 143
    sigterm.install()
    try:
        key = api_key(args.api_key_file)  # before the ids: one pasted from the key is hidden
        console.hide(key)
        ids = read_ids(args.ids, args.from_file, key)
        filters, described = _filter_args(args, ids, key)
        if args.command == "status":
            with _client(key, args) as client:
                lines = _lookup(client, ids) if ids else _matching(client, filters,
                                                                   cancellable_only=False)
            console.out(jobs_json(lines, dry_run=False) if args.json
                        else jobs_table(lines, dry_run=False))
            if not lines:
                console.err(f"No job matches {described}.")
            return 0 if all(line.found for line in lines) else 1
        return _cancel(args, console, key, ids, filters, described)
    except BadUsage as exc:
        console.err(f"{name}: {exc}")
        return 2
    except (AuthenticationError, WrongBaseURLError) as exc:
        console.err(f"{name}: {exc}")
        return 2
    except KeyboardInterrupt:
        console.err(f"{name}: interrupted; a cancel already sent stays in effect (check "
                    "with 'ionq-cancel status')")
        return 130
    except SystemExit as exc:
        if exc.code != TERMINATED:
            raise
        console.err(f"{name}: terminated; a cancel already sent stays in effect (check "
                    "with 'ionq-cancel status')")
        return TERMINATED
    except Exception as exc:  # IonQ unreachable, retries ran out, an odd answer: say so
        console.err(f"{name}: {type(exc).__name__}: {exc}")
        return 1
    finally:
        sigterm.restore()


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
        raise BadUsage(words.get(exc.rule, str(exc))) from None
    described = ", ".join(f"{k}={v}" for k, v in filters.items() if v is not None)
    return filters, described


def _cancel(args: argparse.Namespace, console: Console, key: str, ids: list[str],
            filters: dict[str, str | None], described: str) -> int:
    if described and not (args.yes or args.dry_run) and not _interactive():
        raise BadUsage(f"refusing to cancel the jobs matching {described} without "
                         "confirmation: stdin is not a terminal to ask on. Pass --yes to "
                         "confirm, or --dry-run to see them first.")
    if args.dry_run:
        with _client(key, args) as client:
            lines = _lookup(client, ids) if ids else _matching(client, filters)
        console.out(jobs_json(lines, dry_run=True) if args.json
                    else jobs_table(lines, dry_run=True))
        return 0 if all(line.found for line in lines) else 1
    with _provider(key, args) as provider:
        if described:
            lines = _matching(provider.client, filters)
            if not lines:
                console.err(f"No cancellable job matches {described}; nothing to do.")
                if args.json:
                    console.out(json.dumps(CancelReport().to_dict(), indent=2))
                return 0
            if not args.yes and not _confirm(console, lines, described):
                console.err("Nothing cancelled (answered no); nothing to do.")
                return 0
            ids = [line.job_id for line in lines]
        try:
            report = cancel_jobs(ids, provider=provider, deadline=args.deadline,
                                 progress=sys.stderr.isatty() and not args.json)
        except (KeyboardInterrupt, SystemExit) as exc:  # the partial report, then exit
            partial = getattr(exc, "report", None)
            if isinstance(partial, CancelReport):
                console.out(json.dumps(partial.to_dict(), indent=2) if args.json
                            else report_table(partial))
            raise
    console.out(json.dumps(report.to_dict(), indent=2) if args.json else report_table(report))
    refused = [e for e in report.errors.values() if isinstance(e, AuthenticationError)]
    if refused:
        console.err(f"ionq-cancel cancel: IonQ refused the API key (HTTP "
                    f"{refused[0].status_code}) for {len(refused)} of {report.total} job(s); "
                    "check IONQ_API_KEY or the --api-key-file, and --url / IONQ_API_URL")
        if len(refused) == report.total:
            return 2
    unreached = [e for e in report.errors.values() if isinstance(e, UnreachableError)]
    if unreached:
        console.err(f"ionq-cancel cancel: {unreached[0].what}; {len(unreached)} of "
                    f"{report.total} job(s) not cancelled")
    wrong = [e for e in report.errors.values() if isinstance(e, WrongBaseURLError)]
    if wrong:
        console.err(f"ionq-cancel cancel: {wrong[0].hint} (--url or IONQ_API_URL)")
        if len(wrong) == report.total:
            return 2
    return 0 if report.ok else 1


def _interactive() -> bool:
    """stdin is a terminal a question can be asked on."""
    return sys.stdin is not None and sys.stdin.isatty()


def _confirm(console: Console, lines: list[JobLine], described: str) -> bool:
    for line in lines[:10]:
        console.err(f"  {line.job_id}  {line.ionq_status}  "
                    f"{(line.job or {}).get('backend') or '-'}")
    if len(lines) > 10:
        console.err(f"  ... and {len(lines) - 10} more")
    console.err(f"Cancel {plural(len(lines), 'job')} matching {described}? [y/N] ", end="")
    return sys.stdin.readline().strip().lower() in ("y", "yes")


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

