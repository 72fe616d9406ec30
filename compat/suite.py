"""Lay out qiskit-ionq's own test suite from a source archive, ready to run with our classes.

``python -m compat.suite ARCHIVE DEST`` unpacks the archive's ``test/`` package into
``DEST/test``, rewrites its fake job ids to UUIDs (:mod:`compat.fake_ids`), writes the id
mapping to ``DEST/fake-ids.json`` and a ``DEST/pytest.ini`` with upstream's warning filters,
and puts upstream's ``requirements-test.txt`` beside them.
Only ``test/`` is unpacked: the archive's ``qiskit_ionq/`` must not shadow the installed one.
"""

from __future__ import annotations

import argparse
import configparser
import json
import shutil
import sys
import tarfile
from pathlib import Path, PurePosixPath

from .fake_ids import discover_fake_ids, fake_uuid, rewrite_source

__all__ = ["DYNAMIC_PREFIXES", "EXTRA_FAKE_IDS", "prepare_suite"]

#: Fake ids built at run time, as ``f"fake_job_{i}"``: the literal prefix before the field.
DYNAMIC_PREFIXES = ("fake_job_",)
#: Fake job ids the discovery rules of :mod:`compat.fake_ids` do not see: positional
#: arguments of client methods in upstream's tests.
EXTRA_FAKE_IDS = ("job-id",)


_TOP_FILES = ("tox.ini", "requirements-test.txt")


def _members(archive: tarfile.TarFile) -> tuple[str, list[tarfile.TarInfo]]:
    """The archive's top folder and its members under ``test/``, plus ``tox.ini`` and
    ``requirements-test.txt``."""
    names = archive.getnames()
    top = PurePosixPath(names[0]).parts[0]
    wanted = []
    for member in archive.getmembers():
        parts = PurePosixPath(member.name).parts
        if len(parts) < 2 or parts[0] != top:
            continue
        in_scope = parts[1] == "test" or (len(parts) == 2 and parts[1] in _TOP_FILES)
        if in_scope and (member.isfile() or member.isdir()):
            wanted.append(member)
    return top, wanted


def _pytest_ini(tox_ini: str) -> str:
    """A pytest.ini with upstream's ``[pytest]`` section (its warning filters) and nothing
    of its coverage options, which need pytest-cov and are not what is tested here."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(tox_ini)
    lines = ["[pytest]"]
    if parser.has_section("pytest"):
        for key, value in parser.items("pytest"):
            lines.append(f"{key} = " + value.strip().replace("\n", "\n  "))
    return "\n".join(lines) + "\n"


def prepare_suite(archive_path: Path, dest: Path) -> dict[str, str]:
    """Unpack and rewrite the suite into ``dest`` (emptied first); return the id mapping."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(archive_path) as archive:
        top, members = _members(archive)
        archive.extractall(dest, members=members, filter="data")
    root = dest / top
    shutil.move(str(root / "test"), dest / "test")
    requirements = root / "requirements-test.txt"
    if requirements.exists():
        shutil.move(str(requirements), dest / "requirements-test.txt")
    tox_ini = root / "tox.ini"
    (dest / "pytest.ini").write_text(_pytest_ini(tox_ini.read_text() if tox_ini.exists() else ""))
    shutil.rmtree(root)

    sources = {path: path.read_text() for path in sorted((dest / "test").rglob("*.py"))}
    fakes = {extra for extra in EXTRA_FAKE_IDS if any(extra in s for s in sources.values())}
    for source in sources.values():
        fakes |= discover_fake_ids(source)
    mapping = {fake: fake_uuid(fake) for fake in sorted(fakes)}
    for path, source in sources.items():
        path.write_text(rewrite_source(source, mapping, DYNAMIC_PREFIXES))
    (dest / "fake-ids.json").write_text(json.dumps(mapping, indent=2) + "\n")
    return mapping


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m compat.suite ARCHIVE DEST``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="a qiskit-ionq source archive (.tar.gz)")
    parser.add_argument("dest", type=Path, help="folder to lay the suite out in (emptied)")
    args = parser.parse_args(argv)
    mapping = prepare_suite(args.archive, args.dest)
    sys.stdout.write(f"{args.dest}: {len(mapping)} fake job ids mapped to UUIDs\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
