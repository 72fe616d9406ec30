"""The compatibility harness's pure parts: fake-id rewriting, suite layout, differences file.

The harness itself (``noxfile.py``, ``compat/``) runs qiskit-ionq's suite with our classes;
these tests pin what it rewrites and how it reads the list of documented differences.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

import noxfile
from compat.fake_ids import discover_fake_ids, fake_uuid, rewrite_source
from compat.plugin import (
    Difference,
    give_mock_backend_our_behaviour,
    load_differences,
    swap_attribute,
)
from compat.suite import prepare_suite
from qiskit_ionq_cancel._core.validation import validate_job_id

REPO = Path(__file__).resolve().parents[2]


def test_fake_uuid_is_a_valid_job_id_and_stable() -> None:
    assert validate_job_id(fake_uuid("test_id")) == fake_uuid("test_id")
    assert fake_uuid("test_id") != fake_uuid("test_id_2")


def test_discovery_finds_job_ids_and_nothing_else() -> None:
    source = textwrap.dedent('''
        job_id = "test_id"
        child_job_id_1 = "kid_1"
        job_ids = ["a1", "a2"]
        backend_name = "simulator"
        session_id = "sess-1"
        artifact_id = "art-1"
        response = {"id": "server_id", "children": ["c1"], "name": "not_an_id"}
        job = ionq_job.IonQJob(backend, "ctor_id")
        backend.retrieve_job("retrieved")
        client.make_path("jobs", "pathed", "results")
        client.make_path("backends", "qpu.aria-1")
        conftest.dummy_job_response("dummied")
        run(job_id="kw_id")
        ok = "0ef0a2a4-6d5e-4b4c-9c39-6f1a8e1f2b3c"
    ''')
    assert discover_fake_ids(source) == {
        "test_id", "kid_1", "a1", "a2", "server_id", "c1", "ctor_id", "retrieved", "pathed",
        "dummied", "kw_id",
    }


def test_rewrite_changes_whole_ids_in_strings_only() -> None:
    ids = {"test_id": fake_uuid("test_id")}
    uid = ids["test_id"]
    source = textwrap.dedent('''
        test_id = "test_id"
        path = "/v0.4/jobs/test_id/results"
        other = "test_qobj_id"
        longer = "test_id_2"
        url = f"/jobs/{test_id}/test_id"
    ''')
    assert rewrite_source(source, ids) == textwrap.dedent(f'''
        test_id = "{uid}"
        path = "/v0.4/jobs/{uid}/results"
        other = "test_qobj_id"
        longer = "test_id_2"
        url = f"/jobs/{{test_id}}/{uid}"
    ''')


def test_rewrite_computes_dynamic_ids_like_their_literals() -> None:
    source = 'ids = [f"fake_job_{i}" for i in range(3)]\nother = f"keep_{i}"\n'
    rewritten = rewrite_source(source, {}, dynamic_prefixes=["fake_job_"])
    assert 'f"keep_{i}"' in rewritten
    namespace: dict[str, object] = {"i": 0}
    exec(compile(rewritten, "<rewritten>", "exec"), namespace)
    assert namespace["ids"] == [fake_uuid(f"fake_job_{i}") for i in range(3)]


def _archive(tmp_path: Path, files: dict[str, str]) -> Path:
    path = tmp_path / "qiskit-ionq-x.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"qiskit-ionq-x/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_prepare_suite_lays_out_tests_only_with_ids_rewritten(tmp_path: Path) -> None:
    archive = _archive(tmp_path, {
        "qiskit_ionq/__init__.py": "raise ImportError('must not be unpacked')\n",
        "tox.ini": "[tox]\nenvlist = py\n[pytest]\nfilterwarnings =\n  error::Warning\n"
                   "  ignore:x:UserWarning\n",
        "requirements-test.txt": "requests-mock\n",
        "test/__init__.py": "",
        "test/test_job.py": 'job_id = "test_id"\n',
    })
    dest = tmp_path / "suite"
    mapping = prepare_suite(archive, dest)
    assert mapping == {"test_id": fake_uuid("test_id")}
    assert sorted(p.name for p in dest.iterdir()) == [
        "fake-ids.json", "pytest.ini", "requirements-test.txt", "test"]
    assert (dest / "test" / "test_job.py").read_text() == f'job_id = "{mapping["test_id"]}"\n'
    assert (dest / "pytest.ini").read_text() == (
        "[pytest]\nfilterwarnings = error::Warning\n  ignore:x:UserWarning\n")


def test_difference_matches_a_test_or_all_its_parametrizations() -> None:
    whole = Difference("t.py::test_a", ("main",), "why")
    one = Difference("t.py::test_a[x]", ("main",), "why")
    assert whole.matches("t.py::test_a") and whole.matches("t.py::test_a[x]")
    assert not whole.matches("t.py::test_ab")
    assert one.matches("t.py::test_a[x]") and not one.matches("t.py::test_a[y]")


def test_differences_file_is_read_per_version(tmp_path: Path) -> None:
    listed = tmp_path / "d.toml"
    listed.write_text(textwrap.dedent('''
        [[difference]]
        test = "t.py::test_a"
        versions = ["1.1.1", "main"]
        reason = """two
          lines"""
        [[difference]]
        test = "t.py::test_b"
        versions = ["main"]
        reason = "b"
    '''))
    assert load_differences(listed, "1.1.1") == [
        Difference("t.py::test_a", ("1.1.1", "main"), "two lines")]
    assert [d.test for d in load_differences(listed, "main")] == ["t.py::test_a", "t.py::test_b"]


def test_a_difference_without_reason_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / "d.toml"
    listed.write_text('[[difference]]\ntest = "t.py::test_a"\nversions = ["main"]\nreason = " "\n')
    with pytest.raises(pytest.UsageError, match="needs a reason"):
        load_differences(listed, "main")


def test_the_project_differences_file_is_valid() -> None:
    assert set(noxfile.VERSIONS) == {"1.1.1", "main", "pr237"}
    for version in noxfile.VERSIONS:
        for difference in load_differences(REPO / "compat" / "known-differences.toml", version):
            assert difference.test.startswith("test/") and "::" in difference.test
            assert len(difference.reason) > 20
            assert set(difference.versions) <= set(noxfile.VERSIONS), difference


# -- where each qiskit-ionq comes from (noxfile.py) -------------------------------------------

def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def no_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No archive folder holds anything and the git repository does not exist; the cache is
    an empty folder (returned)."""
    monkeypatch.setenv("QISKIT_IONQ_ARCHIVES", str(tmp_path / "archives"))
    monkeypatch.setenv("QISKIT_IONQ_GIT", str(tmp_path / "no-such-repository"))
    monkeypatch.delenv("CI", raising=False)
    return tmp_path / "cache"


