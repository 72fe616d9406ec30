"""``IonQProvider``: a drop-in for qiskit-ionq's, whose jobs cancel truthfully."""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

import qiskit_ionq
from qiskit_ionq.helpers import resolve_credentials
from qiskit_ionq.ionq_provider import BackendService

from .backend import IonQQPUBackend, IonQSimulatorBackend
from .client import DEFAULT_TIMEOUT, IonQCancelClient, _Secret
from .retry import RetryPolicy

__all__ = ["IonQProvider"]

logger = logging.getLogger("qiskit_ionq_cancel")

_FALLBACK_QUBITS = 4  # what qiskit-ionq assumes when it cannot read a backend's size


class IonQProvider(qiskit_ionq.IonQProvider):
    """Same arguments and environment variables as ``qiskit_ionq.IonQProvider`` (token from
    ``IONQ_API_KEY``, URL from ``IONQ_API_URL``), plus:

    ``retry_policy``: how transient failures are retried (:class:`RetryPolicy`; its
    ``deadline`` bounds every call). ``timeout``: (connect, read) seconds per request.
    ``allow_insecure_http``: permit ``http://`` to a host other than loopback.
    ``cancel_on_timeout`` / ``cancel_on_interrupt``: the default of the options of the same
    name of its jobs' ``result()`` and ``wait_for_final_state()``.

    Every request goes to the configured URL, including the backend-size look-ups that
    qiskit-ionq sends to the default host.
    """

    def __init__(
        self,
        token: str | None = None,
        url: str | None = None,
        custom_headers: dict[str, str] | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        cancel_on_timeout: bool = False,
        cancel_on_interrupt: bool = False,
    ) -> None:
        # qiskit-ionq's __init__ is not called: it builds its own backends, which ask the
        # default host for their sizes. This sets the same attributes it sets.
        self.custom_headers = custom_headers
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_interrupt = cancel_on_interrupt
        creds = resolve_credentials(token, url)
        if creds["token"]:
            creds["token"] = _Secret(creds["token"])
        self.credentials = creds
        self.client = IonQCancelClient(
            creds["token"], creds["url"], custom_headers, retry_policy=retry_policy,
            timeout=timeout, allow_insecure_http=allow_insecure_http,
        )
        self._qubits: dict[str, int] = {}
        self._qubits_lock = threading.Lock()
        self.backends = BackendService([IonQSimulatorBackend(self), IonQQPUBackend(self)])

    def get_backend(self, name: str, gateset: Literal["qis", "native"] = "qis",
                    **kwargs: Any) -> IonQSimulatorBackend | IonQQPUBackend:
        """The backend called ``name`` (``"simulator"``, ``"qpu.forte-1"``, ...)."""
        backend = super().get_backend(name, gateset=gateset, **kwargs)
        assert isinstance(backend, (IonQSimulatorBackend, IonQQPUBackend))
        return backend

    def backend_qubits(self, name: str) -> int:
        """Qubit count of a backend, read once from this provider's URL."""
        api_name = name.removeprefix("ionq_")
        if api_name != "simulator" and not api_name.startswith("qpu."):
            api_name = f"qpu.{api_name}"
        if api_name == "qpu.qpu":  # the generic QPU backend has no size of its own
            return _FALLBACK_QUBITS
        with self._qubits_lock:
            if api_name not in self._qubits:
                qubits = self.client.backend_qubits(api_name)
                if qubits is None:
                    logger.info("Using %d qubits for %s", _FALLBACK_QUBITS, api_name)
                self._qubits[api_name] = qubits or _FALLBACK_QUBITS
            return self._qubits[api_name]

    def __repr__(self) -> str:
        return f"IonQProvider(url={self.client.url!r})"
