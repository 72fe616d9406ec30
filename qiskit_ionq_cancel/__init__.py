"""qiskit-ionq-cancel: a ``job.cancel()`` for IonQ jobs that tells the truth.

The public surface::

    from qiskit_ionq_cancel import IonQProvider, cancel, RetryPolicy

    provider = IonQProvider()                 # IONQ_API_KEY / IONQ_API_URL, as qiskit-ionq
    job = provider.get_backend("simulator").run(circuit)
    job.cancel()                              # True: cancelled; False: it had finished

Exceptions live in :mod:`qiskit_ionq_cancel.exceptions` and subclass qiskit-ionq's. The
local IonQ emulator is :mod:`qiskit_ionq_cancel.emulator`.
"""

from __future__ import annotations

from .backend import IonQQPUBackend, IonQSimulatorBackend
from .bulk import BULK_CHUNK, CONCURRENCY, VERIFY_CHUNK, cancel_jobs
from .cancel import cancel
from .client import CancelOutcome, IonQCancelClient
from .exceptions import (
    AuthenticationError,
    BatchCancelError,
    CancelNotConfirmedError,
    InsecureURLError,
    InvalidJobIdError,
    IonQRequestError,
    JobNotFoundError,
    JobNotSubmittedError,
    MissingCredentialsError,
    RetriesExhaustedError,
    UnknownJobStatusError,
)
from .job import IonQJob
from .provider import IonQProvider
from .report import CancelReport
from .retry import RetryPolicy
from .safety import CancelScope, cancel_on_exit
from .status import IONQ_TO_QISKIT, to_job_status
from .upstream import check_qiskit_ionq_version
from .validation import validate_job_id
from .version import __version__

check_qiskit_ionq_version()

__all__ = [
    "BULK_CHUNK",
    "CONCURRENCY",
    "IONQ_TO_QISKIT",
    "VERIFY_CHUNK",
    "AuthenticationError",
    "BatchCancelError",
    "CancelNotConfirmedError",
    "CancelOutcome",
    "CancelReport",
    "CancelScope",
    "InsecureURLError",
    "InvalidJobIdError",
    "IonQCancelClient",
    "IonQJob",
    "IonQProvider",
    "IonQQPUBackend",
    "IonQRequestError",
    "IonQSimulatorBackend",
    "JobNotFoundError",
    "JobNotSubmittedError",
    "MissingCredentialsError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "UnknownJobStatusError",
    "__version__",
    "cancel",
    "cancel_jobs",
    "cancel_on_exit",
    "to_job_status",
    "validate_job_id",
]
