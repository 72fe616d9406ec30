"""Rewrite the fake job ids of qiskit-ionq's tests ("test_id", "fake_job_3", ...) to UUIDs.

This package accepts only canonical UUIDs as job ids (real IonQ ids are UUIDs) and checks
them before any request. qiskit-ionq's tests use readable fake ids instead, so the harness
rewrites them in its copy of those tests; our validation stays as strict as it is.

Each fake id ``name`` becomes ``uuid5(NAMESPACE, name)``, the same UUID wherever it appears:
as a whole string literal or as a path segment inside one ("/jobs/test_id/results"). Ids
built at run time from a known prefix (``f"fake_job_{i}"``) are rewritten to compute the
same UUID the literal ``"fake_job_3"`` would get.

Hand-written rather than a library: no tool maps test literals this way, and the rules
below are what decides which literals are job ids.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import uuid
from collections.abc import Iterable, Mapping

__all__ = ["NAMESPACE", "discover_fake_ids", "fake_uuid", "rewrite_source"]

#: The namespace of every rewritten id, so the mapping is stable across runs and versions.
NAMESPACE = uuid.UUID("6f1d3c3e-8a4e-5b3c-9d7e-0c2b8f6a4e11")

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID_SHAPE = re.compile(r"[A-Za-z0-9_.-]+")
# Variables, keywords and dict keys whose string values are job ids.
_ID_NAME = re.compile(r"(.*_)?job_?ids?(_?\d+)?|child\w*|parent\w*|ids?")
# Calls whose first positional string argument is a job id (``dummy_*``: upstream's
# helpers that build a job's JSON).
_ID_FIRST_ARG = frozenset({
    "retrieve_job", "retrieve_jobs", "cancel_job", "cancel_jobs", "delete_job", "get_job",
    "get_results", "get_artifact", "IonQJob",
})
_ID_CHARS = "A-Za-z0-9_-"


def fake_uuid(name: str) -> str:
    """The UUID that stands for the fake id ``name``."""
    return str(uuid.uuid5(NAMESPACE, name))


def _is_fake_id(value: str) -> bool:
    return _ID_SHAPE.fullmatch(value) is not None and _UUID.fullmatch(value) is None


def _strings(node: ast.AST | None) -> Iterable[str]:
    """String constants in ``node`` if it is one, or a list/tuple/set of them."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _is_fake_id(node.value):
        yield node.value
    elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from _strings(element)


def _target_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _call_name(node: ast.Call) -> str | None:
    return _target_name(node.func)


def discover_fake_ids(source: str) -> set[str]:
    """Job-id literals in a test module: values of ``job_id``-like names, keywords and dict
    keys, ``IonQJob(backend, "id")``, ``retrieve_job("id")``, ``make_path("jobs", "id")``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_ID_NAME.fullmatch(_target_name(t) or "") for t in targets):
                found.update(_strings(node.value))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (isinstance(key, ast.Constant) and isinstance(key.value, str)
                        and _ID_NAME.fullmatch(key.value)):
                    found.update(_strings(value))
        elif isinstance(node, ast.Call):
            found.update(_call_ids(node))
    return found


def _call_ids(node: ast.Call) -> set[str]:
    found: set[str] = set()
    for keyword in node.keywords:
        if keyword.arg and _ID_NAME.fullmatch(keyword.arg):
            found.update(_strings(keyword.value))
    name = _call_name(node)
    args = node.args
    if name == "IonQJob" and len(args) > 1:
        found.update(_strings(args[1]))
    elif (name in _ID_FIRST_ARG or (name or "").startswith("dummy_")) and args:
        found.update(_strings(args[0]))
    elif (name == "make_path" and len(args) > 1 and isinstance(args[0], ast.Constant)
          and args[0].value == "jobs"):
        found.update(_strings(args[1]))
    return found


def _replace_ids(text: str, pattern: re.Pattern[str], ids: Mapping[str, str]) -> str:
    return pattern.sub(lambda m: ids[m.group(0)], text)


def _fstring_prefix_call(token: str, prefixes: Iterable[str]) -> str | None:
    """``f"fake_job_{i}"`` -> an f-string computing ``fake_uuid("fake_job_" + str(i))``."""
    match = re.fullmatch(r"([fF])(['\"])([A-Za-z0-9_.-]*)\{([^{}'\"]+)\}\2", token)
    if not match or match.group(3) not in prefixes:
        return None
    quote = match.group(2)
    inner = "'" if quote == '"' else '"'
    expr = (f"__import__({inner}uuid{inner}).uuid5(__import__({inner}uuid{inner}).UUID("
            f"{inner}{NAMESPACE}{inner}), {inner}{match.group(3)}{inner} + str({match.group(4)}))")
    return f"f{quote}{{{expr}}}{quote}"


def _replace_outside_braces(text: str, pattern: re.Pattern[str], ids: Mapping[str, str]) -> str:
    """Replace ids in an f-string's literal parts only, never in its ``{expressions}``."""
    parts = re.split(r"(\{\{|\}\}|\{[^{}]*\})", text)
    return "".join(part if part.startswith(("{", "}")) else _replace_ids(part, pattern, ids)
                   for part in parts)


def _string_spans(source: str) -> Iterable[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of every string literal; an f-string is one span on every
    Python (3.12 tokenizes it as FSTRING_START ... FSTRING_END)."""
    fstring_start = getattr(tokenize, "FSTRING_START", None)
    fstring_end = getattr(tokenize, "FSTRING_END", None)
    stack: list[tuple[int, int]] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING and not stack:
            yield tok.start, tok.end
        elif tok.type == fstring_start:
            stack.append(tok.start)
        elif tok.type == fstring_end:
            start = stack.pop()
            if not stack:
                yield start, tok.end


def rewrite_source(source: str, ids: Mapping[str, str],
                   dynamic_prefixes: Iterable[str] = ()) -> str:
    """``source`` with every fake id in its string literals replaced by ``ids[fake]``.

    Only string literals change (never code or f-string expressions), and only whole ids:
    "test_id" inside "test_qobj_id" is left alone. F-strings built as ``PREFIX{expr}``
    from a prefix in ``dynamic_prefixes`` compute their UUID at run time.
    """
    prefixes = tuple(dynamic_prefixes)
    alternatives = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    pattern = re.compile(rf"(?<![{_ID_CHARS}])(?:{alternatives})(?![{_ID_CHARS}])")
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for (start_row, start_col), (end_row, end_col) in _string_spans(source):
        start = offsets[start_row - 1] + start_col
        end = offsets[end_row - 1] + end_col
        text = source[start:end]
        new = _fstring_prefix_call(text, prefixes)
        if new is None and ids:
            is_fstring = re.match(r"[A-Za-z]*[fF]", text) is not None
            new = (_replace_outside_braces if is_fstring else _replace_ids)(text, pattern, ids)
        if new is not None and new != text:
            edits.append((start, end, new))
    for start, end, new in reversed(edits):
        source = source[:start] + new + source[end:]
    return source
