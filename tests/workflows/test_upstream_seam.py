"""The seam with qiskit-ionq: what we rely on of its internals, and that every request its
code sends through our classes takes our one request path. Runs on every qiskit-ionq version
CI tests (1.1.1 and main)."""

from __future__ import annotations

import ast
import inspect
import logging
import pkgutil
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qiskit_ionq
import requests
from qiskit_ionq import ionq_backend
from qiskit_ionq.ionq_client import IonQClient
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob
from support import bell

import qiskit_ionq_cancel
from qiskit_ionq_cancel import (
    IonQProvider,
    IonQRequestError,
    RetriesExhaustedError,
    RetryPolicy,
)
from qiskit_ionq_cancel._compat import upstream
from qiskit_ionq_cancel._http.client import IonQCancelClient
from qiskit_ionq_cancel.emulator import Emulator, Fault

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PACKAGE = Path(qiskit_ionq_cancel.__file__).parent
UPSTREAM = Path(qiskit_ionq.__file__).parent
_HTTP_VERBS = {"get", "post", "put", "delete", "patch", "head", "request"}
KEY = "seam-test-key-5d1e"  # this module's own, so a leak would be traced here


pytestmark = pytest.mark.emu(api_keys=[KEY], seed=3)


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "emulator" not in p.parts)


def _private_names_of_qiskit_ionq() -> set[str]:
    """Every underscore attribute qiskit-ionq's own code sets or defines. (Not those it only
    reads: since #237 its primitives read Qiskit's own ``_options`` and ``_validate_pubs``,
    which are Qiskit's internals, not qiskit-ionq's.)"""
    names: set[str] = set()
    for path in _modules(UPSTREAM):
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.attr if isinstance(node, ast.Attribute) and isinstance(
                node.ctx, ast.Store) else node.name if isinstance(node, ast.FunctionDef) else None
            if name and name.startswith("_") and not name.startswith("__"):
                names.add(name)
    return names


def test_no_module_but_the_seam_touches_a_private_attribute_of_qiskit_ionq() -> None:
    private = _private_names_of_qiskit_ionq()
    assert {"_job_id", "_status", "_client", "_token", "_url"} <= private  # the scan works
    touched = []
    for path in _modules(PACKAGE):
        if path.name == "upstream.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                touched.append(f"{path.name}:{node.lineno} .{node.attr}")
    # Overriding qiskit-ionq's client hook is not touching its state:
    touched = [t for t in touched if not t.endswith("._create_client")]
    assert touched == []


def _sends_http(func: ast.AST) -> set[str]:
    """How a function sends HTTP: 'requests' (directly) and/or the helpers it calls."""
    ways: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and owner.id == "requests" and \
                    node.func.attr in _HTTP_VERBS:
                ways.add("requests")
    return ways


def _functions(path: Path) -> dict[str, ast.FunctionDef]:
    found: dict[str, ast.FunctionDef] = {}
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = node
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[f"{node.name}.{item.name}"] = item
    return found


