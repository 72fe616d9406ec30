"""Compatibility sessions: this package against each qiskit-ionq it supports.

    nox -s tests-1.1.1 tests-main tests-pr237          # our suite (python -m pytest) on each
    nox -s upstream-1.1.1 upstream-main upstream-pr237  # qiskit-ionq's suite, with our classes
    nox -s tests-main -- -x tests/client/test_cancel.py  # arguments after -- go to pytest

The versions (``VERSIONS``): "1.1.1" is the release, installed from the package index;
"main" is qiskit-ionq's main branch at 220daa6; "pr237" is main + pull request #237 (its
own primitives). What is not on the package index comes from a source archive, looked for in
order:

1. ``$QISKIT_IONQ_ARCHIVES/<file>``, else ``../shared/upstream/<file>`` beside this repository
   (where CI lays the archives);
2. the copy an earlier session made in ``.nox/qiskit-ionq-sources/``;
3. qiskit-ionq's public git repository (``$QISKIT_IONQ_GIT`` overrides the URL), fetched at
   the pinned commit and written as that archive into ``.nox/qiskit-ionq-sources/``.

qiskit-ionq's own test suite (``upstream-*``) always comes from such an archive, also for
1.1.1: its sdist on the package index ships only two of its test files.

A session whose source cannot be had is skipped with one line saying why, except under
``CI=true``, where it fails: CI never passes without the compatibility runs.
Differences allowed in qiskit-ionq's suite are listed in ``compat/known-differences.toml``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
UPSTREAM = ROOT.parent / "shared" / "upstream"
CACHE = ROOT / ".nox" / "qiskit-ionq-sources"
DIFFERENCES = ROOT / "compat" / "known-differences.toml"
REPOSITORY = "https://github.com/qiskit-community/qiskit-ionq.git"
GIT_TIMEOUT = 300  # seconds for one fetch of one commit


@dataclass(frozen=True)
class Version:
    """One qiskit-ionq this package is tested with."""

    #: What pip installs from the package index; ``None``: the source archive.
    requirement: str | None
    #: The source archive's file name (in the archive folders, and in ``CACHE``).
    archive: str
    #: The commit that archive is, in qiskit-ionq's git repository.
    commit: str
    #: What of our suite runs on it (``tests-<name>``); empty: all of it.
    our_tests: tuple[str, ...] = ()


VERSIONS: dict[str, Version] = {
    "1.1.1": Version("qiskit-ionq==1.1.1", "qiskit-ionq-1.1.1.tar.gz",
                     "bd1284199ef24557ce53f036c4661e1218642cdf"),  # tag v1.1.1
    "main": Version(None, "qiskit-ionq-main-220daa6.tar.gz",
                    "220daa672ce6554212282cf7dc050c7140b19673"),
    # GitHub's merge of pull request #237 into main 220daa6. Only the primitives and workflow
    # tests of our suite, to keep CI within 25 minutes: the rest is the same code as on main.
    "pr237": Version(None, "qiskit-ionq-pr237-e9c624b.tar.gz",
                     "e9c624b977a6143f909c5e355a1beb9ca2eeb9f6",
                     ("tests/workflows", "tests/docs/test_layout.py")),
}


def in_ci() -> bool:
    """Whether this runs in CI (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def archive_dirs() -> list[Path]:
    """Where source archives are looked for first: ``$QISKIT_IONQ_ARCHIVES`` if set, else
    ``../shared/upstream`` beside the repository."""
    override = os.environ.get("QISKIT_IONQ_ARCHIVES")
    return [Path(override).resolve()] if override else [UPSTREAM]


def fetch_archive(version: Version, name: str, cache: Path = CACHE) -> Path:
    """Fetch ``version.commit`` from qiskit-ionq's git repository and write it as
    ``cache/version.archive``; raise ``RuntimeError`` saying why when it cannot."""
    url = os.environ.get("QISKIT_IONQ_GIT", REPOSITORY)
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / version.archive
    with tempfile.TemporaryDirectory(prefix="qiskit-ionq-git-") as work:
        steps = [["git", "init", "-q", work],
                 ["git", "-C", work, "fetch", "-q", "--depth", "1", url, version.commit],
                 ["git", "-C", work, "archive", "--format=tar.gz",
                  f"--prefix=qiskit-ionq-{name}/", "-o", str(target) + ".part", version.commit]]
        for step in steps:
            try:
                done = subprocess.run(step, capture_output=True, text=True, check=False,  # noqa: S603 (git, fixed arguments)
                                      timeout=GIT_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise RuntimeError(f"{' '.join(step[:3])} failed: {exc}") from exc
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                raise RuntimeError(f"git could not fetch commit {version.commit[:7]} from "
                                   f"{url}: {last}")
    Path(str(target) + ".part").replace(target)
    return target


def find_archive(name: str, cache: Path = CACHE) -> tuple[Path | None, str]:
    """The source archive of version ``name``, and where it came from, or ``None`` and why
    it cannot be had."""
    version = VERSIONS[name]
    for folder in [*archive_dirs(), cache]:
        if (folder / version.archive).is_file():
            return folder / version.archive, str(folder)
    try:
        return fetch_archive(version, name, cache), f"git, commit {version.commit[:7]}"
    except RuntimeError as exc:
        looked = ", ".join(str(d) for d in archive_dirs())
        return None, (f"qiskit-ionq {name} source is not available: {version.archive} is in "
                      f"none of {looked}, {cache}; and {exc}. Lay the archive in one of "
                      "those folders (or set QISKIT_IONQ_ARCHIVES=DIR)")


def _archive_or_stop(session: nox.Session, name: str) -> Path:
    """The archive of version ``name``; else the session is skipped (one line), or under
    ``CI=true`` fails."""
    archive, where = find_archive(name)
    if archive is None:
        if in_ci():
            session.error(f"{where} (CI=true: a compatibility session may not be skipped)")
        session.skip(where)
    session.log(f"qiskit-ionq {name} source: {archive} (from {where})")
    return archive


def our_suite(session: nox.Session, name: str) -> None:
    """This package's own suite (the README's `python -m pytest`) on one qiskit-ionq."""
    version = VERSIONS[name]
    requirement = version.requirement or str(_archive_or_stop(session, name))
    session.install("-e", ".[test]", requirement)
    session.run("python", "-c", "import importlib.metadata as m, qiskit_ionq; "
                "print('qiskit-ionq', m.version('qiskit-ionq'), 'from', qiskit_ionq.__file__)")
    session.run("python", "-m", "pytest", *(session.posargs or version.our_tests))


def upstream_suite(session: nox.Session, name: str) -> None:
    """qiskit-ionq's own suite, from its source archive, with this package's classes in
    place."""
    version = VERSIONS[name]
    archive = _archive_or_stop(session, name)
    suite = Path(session.create_tmp()) / "upstream-suite"
    session.install("tomli; python_version < '3.11'")
    session.run("python", "-m", "compat.suite", str(archive), str(suite))
    session.install("-e", ".", version.requirement or str(archive),
                    "-r", str(suite / "requirements-test.txt"))
    session.chdir(suite)
    session.run(
        "python", "-m", "pytest", "-c", "pytest.ini", "--rootdir", ".", "-p", "no:cacheprovider",
        "-p", "compat.plugin", "--compat-differences", str(DIFFERENCES),
        "--compat-version", name, "-q", *(session.posargs or ["test"]),
        env={"PYTHONPATH": str(ROOT)},
    )


def _register(kind: str, run: Callable[[nox.Session, str], None], name: str) -> None:
    def session(session: nox.Session) -> None:
        run(session, name)

    session.__doc__ = f"{run.__doc__} [{name}]"
    nox.session(name=f"{kind}-{name}")(session)


for _name in VERSIONS:
    _register("tests", our_suite, _name)
    _register("upstream", upstream_suite, _name)
