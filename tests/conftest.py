"""Shared helpers for the emulator's tests: an HTTP client bound to one emulator, a factory
that starts emulators with any settings (stopped after the test), and job bodies shaped the
way qiskit-ionq sends them.

The ``ionq_emulator`` fixture itself comes from the package's pytest plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from contract.observed import Emulator

KEY = "emulator-test-key-7f3a9c"
#: Guard against a hung server, never a timing assertion.
TIMEOUT = 10


def auth(key: str = KEY) -> dict[str, str]:
    """The header IonQ expects."""
    return {"Authorization": f"apiKey {key}"}


class Api:
    """``requests`` bound to one emulator's base URL, sending ``Authorization: apiKey KEY``
    (pass ``headers=`` to override, ``key=None`` for no Authorization header)."""

    def __init__(self, url: str, key: str | None = KEY) -> None:
        self.url = url
        self.session = requests.Session()
        if key is not None:
            self.session.headers.update(auth(key))

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def submit(self, body: dict[str, Any] | None = None) -> str:
        """POST a job (a Bell circuit unless ``body``) and return its id."""
        response = self.post("/jobs", json=body if body is not None else job_body())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def job(self, job_id: str) -> dict[str, Any]:
        """GET one job object."""
        response = self.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def close(self) -> None:
        self.session.close()


def assert_ionq_error(response: requests.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is IonQ's error body with this status; return the body."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert {"statusCode", "error", "message"} <= body.keys()
    assert body["statusCode"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    return body


BELL_INPUT: dict[str, Any] = {
    "gateset": "qis",
    "qubits": 2,
    "circuit": [
        {"gate": "h", "targets": [0]},
        {"gate": "x", "targets": [1], "controls": [0]},
    ],
}


def job_body(**overrides: Any) -> dict[str, Any]:
    """A ``POST /jobs`` body as qiskit-ionq 1.x builds it for a Bell circuit."""
    body: dict[str, Any] = {
        "type": "ionq.circuit.v1",
        "backend": "simulator",
        "shots": 100,
        "name": "bell",
        "input": BELL_INPUT,
        "metadata": {"shots": "100", "sampler_seed": "None"},
        "noise": {"model": "ideal", "seed": None},
    }
    body.update(overrides)
    return body


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