def test_every_request_sending_method_of_qiskit_ionq_is_routed() -> None:
    """Every qiskit-ionq function that calls ``requests`` directly is either a method of
    ``IonQClient`` that our client overrides, or a module function none of whose callers
    stays in use (each caller is overridden by our classes)."""
    direct: dict[str, str] = {}  # qualified name -> module
    functions: dict[str, tuple[str, ast.FunctionDef]] = {}
    for path in _modules(UPSTREAM):
        for name, func in _functions(path).items():
            functions[f"{path.stem}.{name}"] = (path.stem, func)
            if _sends_http(func):
                direct[f"{path.stem}.{name}"] = path.stem
    assert "ionq_client.IonQClient.cancel_job" in direct  # the scan finds them
    ours = {
        "IonQClient": IonQCancelClient,
        "IonQProvider": IonQProvider,
        "IonQSimulatorBackend": qiskit_ionq_cancel.IonQSimulatorBackend,
        "IonQQPUBackend": qiskit_ionq_cancel.IonQQPUBackend,
    }

    def overridden(qualified: str) -> bool:
        parts = qualified.split(".")
        if len(parts) != 3 or parts[1] not in ours:
            return False
        mine = ours[parts[1]]
        stock = next(c for c in mine.__mro__ if c.__name__ == parts[1] and
                     c.__module__.startswith("qiskit_ionq."))
        return getattr(mine, parts[2], None) is not getattr(stock, parts[2], None)

    unrouted = []
    for qualified in direct:
        if overridden(qualified):
            continue
        if qualified.count(".") == 2:  # a method we do not override
            unrouted.append(qualified)
            continue
        helper = qualified.split(".")[1]  # a module function: who calls it?
        for caller, (_, func) in functions.items():
            calls = {n.func.id for n in ast.walk(func)
                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
            if helper in calls and caller != qualified and not overridden(caller):
                unrouted.append(f"{qualified} via {caller}")
    assert unrouted == []


@pytest.fixture
def no_stock_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any request sent with bare ``requests.get`` & co. (how qiskit-ionq sends)."""
    bypassed: list[str] = []

    def refuse(method: str) -> Any:
        def send(url: str, *args: Any, **kwargs: Any) -> Any:
            bypassed.append(f"{method} {url}")
            raise AssertionError(f"{method} {url} bypassed the one request path")
        return send

    for verb in ("get", "post", "put", "delete"):
        monkeypatch.setattr(requests, verb, refuse(verb.upper()))
    return bypassed


@pytest.fixture
def qiskit_ionq_extras(api_contract: Any) -> Iterator[None]:
    """qiskit-ionq sends a query parameter IonQ's v0.4 document does not list (``session`` on
    estimates; its ``limit`` on characterizations is in the October 2026 document). These
    tests are about the request path, so exactly those findings are expected (and nothing
    else)."""
    yield
    assert api_contract.problems, "qiskit-ionq no longer sends them: drop this fixture"
    assert all(re.search(r"query parameter 'session' is not the API's", p)
               for p in api_contract.problems), api_contract.problems
    api_contract.clear()


def _provider(emu: Emulator, **policy: Any) -> IonQProvider:
    settings = {"deadline": 10.0, "backoff_initial": 0.001, "jitter": 0.0, **policy}
    return IonQProvider(KEY, url=emu.url, retry_policy=RetryPolicy(**settings))


def _statuses(emu: Emulator, path: str) -> list[int | None]:
    return [e.status for e in emu.log.entries if path in e.path]


def test_a_whole_workflow_sends_nothing_outside_our_client(
        emu: Emulator, no_stock_requests: list[str]) -> None:
    provider = _provider(emu)
    backend = provider.get_backend("simulator")
    job = backend.run(bell())
    job.status()
    assert job.cancel() is True
    assert backend.calibration() is None  # the simulator has none, on both versions
    assert no_stock_requests == []
    assert provider.client.requests_sent >= 2


def test_calibration_is_retried_gated_and_typed(emu: Emulator,
                                                no_stock_requests: list[str]) -> None:
    provider = _provider(emu)
    backend = provider.get_backend("qpu.aria-1")
    emu.faults.inject(Fault.http(503), path="characterizations")
    emu.faults.inject(Fault.http(429, retry_after="0"), path="characterizations")
    emu.faults.inject(Fault.http(400), path="characterizations")
    with pytest.raises(IonQRequestError) as info:
        backend.calibration()
    assert info.value.status_code == 400
    assert _statuses(emu, "characterizations") == [503, 429, 400]  # retried, then typed
    assert provider.client.gate.rate is not None  # the 429 slowed the shared gate
    assert no_stock_requests == []


@pytest.mark.usefixtures("qiskit_ionq_extras")
def test_get_artifact_and_estimate_take_our_path(emu: Emulator,
                                                 no_stock_requests: list[str]) -> None:
    provider = _provider(emu, max_attempts=2)
    job = provider.get_backend("simulator").run(bell())
    client = provider.client
    emu.faults.inject(Fault.http(503), times=2, path="/artifacts/")
    with pytest.raises(RetriesExhaustedError) as info:
        client.get_artifact(job.job_id(), "3f1e2d4c-0000-4000-8000-000000000000")
    assert [r.status for r in info.value.history] == [503, 503]
    assert _statuses(emu, "/artifacts/") == [503, 503]
    emu.faults.inject(Fault.http(502), path="/jobs/estimate")
    emu.faults.inject(Fault.http(401), path="/jobs/estimate")
    with pytest.raises(qiskit_ionq_cancel.AuthenticationError):
        client.estimate_job(backend="qpu.aria-1", oneq_gates=1, twoq_gates=1, qubits=2,
                            shots=100)
    assert _statuses(emu, "/jobs/estimate") == [502, 401]
    assert no_stock_requests == []


def test_sessions_of_qiskit_ionq_take_our_path(emu: Emulator,
                                               no_stock_requests: list[str]) -> None:
    provider = _provider(emu)
    backend = provider.get_backend("simulator")
    emu.faults.inject(Fault.http(429, retry_after="0"), path="/sessions")
    emu.faults.inject(Fault.http(403), path="/sessions")
    with pytest.raises(qiskit_ionq_cancel.AuthenticationError):
        qiskit_ionq.Session(backend)  # POST /sessions: a 429 is retried, then typed
    assert _statuses(emu, "/sessions") == [429, 403]
    assert no_stock_requests == []


def test_the_backends_catalog_of_qiskit_ionq_main_takes_our_path(
        emu: Emulator, no_stock_requests: list[str]) -> None:
    if not upstream.backend_sizes_are_lazy():
        pytest.skip("qiskit-ionq 1.1.1 has no backends catalog")
    provider = _provider(emu)
    emu.faults.inject(Fault.http(503), method="GET", path=r"/backends$")
    backend = provider.get_backend("qpu.forte-1")
    qubits = backend.num_qubits
    assert [e.status for e in emu.log.entries] == [503, 200]  # GET /backends, retried
    assert qubits == emu_qubits(emu, "qpu.forte-1")
    assert no_stock_requests == []


def emu_qubits(emu: Emulator, name: str) -> int:
    answer = requests.Session().get(f"{emu.url}/backends/{name}", timeout=10).json()
    return int(answer["qubits"])


def test_backends_have_what_qiskit_ionq_s_own_init_gives_them(
        emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where qiskit-ionq's ``__init__`` cannot be called (1.1.1), ours sets the same
    attributes to the same values; this fails when qiskit-ionq changes what it sets."""
    monkeypatch.setattr(ionq_backend, "get_n_qubits", lambda name, fallback=4: 29,
                        raising=False)
    provider = _provider(emu)
    monkeypatch.setattr(provider, "backend_qubits", lambda name: 29)
    stock_provider = qiskit_ionq.IonQProvider(KEY, url=emu.url)
    ours_only = {"client", "cancel_on_timeout", "cancel_on_interrupt", "_qubits",
                 "_qubits_lock", "backend_qubits"}
    assert set(vars(provider)) - ours_only == set(vars(stock_provider))
    for ours, stock_cls in ((qiskit_ionq_cancel.IonQSimulatorBackend,
                             ionq_backend.IonQSimulatorBackend),
                            (qiskit_ionq_cancel.IonQQPUBackend, ionq_backend.IonQQPUBackend)):
        for name in (None, "qpu.aria-1"):
            args = () if name is None else (name,)
            mine, theirs = ours(provider, *args), stock_cls(stock_provider, *args)
            assert set(vars(mine)) == set(vars(theirs))
            simple = (str, int, float, bool, tuple, type(None))
            for attr, value in vars(theirs).items():
                if isinstance(value, simple):
                    assert vars(mine)[attr] == value, attr


