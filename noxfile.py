"""Compatibility sessions: this package against each qiskit-ionq it supports.

    nox -s tests-1.1.1 tests-main         # our suite (python -m pytest) on each version
    nox -s upstream-1.1.1 upstream-main   # qiskit-ionq's own suite with our classes in place
    nox -s tests-main -- -x tests/client/test_cancel.py   # arguments after -- go to pytest

"1.1.1" is the release from the package index. "main" is qiskit-ionq's main branch, from the
source archive in ``../shared/upstream/`` beside this repository (where CI lays it;
``QISKIT_IONQ_ARCHIVES=/path/to/archives`` points elsewhere).
Differences allowed in qiskit-ionq's suite are listed in ``compat/known-differences.toml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
UPSTREAM = ROOT.parent / "shared" / "upstream"
DIFFERENCES = ROOT / "compat" / "known-differences.toml"

#: version name -> (what pip installs, the source archive holding that version's tests)
VERSIONS: dict[str, tuple[str, str]] = {
    "1.1.1": ("qiskit-ionq==1.1.1", "qiskit-ionq-1.1.1.tar.gz"),
    "main": ("{archive}", "qiskit-ionq-main-220daa6.tar.gz"),
}


def _archive_dir() -> Path:
    """``../shared/upstream`` beside the repository, or ``$QISKIT_IONQ_ARCHIVES`` if set
    (for a work tree that does not sit beside ``shared/``)."""
    override = os.environ.get("QISKIT_IONQ_ARCHIVES")
    return Path(override).resolve() if override else UPSTREAM


def _version(session: nox.Session, version: str) -> tuple[str, Path]:
    """What pip installs for ``version``, and the archive with its tests; both checked."""
    requirement, archive_name = VERSIONS[version]
    archive = _archive_dir() / archive_name
    if not archive.exists():
        session.error(f"{archive} is missing: the qiskit-ionq source archives belong in "
                      f"{UPSTREAM} (or set QISKIT_IONQ_ARCHIVES)")
    return requirement.format(archive=archive), archive


def our_suite(session: nox.Session, version: str) -> None:
    """This package's own suite (the README's `python -m pytest`) on one qiskit-ionq."""
    requirement, _ = _version(session, version)
    session.install("-e", ".[test]", requirement)
    session.run("python", "-c", "import importlib.metadata as m, qiskit_ionq; "
                "print('qiskit-ionq', m.version('qiskit-ionq'), 'from', qiskit_ionq.__file__)")
    session.run("python", "-m", "pytest", *session.posargs)


def upstream_suite(session: nox.Session, version: str) -> None:
    """qiskit-ionq's own suite, from its archive, with this package's classes in place."""
    requirement, archive = _version(session, version)
    suite = Path(session.create_tmp()) / "upstream-suite"
    session.install("tomli; python_version < '3.11'")
    session.run("python", "-m", "compat.suite", str(archive), str(suite))
    session.install("-e", ".", requirement, "-r", str(suite / "requirements-test.txt"))
    session.chdir(suite)
    session.run(
        "python", "-m", "pytest", "-c", "pytest.ini", "--rootdir", ".", "-p", "no:cacheprovider",
        "-p", "compat.plugin", "--compat-differences", str(DIFFERENCES),
        "--compat-version", version, "-q", *(session.posargs or ["test"]),
        env={"PYTHONPATH": str(ROOT)},
    )


def _register(kind: str, run: Callable[[nox.Session, str], None], version: str) -> None:
    def session(session: nox.Session) -> None:
        run(session, version)

    session.__doc__ = f"{run.__doc__} [{version}]"
    nox.session(name=f"{kind}-{version}")(session)


for _name in VERSIONS:
    _register("tests", our_suite, _name)
    _register("upstream", upstream_suite, _name)
