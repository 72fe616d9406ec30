"""What a user reads, compared as words: the CLI wraps its messages to the terminal, so a
phrase checked in its output may straddle a line break (and its continuation indent)."""

from __future__ import annotations


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks and indents too) as one space."""
    return " ".join(text.split())
