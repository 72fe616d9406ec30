"""A progress bar that many worker threads can tick: made once, under a lock."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A tqdm bar (the notebook widget inside Jupyter, text elsewhere), or nothing when
    ``enabled`` is false. :meth:`start` gives it a total; :meth:`update` from any thread."""

    def __init__(self, enabled: bool, desc: str = "Cancelling IonQ jobs") -> None:
        self._enabled = enabled
        self._desc = desc
        self._lock = threading.Lock()
        self._bar: Any = None
        self._failed = 0

    def start(self, total: int | None) -> None:
        """Show the bar with ``total`` steps (``None``: unknown), if not shown yet."""
        with self._lock:
            self._make(total)

    def set_total(self, total: int) -> None:
        """Correct the total (duplicates in the input count once)."""
        with self._lock:
            self._make(total)
            if self._bar is not None and self._bar.total != total:
                self._bar.total = total
                self._bar.refresh()

    def update(self, n: int = 1) -> None:
        """Count ``n`` steps done."""
        if not self._enabled:  # the usual case, once per job: no lock to take
            return
        with self._lock:
            self._make(None)
            if self._bar is not None:
                self._bar.update(n)

    def fail(self) -> None:
        """Count a step that failed: shown beside the bar, which it does not advance (a bar
        at 100% would say every job was done)."""
        if not self._enabled:
            return
        with self._lock:
            self._make(None)
            self._failed += 1
            if self._bar is not None:
                self._bar.set_postfix_str(f"{self._failed} not settled")

    def close(self) -> None:
        """Close the bar."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()

    def _make(self, total: int | None) -> None:
        if self._enabled and self._bar is None:
            from tqdm.auto import tqdm  # imported only when a bar is wanted

            self._bar = tqdm(desc=self._desc, unit="job", total=total)
