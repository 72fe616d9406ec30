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

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use
    from .backend import IonQQPUBackend, IonQSimulatorBackend
    from .bulk import BULK_CHUNK, CONCURRENCY, VERIFY_CHUNK, cancel_jobs
    from .cancel import cancel
    from .client import CancelOutcome, IonQCancelClient
    from .exceptions import (
        AuthenticationError,
        BatchCancelError,
        CancelNotConfirmedError,
        InsecureURLError,
        InvalidAPIKeyError,
        InvalidJobIdError,
        InvalidSelectionError,
        IonQRequestError,
        JobNotFoundError,
        JobNotSubmittedError,
        MissingCredentialsError,
        PrimitiveJobCancelledError,
        RetriesExhaustedError,
        SessionEndedError,
        UnknownJobStatusError,
        UnreachableError,
        WrongBaseURLError,
    )
    from .job import IonQJob
    from .primitives import EstimatorV2, IonQPrimitiveJob, SamplerV2
    from .provider import IonQProvider
    from .report import CancelReport
    from .retry import RetryPolicy
    from .safety import CancelScope, cancel_on_exit
    from .session import Session
    from .status import IONQ_TO_QISKIT, to_job_status
    from .validation import validate_job_id

from .version import __version__

# Public name -> the submodule defining it. Importing the package imports none of them (nor
# qiskit): loading the pytest plugin (in every pytest run of an environment) stays cheap,
# and ``from qiskit_ionq_cancel import X`` imports what X needs (PEP 562).
_LAZY = {
    **dict.fromkeys(("IonQQPUBackend", "IonQSimulatorBackend"), "backend"),
    **dict.fromkeys(("BULK_CHUNK", "CONCURRENCY", "VERIFY_CHUNK", "cancel_jobs"), "bulk"),
    "cancel": "cancel",
    **dict.fromkeys(("CancelOutcome", "IonQCancelClient"), "client"),
    **dict.fromkeys((
        "AuthenticationError", "BatchCancelError", "CancelNotConfirmedError",
        "InsecureURLError", "InvalidAPIKeyError", "InvalidJobIdError", "InvalidSelectionError",
        "IonQRequestError", "JobNotFoundError", "JobNotSubmittedError", "MissingCredentialsError",
        "PrimitiveJobCancelledError", "RetriesExhaustedError", "SessionEndedError",
        "UnknownJobStatusError", "UnreachableError", "WrongBaseURLError"), "exceptions"),
    "IonQJob": "job",
    "IonQProvider": "provider",
    **dict.fromkeys(("EstimatorV2", "IonQPrimitiveJob", "SamplerV2"), "primitives"),
    "Session": "session",
    "CancelReport": "report",
    "RetryPolicy": "retry",
    **dict.fromkeys(("CancelScope", "cancel_on_exit"), "safety"),
    **dict.fromkeys(("IONQ_TO_QISKIT", "to_job_status"), "status"),
    "validate_job_id": "validation",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


class _Package(types.ModuleType):
    """The package module. Importing the submodule ``cancel`` would bind the name ``cancel``
    to that module; the public ``cancel`` is the function, so that binding is skipped (the
    submodule stays in ``sys.modules``, where ``import qiskit_ionq_cancel.cancel`` finds it)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


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
    "EstimatorV2",
    "InsecureURLError",
    "InvalidAPIKeyError",
    "InvalidJobIdError",
    "InvalidSelectionError",
    "IonQCancelClient",
    "IonQJob",
    "IonQPrimitiveJob",
    "IonQProvider",
    "IonQQPUBackend",
    "IonQRequestError",
    "IonQSimulatorBackend",
    "JobNotFoundError",
    "JobNotSubmittedError",
    "MissingCredentialsError",
    "PrimitiveJobCancelledError",
    "RetriesExhaustedError",
    "RetryPolicy",
    "SamplerV2",
    "Session",
    "SessionEndedError",
    "UnknownJobStatusError",
    "UnreachableError",
    "WrongBaseURLError",
    "__version__",
    "cancel",
    "cancel_jobs",
    "cancel_on_exit",
    "to_job_status",
    "validate_job_id",
]
