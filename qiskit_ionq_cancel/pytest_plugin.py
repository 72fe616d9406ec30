"""A pytest plugin: the ``ionq_emulator`` fixture, loaded automatically once the package is
installed (entry point ``pytest11``).

Use it in any test suite that runs IonQ code::

    def test_my_sweep(ionq_emulator):
        provider = IonQProvider("any-key", url=ionq_emulator.url)
        ...

    @pytest.mark.ionq_emulator(queue_time=30, rate_limit=50)
    def test_under_rate_limit(ionq_emulator):
        ...

The marker's keyword arguments are :class:`~qiskit_ionq_cancel.emulator.Emulator`'s.
Every pytest run of the environment loads the plugin, so loading it imports nothing but
pytest and this package's (lazy) ``__init__``: it lives outside the emulator package, and the
fixture imports the emulator when a test first asks for it. Switch the plugin off with
``pytest -p no:ionq_emulator``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .emulator import Emulator


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``ionq_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "ionq_emulator(**settings): settings for the ionq_emulator fixture "
        "(queue_time, run_time, latency, rate_limit, fault_rate, api_keys, ...)",
    )


@pytest.fixture
def ionq_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A fresh IonQ v0.4 emulator on a free port of 127.0.0.1, stopped after the test."""
    marker = request.node.get_closest_marker("ionq_emulator")
    settings = dict(marker.kwargs) if marker is not None else {}
    from .emulator import Emulator  # here: see the module's docstring

    with Emulator(**settings) as emulator:
        yield emulator
