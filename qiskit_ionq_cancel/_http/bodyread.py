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
import json
import socket
import time
from typing import Any

import requests
from urllib3 import exceptions as u3

from .._compat import urllib3_seam
from .._redact import MASK, redact_json, worth_hiding

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
    bytes (default :data:`MAX_ANSWER_BYTES`), with ``secret`` replaced by ``***``.

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
    urllib3_seam.set_content(response, redact_bytes(b"".join(pieces), secret))


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


def redact_bytes(content: bytes, secret: str | None) -> bytes:
    """``content`` with ``secret`` (as sent, and as JSON would escape it) replaced; a JSON
    body that spells it with other escapes (``\\/``, ``\\u0041``) is written out again
    without it."""
    if not worth_hiding(secret):
        return content
    for form in {secret, json.dumps(secret)[1:-1]}:
        content = content.replace(form.encode("utf-8", "replace"), MASK.encode())
    if b"\\" in content:  # rare in IonQ's answers: only then is the body decoded here
        try:
            data = json.loads(content)
            clean = redact_json(data, secret)
            if clean != data:
                content = json.dumps(clean).encode()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to walk
            return content
    return content


def redact_headers(response: requests.Response, secret: str | None) -> None:
    """Take ``secret`` out of every header name and value of ``response``, in place."""
    if not secret:
        return
    headers: Any = response.headers
    for name, value in list(headers.items()):
        if secret in name or secret in value:
            del headers[name]
            headers[name.replace(secret, MASK)] = value.replace(secret, MASK)