def test_the_release_comes_from_the_package_index_the_others_from_source() -> None:
    assert noxfile.VERSIONS["1.1.1"].requirement == "qiskit-ionq==1.1.1"
    assert noxfile.VERSIONS["main"].requirement is None
    assert noxfile.VERSIONS["pr237"].requirement is None
    for version in noxfile.VERSIONS.values():  # full commits: git fetches by full id only
        assert re.fullmatch(r"[0-9a-f]{40}", version.commit)
        assert version.commit[:7] in version.archive or version.requirement


def test_an_archive_in_the_archives_folder_is_used_without_git(no_sources: Path,
                                                               tmp_path: Path) -> None:
    folder = tmp_path / "archives"
    folder.mkdir()
    (folder / noxfile.VERSIONS["main"].archive).write_bytes(b"archive")
    archive, where = noxfile.find_archive("main", cache=no_sources)
    assert archive == folder / noxfile.VERSIONS["main"].archive
    assert where == str(folder)
    assert not no_sources.exists()  # nothing fetched


def test_a_source_that_cannot_be_had_says_why_and_what_to_do(no_sources: Path) -> None:
    archive, why = noxfile.find_archive("pr237", cache=no_sources)
    assert archive is None
    assert "qiskit-ionq-pr237-e9c624b.tar.gz is in none of" in why
    assert "git could not fetch commit e9c624b" in why
    assert "QISKIT_IONQ_ARCHIVES" in why and "\n" not in why


