"""qiskit-ionq-cancel: a ``job.cancel()`` for IonQ jobs that tells the truth.

The public surface::

    from qiskit_ionq_cancel import IonQProvider, cancel, cancel_jobs, cancel_on_exit

    provider = IonQProvider()                 # IONQ_API_KEY / IONQ_API_URL, as qiskit-ionq
    job = provider.get_backend("simulator").run(circuit)
    job.cancel()                              # True: cancelled; False: it had finished

Every name a user needs is importable from here; the exceptions are also in
:mod:`qiskit_ionq_cancel.exceptions`, and the local IonQ emulator is
:mod:`qiskit_ionq_cancel.emulator`. Modules whose names start with ``_`` are private.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from . import _deprecated
from ._core.version import __version__

# Public name -> the module defining it: the one list of the public API (``__all__`` is made
# from it). Importing the package imports none of them (nor qiskit), so loading the pytest
# plugin (in every pytest run of an environment) stays cheap; ``from qiskit_ionq_cancel
# import X`` imports what X needs (PEP 562). tests/docs/test_layout.py checks that the
# TYPE_CHECKING block below names exactly these.
_PUBLIC: dict[str, str] = {
    # Qiskit's classes, whose jobs cancel truthfully
    "IonQProvider": "provider",
    "IonQQPUBackend": "backend",
    "IonQSimulatorBackend": "backend",
    "IonQJob": "job",
    "Session": "session",
    "SamplerV2": "primitives",
    "EstimatorV2": "primitives",
    "IonQCancelPrimitiveJob": "primitives",
    # qiskit-ionq's own primitives (pull request #237, after 1.1.1), with a truthful cancel()
    "IonQSampler": "ionq_primitives",
    "IonQEstimator": "ionq_primitives",
    # cancelling
    "cancel": "single",
    "cancel_jobs": "bulk",
    "cancel_ledger": "ledger",
    "cancel_on_exit": "scope",
    "acancel": "aio",
    "acancel_jobs": "aio",
    "CancelScope": "scope",
    "CancelReport": "report",
    "budget": "guard",
    "RetryPolicy": "retry",
    "IONQ_TO_QISKIT": "_core.status",
    "to_job_status": "_core.status",
    # the exceptions
    "IonQCancelError": "exceptions",
    "UsageError": "exceptions",
    "NoAnswerError": "exceptions",
    "RefusedError": "exceptions",
    "AuthenticationError": "exceptions",
    "BatchCancelError": "exceptions",
    "BudgetExceededError": "exceptions",
    "CancelNotConfirmedError": "exceptions",
    "InsecureURLError": "exceptions",
    "InvalidAPIKeyError": "exceptions",
    "InvalidJobIdError": "exceptions",
    "InvalidSelectionError": "exceptions",
    "IonQRequestError": "exceptions",
    "JobNotFoundError": "exceptions",
    "JobNotSubmittedError": "exceptions",
    "MissingCredentialsError": "exceptions",
    "PrimitiveJobCancelledError": "exceptions",
    "RetriesExhaustedError": "exceptions",
    "SessionEndedError": "exceptions",
    "UnknownJobStatusError": "exceptions",
    "UnreachableError": "exceptions",
    "WrongBaseURLError": "exceptions",
}

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use
    from ._core.status import IONQ_TO_QISKIT as IONQ_TO_QISKIT
    from ._core.status import to_job_status as to_job_status
    from .aio import acancel as acancel
    from .aio import acancel_jobs as acancel_jobs
    from .backend import IonQQPUBackend as IonQQPUBackend
    from .backend import IonQSimulatorBackend as IonQSimulatorBackend
    from .bulk import cancel_jobs as cancel_jobs
    from .exceptions import AuthenticationError as AuthenticationError
    from .exceptions import BatchCancelError as BatchCancelError
    from .exceptions import BudgetExceededError as BudgetExceededError
    from .exceptions import CancelNotConfirmedError as CancelNotConfirmedError
    from .exceptions import InsecureURLError as InsecureURLError
    from .exceptions import InvalidAPIKeyError as InvalidAPIKeyError
    from .exceptions import InvalidJobIdError as InvalidJobIdError
    from .exceptions import InvalidSelectionError as InvalidSelectionError
    from .exceptions import IonQCancelError as IonQCancelError
    from .exceptions import IonQRequestError as IonQRequestError
    from .exceptions import JobNotFoundError as JobNotFoundError
    from .exceptions import JobNotSubmittedError as JobNotSubmittedError
    from .exceptions import MissingCredentialsError as MissingCredentialsError
    from .exceptions import NoAnswerError as NoAnswerError
    from .exceptions import PrimitiveJobCancelledError as PrimitiveJobCancelledError
    from .exceptions import RefusedError as RefusedError
    from .exceptions import RetriesExhaustedError as RetriesExhaustedError
    from .exceptions import SessionEndedError as SessionEndedError
    from .exceptions import UnknownJobStatusError as UnknownJobStatusError
    from .exceptions import UnreachableError as UnreachableError
    from .exceptions import UsageError as UsageError
    from .exceptions import WrongBaseURLError as WrongBaseURLError
    from .guard import budget as budget
    from .ionq_primitives import IonQEstimator as IonQEstimator
    from .ionq_primitives import IonQSampler as IonQSampler
    from .job import IonQJob as IonQJob
    from .ledger import cancel_ledger as cancel_ledger
    from .primitives import EstimatorV2 as EstimatorV2
    from .primitives import IonQCancelPrimitiveJob as IonQCancelPrimitiveJob
    from .primitives import SamplerV2 as SamplerV2
    from .provider import IonQProvider as IonQProvider
    from .report import CancelReport as CancelReport
    from .retry import RetryPolicy as RetryPolicy
    from .scope import CancelScope as CancelScope
    from .scope import cancel_on_exit as cancel_on_exit
    from .session import Session as Session
    from .single import cancel as cancel

#: Public names that exist only with some qiskit-ionq versions (those with pull request #237):
#: elsewhere importing one raises ImportError saying which qiskit-ionq is needed. They are
#: not in ``__all__``, so that ``from qiskit_ionq_cancel import *`` works with every
#: supported qiskit-ionq; import them by name.
_NEEDS_NEWER_QISKIT_IONQ = frozenset({"IonQSampler", "IonQEstimator"})

__all__ = ["__version__", *(name for name in _PUBLIC if name not in _NEEDS_NEWER_QISKIT_IONQ)]

_deprecated.install()  # old module paths (qiskit_ionq_cancel.client, ...) for one release


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        if name in _deprecated.REMOVED_NAMES:
            return _deprecated.warn_removed(name)
        if name in _deprecated.RENAMED_NAMES:
            return _deprecated.warn_renamed(name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})  # a name of _NEEDS_NEWER_QISKIT_IONQ once imported


class _Package(types.ModuleType):
    """The package module. Importing the deprecated module path ``qiskit_ionq_cancel.cancel``
    would bind the name ``cancel`` to that module; the public ``cancel`` is the function, so
    a module is never bound over a public name (it stays in ``sys.modules``)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PUBLIC and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
