"""The API key: a wrapper whose ``repr`` hides it, and the one way to take it out of text.

Every place that shows text which might contain the key (exception messages, report rows,
log lines, CLI output) runs it through :func:`redact` or :func:`shown`.
"""

from __future__ import annotations

from typing import Any, TypeGuard

__all__ = ["MASK", "MIN_SECRET", "Secret", "redact", "redact_json", "shown", "worth_hiding"]

MASK = "***"
#: Shorter "keys" are not looked for where taking them out would mangle the text or answer
#: around them (a key "n" would turn every "\\n" into "\\***"); a real IonQ key is far longer.
MIN_SECRET = 6


def worth_hiding(secret: str | None) -> TypeGuard[str]:
    """Whether ``secret`` is long enough to be looked for (see :data:`MIN_SECRET`)."""
    return secret is not None and len(secret) >= MIN_SECRET


class Secret(str):
    """A string whose ``repr`` hides it, so a printed dict or object never shows the key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{MASK}'"


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every non-empty secret replaced by ``***``, as it is and as ``repr``
    escapes it (inside the repr of bytes or a list, say)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
            escaped = repr(str(secret))[1:-1]
            if escaped != secret:
                text = text.replace(escaped, MASK)
    return text


def redact_json(data: Any, secret: str | None) -> Any:
    """Parsed JSON with ``secret`` taken out of every string, keys included (a body's bytes
    were redacted before parsing, but a JSON escape such as ``\\/`` or ``\\u0041`` can spell
    the key in a way no byte pattern catches)."""
    if not secret:
        return data
    if isinstance(data, str):
        return redact(data, secret)
    if isinstance(data, list):
        return [redact_json(item, secret) for item in data]
    if isinstance(data, dict):
        return {redact(k, secret) if isinstance(k, str) else k: redact_json(v, secret)
                for k, v in data.items()}
    return data


def shown(value: object, secret: str | None, limit: int = 80) -> str:
    """``repr(value)`` for a message: the secret taken out first, then cut to ``limit``
    characters (in that order, so a cut can never leave part of the key behind)."""
    text = redact(value if isinstance(value, str) else repr(value), secret)
    if isinstance(value, str):
        text = repr(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."
