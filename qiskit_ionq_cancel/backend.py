"""Backends whose jobs are this package's :class:`~qiskit_ionq_cancel.job.IonQJob`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from qiskit_ionq import ionq_backend

from .client import IonQCancelClient
from .job import IonQJob
from .safety import track_submitted

if TYPE_CHECKING:
    from .provider import IonQProvider

__all__ = ["IonQQPUBackend", "IonQSimulatorBackend"]


class _CancelBackend:
    """What both backends add to qiskit-ionq's: the provider's client and our job class."""

    _provider: IonQProvider

    def _create_client(self) -> IonQCancelClient:
        return self._provider.client

    def run(self, run_input: Any, **options: Any) -> IonQJob:
        """Submit circuits as qiskit-ionq does; the job returned is this package's IonQJob."""
        job = super().run(run_input, **options)  # type: ignore[misc]
        # qiskit-ionq's run() builds its IonQJob directly, with no hook for another class.
        # Our IonQJob only adds methods, so re-classing the submitted job is safe and avoids
        # copying run()'s body.
        job.__class__ = IonQJob
        track_submitted(job)
        return job  # type: ignore[no-any-return]

    def retrieve_job(self, job_id: str) -> IonQJob:
        """Fetch an existing job by id (checked before any request)."""
        client = self._create_client()
        return IonQJob(self, client.check_id(job_id), client)  # type: ignore[arg-type]

    def retrieve_jobs(self, job_ids: Sequence[str]) -> list[IonQJob]:
        """Fetch several jobs; every id is checked before the first request."""
        client = self._create_client()
        checked = [client.check_id(job_id) for job_id in job_ids]
        return [IonQJob(self, job_id, client) for job_id in checked]  # type: ignore[arg-type]


class IonQSimulatorBackend(_CancelBackend, ionq_backend.IonQSimulatorBackend):
    """IonQ's cloud simulator; jobs cancel truthfully."""

    def __init__(self, provider: IonQProvider, name: str = "simulator",
                 gateset: Literal["qis", "native"] = "qis", **initial_options: Any) -> None:
        # Not qiskit-ionq's own __init__: it asks the *default* IonQ host (or IONQ_API_URL)
        # for the qubit count, whatever URL the provider was given. We ask the provider's URL.
        backend_name = name if name.startswith("ionq_") else f"ionq_{name}"
        ionq_backend.IonQBackend.__init__(
            self, provider=provider, name=backend_name, description="IonQ cloud simulator",
            gateset=gateset, num_qubits=provider.backend_qubits(name), simulator=True,
            max_shots=1, max_experiments=None, **initial_options,
        )

    def with_name(self, name: str, **kwargs: Any) -> IonQSimulatorBackend:
        """This backend for a more specific target."""
        return IonQSimulatorBackend(self._provider, name, **kwargs)


class IonQQPUBackend(_CancelBackend, ionq_backend.IonQQPUBackend):
    """IonQ's trapped-ion QPUs; jobs cancel truthfully."""

    def __init__(self, provider: IonQProvider, name: str = "ionq_qpu",
                 gateset: Literal["qis", "native"] = "qis", **initial_options: Any) -> None:
        # See IonQSimulatorBackend.__init__ for why qiskit-ionq's is not called.
        ionq_backend.IonQBackend.__init__(
            self, provider=provider, name=name, description="IonQ trapped-ion QPU",
            gateset=gateset, num_qubits=provider.backend_qubits(name), simulator=False,
            max_shots=10_000, max_experiments=None, **initial_options,
        )

    def with_name(self, name: str, **kwargs: Any) -> IonQQPUBackend:
        """This backend for a more specific target."""
        return IonQQPUBackend(self._provider, name, **kwargs)
