"""Every ```python block of README.md and of every docs/*.md page runs as written, against
the emulator.

A block runs in a fresh namespace, unless its first line is a comment saying it continues an
earlier block of the same page (``# continues ...``): then it runs after the blocks it builds
on, in their namespace. So a block that forgets an import or a variable fails here, and the
docs cannot drift from the code. ``IONQ_API_KEY`` and ``IONQ_API_URL`` point at a fresh
emulator, as the docs say. A block that is only illustrative is not marked ``python``.
(A small runner instead of pytest-examples: that one also lints and formats the blocks,
which the docs' aligned comments would not pass.)
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import point_env_at

from qiskit_ionq_cancel.emulator import Emulator, Fault

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KEY = "readme-test-key-3c6f0a"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_CONTINUES = re.compile(r"#\s*continues\b", re.IGNORECASE)

Chain = list[tuple[Path, int, str]]


def blocks(page: Path) -> list[tuple[int, str]]:
    """Every python block of a page: (line number, code)."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _BLOCK.finditer(text)]


def chains() -> list[Chain]:
    """The blocks grouped into runs, page by page: a block, then each block that continues
    it."""
    runs: list[Chain] = []
    for page in PAGES:
        first = len(runs)
        for line, code in blocks(page):
            if _CONTINUES.match(code.lstrip()) and len(runs) > first:
                runs[-1].append((page, line, code))
            else:
                runs.append([(page, line, code)])
    return runs


def _name(chain: Chain) -> str:
    page, line, _ = chain[0]
    return f"{page.relative_to(ROOT)}:{line}"


def test_the_docs_have_their_python_blocks() -> None:
    # the parser must find them, or the test below would pass by running nothing
    assert len(blocks(ROOT / "README.md")) >= 3
    assert len(PAGES) >= 10
    found = sum(len(blocks(page)) for page in PAGES)
    assert found >= 15
    assert sum(len(chain) for chain in chains()) == found


def test_a_block_continues_only_a_block_of_its_own_page() -> None:
    assert all(len({page for page, _, _ in chain}) == 1 for chain in chains())
    for page in PAGES:
        found = blocks(page)
        if found:  # a page's first block has nothing of its page to continue
            assert not _CONTINUES.match(found[0][1].lstrip()), page


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    # Jobs stay queued 2 s: long enough for the blocks' cancels to find them queued, short
    # enough for the block that waits for a job to finish.
    with Emulator(api_keys=[KEY], queue_time=2, run_time=0.5) as emu:
        point_env_at(monkeypatch, emu.url, KEY)
        yield emu


@pytest.mark.parametrize("chain", chains(), ids=_name)
def test_the_docs_blocks_run(chain: Chain, emulator_env: Emulator) -> None:
    namespace: dict[str, object] = {"__name__": "docs_example"}
    for page, line, code in chain:
        compiled = compile("\n" * (line - 1) + code, str(page), "exec")
        exec(compiled, namespace)
    assert set(namespace) - {"__name__", "__builtins__"}  # it defined what it shows


def test_the_asyncio_timeout_example_takes_its_except_branch_when_ionq_is_slow(
        emulator_env: Emulator) -> None:
    """docs/asyncio.md's timeout example as written, but for its 10 s: with IonQ slower than
    the timeout (its bulk cancel hangs), the ``except`` branch finds the report on every
    Python the package supports (3.10's ``wait_for`` chains it differently)."""
    page = ROOT / "docs" / "asyncio.md"
    [(line, code)] = [(n, c) for n, c in blocks(page) if "wait_for(acancel_jobs" in c]
    assert "timeout=10)" in code
    emulator_env.faults.inject(Fault.hang(5.0), times=2, method="PUT", path="status/cancel")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile("\n" * (line - 1) + code.replace("timeout=10)", "timeout=0.5)"),
                     str(page), "exec"), {"__name__": "docs_example"})
    said = printed.getvalue()
    assert said.startswith("timed out; not settled: ['"), said
    assert said.count("-") >= 3 * 4  # the three jobs' ids, every one of them