def test_a_qiskit_ionq_outside_the_tested_range_gets_one_clear_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="qiskit_ionq_cancel"):
        assert upstream.check_qiskit_ionq_version("1.1.1") is True
        assert upstream.check_qiskit_ionq_version("1.1.2") is True  # the next patch release
        assert caplog.records == []
        assert upstream.check_qiskit_ionq_version("1.2.0") is False
    assert len(caplog.records) == 1
    assert "1.2.0" in caplog.text and ">=1.1.1,<1.2" in caplog.text


@pytest.mark.parametrize("version", ["1.1.0", "1.2", "1.2.0rc1", "2.0.0"])
def test_versions_outside_the_supported_range_are_named(version: str) -> None:
    assert upstream.check_qiskit_ionq_version(version) is False


def test_pyproject_declares_the_tested_range() -> None:
    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    wanted = "qiskit-ionq" + ",".join(upstream.TESTED_QISKIT_IONQ)
    assert wanted in pyproject["project"]["dependencies"]


def test_the_installed_qiskit_ionq_is_a_tested_one() -> None:
    assert upstream.check_qiskit_ionq_version() is True


def test_result_passes_on_qiskit_ionq_s_arguments(emu: Emulator) -> None:
    """``result()`` takes what the installed qiskit-ionq takes (main: ``aggregation=``)."""
    provider = _provider(emu)
    job = provider.get_backend("simulator").run(bell())
    stock_params = inspect.signature(StockIonQJob.result).parameters
    kwargs: dict[str, Any] = {"aggregation": "average"} if "aggregation" in stock_params else {}
    assert job.cancel() is True
    with pytest.raises(Exception, match="cancel"):
        job.result(**kwargs)


def test_every_client_method_that_qiskit_ionq_sends_with_exists() -> None:
    """The helpers qiskit-ionq's code calls on a client are ours."""
    for name in ("get_with_retry", "post", "put", "submit_job", "cancel_job", "delete_job",
                 "retrieve_job"):
        assert name in vars(IonQCancelClient), name
    assert issubclass(IonQCancelClient, IonQClient)


def test_modules_are_found() -> None:
    assert {m.name for m in pkgutil.iter_modules([str(PACKAGE / "_compat")])} >= {"upstream"}
    assert {m.name for m in pkgutil.iter_modules([str(PACKAGE / "_http")])} >= {"transport"}
