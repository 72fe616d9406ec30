"""Issue 21: the one redactor (``_redact``) every string leaving the package passes.

The rule: a key of 6 or more characters is never shown, nor any piece of it 12 characters
long, as it is or as repr, JSON or a URL escape it, wherever the text was cut before; a
shorter key is not searched for at all. Properties are checked with random keys (quotes,
backslashes, slashes, non-ASCII), random text around them, cuts and body encodings.
"""

from __future__ import annotations

import gc
import json
import logging
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qiskit_ionq_cancel import _redact
from qiskit_ionq_cancel._http.bodyread import redact_bytes
from qiskit_ionq_cancel._redact import keep_hidden, redact, redact_json, shown, shows
from qiskit_ionq_cancel.exceptions import IonQRequestError

KEY = "k3Yq9ZtR7vWm2XpL8sNd4HfJ6gBc1AeU"
PIECE = 12

ALPHABET = st.sampled_from("abcXYZ0189/\"\\'-_ .:*é中ü€𝄞")  # "*": the mask's own
KEYS = st.text(ALPHABET, min_size=6, max_size=40)
TEXT = st.text(st.sampled_from("abc XYZ0189/\"\\'{}:,é\n"), max_size=30)


def spellings(key: str) -> list[str]:
    """The key as it is, and as repr, JSON (with and without ``\\u`` escapes, ``\\/``) and a
    URL write it."""
    dumped = json.dumps(key)[1:-1]
    return [key, repr(key)[1:-1], dumped, json.dumps(key, ensure_ascii=False)[1:-1],
            dumped.replace("/", "\\/"), quote(key, safe="")]


def pieces(form: str, key: str) -> set[str]:
    """What must not show of ``form`` (a spelling of ``key``): the whole of it for a key under
    12 characters, else every 12 characters of it in a row."""
    width = len(form) if len(key) < PIECE else min(PIECE, len(form))
    return {form[i:i + width] for i in range(len(form) - width + 1)}


def assert_hidden(text: str, key: str, *forms: str) -> None:
    for form in (key, *forms):
        shown_pieces = [p for p in pieces(form, key) if p in text]
        assert not shown_pieces, (form, shown_pieces, text)


@settings(max_examples=400, deadline=None)
@given(key=KEYS, before=TEXT, after=TEXT, spelling=st.integers(0, 5),
       repeat=st.integers(1, 3), cut=st.tuples(st.integers(0, 200), st.integers(0, 200)))
def test_no_piece_of_the_key_survives_the_redactor(key: str, before: str, after: str,
                                                   spelling: int, repeat: int,
                                                   cut: tuple[int, int]) -> None:
    form = spellings(key)[spelling]
    text = (before + form + after) * repeat
    text = text[min(cut):max(cut) or None]  # cut before the redactor: a piece of it stays
    assert_hidden(redact(text, key), key, form)


@settings(max_examples=200, deadline=None)
@given(key=KEYS, before=TEXT, limit=st.integers(4, 120))
def test_a_value_shown_and_cut_keeps_no_piece_of_the_key(key: str, before: str,
                                                         limit: int) -> None:
    for value in (before + key, [before, key], {before: key}):
        text = shown(value, key, limit)
        assert len(text) <= max(limit, 3)
        assert_hidden(text, key, *spellings(key))


ENCODINGS = [("utf-8", None), ("utf-8", "utf-8"), ("utf-16", "utf-16"), ("utf-16-le", None),
             ("utf-16-be", "utf-16-be"), ("utf-32", None), ("utf-32", "utf-32")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=KEYS, encoding=st.sampled_from(ENCODINGS), escape=st.sampled_from(["", "/", "u"]))
def test_no_piece_of_the_key_survives_a_body_in_any_charset(
        key: str, encoding: tuple[str, str | None], escape: str) -> None:
    codec, declared = encoding
    text = json.dumps({"id": "x", "status": f"apiKey {key}", key: [key]},
                      ensure_ascii=escape == "u")
    if escape == "/":
        text = text.replace("/", "\\/")
    content, used = redact_bytes(text.encode(codec), key, declared)
    decoded = str(content, used or "utf-8", errors="replace")
    assert_hidden(decoded, key, *spellings(key))
    assert_hidden(json.dumps(json.loads(decoded), ensure_ascii=False), key)


def test_a_key_under_6_characters_is_not_searched_for() -> None:
    owner = type("Owner", (), {})()
    keep_hidden("ectio", owner)
    for key in ("e", "ectio", "", None):
        assert redact("connection failed: ConnectionError", key) == \
            "connection failed: ConnectionError"
    assert redact_bytes(b'{"a":"\\n"}', "n")[0] == b'{"a":"\\n"}'


def test_a_short_key_is_hidden_whole_and_a_long_one_by_12_characters() -> None:
    assert redact("id abcdefg!", "abcdefg") == "id ***!"
    assert redact("abcde, bcdefg", "abcdefg") == "abcde, bcdefg"  # pieces of a short key
    assert redact(f"a {KEY[3:15]} b", KEY) == "a *** b"
    assert redact(f"a {KEY[3:14]} b", KEY) == f"a {KEY[3:14]} b"  # 11: the rule's limit
    assert redact(f"{KEY}{KEY}x{KEY[:20]}", KEY) == "***x***"


def test_the_keys_of_live_clients_are_hidden_without_being_passed() -> None:
    class Owner:
        pass

    key = "Lv7pQ2wX9rT4yU8iO1aS3dF5gH6jK0zC"
    owner = Owner()
    keep_hidden(key, owner)
    assert redact(f"apiKey {key}") == "apiKey ***"
    assert shows(key[5:20])
    assert str(IonQRequestError(f"what {key}", body=key, hint=key[:14])) == "what ***. ***"
    assert redact_json({key: [key]}) == {"***": ["***"]}
    del owner
    gc.collect()
    assert redact(f"apiKey {key}") == f"apiKey {key}"


def test_a_log_record_is_redacted_before_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    class Owner:
        pass

    owner = Owner()
    key = "Rq8wE3tY6uI9oP2aS5dF7gH1jK4lZ0xC"
    child = logging.getLogger("urllib3.test_redactor_child")  # made after the others
    keep_hidden(key, owner)  # a new client: the filter reaches the new logger too
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError(f"header {key}")
    except ValueError:
        child.warning("unparsed %s", {"Authorization": f"apiKey {key}"}, exc_info=True)
    logging.getLogger("qiskit_ionq_cancel").info("plain %d", 3)
    warned, plain = caplog.records[-2:]
    assert warned.getMessage() == "unparsed {'Authorization': 'apiKey ***'}"
    assert warned.exc_info is None and "ValueError: header ***" in (warned.exc_text or "")
    assert plain.args == (3,)  # a record without the key is left as it is
    assert key[:PIECE] not in caplog.text
    del owner


@pytest.mark.parametrize("spelled", spellings(KEY))
def test_every_spelling_of_a_plain_key(spelled: str) -> None:
    assert redact(f"<{spelled}>", KEY) == "<***>"


def test_the_redactor_is_one_function() -> None:
    """Every helper ends in :func:`redact`: replacing it redacts nothing any more."""
    calls: list[str] = []
    original = _redact.redact

    def spy(text: str, *secrets: Any) -> str:
        calls.append(text)
        return original(text, *secrets)

    _redact.redact = spy
    try:
        shown(KEY, KEY)
        redact_json([KEY], KEY)
        _redact.redact_body(KEY, KEY)
    finally:
        _redact.redact = original
    assert len(calls) == 3
