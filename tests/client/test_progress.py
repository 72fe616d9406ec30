"""The progress bar many worker threads tick: one bar, every step counted."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest
import tqdm.auto

from qiskit_ionq_cancel._core.progress import Progress


class Bar:
    made: ClassVar[list[Bar]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.total = kwargs.get("total")
        self.n = 0
        self.closed = False
        Bar.made.append(self)

    def update(self, n: int) -> None:
        self.n += n

    def refresh(self) -> None:
        """Nothing to draw."""

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def fake_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    Bar.made = []
    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)


def test_threads_ticking_at_once_share_one_bar() -> None:
    progress = Progress(True)
    start = threading.Barrier(16)

    def tick() -> None:
        start.wait()
        for _ in range(100):
            progress.update()

    threads = [threading.Thread(target=tick) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    progress.close()
    assert len(Bar.made) == 1
    assert Bar.made[0].n == 1600 and Bar.made[0].closed


def test_the_total_is_corrected_once_known() -> None:
    progress = Progress(True)
    progress.start(5)
    progress.update()
    progress.set_total(3)  # duplicates in the input count once
    assert len(Bar.made) == 1 and Bar.made[0].total == 3


def test_disabled_shows_nothing() -> None:
    progress = Progress(False)
    progress.start(3)
    progress.update()
    progress.close()
    assert Bar.made == []
