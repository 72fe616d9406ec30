"""The tests' fixtures, defined once: ``clock`` and ``emu`` (an emulator on that clock, its
settings from the ``emu`` marker of the test or module), factories for emulators and HTTP
clients, the plugin's ``ionq_emulator`` observed by the contract monitor, and the contract
check of every message of every test. Helpers are in the ``support`` package."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from contract.observed import Emulator
from support import KEY, Api

from qiskit_ionq_cancel.emulator import ManualClock

# The test techniques, by file (or test): each marker (registered in pyproject.toml) selects
# them, `python -m pytest -m soak`. The slow ones are left out of the default run by
# pyproject's addopts and run as steps of their own in .ci/run (tests/docs/test_suite_split.py
# checks that every one does).
TECHNIQUES: dict[str, tuple[str, ...]] = {
    "soak": ("tests/workflows/test_soak.py",),
    "contract": ("tests/conformance/test_contract_schemathesis.py",),
    "conformance": ("tests/conformance/test_conformance.py",),
    "notebooks": ("tests/docs/test_notebooks.py::test_notebook_runs_top_to_bottom",
                  "tests/docs/test_notebooks.py::test_the_kernel_runs_this_interpreter"),
    "watchdog": ("tests/workflows/test_watchdog.py",),
    "chaos": ("tests/client/test_fault_matrix.py", "tests/client/test_hostile_transport.py",
              "tests/client/test_hostile_bulk.py", "tests/client/test_hostile_input.py",
              "tests/cli/test_hostile_cli.py", "tests/emulator/test_hostile_emulator.py",
              "tests/workflows/test_hostile_safety.py"),
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for marker, where in TECHNIQUES.items():
            if any(item.nodeid == w or item.nodeid.startswith((f"{w}::", f"{w}[")) for w in where):
                item.add_marker(marker)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "emu(**settings): Emulator settings for the ``emu`` fixture, over its "
                   "defaults (api_keys=[KEY], the test's clock, queue_time=10, run_time=5)")


@pytest.fixture
def clock() -> ManualClock:
    """The emulator's clock: jobs move on only when the test advances it."""
    return ManualClock()


@pytest.fixture
def emu(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[Emulator]:
    """An emulator on ``clock`` accepting ``KEY``; ``@pytest.mark.emu(...)`` (on the test or
    as the module's ``pytestmark``) changes its settings."""
    marker = request.node.get_closest_marker("emu")
    settings: dict[str, Any] = {"api_keys": [KEY], "clock": clock, "queue_time": 10.0,
                                "run_time": 5.0, **(marker.kwargs if marker else {})}
    if settings["clock"] is None:  # clock=None: real time
        del settings["clock"]
    with Emulator(**settings) as emulator:
        yield emulator


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., Emulator]]:
    """A factory: ``start_emulator(**settings)`` starts an :class:`Emulator` (stopped after
    the test)."""
    started: list[Emulator] = []

    def start(**settings: Any) -> Emulator:
        emulator = Emulator(**settings).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def api_for() -> Iterator[Callable[..., Api]]:
    """A factory: ``api_for(emulator, key=KEY)`` gives an :class:`Api` (closed after the
    test)."""
    clients: list[Api] = []

    def make(emulator: Emulator, key: str | None = KEY) -> Api:
        client = Api(emulator.url, key)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(ionq_emulator: Emulator, api_for: Callable[..., Api]) -> Api:
    """An :class:`Api` for the plugin's ``ionq_emulator``."""
    return api_for(ionq_emulator)


# -- the API contract, checked on every message of every test --------------------------------

@pytest.fixture(autouse=True)
def api_contract(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Check every message of the test against the API contract; fail the test at teardown
    when one broke it. Yields the :class:`contract.ContractMonitor`.

    - Answers: every answer of every emulator the tests build (``contract.observed``'s
      ``Emulator`` and ``running``, and the ``ionq_emulator`` fixture below, which pass the
      emulator an ``observer``), whoever asked; answers to deliberately malformed requests
      too (they must be IonQ's error body). Emulators run as a separate process (the CLI's
      tests) are not seen.
    - Requests: every request *this package's client* sends, checked as ``requests`` is
      about to send it (``requests.Session.send``, so the headers and body are the ones on
      the wire, whatever the target). Chosen by the client's User-Agent, which ends in
      ``qiskit-ionq-cancel/<version>``: the emulator's own tests send malformed requests on
      purpose with plain ``requests`` or ``http.client``, and the stock qiskit-ionq client
      has its own User-Agent; neither is this package's client. Wrapping
      ``IonQCancelClient._send`` instead would miss the session's headers.
    """
    import requests  # local imports: this block is appended to the conftest
    from contract import Contract, ContractMonitor
    from contract.observed import monitoring

    monitor = ContractMonitor(Contract.load())
    send = requests.Session.send

    def checked_send(self: requests.Session, request: requests.PreparedRequest,
                     **kwargs: Any) -> requests.Response:
        monitor.observe_request(request)
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", checked_send)
    with monitoring(monitor):
        yield monitor
    monitor.assert_clean()


@pytest.fixture
def ionq_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """The package plugin's ``ionq_emulator`` (same marker), observed by the contract
    monitor."""
    marker = request.node.get_closest_marker("ionq_emulator")
    settings = dict(marker.kwargs) if marker is not None else {}
    with Emulator(**settings) as emulator:
        yield emulator
