"""Reading one answer's body within a time budget and a size cap, the key taken out of it.

``requests`` reads a body with a timeout per socket read, so a server that drips a byte at a
time holds a caller for as long as it likes, and a huge body is read whole into memory. This
reads a streamed response piece by piece (``urllib3``'s ``read1``: whatever one socket read
brings), cutting the socket's timeout to what is left of the budget before each read and
stopping at ``limit`` bytes. Hand-written because neither ``requests`` nor ``urllib3`` offers
a total read deadline or a size cap.
"""

from __future__ import annotations

import http.client
import socket
import time
from typing import Any

import requests
from requests.utils import guess_json_utf
from urllib3 import exceptions as u3

from .._compat import urllib3_seam
from .._redact import redact, redact_body, shows

__all__ = ["MAX_ANSWER_BYTES", "AnswerTooLarge", "ReadDeadlinePassed", "read_body",
           "redact_bytes", "redact_headers"]

#: The largest answer read (bytes, after decompression). IonQ's own request limit is 10 MB;
#: a job's results are far smaller than this.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_PIECE = 64 * 1024


# Internal signals of read_body to the transport, which turns them into IonQRequestError
# (exceptions.py holds the exceptions users see).
class AnswerTooLarge(Exception):
    """Raised by :func:`read_body` when the body passes the size cap."""


class ReadDeadlinePassed(Exception):
    """Raised by :func:`read_body` when the body is still arriving as the budget runs out."""


def read_body(response: requests.Response, budget: float, secret: str | None = None,
              per_read: float | None = None, limit: int | None = None) -> None:
    """Read the body of a ``stream=True`` response into ``response.content`` within
    ``budget`` seconds (wall time; each socket read at most ``per_read``) and ``limit``
    bytes (default :data:`MAX_ANSWER_BYTES`).

    Raises :class:`ReadDeadlinePassed` or :class:`AnswerTooLarge` (the connection is then
    closed, never reused), or what ``requests`` raises for a broken body.
    """
    limit = MAX_ANSWER_BYTES if limit is None else limit
    end = time.monotonic() + budget
    pieces: list[bytes] = []
    size = 0
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise ReadDeadlinePassed("the answer was still arriving at the deadline")
            sock = urllib3_seam.response_socket(response)
            if sock is not None:
                sock.settimeout(left if per_read is None else min(left, per_read))
            try:
                piece = response.raw.read1(_PIECE, decode_content=True)
            # What a broken or aborted connection raises (ValueError: a socket closed by
            # abort()); anything else is a bug, not worth a retry.
            except (u3.HTTPError, OSError, ValueError, http.client.HTTPException) as exc:
                raise _as_requests_error(exc) from exc
            if not piece:  # read1 answers b"" only at the end of the body
                break
            size += len(piece)
            if size > limit:
                raise AnswerTooLarge(f"the answer is larger than {limit} bytes")
            pieces.append(piece)
    except BaseException:
        response.close()
        raise
    # The body is data, kept as it came: redacting it could change an id or break its JSON
    # (a key piece across a quote), and with it a verdict. Every text made from it passes the
    # one redactor on its way out (exceptions, log records, report rows, CLI output).
    urllib3_seam.set_content(response, b"".join(pieces))


def _as_requests_error(exc: Exception) -> Exception:
    """The ``requests`` exception ``requests`` itself would raise for a urllib3 error."""
    if isinstance(exc, u3.ProtocolError):
        return requests.exceptions.ChunkedEncodingError(exc)
    if isinstance(exc, u3.DecodeError):
        return requests.exceptions.ContentDecodingError(exc)
    if isinstance(exc, (u3.ReadTimeoutError, TimeoutError, socket.timeout)):
        return requests.exceptions.ReadTimeout(exc)
    if isinstance(exc, (u3.SSLError,)):
        return requests.exceptions.SSLError(exc)
    return requests.exceptions.ConnectionError(exc)


def redact_bytes(content: bytes, secret: str | None, encoding: str | None = None
                 ) -> tuple[bytes, str | None]:
    """``content`` and its encoding with the keys taken out of the *decoded* text.

    The body is decoded as ``requests`` would decode it (the declared charset; without one,
    as JSON in UTF-8, -16 or -32): a key in UTF-16 is no byte pattern of the UTF-8 key. The
    encoding returned is the one to read it with: when something was taken out, the body is
    the redacted text in UTF-8; otherwise the bytes are kept and the encoding is the one used
    here, so ``response.text`` and ``response.json()`` see exactly what was checked.
    """
    if not content:
        return content, encoding
    used = encoding or guess_json_utf(content) or "utf-8"  # type: ignore[no-untyped-call]
    try:
        text = str(content, used, errors="replace")
    except (LookupError, TypeError):  # a charset Python does not know: as requests does
        used = "utf-8"
        text = str(content, used, errors="replace")
    clean = redact_body(text, secret)
    if clean is text or clean == text:
        return content, used
    return clean.encode("utf-8"), "utf-8"


def redact_headers(response: requests.Response, secret: str | None) -> None:
    """Take the keys out of every header name and value of ``response``, in place."""
    headers: Any = response.headers
    if not shows("\n".join(f"{name}: {value}" for name, value in headers.items()), secret):
        return  # one search for them all: the usual case
    for name, value in list(headers.items()):
        clean_name, clean_value = redact(name, secret), redact(value, secret)
        if clean_name != name or clean_value != value:
            del headers[name]
            headers[clean_name] = clean_value
