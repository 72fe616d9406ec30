"""A base URL without ``/v0.4``: the server's own 404 (a route it does not have) is not a
"job not found"; it is a typed error that names the probable fix. Against the emulator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from support import one_line, point_env_at

from qiskit_ionq_cancel import (
    IonQProvider,
    IonQRequestError,
    JobNotFoundError,
    WrongBaseURLError,
    cancel,
    cancel_jobs,
)
from qiskit_ionq_cancel.cli import main
from qiskit_ionq_cancel.emulator import Emulator

KEY = "wrong-url-test-key-5a9e"


@pytest.fixture(autouse=True)
def off_the_api(api_contract: Any) -> Iterator[None]:
    """These tests send requests outside the API on purpose: the contract check may flag
    those (and only those)."""
    yield
    assert all(p.endswith("not an operation of the API") for p in api_contract.problems)
    api_contract.clear()


pytestmark = pytest.mark.emu(api_keys=[KEY], queue_time=3600, clock=None)


@pytest.fixture
def root(emu: Emulator) -> str:
    """The emulator's address without ``/v0.4``, as a user might paste it."""
    return emu.url.removesuffix("/v0.4")


def test_a_url_without_the_version_is_named_with_the_fix(emu: Emulator, root: str) -> None:
    job_id = emu.store.add_jobs(1)[0]
    with pytest.raises(WrongBaseURLError) as info:
        cancel(job_id, provider=IonQProvider(KEY, url=root))
    error = info.value
    assert isinstance(error, IonQRequestError) and not isinstance(error, JobNotFoundError)
    assert error.status_code == 404 and error.job_id == job_id
    assert f"The API base URL {root} is probably wrong; try {emu.url}" in str(error)
    assert emu.store.status_of(job_id) == "ready"  # untouched


def test_an_unknown_job_at_the_right_url_is_still_not_found(emu: Emulator) -> None:
    missing = str(uuid.UUID(int=9, version=4))
    with pytest.raises(JobNotFoundError) as info:
        cancel(missing, provider=IonQProvider(KEY, url=emu.url))
    assert not isinstance(info.value, WrongBaseURLError)


@pytest.mark.parametrize(("path", "suggestion"), [
    ("/v0.3", "try {root}/v0.4"),
    ("/api", "try {root}/api/v0.4"),
    ("/v0.4/v0.4", "it ends in /v0.4 as it should"),
])
def test_the_suggestion_fits_the_url(emu: Emulator, root: str, path: str,
                                     suggestion: str) -> None:
    report = cancel_jobs(emu.store.add_jobs(1), provider=IonQProvider(KEY, url=root + path))
    (error,) = report.errors.values()
    assert isinstance(error, WrongBaseURLError)
    assert suggestion.format(root=root) in str(error)


def test_cli_exits_2_and_suggests_the_url(emu: Emulator, root: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    point_env_at(monkeypatch, root, KEY)
    job_id = emu.store.add_jobs(1)[0]

    assert main([job_id]) == 2
    assert f"has no IonQ jobs API (HTTP 404): try {emu.url}" in one_line(capsys.readouterr().err)
    assert main(["status", job_id]) == 2
    assert f"has no IonQ jobs API (HTTP 404): try {emu.url}" in one_line(capsys.readouterr().err)
    assert emu.store.status_of(job_id) == "ready"
