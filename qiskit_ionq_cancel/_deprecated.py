"""Old homes of moved modules and names, kept for one release (removed in 0.3.0).

Version 0.2 moved the internal modules into ``_http/``, ``_core/``, ``_compat/`` and ``cli/``
and cut the public API to what a user needs. Importing an old module path (``import
qiskit_ionq_cancel.client``) or a dropped name (``from qiskit_ionq_cancel import BULK_CHUNK``)
still works, with a :class:`DeprecationWarning` that names the new place.

Hand-written (a meta-path finder of a dozen lines) because the alternative, one shim file per
old module at the top of the package, is 25 files a newcomer would have to read past.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import warnings
from collections.abc import Sequence

__all__ = ["MOVED_MODULES", "REMOVED_NAMES", "RENAMED_NAMES", "install", "warn_removed",
           "warn_renamed"]

_PKG = "qiskit_ionq_cancel"
REMOVED_IN = "0.3.0"

#: Old module path (below the package) -> its new home.
MOVED_MODULES: dict[str, str] = {
    "cancel": "single", "safety": "scope", "secrets": "_redact",
    "client": "_http.client", "transport": "_http.transport", "ratelimit": "_http.rategate",
    "limiter": "_http.concurrency", "bodyread": "_http.bodyread", "abortable": "_http.sockets",
    "deadline": "_core.deadline", "status": "_core.status", "validation": "_core.validation",
    "progress": "_core.progress", "composite": "_core.composite", "sigterm": "_core.sigterm",
    "threadtree": "_core.threadtree", "version": "_core.version",
    "upstream": "_compat.upstream", "memory": "_compat.memory", "results": "_compat.results",
    "cli_input": "cli.inputs", "cli_output": "cli.output", "demo": "cli.demo",
    "emulator.http": "emulator.server",
}

#: A name dropped from the package's top level -> the module that still defines it.
REMOVED_NAMES: dict[str, str] = {
    "BULK_CHUNK": "bulk", "CONCURRENCY": "bulk", "VERIFY_CHUNK": "bulk",
    "validate_job_id": "_core.validation",
    "CancelOutcome": "_http.client", "IonQCancelClient": "_http.client",
}


#: A renamed public name -> (its new name, the module defining it). ``IonQPrimitiveJob``, the
#: job of ``SamplerV2`` / ``EstimatorV2``, shared its name with a different class of
#: qiskit-ionq's own primitives (``qiskit_ionq.IonQPrimitiveJob``, after 1.1.1).
RENAMED_NAMES: dict[str, tuple[str, str]] = {
    "IonQPrimitiveJob": ("IonQCancelPrimitiveJob", "primitives"),
}


def warn_renamed(name: str) -> object:
    """The value of a renamed name, with a :class:`DeprecationWarning` naming the new one."""
    new, home = RENAMED_NAMES[name]
    warnings.warn(
        f"{_PKG}.{name} is now {_PKG}.{new}; the old name will be removed in {REMOVED_IN}. "
        f"(qiskit-ionq's own primitives have a different class named {name}: "
        f"qiskit_ionq.{name}, the job of qiskit_ionq.IonQSampler / IonQEstimator.)",
        DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(f"{_PKG}.{home}"), new)


def warn_removed(name: str) -> object:
    """The value of a name dropped from the top level, with a :class:`DeprecationWarning`."""
    home = REMOVED_NAMES[name]
    warnings.warn(
        f"{_PKG}.{name} is no longer public and will be removed from the top level in "
        f"{REMOVED_IN} (it lives in {_PKG}.{home}, a private module). Use cancel(), "
        "cancel_jobs() or IonQProvider instead, or pin qiskit-ionq-cancel<0.3.",
        DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(f"{_PKG}.{home}"), name)


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``qiskit_ionq_cancel.<old path>``: a module that forwards every attribute to
    the module's new home."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(f"{_PKG}.") or fullname[len(_PKG) + 1:] not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module

    def exec_module(self, module: types.ModuleType) -> None:
        new = f"{_PKG}.{MOVED_MODULES[module.__name__[len(_PKG) + 1:]]}"
        warnings.warn(f"{module.__name__} has moved to {new}; the old path will be removed "
                      f"in {REMOVED_IN}", DeprecationWarning, stacklevel=2)
        home = importlib.import_module(new)
        module.__dict__["__getattr__"] = lambda name: getattr(home, name)
        module.__dict__["__all__"] = list(getattr(home, "__all__", ()))
        module.__doc__ = f"Moved to :mod:`{new}` (this path is deprecated)."


def install() -> None:
    """Let old module paths be imported (once per process)."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
