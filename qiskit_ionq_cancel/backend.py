"""Backends whose jobs are this package's :class:`~qiskit_ionq_cancel.job.IonQJob`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol, TypeVar

from qiskit_ionq import ionq_backend

from ._compat import upstream
from ._http.client import IonQCancelClient
from .job import IonQJob
from .scope import submitting

__all__ = ["CancelProvider", "IonQQPUBackend", "IonQSimulatorBackend"]


class CancelProvider(Protocol):
    """What a backend needs of its provider (this package's ``IonQProvider``)."""

    client: IonQCancelClient

    def backend_qubits(self, name: str) -> int:
        """Qubit count of a backend, read through ``client``."""


_B = TypeVar("_B", bound="_CancelBackend")


class _CancelBackend:
    """What both backends add to qiskit-ionq's: the provider's client and our job class."""

    _stock: type  # the qiskit-ionq backend class this one extends
    _default_name: str

    def __init__(self, provider: CancelProvider, name: str | None = None,
                 gateset: Literal["qis", "native"] = "qis", **initial_options: Any) -> None:
        upstream.init_sized_backend(self, self._stock, provider, name or self._default_name,
                                    gateset, provider.backend_qubits, **initial_options)

    def with_name(self: _B, name: str, **kwargs: Any) -> _B:
        """Return this backend for a more specific target.

        Args:
            name: The target's name.
            **kwargs: The backend's other arguments.

        Returns:
            A backend of the same class and provider.
        """
        return type(self)(self.provider, name, **kwargs)

    @property
    def provider(self) -> CancelProvider:
        """The provider this backend came from."""
        provider: CancelProvider = super().provider  # type: ignore[misc]
        return provider

    def _create_client(self) -> IonQCancelClient:
        # qiskit-ionq's hook for the client its jobs use: the provider's, shared.
        return self.provider.client

    def run(self, run_input: Any, **options: Any) -> IonQJob:
        """Submit circuits as qiskit-ionq does.

        A job submitted inside a `cancel_on_exit` block is tracked by it.

        Args:
            run_input: A circuit, or a list of circuits (one IonQ multi-circuit job).
            **options: qiskit-ionq's run options (``shots``, ``extra_metadata``, ...).

        Returns:
            This package's `IonQJob`.

        Raises:
            MissingCredentialsError: No API key was given or found.
            IonQRequestError: The submission failed (it is retried on 429 only, since it is
                not idempotent).
        """
        with submitting() as track:  # a scope ending meanwhile waits for this submit
            job = super().run(run_input, **options)  # type: ignore[misc]
            upstream.adopt_job(job, IonQJob)
            track(job)
        return job  # type: ignore[no-any-return]

    def retrieve_job(self, job_id: str) -> IonQJob:
        """Return an existing job by id.

        Args:
            job_id: The job's id, a canonical UUID.

        Returns:
            This package's `IonQJob` for it.

        Raises:
            InvalidJobIdError: The id is not a canonical UUID (checked before any request).
        """
        client = self.provider.client
        return IonQJob(self, client.check_id(job_id), client)  # type: ignore[arg-type]

    def retrieve_jobs(self, job_ids: Sequence[str]) -> list[IonQJob]:
        """Return several existing jobs.

        Args:
            job_ids: Their ids, each a canonical UUID.

        Returns:
            This package's `IonQJob` for each id, in order.

        Raises:
            InvalidJobIdError: An id is not a canonical UUID (every id is checked before the
                first request).
        """
        client = self.provider.client
        checked = [client.check_id(job_id) for job_id in job_ids]
        return [IonQJob(self, job_id, client) for job_id in checked]  # type: ignore[arg-type]


class IonQSimulatorBackend(_CancelBackend, ionq_backend.IonQSimulatorBackend):
    """IonQ's cloud simulator, as qiskit-ionq's backend, whose jobs cancel truthfully.

    Get it with ``IonQProvider().get_backend("simulator")``.
    """

    _stock = ionq_backend.IonQSimulatorBackend
    _default_name = "simulator"


class IonQQPUBackend(_CancelBackend, ionq_backend.IonQQPUBackend):
    """IonQ's trapped-ion QPUs, as qiskit-ionq's backend, whose jobs cancel truthfully.

    Get one with ``IonQProvider().get_backend("qpu.forte-1")``; the same methods as
    `IonQSimulatorBackend`.
    """

    _stock = ionq_backend.IonQQPUBackend
    _default_name = "ionq_qpu"