def test_the_git_fallback_writes_the_pinned_commit_as_an_archive_the_suite_reads(
        no_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repository = tmp_path / "qiskit-ionq"
    (repository / "test").mkdir(parents=True)
    (repository / "test" / "__init__.py").write_text("")
    (repository / "test" / "test_job.py").write_text('job_id = "test_id"\n')
    (repository / "requirements-test.txt").write_text("requests-mock\n")
    _git("init", "-q", str(repository))
    _git("-C", str(repository), "add", ".")
    _git("-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    commit = _git("-C", str(repository), "rev-parse", "HEAD").strip()
    (repository / "test" / "test_job.py").write_text("later = 1\n")  # not committed: unseen
    monkeypatch.setenv("QISKIT_IONQ_GIT", str(repository))
    version = noxfile.Version(None, "qiskit-ionq-x.tar.gz", commit)
    monkeypatch.setitem(noxfile.VERSIONS, "x", version)
    archive, where = noxfile.find_archive("x", cache=no_sources)
    assert archive == no_sources / "qiskit-ionq-x.tar.gz"
    assert where == f"git, commit {commit[:7]}"
    mapping = prepare_suite(archive, tmp_path / "suite")
    assert (tmp_path / "suite" / "test" / "test_job.py").read_text() == \
        f'job_id = "{mapping["test_id"]}"\n'
    assert noxfile.find_archive("x", cache=no_sources) == (archive, str(no_sources))  # cached


class _Stopped(Exception):
    pass


class _Session:
    """Records how a nox session was stopped."""

    def __init__(self) -> None:
        self.stopped: list[tuple[str, str]] = []

    def skip(self, reason: str) -> None:
        self.stopped.append(("skip", reason))
        raise _Stopped

    def error(self, reason: str) -> None:
        self.stopped.append(("error", reason))
        raise _Stopped


@pytest.mark.parametrize(("ci", "how"), [(None, "skip"), ("true", "error"), ("false", "skip")])
def test_a_session_without_its_source_is_skipped_but_fails_in_ci(
        no_sources: Path, monkeypatch: pytest.MonkeyPatch, ci: str | None, how: str) -> None:
    monkeypatch.setattr(noxfile, "CACHE", no_sources)
    monkeypatch.setattr(noxfile, "find_archive",
                        lambda name: (None, f"qiskit-ionq {name} source is not available"))
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    session = _Session()
    with pytest.raises(_Stopped):
        noxfile.upstream_suite(session, "main")  # type: ignore[arg-type]
    assert len(session.stopped) == 1
    kind, reason = session.stopped[0]
    assert kind == how and reason.startswith("qiskit-ionq main source is not available")
    assert ("CI=true" in reason) is (how == "error")


def test_ci_runs_every_compatibility_session_and_cannot_skip_one() -> None:
    script = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^export CI=", script, re.MULTILINE)
    for name in noxfile.VERSIONS:
        assert f"upstream-{name}" in script and f"tests-{name}" in script


class _Stock:
    pass


class _Ours(_Stock):
    pass


def test_a_swapped_attribute_reads_as_ours_except_to_this_package() -> None:
    module = types.ModuleType("compat_test_fake_qiskit_ionq")
    module.Job = _Stock  # type: ignore[attr-defined]
    swap_attribute(module, "Job", _Ours)
    reader = "def read(module):\n    return module.Job\n"
    outside: dict[str, Any] = {"__name__": "test.ionq_job.test_job"}
    inside: dict[str, Any] = {"__name__": "qiskit_ionq_cancel._compat.upstream"}
    exec(reader, outside)
    exec(reader, inside)
    assert outside["read"](module) is _Ours
    assert inside["read"](module) is _Stock
    assert vars(module)["Job"] is _Stock  # the module's own globals are untouched


def test_mock_backend_gets_our_backend_behaviour_and_keeps_its_construction() -> None:
    from qiskit_ionq import ionq_backend

    import qiskit_ionq_cancel.backend as ours

    class MockBackend(ionq_backend.IonQBackend):
        def __init__(self, provider: object) -> None:
            self.made_by = provider

    conftest = types.SimpleNamespace(MockBackend=MockBackend)
    assert give_mock_backend_our_behaviour(conftest)
    composed = conftest.MockBackend
    assert composed.__init__ is MockBackend.__init__
    assert issubclass(composed, MockBackend)
    assert composed._create_client is ours.IonQSimulatorBackend._create_client
    assert composed.run is ours.IonQSimulatorBackend.run
