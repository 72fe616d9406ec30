"""The package's structure: folders that show the layers, a small public API written once,
old paths kept for one release, no private names reached into. (The layers themselves are
import-linter's contracts in pyproject.toml, run by ``.ci/run``.)"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import qiskit_ionq_cancel
from qiskit_ionq_cancel import _deprecated, exceptions

PACKAGE = Path(qiskit_ionq_cancel.__file__).parent


def _is_module_of(folder: Path, name: str) -> bool:
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def test_no_module_imports_another_module_s_underscore_name() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or "qiskit_ionq_cancel" in (
                    node.module or "")):
                # ``from .. import _http`` names a private *module* of ours: that is the layout
                base = path.parent.joinpath(*[".."] * max(node.level - 1, 0),
                                            *(node.module or "").split(".")).resolve()
                offenders += [f"{path.relative_to(PACKAGE)}:{node.lineno} {alias.name}"
                              for alias in node.names
                              if alias.name.startswith("_") and not alias.name.startswith("__")
                              and not _is_module_of(base, alias.name)]
    assert offenders == []


def test_the_scan_sees_relative_imports() -> None:
    tree = ast.parse((PACKAGE / "_http" / "client.py").read_text())
    assert any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree))


def test_no_module_shares_a_name_with_the_standard_library() -> None:
    clashes = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
               for part in path.relative_to(PACKAGE).with_suffix("").parts
               if part in sys.stdlib_module_names]
    assert clashes == []


def test_the_internals_are_in_private_folders() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_"))
    assert top == ["aio", "backend", "bulk", "exceptions", "guard", "ionq_primitives", "job",
                   "ledger", "primitives", "provider", "pytest_plugin", "report", "retry", "scope",
                   "session", "single"]
    folders = sorted(p.name for p in PACKAGE.iterdir()
                     if p.is_dir() and (p / "__init__.py").exists())
    assert folders == ["_compat", "_core", "_http", "cli", "emulator"]


def test_the_public_api_is_small_and_written_once() -> None:
    public = set(qiskit_ionq_cancel.__all__) - {"__version__"}
    errors = {name for name in public
              if inspect.isclass(getattr(qiskit_ionq_cancel, name))
              and issubclass(getattr(qiskit_ionq_cancel, name), Exception)}
    assert len(public - errors) <= 25
    # __all__ is the table, less the names only some qiskit-ionq versions have
    table = set(qiskit_ionq_cancel._PUBLIC)
    assert public == table - qiskit_ionq_cancel._NEEDS_NEWER_QISKIT_IONQ
    assert len(table - errors) <= 25
    # the TYPE_CHECKING block (for type checkers) names exactly the table's names
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    checked = {alias.asname or alias.name for node in ast.walk(tree)
               if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
               for stmt in node.body if isinstance(stmt, ast.ImportFrom)
               for alias in stmt.names}
    assert checked == table


def test_every_public_name_imports_from_its_module() -> None:
    for name in qiskit_ionq_cancel.__all__:
        assert getattr(qiskit_ionq_cancel, name) is not None


def test_importing_the_package_imports_no_submodule_nor_qiskit() -> None:
    code = ("import sys, qiskit_ionq_cancel; "
            "print(sorted(m for m in sys.modules if m.startswith(('qiskit_ionq_cancel.', "
            "'qiskit.', 'qiskit_ionq.')) or m in ('qiskit', 'qiskit_ionq')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['qiskit_ionq_cancel._core', 'qiskit_ionq_cancel._core.version', " \
                          "'qiskit_ionq_cancel._deprecated']"


@pytest.mark.parametrize(("old", "new"), sorted(_deprecated.MOVED_MODULES.items()))
def test_a_moved_module_still_imports_from_its_old_path_with_a_warning(old: str,
                                                                       new: str) -> None:
    sys.modules.pop(f"qiskit_ionq_cancel.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"qiskit_ionq_cancel.{new}"):
        module = importlib.import_module(f"qiskit_ionq_cancel.{old}")
    home = importlib.import_module(f"qiskit_ionq_cancel.{new}")
    for name in getattr(home, "__all__", ()):
        assert getattr(module, name) is getattr(home, name)


def test_the_old_cancel_module_path_leaves_the_cancel_function_in_place() -> None:
    sys.modules.pop("qiskit_ionq_cancel.cancel", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from qiskit_ionq_cancel.cancel import cancel as old  # type: ignore[import-not-found]
    from qiskit_ionq_cancel.single import cancel as new
    assert old is new
    assert qiskit_ionq_cancel.cancel is new


@pytest.mark.parametrize("name", sorted(_deprecated.REMOVED_NAMES))
def test_a_name_dropped_from_the_top_level_still_imports_with_a_warning(name: str) -> None:
    home = importlib.import_module(f"qiskit_ionq_cancel.{_deprecated.REMOVED_NAMES[name]}")
    with pytest.warns(DeprecationWarning, match=f"{name} is no longer public"):
        value = getattr(qiskit_ionq_cancel, name)
    assert value is getattr(home, name)
    assert name not in qiskit_ionq_cancel.__all__


@pytest.mark.parametrize("name", sorted(_deprecated.RENAMED_NAMES))
def test_a_renamed_name_still_imports_with_a_warning_naming_the_new_one(name: str) -> None:
    new, home = _deprecated.RENAMED_NAMES[name]
    value = getattr(importlib.import_module(f"qiskit_ionq_cancel.{home}"), new)
    for owner in (qiskit_ionq_cancel, importlib.import_module(f"qiskit_ionq_cancel.{home}")):
        with pytest.warns(DeprecationWarning, match=f"{name} is now qiskit_ionq_cancel.{new}"):
            assert getattr(owner, name) is value
    assert name not in qiskit_ionq_cancel.__all__ and new in qiskit_ionq_cancel.__all__


def test_names_of_a_newer_qiskit_ionq_import_there_and_say_what_is_needed_elsewhere() -> None:
    from qiskit_ionq_cancel._compat import upstream
    for name in sorted(qiskit_ionq_cancel._NEEDS_NEWER_QISKIT_IONQ):
        assert name in qiskit_ionq_cancel._PUBLIC and name not in qiskit_ionq_cancel.__all__
        if upstream.primitive_classes() is None:
            with pytest.raises(ImportError, match=r"pull request #237.*qiskit-ionq \S+ does "
                                                  "not have"):
                getattr(qiskit_ionq_cancel, name)
            assert name not in dir(qiskit_ionq_cancel)
        else:
            assert issubclass(getattr(qiskit_ionq_cancel, name),
                              getattr(importlib.import_module("qiskit_ionq"), name))


def test_a_star_import_works_with_every_qiskit_ionq() -> None:
    namespace: dict[str, object] = {}
    exec("from qiskit_ionq_cancel import *", namespace)
    assert {"cancel", "IonQCancelPrimitiveJob"} <= set(namespace)


def test_the_cli_module_s_old_names_still_import_with_a_warning() -> None:
    from qiskit_ionq_cancel import cli
    from qiskit_ionq_cancel.cli import commands
    with pytest.warns(DeprecationWarning, match="cli.commands.DEFAULT_DEADLINE"):
        assert cli.DEFAULT_DEADLINE == commands.DEFAULT_DEADLINE


def test_every_exception_has_the_one_base_and_one_of_three_kinds() -> None:
    classes = [getattr(exceptions, n) for n in exceptions.__all__ if n != "AttemptRecord"]
    assert all(issubclass(c, exceptions.IonQCancelError) for c in classes)
    kinds = (exceptions.UsageError, exceptions.NoAnswerError, exceptions.RefusedError)
    requests_ = [c for c in classes if issubclass(c, exceptions.IonQRequestError)]
    assert all(issubclass(c, kinds) for c in requests_
               if c not in (exceptions.IonQRequestError, exceptions.NoAnswerError,
                            exceptions.RefusedError))
    assert not any(issubclass(c, exceptions.IonQRequestError) for c in classes
                   if issubclass(c, exceptions.UsageError))
    assert issubclass(exceptions.UsageError, ValueError)
