"""The package's structure: no module reaches into another's private names. (The layers
themselves are import-linter's contracts in pyproject.toml, run by ``.ci/run``.)"""

from __future__ import annotations

import ast
from pathlib import Path

import qiskit_ionq_cancel

PACKAGE = Path(qiskit_ionq_cancel.__file__).parent


def test_no_module_imports_another_module_s_underscore_name() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or "qiskit_ionq_cancel" in (
                    node.module or "")):
                offenders += [f"{path.relative_to(PACKAGE)}:{node.lineno} {alias.name}"
                              for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert offenders == []


def test_the_scan_sees_relative_imports() -> None:
    tree = ast.parse((PACKAGE / "client.py").read_text())
    assert any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))
