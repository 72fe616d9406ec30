"""pytest plugin for running qiskit-ionq's own tests with this package's classes in place.

Load it with ``-p compat.plugin`` in a run of a suite laid out by :mod:`compat.suite`:

* before any test module is imported, every module of the installed ``qiskit_ionq`` has its
  ``IonQProvider``, ``IonQSimulatorBackend``, ``IonQQPUBackend``, ``IonQJob`` and
  ``IonQClient`` (and where it has them, #237's ``IonQSampler``, ``IonQEstimator`` and
  ``IonQPrimitiveJob``) read as ours, so upstream's tests (and qiskit-ionq's own code, which
  builds jobs and clients as ``ionq_job.IonQJob(...)``) exercise our classes; this package's
  own code keeps seeing qiskit-ionq's classes, as it does in real use;
* ``--compat-differences FILE`` lists the documented differences (see
  ``compat/known-differences.toml``); those of ``--compat-version`` are marked as expected
  failures. Any other failure fails the run as usual. A listed test that passes, or a listed
  test that no longer exists, is reported at the end so the list stays honest.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Difference", "give_mock_backend_our_behaviour", "load_differences",
           "swap_attribute", "swap_in_our_classes"]


@dataclass(frozen=True)
class Difference:
    """One documented difference: a test (a node id; without ``[...]`` it covers every
    parametrization), the qiskit-ionq versions it applies to, and why."""

    test: str
    versions: tuple[str, ...]
    reason: str

    def matches(self, nodeid: str) -> bool:
        """True if ``nodeid`` is this test, or one of its parametrizations."""
        return nodeid == self.test or (
            "[" not in self.test and nodeid.startswith(self.test + "[")
        )


def load_differences(path: Path, version: str) -> list[Difference]:
    """The differences in ``path`` that apply to qiskit-ionq ``version``."""
    with path.open("rb") as file:
        data = tomllib.load(file)
    differences = []
    for entry in data.get("difference", []):
        missing = {"test", "versions", "reason"} - set(entry)
        if missing:
            raise pytest.UsageError(f"{path}: an entry lacks {sorted(missing)}: {entry}")
        if not str(entry["reason"]).strip():
            raise pytest.UsageError(f"{path}: {entry['test']} needs a reason")
        difference = Difference(str(entry["test"]), tuple(entry["versions"]),
                                " ".join(str(entry["reason"]).split()))
        if version in difference.versions:
            differences.append(difference)
    return differences


# module name -> {attribute: our class}, consulted by _SwappedModule.
_SWAPS: dict[str, dict[str, type]] = {}


def _is_ours(module_name: str) -> bool:
    return module_name == "qiskit_ionq_cancel" or module_name.startswith("qiskit_ionq_cancel.")


class _SwappedModule(types.ModuleType):
    """A qiskit_ionq module whose swapped attributes read as our classes, except to code of
    this package, which subclasses and calls qiskit-ionq's and must keep seeing those (as it
    does in real use, where only the user's import changes). qiskit-ionq's own bare-name
    globals are untouched; its ``ionq_job.IonQJob(...)``-style look-ups see ours."""

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        ours = _SWAPS.get(super().__getattribute__("__name__"), {}).get(name)
        if ours is None:
            return value
        caller = sys._getframe(1).f_globals.get("__name__", "")
        return value if _is_ours(caller) else ours


def swap_attribute(module: types.ModuleType, attr: str, ours: type) -> None:
    """Make ``module.attr`` read as ``ours`` to every reader outside this package."""
    _SWAPS.setdefault(module.__name__, {})[attr] = ours
    module.__class__ = _SwappedModule


def swap_in_our_classes() -> dict[str, str]:
    """Put this package's classes in place of qiskit-ionq's, in every qiskit_ionq module,
    for every reader but this package itself (see :class:`_SwappedModule`).

    Returns ``{"module.name": "our class"}`` for each swapped attribute.
    """
    import qiskit_ionq
    from qiskit_ionq import ionq_backend, ionq_client, ionq_job, ionq_provider

    import qiskit_ionq_cancel as ours
    from qiskit_ionq_cancel._http.client import IonQCancelClient

    swaps: dict[type, type] = {
        ionq_provider.IonQProvider: ours.IonQProvider,
        ionq_backend.IonQSimulatorBackend: ours.IonQSimulatorBackend,
        ionq_backend.IonQQPUBackend: ours.IonQQPUBackend,
        ionq_job.IonQJob: ours.IonQJob,
        ionq_client.IonQClient: IonQCancelClient,
    }
    swaps.update(_primitive_swaps())
    # Import every submodule first, so all of them are covered.
    for info in pkgutil.walk_packages(qiskit_ionq.__path__, "qiskit_ionq."):
        importlib.import_module(info.name)
    replaced: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        if name != "qiskit_ionq" and not name.startswith("qiskit_ionq."):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, type) and value in swaps:
                swap_attribute(module, attr, swaps[value])
                replaced[f"{name}.{attr}"] = swaps[value].__qualname__
    return replaced


def _primitive_swaps() -> dict[type, type]:
    """qiskit-ionq's own primitives (pull request #237), where it has them, to our drop-ins:
    ``IonQSampler``, ``IonQEstimator``, and their job class to the one their ``run()``
    returns (upstream's tests build ``IonQPrimitiveJob`` directly, too)."""
    from qiskit_ionq_cancel._compat import upstream

    classes = upstream.primitive_classes()
    if classes is None:
        return {}
    from qiskit_ionq_cancel import ionq_primitives as ours

    sampler, estimator, job = classes
    return {sampler: ours.IonQSampler, estimator: ours.IonQEstimator,
            job: ours.TruthfulIonQPrimitiveJob}


def _backend_mixins() -> tuple[type, ...]:
    """What our backends add to any qiskit-ionq backend: the classes of ours between our
    simulator backend and qiskit-ionq's that are not themselves backends."""
    from qiskit_ionq import ionq_backend

    import qiskit_ionq_cancel as ours

    stock_base = ionq_backend.IonQBackend
    return tuple(cls for cls in ours.IonQSimulatorBackend.__mro__
                 if cls.__module__.startswith("qiskit_ionq_cancel")
                 and not issubclass(cls, stock_base))


def give_mock_backend_our_behaviour(conftest: Any) -> bool:
    """Upstream's ``conftest.MockBackend`` subclasses qiskit-ionq's generic ``IonQBackend``,
    which has no counterpart here; give it what our backends add (the provider's client, our
    job class, id checks), keeping its own construction (``__init__``, ``with_name``).
    Swapping ``IonQBackend`` itself would break qiskit-ionq's ``isinstance(other,
    IonQBackend)`` in ``__eq__``. True if done."""
    mock = getattr(conftest, "MockBackend", None)
    mixins = _backend_mixins()
    if not isinstance(mock, type) or not mixins:
        return False
    own = {name: getattr(mock, name) for name in ("__init__", "with_name") if hasattr(mock, name)}
    conftest.MockBackend = type("MockBackend", (*mixins, mock),
                                {"__module__": mock.__module__, **own})
    return True


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("compat", "qiskit-ionq's suite with qiskit-ionq-cancel's classes")
    group.addoption("--compat-differences", type=Path, default=None,
                    help="TOML file of documented differences (compat/known-differences.toml)")
    group.addoption("--compat-version", default=None,
                    help="which qiskit-ionq this is, as named in the differences file")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    early_config.stash[_SWAPPED] = swap_in_our_classes()


_SWAPPED = pytest.StashKey[dict[str, str]]()
_DIFFERENCES = pytest.StashKey[list[Difference]]()
_MARKED = pytest.StashKey[dict[str, Difference]]()
_MOCK_BACKEND = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("compat_differences")
    version = config.getoption("compat_version")
    if path is None or version is None:
        raise pytest.UsageError("compat.plugin needs --compat-differences and --compat-version")
    config.stash[_DIFFERENCES] = load_differences(path, version)
    config.stash[_MARKED] = {}
    conftest = sys.modules.get("test.conftest")
    config.stash[_MOCK_BACKEND] = give_mock_backend_our_behaviour(conftest)


def pytest_report_header(config: pytest.Config) -> list[str]:
    swapped = config.stash.get(_SWAPPED, {})
    return [f"compat: qiskit-ionq {config.getoption('compat_version')}, "
            f"{len(swapped)} class bindings replaced by qiskit_ionq_cancel's, "
            f"MockBackend {'with' if config.stash[_MOCK_BACKEND] else 'WITHOUT'} our "
            "backend behaviour, "
            f"{len(config.stash[_DIFFERENCES])} documented differences"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    marked = config.stash[_MARKED]
    for item in items:
        for difference in config.stash[_DIFFERENCES]:
            if difference.matches(item.nodeid):
                item.add_marker(pytest.mark.xfail(
                    reason=f"documented difference: {difference.reason}", strict=False))
                marked[item.nodeid] = difference
                break


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    marked = config.stash.get(_MARKED, {})
    passed = [report.nodeid for report in terminalreporter.stats.get("xpassed", [])
              if report.nodeid in marked]
    unused = [d.test for d in config.stash.get(_DIFFERENCES, [])
              if d not in marked.values()]
    if not passed and not unused:
        return
    terminalreporter.section("compat: known-differences list is stale", yellow=True)
    for nodeid in passed:
        terminalreporter.write_line(f"WARNING listed as a difference but passed: {nodeid}")
    for test in unused:
        terminalreporter.write_line(f"WARNING listed as a difference but not collected: {test}")
    terminalreporter.write_line("Update the differences file so it lists only real ones.")
