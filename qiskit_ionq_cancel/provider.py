"""``IonQProvider``: a drop-in for qiskit-ionq's, whose jobs cancel truthfully."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, Literal

import qiskit_ionq
from qiskit_ionq.helpers import resolve_credentials

from ._compat import upstream
from ._core.ledger import ENV_VAR as LEDGER_ENV_VAR
from ._core.ledger import Ledger
from ._http.client import DEFAULT_TIMEOUT, IonQCancelClient
from ._redact import Secret
from .backend import IonQQPUBackend, IonQSimulatorBackend
from .exceptions import IonQRequestError, UsageError
from .retry import RetryPolicy

__all__ = ["IonQProvider"]

logger = logging.getLogger("qiskit_ionq_cancel")

_FALLBACK_QUBITS = 4  # what qiskit-ionq assumes when it cannot read a backend's size


class IonQProvider(qiskit_ionq.IonQProvider):
    """A drop-in for ``qiskit_ionq.IonQProvider`` whose backends' jobs cancel truthfully.

    Same arguments and environment variables as qiskit-ionq's provider, plus the keyword-only
    ones below. Every request goes to the configured URL through one client, including the
    backend look-ups that qiskit-ionq sends to the default host or with bare ``requests``.

    Args:
        token: The API key; by default ``IONQ_API_KEY`` (or ``QISKIT_IONQ_API_TOKEN``,
            ``IONQ_API_TOKEN``, a ``.env`` file), as qiskit-ionq resolves it.
        url: The API base URL; by default ``IONQ_API_URL``, else
            ``https://api.ionq.co/v0.4``.
        custom_headers: Extra headers sent with every request.
        retry_policy: How transient failures are retried (a `RetryPolicy`); its
            ``deadline`` bounds every call that is given none.
        timeout: (connect, read) seconds for one request.
        allow_insecure_http: Permit ``http://`` to a host other than loopback.
        cancel_on_timeout: The default of the option of that name of its jobs'
            ``result()`` and ``wait_for_final_state()``.
        cancel_on_interrupt: The same, for the option ``cancel_on_interrupt``.
        ledger: A file, or a directory (each process then writes its own file there), in
            which every job submitted is recorded before ``run()`` returns, for
            ``ionq-cancel --ledger`` to cancel what a killed program left behind; by
            default ``IONQ_CANCEL_LEDGER``, else none. See "Programs that die" in the docs.
        ledger_fsync: ``fsync`` each ledger record (survives a node crash, not only the
            process's death; costs a disk flush per record).
        label: The run label recorded with each job in the ledger (default
            ``host:pid:start-time``).

    Raises:
        InvalidAPIKeyError: The key cannot be sent as it is (blanks, a line break, control
            or non-ASCII characters); the message does not show it.
        InsecureURLError: The URL is plain ``http://`` to another host (without
            ``allow_insecure_http``), is not a valid URL, or holds a query, fragment,
            credentials or the key.
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
        ledger: str | os.PathLike[str] | None = None,
        ledger_fsync: bool = False,
        label: str | None = None,
    ) -> None:
        self.cancel_on_timeout = cancel_on_timeout
        self.cancel_on_interrupt = cancel_on_interrupt
        self._qubits: dict[str, int] = {}
        self._qubits_lock = threading.Lock()
        # The client first: it checks the URL before anything is sent, and the backends
        # read their sizes through it.
        creds = resolve_credentials(token, url)
        self.client = IonQCancelClient(
            creds["token"], creds["url"], custom_headers, retry_policy=retry_policy,
            timeout=timeout, allow_insecure_http=allow_insecure_http,
        )
        ledger = ledger if ledger is not None else os.environ.get(LEDGER_ENV_VAR) or None
        if ledger is not None and not os.fspath(ledger):
            raise UsageError("ledger= is empty: give a file or directory, or None for no "
                             "ledger")
        if ledger is not None:
            self.client.ledger = Ledger(ledger, self.client.url, label=label,
                                        fsync=ledger_fsync, secret=self.client.key)
        upstream.init_provider(self, token, url, custom_headers, lambda: [
            IonQSimulatorBackend(self), IonQQPUBackend(self)])
        if self.credentials["token"]:
            self.credentials["token"] = Secret(self.credentials["token"])

    def get_backend(self, name: str, gateset: Literal["qis", "native"] = "qis",
                    **kwargs: Any) -> IonQSimulatorBackend | IonQQPUBackend:
        """Return the backend called ``name``.

        Args:
            name: ``"simulator"``, ``"qpu.forte-1"``, ...
            gateset: ``"qis"`` or ``"native"``, as qiskit-ionq takes it.
            **kwargs: Passed on to qiskit-ionq's ``get_backend``.

        Returns:
            This package's backend, whose jobs cancel truthfully.
        """
        backend = super().get_backend(name, gateset=gateset, **kwargs)
        assert isinstance(backend, (IonQSimulatorBackend, IonQQPUBackend))
        return backend

    def get_backend_config(self, name: str) -> dict[str, Any]:
        """Return the backend's entry of the ``GET /backends`` catalog.

        The catalog is read once, through this provider's client.

        Args:
            name: The backend's name.

        Returns:
            Its entry; ``{}`` when the catalog cannot be read (as qiskit-ionq does) or on a
            qiskit-ionq without a catalog.
        """
        upstream.fill_catalog(self, self._read_catalog)
        stock = getattr(super(), "get_backend_config", None)
        if stock is not None:  # qiskit-ionq main
            config: dict[str, Any] = stock(name)
            return config
        return {}

    def _read_catalog(self) -> dict[str, dict[str, Any]]:
        try:
            return self.client.backends_catalog()
        except IonQRequestError as exc:
            logger.warning("Could not read the backends catalog: %s", exc)
            return {}

    def backend_qubits(self, name: str) -> int:
        """Return the qubit count of a backend, read once from this provider's URL.

        Args:
            name: The backend's name (``"simulator"``, ``"ionq_qpu.forte-1"``, ...).

        Returns:
            Its qubit count; 4 (qiskit-ionq's assumption) when it cannot be read.
        """
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
