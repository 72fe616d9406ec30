"""HTTP helpers for the emulator's tests: the test key, an HTTP client bound to one emulator,
IonQ's error body check, and job bodies shaped the way qiskit-ionq sends them."""

from __future__ import annotations

from typing import Any

import requests

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
