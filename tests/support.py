"""Test helpers shared by the client tests: ids good and bad, and a fake clock."""

from __future__ import annotations

GOOD_ID = "617a1f8b-59d4-435d-aa33-695433d7155e"
BAD_IDS = ["", " ", "../x", "a/b", f" {GOOD_ID}", f"{GOOD_ID} ", GOOD_ID.upper(),
           GOOD_ID.replace("-", ""), f"{{{GOOD_ID}}}", f"{GOOD_ID}/status", "x" * 1000,
           f"{GOOD_ID[:-1]}g", None, 42, f"../{GOOD_ID}"]


class FakeTime:
    """A clock and a sleep that only pretend: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
