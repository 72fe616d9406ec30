"""The API key: a wrapper whose ``repr`` hides it, and the one redactor every string leaving
the package passes.

The rule, everywhere: a key of :data:`MIN_SECRET` (6) characters or more is never shown, nor
any piece of it :data:`PIECE` (12) characters long or longer, as it is or as ``repr``, JSON or
a URL escape it. A shorter key (a placeholder such as ``"e"``) is not searched for, so it
garbles no word. The text is redacted whole, *before* any cut to length.

What passes it: :func:`redact` for any text (exception messages, report rows, CLI output),
:func:`shown` for a value quoted in a message, :func:`redact_json` for parsed answers,
:func:`redact_body` for an answer's decoded body, and every log record of the package's,
``urllib3``'s, ``requests``' and qiskit-ionq's logger hierarchies while a key is live
(:func:`keep_hidden`): the keys of every live client are taken out of all of them, whichever
call site forgot to pass its key.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import quote

__all__ = ["MASK", "MIN_SECRET", "PIECE", "Secret", "exception_shows", "keep_hidden", "redact",
           "redact_body", "redact_json", "shown", "shows", "watch_loggers", "worth_hiding"]

MASK = "***"
#: Shorter "keys" are not looked for where taking them out would mangle the text or answer
#: around them (a key "n" would turn every "\\n" into "\\***"); a real IonQ key is far longer.
MIN_SECRET = 6
#: No piece of a key this long (or longer) is shown: a key cut short is still the key.
PIECE = 12
#: The logger hierarchies whose records are redacted while a key is live.
LOGGERS = ("qiskit_ionq_cancel", "qiskit_ionq", "urllib3", "requests")


def worth_hiding(secret: str | None) -> TypeGuard[str]:
    """Whether ``secret`` is long enough to be looked for (see :data:`MIN_SECRET`)."""
    return secret is not None and len(secret) >= MIN_SECRET


class Secret(str):
    """A string whose ``repr`` hides it, so a printed dict or object never shows the key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{MASK}'"


# -- finding a key --------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Finder:
    """How one key is found in text: its ``forms`` (as it is, and as repr, JSON and URLs
    escape it), each with the piece length that must not show, and ``anchors``: pieces of
    half that length every such piece contains, searched first (the fast, usual miss)."""

    forms: tuple[tuple[str, int], ...]
    anchors: tuple[str, ...]


def _forms(key: str) -> list[str]:
    """``key`` and every escaped spelling of it that differs."""
    escaped = key.replace("\\", "\\\\")
    spellings = [key, repr(key)[1:-1], repr(key.encode("utf-8", "replace"))[2:-1],
                 escaped.replace("'", "\\'"), escaped.replace('"', '\\"'),
                 json.dumps(key)[1:-1], json.dumps(key, ensure_ascii=False)[1:-1],
                 quote(key, safe=""), quote(key)]
    spellings += [form.replace("/", "\\/") for form in spellings[5:7]]
    return list(dict.fromkeys(spellings))


@functools.lru_cache(maxsize=64)
def _finder(key: str) -> _Finder | None:
    if not worth_hiding(key):
        return None
    forms, anchors = [], []
    for form in _forms(str(key)):
        # A key shorter than PIECE is hidden whole; an escaped form is at least as long.
        width = min(PIECE, len(form)) if len(key) >= PIECE else len(form)
        forms.append((form, width))
        anchors += _anchors(form, width)
    return _Finder(tuple(forms), tuple(dict.fromkeys(anchors)))


def _anchors(form: str, width: int) -> list[str]:
    """Pieces of ``form`` such that every window of ``width`` characters holds one whole: a
    window found holds an anchor found. Each search costs a pass over the text, so as few as
    can do: an anchor of ``size`` characters at ``at`` lies in the windows starting at
    ``at + size - width`` to ``at``; half a window long is the cheapest (a 32-character key:
    3 anchors of 6)."""
    last = len(form) - width  # the last window's start
    if last == 0:
        return [form]
    size = (width + 1) // 2
    anchors, start = [], 0  # start: the first window no anchor lies in yet
    while start <= last:
        at = min(start + width - size, len(form) - size)
        anchors.append(form[at:at + size])
        start = at + 1
    return anchors


def _mask(text: str, finders: tuple[_Finder, ...]) -> str:
    """``text`` with every window of every form replaced (one ``***`` per run)."""
    while True:
        spans: list[tuple[int, int]] = []
        for finder in finders:
            for form, width in finder.forms:
                for start in range(len(form) - width + 1):
                    window = form[start:start + width]
                    at = text.find(window)
                    while at >= 0:
                        spans.append((at, at + width))
                        at = text.find(window, at + 1)
        if not spans:
            return text
        spans.sort()
        out: list[str] = []
        end = 0
        for first, last in spans:
            if first > end or not out:
                out.append(text[end:first])
                out.append(MASK)
            end = max(end, last)
        out.append(text[end:])
        text = "".join(out)  # again: the text around a mask might spell a piece anew


