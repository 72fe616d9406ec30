"""The test suite's split (issue 22): the README's `python -m pytest` leaves the slow
techniques out, and .ci/run runs each of them as a step of its own, so every test still runs
in CI."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from conftest import TECHNIQUES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PYTEST = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]


def _left_out_by_default() -> set[str]:
    args = shlex.split(PYTEST["addopts"])
    expression = args[args.index("-m") + 1]
    match = re.fullmatch(r"not \((\w+(?: or \w+)*)\)", expression)
    assert match, expression
    return set(match.group(1).split(" or "))


def test_each_technique_left_out_by_default_is_a_ci_step() -> None:
    steps = set(re.findall(r"^python -m pytest -m (\w+)$", (ROOT / ".ci/run").read_text(),
                           re.MULTILINE))
    assert steps == _left_out_by_default()
    assert "python -m pytest\n" in (ROOT / ".ci/run").read_text()  # and the default set


def test_each_technique_is_a_registered_marker_of_existing_tests() -> None:
    registered = {line.split(":")[0] for line in PYTEST["markers"]}
    assert set(TECHNIQUES) <= registered
    assert _left_out_by_default() <= set(TECHNIQUES)
    for where in TECHNIQUES.values():
        for entry in where:
            path, _, test = entry.partition("::")
            assert (ROOT / path).is_file(), entry
            if test:
                assert f"def {test}(" in (ROOT / path).read_text(), entry
