"""The ``ionq-cancel`` command: ``emulator`` (serve the IonQ emulator) and ``demo``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence

from .emulator import FINISHED_CANCEL_MODES, Emulator
from .emulator.faults import RANDOM_KINDS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionq-cancel",
        description="Truthful cancels of IonQ jobs, and a local emulator of IonQ's v0.4 API.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v: info, -vv: debug)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    emu.add_argument("--finished-cancel", choices=FINISHED_CANCEL_MODES, default="noop",
                     help="what cancelling a finished job answers (default noop)")
    emu.add_argument("--no-bulk", action="store_true",
                     help="answer 404 to the bulk cancel endpoint")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ionq-cancel``; returns the exit code."""
    args = _parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(lambda line: print(line, flush=True), queue_time=args.queue_time)
    try:
        emulator = Emulator(
            host=args.host, port=args.port, api_keys=args.api_key,
            queue_time=args.queue_time, run_time=args.run_time, latency=args.latency,
            rate_limit=args.rate_limit, retry_after=args.retry_after,
            fault_rate=args.fault_rate,
            fault_kinds=[k for k in args.fault_kinds.split(",") if k],
            seed=args.seed, finished_cancel=args.finished_cancel,
            bulk_enabled=not args.no_bulk,
        ).bind()
    except (ValueError, OSError) as exc:
        print(f"ionq-cancel emulator: {exc}", file=sys.stderr)
        return 2
    print(f"IonQ emulator listening on {emulator.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.serve_forever()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
