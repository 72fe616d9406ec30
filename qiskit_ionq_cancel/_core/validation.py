"""Checks made before anything is sent: job ids, API URLs, deadlines."""

from __future__ import annotations

import ipaddress
import math
import re
from urllib.parse import urlsplit

from .._redact import shown, shows
from ..exceptions import (
    InsecureURLError,
    InvalidAPIKeyError,
    InvalidJobIdError,
    InvalidSelectionError,
    UsageError,
)
from .status import CANCELLABLE

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CANONICAL_UUID = re.compile(_UUID)
#: Many ids of 36 characters each, joined by commas: one regex match for a whole chunk.
_CANONICAL_UUIDS = re.compile(rf"(?:{_UUID},)*{_UUID}")
#: What an API key may hold: visible ASCII, as an HTTP header carries it unaltered.
_KEY_CHARACTERS = re.compile(r"[\x21-\x7e]+")


def check_deadline(deadline: object, who: str) -> None:
    """A deadline given where it is used only later (at a block's exit): ``None`` or a
    finite number of seconds above 0, else :class:`UsageError` now, naming ``who``."""
    if deadline is None:
        return
    try:
        fine = not isinstance(deadline, bool) and isinstance(deadline, (int, float)) \
            and math.isfinite(deadline) and deadline > 0
    except OverflowError:  # an int too large for a float
        fine = False
    if not fine:
        raise UsageError(f"{who}: the deadline must be a number of seconds above 0, or None, "
                         f"not {deadline!r}")


def check_api_key(key: object) -> None:
    """Refuse a key (``None``: no key) that could not be sent as it is, without showing it:
    one read with ``open(path).read()`` keeps its line break, for one."""
    if key is None:
        return
    if not isinstance(key, str):
        raise InvalidAPIKeyError(f"The IonQ API key must be a str, not {type(key).__name__}.")
    if not _KEY_CHARACTERS.fullmatch(key):
        ending = " (it ends with a line break: strip it)" if key.rstrip() != key else ""
        raise InvalidAPIKeyError(
            f"The IonQ API key ({len(key)} characters) contains spaces, line breaks, control "
            f"or non-ASCII characters{ending}; no request was sent. Check where it came from."
        )


def validate_job_id(job_id: object, secret: str | None = None) -> str:
    """Return ``job_id`` if it is a canonical (lower-case, hyphenated) UUID string.

    Anything else (``"../x"``, ``"a/b"``, blanks, ``""``, upper case, ``None``) raises
    :class:`InvalidJobIdError`, so no malformed id ever reaches a URL. ``secret`` (the API
    key) is blanked out of the error, in case it was pasted where an id belongs.
    """
    if isinstance(job_id, str) and _CANONICAL_UUID.fullmatch(job_id):
        return job_id
    raise InvalidJobIdError(job_id, secret)


def validate_job_ids(job_ids: list[str], secret: str | None = None) -> list[str]:
    """:func:`validate_job_id` for each id of a list, in one regex match when all are valid
    (a read-back checks 10,000 ids: one call per id costs more than its request)."""
    # Every id is a str of exactly 36 characters, so the commas of the join are exactly the
    # separators: no id can smuggle a comma (or a second id) past the match.
    if all(type(i) is str and len(i) == 36 for i in job_ids) and \
            _CANONICAL_UUIDS.fullmatch(",".join(job_ids)):
        return job_ids
    return [validate_job_id(i, secret) for i in job_ids]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_http_url(url: object) -> bool:
    """True for a str that is an http(s) URL with a host and, if any, a port of 1-65535."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        port_ok = parts is not None and (parts.port is None or parts.port > 0)
    except ValueError:  # "https://[::1/v0.4", a port such as 99999 or "abc"
        return False
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname) \
        and port_ok


def check_base_url(url: str, *, allow_insecure_http: bool = False,
                   secret: str | None = None) -> str:
    """Return the API base URL without a trailing slash, refusing insecure ones.

    ``https`` is always fine; ``http`` only to a loopback host (the emulator) unless
    ``allow_insecure_http`` is set, since the key would cross the network in clear text.
    A URL with a query or fragment, or holding ``secret`` (the key), is refused too: request
    paths are appended to it, and it is shown in errors and logs.
    """
    if not is_http_url(url):
        # Not echoed: a value that is not a URL may be the key, passed in the wrong place.
        raise InsecureURLError(
            f"The IonQ API URL given ({len(str(url))} characters) is not a valid http(s) URL "
            "(scheme, host, port 1-65535); expected "
            "something like 'https://api.ionq.co/v0.4'. Did you swap the token and url "
            "arguments?"
        )
    parts = urlsplit(url)
    host = parts.hostname or ""  # is_http_url made sure there is one
    if parts.username or parts.password or shows(url, secret):
        # Not echoed: it holds a secret.
        raise InsecureURLError("IonQ API URL must not carry credentials or the API key; "
                               "pass the key as token.")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise InsecureURLError(f"The IonQ API URL must not have a query or fragment "
                               f"('?...' or '#...'); expected something like "
                               f"'https://api.ionq.co/v0.4' ({len(url)} characters given, "
                               "not shown)")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(host):
        raise InsecureURLError(
            f"Refusing plain http:// to {host}: the API key would travel "
            "unencrypted. Use https://, or pass allow_insecure_http=True if you really mean it."
        )
    return url.rstrip("/")


def check_selection(ids_given: bool, status: str | None, target: str | None,
                    session_id: str | None, *, secret: str | None = None,
                    cancelling: bool = True) -> dict[str, str | None]:
    """Check what ``cancel_jobs`` (or the CLI) was asked to act on: job ids, or else a
    filter; return the filter. ``cancelling``: the filter must select jobs a cancel can
    still stop. Raises :class:`InvalidSelectionError`, before anything is sent."""
    filters = {"status": status, "target": target, "session_id": session_id}
    filtering = any(v is not None for v in filters.values())
    if ids_given and filtering:
        raise InvalidSelectionError("both", "Give either jobs/ids or a filter, not both.")
    if not ids_given and not filtering:
        raise InvalidSelectionError(
            "none", "Give jobs or ids, or a filter (status=, target=, session_id=); refusing "
                    "to cancel every job of the account by default.")
    if cancelling and status is not None and status not in CANCELLABLE:
        raise InvalidSelectionError(
            "status", f"status must be one of {CANCELLABLE}: only those jobs can be cancelled")
    if target is not None and not target.strip():
        raise InvalidSelectionError("target", "target must not be empty")
    if session_id is not None and not _CANONICAL_UUID.fullmatch(session_id):
        raise InvalidSelectionError(
            "session", f"session_id {shown(session_id, secret)} is not a session id: expected "
                       "a lower-case UUID such as '617a1f8b-59d4-435d-aa33-695433d7155e'")
    return filters
