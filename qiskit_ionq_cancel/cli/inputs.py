"""The ``ionq-cancel`` command's inputs, read and checked before anything is sent: the API key
(``IONQ_API_KEY`` or ``--api-key-file``, never the command line), the job ids (arguments,
a file or stdin) and the API URL. Each problem is a :class:`BadUsage` (exit 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

from qiskit_ionq.helpers import resolve_credentials

from .._core.validation import check_api_key, check_base_url, is_http_url, validate_job_id
from .._redact import shown
from ..exceptions import InsecureURLError, InvalidAPIKeyError, InvalidJobIdError, UsageError
from ..single import env_api_key

__all__ = ["NO_KEY_HINT", "BadUsage", "api_key", "api_url", "read_ids"]

NO_KEY_HINT = ("set IONQ_API_KEY, or pass --api-key-file FILE (a key is never taken on the "
               "command line, where shell history and process lists would keep it)")


#: The byte order mark some Windows editors put at the start of a UTF-8 file.
BOM = "\ufeff"


class BadUsage(UsageError):
    """Raised inside the CLI when its arguments or inputs are wrong; printed, then exit 2,
    nothing sent. Its message is in the command's words (flags, not Python parameters)."""


def api_key(path: str | None) -> str:
    """The key from ``path``'s first line, else as qiskit-ionq finds it (IONQ_API_KEY); a
    :class:`BadUsage` when there is none."""
    if path is None:
        token = env_api_key()
        source = "IONQ_API_KEY"
    else:
        # The path is not echoed: a key pasted in its place would be shown.
        named = f"--api-key-file ({len(path)} characters; not shown, in case it is a key)"
        source = f"the first line of the file given to {named}"
        try:
            # utf-8-sig: a BOM (as some Windows editors write) is not part of the key
            with open(path, encoding="utf-8-sig") as file:
                token = file.readline().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else \
                type(exc).__name__
            raise BadUsage(f"cannot read the API key file given to {named}: {reason}") from None
        if not token:
            raise BadUsage(f"the API key file given to {named} has an empty first line")
    try:
        check_api_key(token)
    except InvalidAPIKeyError:  # the library's rule, in the command's words
        raise BadUsage(f"the API key ({source}) contains spaces, control or non-ASCII "
                         "characters; check it") from None
    if not token:
        raise BadUsage(f"no IonQ API key: {NO_KEY_HINT}")
    return str(token)


def read_ids(given: Sequence[str], path: str | None, key: str | None) -> list[str]:
    """Every id (arguments first, then the file), checked, duplicates dropped."""
    items: list[tuple[str, str]] = [(i, f"argument {n}") for n, i in enumerate(given, 1)]
    if path is not None:
        shown = "stdin" if path == "-" else path
        try:
            if path == "-":
                if sys.stdin is None or sys.stdin.closed:
                    raise BadUsage("cannot read ids from stdin: it is closed")
                text = sys.stdin.read().removeprefix(BOM)
            else:
                with open(path, encoding="utf-8-sig") as file:  # a BOM is not an id
                    text = file.read()
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise BadUsage(f"cannot read ids from {path!r}: {reason}") from None
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if line:
                items.append((line, f"{shown} line {number}"))
        if not items:
            raise BadUsage(f"{shown if path == '-' else repr(path)} holds no job ids (one a "
                           "line; '#' starts a comment); nothing was sent")
    check_ids(items, key)
    return list(dict.fromkeys(i for i, _ in items))


def check_ids(items: list[tuple[str, str]], key: str | None = None) -> None:
    """Refuse every malformed id at once, each named by where it came from."""
    bad: list[str] = []
    for job_id, where in items:
        try:
            validate_job_id(job_id, key)
        except InvalidJobIdError:
            bad.append(f"  {where}: {shown(job_id, key)}")
    if bad:
        raise BadUsage("\n".join([
            f"{len(bad)} malformed job id(s); nothing was sent. A job id is a lower-case "
            "UUID such as '617a1f8b-59d4-435d-aa33-695433d7155e':", *bad[:50],
            *([f"  ... and {len(bad) - 50} more"] if len(bad) > 50 else [])]))


def api_url(key: str, args: argparse.Namespace) -> str:
    """The API base URL to use, once the key and URL are known usable (``--url`` or
    IONQ_API_URL; ``--allow-insecure-http``)."""
    source = "--url" if args.url else "the API URL (IONQ_API_URL)"
    url = args.url or resolve_credentials()["url"]
    port = _bad_port(url)
    if port is not None:
        raise BadUsage(f"{source} has {port}: a port is a number from 1 to 65535 (as in "
                       "http://127.0.0.1:8001/v0.4)")
    if not is_http_url(url):
        # Not echoed, as the library does not: a value that is not a URL may be a key.
        raise BadUsage(f"{source} is not an http(s) URL ({len(url)} characters); expected "
                         "something like https://api.ionq.co/v0.4")
    try:
        return check_base_url(url, allow_insecure_http=args.allow_insecure_http, secret=key)
    except InsecureURLError as exc:
        # the library's advice, in the command's words
        raise BadUsage(str(exc).replace("pass allow_insecure_http=True",
                                          "pass --allow-insecure-http")) from None


def _bad_port(url: str) -> str | None:
    """What is wrong with the port of an http(s) URL (``None``: nothing, or no port)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        # a number is shown; anything else is not (it may be a key pasted in the wrong place)
        return f"port {text}, out of range" if text.isdigit() and len(text) < 12 else \
            "a port that is not a number"
    return "port 0" if port == 0 else None
