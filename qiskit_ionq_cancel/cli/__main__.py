"""``python -m qiskit_ionq_cancel.cli``: the ``ionq-cancel`` command."""

from __future__ import annotations

import sys

from .commands import main

sys.exit(main())
