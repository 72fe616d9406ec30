"""The seam with qiskit-ionq: every read and write of its private attributes, in one module.

qiskit-ionq keeps a job's id, local status and client, a client's key and URL, and (on its
main branch) a provider's backend catalog in underscore attributes, and changes them between
releases. Nothing else in this package touches them: when qiskit-ionq changes, this module
(and ``tests/workflows/test_upstream_seam.py``, which fails when the attributes we rely on
change) is where to look.

It also knows which qiskit-ionq versions this package was tested with, and finds what only
some of them have: the primitives of qiskit-ionq's pull request #237 (``IonQSampler``,
``IonQEstimator``, ``IonQPrimitiveJob`` in ``qiskit_ionq.ionq_primitives``), which 1.1.1 and
main@220daa6 lack.
"""

from __future__ import annotations

import copy
import functools
import importlib
import inspect
import logging
import re
import threading
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any, Literal

import qiskit_ionq
from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq import ionq_backend
from qiskit_ionq.exceptions import IonQJobFailureError
from qiskit_ionq.ionq_client import IonQClient
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from .._redact import redact_json

__all__ = [
    "PRIMITIVES_NEED",
    "TESTED_QISKIT_IONQ",
    "adopt_job",
    "backend_sizes_are_lazy",
    "check_qiskit_ionq_version",
    "children_status",
    "client_settings",
    "fill_catalog",
    "init_provider",
    "init_sized_backend",
    "installed_version",
    "job_client",
    "job_submission",
    "local_status",
    "primitive_classes",
    "primitive_ionq_jobs",
    "replay_status",
    "require_primitive_classes",
    "set_local_status",
]

logger = logging.getLogger("qiskit_ionq_cancel")

#: The qiskit-ionq versions this package supports: 1.1.1 from the package index, and its 1.1.x
#: successors, of which CI tests the unreleased main branch at 220daa6 and main + pull request
#: #237 (both still calling themselves 1.1.1). A new minor version (1.2) may change what the
#: seam relies on, so it is outside until tested; ``pyproject.toml`` declares the same range.
TESTED_QISKIT_IONQ = (">=1.1.1", "<1.2")
_LOWEST, _FIRST_UNTESTED = (1, 1, 1), (1, 2)


