"""The pytest plugin: the ``ionq_emulator`` fixture and its marker."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import requests
from contract.observed import Emulator
from support import TIMEOUT, assert_ionq_error, auth

from qiskit_ionq_cancel.emulator import Lifecycle, ManualClock

pytest_plugins = ["pytester"]


def test_unmarked_fixture_is_a_running_default_emulator(ionq_emulator: Emulator) -> None:
    assert isinstance(ionq_emulator, Emulator)
    assert ionq_emulator.url.endswith("/v0.4")
    assert ionq_emulator.store.lifecycle == Lifecycle()
    assert ionq_emulator.store.finished_cancel == "conflict"
    assert ionq_emulator.store.bulk_enabled is True
    response = requests.get(f"{ionq_emulator.url}/jobs", headers=auth(), timeout=TIMEOUT)
    assert response.json() == {"jobs": [], "next": None}


@pytest.mark.ionq_emulator(queue_time=123)
def test_marker_settings_reach_the_fixture(ionq_emulator: Emulator, api: Any) -> None:
    assert ionq_emulator.store.lifecycle.queue_time == 123
    job = api.job(api.submit())
    assert job["status"] == "ready"
    assert job["predicted_wait_time_ms"] > 100_000


@pytest.mark.ionq_emulator(finished_cancel="conflict", bulk_enabled=False, api_keys=["mk"],
                           run_time=7, clock=ManualClock())
def test_marker_takes_any_emulator_setting(ionq_emulator: Emulator) -> None:
    store = ionq_emulator.store
    assert store.finished_cancel == "conflict"
    assert store.bulk_enabled is False
    assert store.lifecycle.run_time == 7
    assert isinstance(store.clock, ManualClock)
    url = ionq_emulator.url
    assert_ionq_error(requests.get(f"{url}/jobs", headers=auth("other"), timeout=TIMEOUT), 401)
    assert requests.get(f"{url}/jobs", headers=auth("mk"), timeout=TIMEOUT).status_code == 200


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_a_fresh_emulator(ionq_emulator: Emulator, attempt: int) -> None:
    ionq_emulator.store.add_jobs(2)
    assert sum(ionq_emulator.store.counts().values()) == 2
    assert len(ionq_emulator.log) == 0


def test_marker_is_registered(pytestconfig: pytest.Config) -> None:
    assert any(line.startswith("ionq_emulator(") for line in pytestconfig.getini("markers"))


def test_fixture_stops_the_emulator_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import requests

        URLS = []

        @pytest.mark.ionq_emulator(queue_time=5)
        def test_first(ionq_emulator):
            URLS.append(ionq_emulator.url)
            assert requests.get(URLS[0] + "/backends", timeout=10).status_code == 200

        def test_second_runs_after():
            with pytest.raises(requests.ConnectionError):
                requests.get(URLS[0] + "/backends", timeout=10)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers", "-q")
    result.assert_outcomes(passed=2)


def test_loading_the_plugin_and_the_package_imports_no_qiskit() -> None:
    # The plugin is loaded by every pytest run of the environment: it must stay cheap
    # (benchmarks/bench_plugin.py measures it): no qiskit, no emulator until a test asks.
    code = ("import sys, qiskit_ionq_cancel, qiskit_ionq_cancel.pytest_plugin; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('qiskit', 'qiskit_ionq', 'requests', 'http') "
            "or m.startswith('qiskit_ionq_cancel.emulator')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_public_names_resolve_lazily_to_the_same_objects() -> None:
    import qiskit_ionq_cancel as package
    from qiskit_ionq_cancel import cancel as public_cancel
    from qiskit_ionq_cancel.provider import IonQProvider
    from qiskit_ionq_cancel.single import cancel as module_cancel

    assert public_cancel is module_cancel  # the function, though a submodule has its name
    assert package.cancel is module_cancel
    assert package.IonQProvider is IonQProvider
    assert set(package.__all__) <= set(dir(package))
    assert all(getattr(package, name) is not None for name in package.__all__)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = package.no_such_name
