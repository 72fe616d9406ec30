"""Every ```python block of README.md runs as written, against the emulator.

A block runs in a fresh namespace, unless its first line is a comment saying it continues an
earlier block (``# continues ...``): then it runs after the blocks it builds on, in their
namespace. So a block that forgets an import or a variable fails here, and the README cannot
drift from the code. ``IONQ_API_KEY`` and ``IONQ_API_URL`` point at a fresh emulator, as the
README says. (A small runner instead of pytest-examples: that one also lints and formats the
blocks, which the README's aligned comments would not pass.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import point_env_at

from qiskit_ionq_cancel.emulator import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"
KEY = "readme-test-key-3c6f0a"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_CONTINUES = re.compile(r"#\s*continues\b", re.IGNORECASE)


def blocks() -> list[tuple[int, str]]:
    """Every python block: (line number in README.md, code)."""
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)]


def chains() -> list[list[tuple[int, str]]]:
    """The blocks grouped into runs: a block, then each block that continues it."""
    runs: list[list[tuple[int, str]]] = []
    for line, code in blocks():
        if _CONTINUES.match(code.lstrip()) and runs:
            runs[-1].append((line, code))
        else:
            runs.append([(line, code)])
    return runs


def test_the_readme_has_its_python_blocks() -> None:
    # the parser must find them, or the test below would pass by running nothing
    found = blocks()
    assert len(found) >= 5
    assert sum(len(chain) for chain in chains()) == len(found)


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # Jobs stay queued 2 s: long enough for the blocks' cancels to find them queued, short
    # enough for the block that waits for a job to finish.
    with Emulator(api_keys=[KEY], queue_time=2, run_time=0.5) as emu:
        point_env_at(monkeypatch, emu.url, KEY)
        yield emu


@pytest.mark.parametrize("chain", chains(), ids=lambda c: f"README.md:{c[0][0]}")
def test_the_readme_blocks_run(chain: list[tuple[int, str]], emulator_env: Emulator) -> None:
    namespace: dict[str, object] = {"__name__": "readme"}
    for line, code in chain:
        compiled = compile("\n" * (line - 1) + code, str(README), "exec")
        exec(compiled, namespace)
    assert set(namespace) - {"__name__", "__builtins__"}  # it defined what it shows