# -- the keys of live clients ---------------------------------------------------------------
class _Live:
    """Every key some live object (a client) holds, with a count per key."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.finders: tuple[_Finder, ...] = ()

    def change(self, key: str, by: int) -> None:
        with self.lock:
            count = self.counts.get(key, 0) + by
            if count > 0:
                self.counts[key] = count
            else:
                self.counts.pop(key, None)
            self.finders = tuple(f for f in map(_finder, self.counts) if f is not None)


_LIVE = _Live()


def keep_hidden(secret: str | None, owner: object) -> Callable[[], object]:
    """Take ``secret`` out of everything :func:`redact` sees, and out of every log record of
    the :data:`LOGGERS` hierarchies, for as long as ``owner`` (a client) lives; returns the
    call that ends it sooner (when the client is closed)."""
    if not worth_hiding(secret):
        return lambda: None
    key = str(secret)
    _LIVE.change(key, +1)
    release = weakref.finalize(owner, _LIVE.change, key, -1)
    watch_loggers()
    return release


def _finders(secrets: tuple[str | None, ...]) -> tuple[_Finder, ...]:
    finders = _LIVE.finders
    for secret in secrets:
        finder = _finder(secret) if secret else None
        if finder is not None and finder not in finders:
            finders += (finder,)
    return finders


# -- the redactor ---------------------------------------------------------------------------
def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every piece of every key (``secrets``, and those of live clients) that
    the rule hides replaced by ``***``. Cut the text only after this."""
    finders = _finders(secrets)
    for finder in finders:
        for anchor in finder.anchors:
            if anchor in text:
                return _mask(text, finders)
    return text


def shows(text: str, *secrets: str | None) -> bool:
    """Whether ``text`` shows something :func:`redact` would take out."""
    return redact(text, *secrets) != text


def redact_json(data: Any, secret: str | None = None) -> Any:
    """Parsed JSON with the keys taken out of every string, member names included (a JSON
    escape such as ``\\/`` or ``\\u0041`` can spell the key in a way no text search of the
    body catches)."""
    finders = _finders((secret,))
    if not finders:
        return data
    return _walk(data, secret)


def _walk(data: Any, secret: str | None) -> Any:
    if isinstance(data, str):
        return redact(data, secret)
    if isinstance(data, list):
        return [_walk(item, secret) for item in data]
    if isinstance(data, dict):
        return {redact(k, secret) if isinstance(k, str) else k: _walk(v, secret)
                for k, v in data.items()}
    return data


def redact_body(text: str, secret: str | None = None) -> str:
    """An answer's body, decoded, with the keys taken out; a JSON body that spells one with
    escapes is written out again without it (escapes are rare in IonQ's answers: only then
    is the body parsed here)."""
    if not _finders((secret,)):
        return text
    if "\\" in text:
        try:
            data = json.loads(text)
            clean = _walk(data, secret)
            if clean != data:
                text = json.dumps(clean, ensure_ascii=False)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to walk
            pass
    return redact(text, secret)


def shown(value: object, secret: str | None, limit: int = 80) -> str:
    """``repr(value)`` for a message: the secret taken out first, then cut to ``limit``
    characters (in that order, so a cut can never leave part of the key behind)."""
    text = redact(value if isinstance(value, str) else repr(value), secret)
    if isinstance(value, str):
        text = repr(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# -- log records ----------------------------------------------------------------------------
class _RedactingFilter(logging.Filter):
    """Takes the live keys out of a record before any handler (Python's last-resort one
    included) sees it: its message, its stack, and its exception, which is replaced by its
    redacted traceback text when it shows a key (the exception object holds it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _LIVE.finders:
            _scrub(record)
        return True


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format: the handler's error report would show the args
        message = f"{record.msg} {record.args!r}"
    clean = redact(message)
    if clean != message or (record.args and shows(repr(record.args))):
        record.msg, record.args = clean, None
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text = record.exc_text or "".join(traceback.format_exception(error)).rstrip("\n")
        if shows(text) or exception_shows(error):
            record.exc_text, record.exc_info = redact(text), None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def exception_shows(error: BaseException, *secrets: str | None) -> bool:
    """Whether an exception, or one chained to it (a suppressed context too), shows a key
    (``secrets``, or a live one) in its text, ``args`` or attributes."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        try:
            text = f"{current!s} {current.args!r} {vars(current)!r}"
        except Exception:  # a broken __str__ or __repr__: not worth keeping either
            return True
        if shows(text, *secrets):
            return True
        todo += [current.__cause__, current.__context__]
    return False


_FILTER = _RedactingFilter()
_scanned = -1


def watch_loggers() -> None:
    """Put the filter on every logger of :data:`LOGGERS`' hierarchies (a logger's filters see
    only its own records, not its children's: ``urllib3.connectionpool`` needs its own).
    Cheap when no logger was made since the last call: called as a client is made and as
    each request is sent. On loggers, not handlers: handlers belong to the application and
    come and go (``basicConfig``, pytest's capture); a logger's filters run before any of
    them, Python's last-resort handler included."""
    global _scanned
    manager = logging.Logger.manager
    if len(manager.loggerDict) == _scanned:
        return
    for name in [*LOGGERS, *list(manager.loggerDict)]:
        if name in LOGGERS or name.startswith(tuple(f"{n}." for n in LOGGERS)):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
    _scanned = len(manager.loggerDict)