def _release(version: str) -> tuple[int, ...]:
    match = re.match(r"(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def installed_version() -> str:
    """The installed qiskit-ionq's version."""
    try:
        return metadata.version("qiskit-ionq")
    except metadata.PackageNotFoundError:
        return str(getattr(qiskit_ionq, "__version__", "unknown"))


def check_qiskit_ionq_version(installed: str | None = None) -> bool:
    """Log one warning, naming the tested range, if the installed qiskit-ionq is outside it.

    Returns whether it is inside.
    """
    if installed is None:
        installed = installed_version()
    inside = _LOWEST <= _release(installed) < _FIRST_UNTESTED
    if not inside:
        logger.warning(
            "qiskit-ionq %s is installed, but qiskit-ionq-cancel is tested with qiskit-ionq "
            "%s: cancel and its typed errors may not work. Install a tested version (pip "
            "install 'qiskit-ionq%s') or upgrade qiskit-ionq-cancel.",
            installed, ",".join(TESTED_QISKIT_IONQ), ",".join(TESTED_QISKIT_IONQ))
    return inside


# -- qiskit-ionq's own primitives (pull request #237) ---------------------------------------
#: What a user is told where qiskit-ionq has no ``ionq_primitives`` module.
PRIMITIVES_NEED = (
    "qiskit-ionq's own primitives (IonQSampler, IonQEstimator) come with qiskit-ionq pull "
    "request #237, which the installed qiskit-ionq {version} does not have. Install a "
    "qiskit-ionq that has qiskit_ionq.ionq_primitives (the release after 1.1.1), or use "
    "qiskit_ionq_cancel.SamplerV2 / EstimatorV2, which work with every supported qiskit-ionq.")


@functools.cache
def primitive_classes() -> tuple[Any, Any, Any] | None:
    """qiskit-ionq's ``(IonQSampler, IonQEstimator, IonQPrimitiveJob)``, or ``None`` where
    the installed qiskit-ionq has no ``ionq_primitives`` (1.1.1, main@220daa6). Looked up
    on first use, never at import, so that this module loads on every version."""
    try:
        module = importlib.import_module("qiskit_ionq.ionq_primitives")
    except ImportError:
        return None
    return module.IonQSampler, module.IonQEstimator, module.IonQPrimitiveJob


def require_primitive_classes() -> tuple[Any, Any, Any]:
    """As :func:`primitive_classes`, but an ``ImportError`` that says which qiskit-ionq is
    needed where they are missing."""
    classes = primitive_classes()
    if classes is None:
        raise ImportError(PRIMITIVES_NEED.format(version=installed_version()))
    return classes


def primitive_ionq_jobs(job: object) -> list[StockIonQJob] | None:
    """The IonQ jobs of a qiskit-ionq ``IonQPrimitiveJob`` (its public ``ionq_jobs``, in
    submission order); ``None`` if ``job`` is not one (or qiskit-ionq has none)."""
    if isinstance(job, (str, StockIonQJob)):  # the common inputs: no look-up
        return None
    classes = primitive_classes()
    if classes is None or not isinstance(job, classes[2]):
        return None
    return list(job.ionq_jobs)


# -- jobs ------------------------------------------------------------------------------------
def local_status(job: StockIonQJob) -> JobStatus | None:
    """The job's status as last seen, without a request."""
    status: JobStatus | None = job._status
    return status


def set_local_status(job: StockIonQJob, status: JobStatus,
                     job_object: Mapping[str, Any] | None = None) -> None:
    """Record a status (and the job object it was read from) on the job: the object first,
    so that a thread that sees the status finds it stored."""
    with _PUBLISHING:
        if job_object is not None:
            job._save_metadata(job_object)  # type: ignore[no-untyped-call]
        job._status = status


def children_status(job: StockIonQJob) -> dict[str, Any]:
    """qiskit-ionq's ``status(detailed=True)`` answer: its children's statuses (a request
    for the job and one for each child)."""
    detailed: dict[str, Any] = job._children_status()  # type: ignore[no-untyped-call]
    return detailed


def job_client(job: StockIonQJob) -> IonQClient:
    """The client the job sends its requests with."""
    client: IonQClient = job._client
    return client


def job_submission(job: StockIonQJob) -> dict[str, Any]:
    """The run options the job was submitted with (shots, seed, ...)."""
    passed: dict[str, Any] = job._passed_args
    return passed


def adopt_job(job: Any, cls: type) -> None:
    """Turn a stock job (an ``IonQJob``, or #237's ``IonQPrimitiveJob``) into ``cls``, a
    subclass that only adds or overrides methods.

    qiskit-ionq's ``run()`` builds its job directly, with no hook for another class;
    re-classing the submitted job avoids copying ``run()``'s body.
    """
    job.__class__ = cls


def replay_status(job: StockIonQJob, job_object: dict[str, Any]) -> JobStatus:
    """Let qiskit-ionq's own ``status()`` digest a job object already read (result URLs,
    qubit counts, headers), so that ``result()`` works without a second request; the
    status the job has afterwards.

    Another thread may poll the same job (a primitive's worker and its user), and
    qiskit-ionq's ``status()`` is not safe for that: it sets ``_status`` first and what goes
    with it (metadata, result URLs, the circuits' shape) afterwards, and sets it whatever it
    was. So the object is digested on a shallow copy of the job that answers from it (its
    own client and metadata: the job's are never swapped or updated in place; swapping the
    job's client and restoring it afterwards lost the real client when two threads replayed
    at once, issue 21), and what it recorded is copied back under a lock with ``_status``
    last: a thread that sees the job final finds its results stored. An object read while
    the job still ran, digested after the job is known final here (another thread's poll, or
    a cancel), is stale and changes nothing. A final object replaces a final status known
    before (a cancel's read-back finds a claimed cancel completed).

    Raises:
        IonQJobFailureError: The job failed (qiskit-ionq's; ``ERROR`` is recorded first, as
            its own ``status()`` does). Its other errors record nothing.
    """
    replica = copy.copy(job)
    before = dict(vars(replica))
    said = _failure_said(_server_text_redacted(job_object, job._client))
    replica._client = _Replay(job._client, said)  # type: ignore[assignment]
    replica._metadata = dict(job._metadata)
    replica._status = JobStatus.INITIALIZING  # digested whatever was known before
    try:
        StockIonQJob.status(replica)  # qiskit-ionq's own, whatever class the job has
    except IonQJobFailureError:
        _publish(job, replica, before)
        raise
    return _publish(job, replica, before)


#: One lock for every job: it guards a few attribute writes from an object already read and
#: digested, never a request.
_PUBLISHING = threading.Lock()


def _publish(job: StockIonQJob, replica: StockIonQJob, before: dict[str, Any]) -> JobStatus:
    """Copy what ``replica``'s digest changed back to ``job``, ``_status`` last, unless it is
    stale (see :func:`replay_status`); the job's status afterwards."""
    digested: JobStatus = replica._status
    with _PUBLISHING:
        known: JobStatus | None = job._status
        if known is not None and known in JOB_FINAL_STATES \
                and digested not in JOB_FINAL_STATES:
            logger.debug("Job %s: an answer %s read before it was known %s is not taken",
                         job.job_id(), digested.name, known.name)
            return known
        for name, value in vars(replica).items():
            if name not in ("_client", "_status") and before.get(name, _UNSET) is not value:
                setattr(job, name, value)
        job._status = digested
    return digested


_UNSET = object()


def _server_text_redacted(job_object: dict[str, Any], client: Any) -> dict[str, Any]:
    """The job object with the key taken out of the server's words that qiskit-ionq's
    ``status()`` passes on: ``warning.messages`` (made Python warnings) and ``failure``
    (its ``IonQJobFailureError``). Its code, not this package's, says them."""
    key = getattr(client, "_token", None)
    key = key if isinstance(key, str) else None
    texts = {name: redact_json(job_object[name], key)
             for name in ("warning", "failure") if job_object.get(name)}
    return {**job_object, **texts} if texts else job_object


def _failure_said(job_object: dict[str, Any]) -> dict[str, Any]:
    """The job object with its ``failure.message`` also under ``failure.error``.

    IonQ's v0.4 ``Failure`` is ``{code, message}`` (no other member); qiskit-ionq (1.1.1 to
    main) words its ``IonQJobFailureError`` from ``failure.error``, so IonQ's reason was lost
    ("Failure from IonQ API "QuantumComputerError: "")."""
    failure = job_object.get("failure")
    if not isinstance(failure, dict) or "error" in failure or "message" not in failure:
        return job_object
    return {**job_object, "failure": {**failure, "error": failure["message"]}}


class _Replay:
    """Stands in for a client for one ``retrieve_job`` call, answering with a known job."""

    def __init__(self, client: Any, job: dict[str, Any]) -> None:
        self._real = client
        self._job = job

    def retrieve_job(self, job_id: str) -> dict[str, Any]:
        return self._job

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


# -- clients ---------------------------------------------------------------------------------
def client_settings(client: IonQClient) -> tuple[str | None, str | None, dict[str, str]]:
    """A stock client's key, base URL and custom headers."""
    return client._token, client._url, dict(client._custom_headers or {})


# -- providers and backends ------------------------------------------------------------------
def backend_sizes_are_lazy() -> bool:
    """True where qiskit-ionq's backends read their size lazily (from the provider's
    ``GET /backends`` catalog, on main) rather than with a request inside ``__init__``
    (1.1.1, which asks the default host whatever URL the provider has)."""
    parameter = inspect.signature(ionq_backend.IonQBackend.__init__).parameters["num_qubits"]
    return parameter.default is None


def init_provider(provider: Any, token: str | None, url: str | None,
                  custom_headers: dict[str, str] | None, backends: Callable[[], list[Any]]
                  ) -> None:
    """Run qiskit-ionq's ``IonQProvider.__init__`` on ``provider``, with our backends.

    Where its backends send a request from their ``__init__`` (1.1.1: to the default host,
    whatever URL was given), it cannot be called; the attributes it sets are set here
    instead, and ``tests/workflows/test_upstream_seam.py`` fails when that list changes.
    """
    if backend_sizes_are_lazy():
        qiskit_ionq.IonQProvider.__init__(provider, token, url, custom_headers)
    else:
        from qiskit_ionq.helpers import resolve_credentials

        provider.custom_headers = custom_headers
        provider.credentials = resolve_credentials(token, url)
    provider.backends = qiskit_ionq.ionq_provider.BackendService(backends())


def init_sized_backend(backend: Any, stock_cls: type, provider: Any, name: str,
                       gateset: Literal["qis", "native"], size: Callable[[str], int],
                       **options: Any) -> None:
    """Run ``stock_cls.__init__`` (qiskit-ionq's simulator or QPU backend) on ``backend``.

    On 1.1.1 that ``__init__`` asks the *default* IonQ host for the qubit count before
    anything else, whatever URL the provider has, so it cannot be called; its base class's
    ``__init__`` is called with the same arguments it passes, the size read through
    ``size(name)`` (our provider's URL). ``tests/workflows/test_upstream_seam.py`` compares the
    result with what 1.1.1's own ``__init__`` builds.
    """
    if backend_sizes_are_lazy():
        stock_cls.__init__(backend, provider, name, gateset, **options)  # type: ignore[misc]
        return
    simulator = stock_cls is ionq_backend.IonQSimulatorBackend
    full_name = f"ionq_{name}" if simulator and not name.startswith("ionq_") else name
    ionq_backend.IonQBackend.__init__(
        backend, provider=provider, name=full_name,
        description="IonQ cloud simulator" if simulator else "IonQ trapped-ion QPU",
        gateset=gateset, num_qubits=size(name), simulator=simulator,
        max_shots=1 if simulator else 10_000, max_experiments=None, **options)


def fill_catalog(provider: Any, fetch: Callable[[], dict[str, dict[str, Any]]]) -> None:
    """Give qiskit-ionq's provider (main) its ``GET /backends`` catalog, fetched by ``fetch``
    (our client) instead of by qiskit-ionq's own ``requests.get``. No-op on 1.1.1."""
    if hasattr(provider, "_catalog") and provider._catalog is None:
        provider._catalog = fetch()


check_qiskit_ionq_version()  # once, when anything of the package that uses qiskit-ionq loads


def undo_session_patch(session: Any) -> None:
    """Give back the ``backend.run`` that qiskit-ionq's ``Session.__enter__`` replaced
    (idempotent)."""
    original = getattr(session, "_orig_run", None)
    if original is not None:
        session._backend.run = original
        session._orig_run = None
