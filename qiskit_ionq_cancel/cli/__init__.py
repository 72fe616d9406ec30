"""The ``ionq-cancel`` command: :mod:`.commands` parses and runs it, :mod:`.inputs` reads and
checks what the user gave (key, ids, URL), :mod:`.output` writes tables and JSON, and
:mod:`.demo` is ``ionq-cancel demo``."""

from __future__ import annotations

from .commands import main

__all__ = ["main"]


def __getattr__(name: str) -> object:
    # ``qiskit_ionq_cancel.cli`` was one module before 0.2; its other names now live in
    # ``.commands``. Kept for one release, with a warning.
    import importlib
    import warnings

    commands = importlib.import_module(".commands", __name__)
    if name.startswith("__") or not hasattr(commands, name):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"{__name__}.{name} has moved to {__name__}.commands.{name}; the old path "
                  "will be removed in 0.3.0", DeprecationWarning, stacklevel=2)
    return getattr(commands, name)
