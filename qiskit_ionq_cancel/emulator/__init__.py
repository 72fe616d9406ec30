"""A local emulator of IonQ's v0.4 jobs API: a real HTTP server on loopback.

Split like ``moto``: :mod:`.state` holds the jobs and their lifecycle, :mod:`.server` the
routes and answers, :mod:`.bodies` reads requests, :mod:`.views` writes jobs down,
:mod:`.faults` the misbehaviour, :mod:`.simulate` / :mod:`.native` / :mod:`.qasm3` the
circuits' ideal results, :mod:`.compiled` their native compiled circuits, :mod:`.pricing`
what jobs cost.

Two ways to start it in-process::

    with running() as url:               # the base URL, ending in /v0.4
        ...

    with Emulator(queue_time=5) as emu:  # the object, to look at its jobs and request log
        emu.url, emu.store, emu.faults, emu.log

and one as a process: ``ionq-cancel emulator --port 8000``.

Its contract is IonQ's v0.4 document of October 1, 2026 (``tests/contract/`` holds the
transcription the tests check every answer against).

What the document forbids but a real client sends (``lenient``)
---------------------------------------------------------------
The emulator refuses what the document forbids with a 400 whose message names the
``lenient`` case that would take it. ``lenient`` (a collection of case names, ``True`` for
all, ``False`` for none) lists the cases taken; its default, :data:`DEFAULT_LENIENT`, is the
cases a real client is known to send:

================================= ======= ==========================================================
case                              default what is taken, and who sends it
================================= ======= ==========================================================
``shots_as_string``               on      ``"shots": "100"``, as the integer (cirq-ionq)
``non_string_metadata``           on      metadata values that are not strings, stored as their JSON
                                          text (``3`` -> ``"3"``), so ``GET /jobs`` answers strings
                                          as ``BaseJob.metadata`` says (qiskit-ionq PR #237:
                                          ``qiskit_primitive_pub_index``)
``null_noise_seed``               on      ``"noise": {"seed": null}``, as no seed (qiskit-ionq)
``qasm3_qubits``                  on      ``input.qubits`` beside an ``ionq.qasm3.v1`` program's
                                          ``data``, ignored (qiskit-ionq)
``lang_field``                    on      ``"lang": "json"`` (a v0.3 field), ignored (cirq-ionq)
``session_backend_alias``         on      ``POST /sessions`` with ``"backend": "ionq_simulator"``,
                                          as ``simulator`` (qiskit-ionq)
``missing_backend``               off     no ``backend``: ``simulator``
``missing_type``                  off     no ``type``: ``ionq.circuit.v1``
``multi_circuit_without_gateset`` off     a multi-circuit job without ``input.gateset``: ``qis``
``unknown_fields``                off     fields the document does not name, at the top of a job,
                                          ignored
``debiasing_few_shots``           off     debiasing with fewer than 500 shots, run as asked
``unknown_session``               off     a ``session_id`` naming no session, stored as given (no
                                          session limit applies)
================================= ======= ==========================================================

Any other string is refused as a session's ``backend`` (``nonsense``); ``cost_limit`` needs
only ``value``.

Where the document is silent, the emulator chooses
--------------------------------------------------
- Cancelling a finished job (``finished_cancel``): ``409`` by default, nothing changes.
  IonQ's real answer is undocumented; a ``200`` claiming a cancel that did not happen
  (``claim``), or a cancel that throws away a finished job's results (``overwrite``), are
  both worse guesses than a ``409``. ``bad_request`` (400) and ``noop`` (200 with the job's
  real status, outside the document) are the other settings, to test clients against.
- ``GET /jobs?limit=``: any integer; a page holds 1 to 1,000 jobs whatever it asks.
- ``ionq.qasm3.v1``: a program measured only at its end is sampled from one statevector; one
  with a measurement in the middle or a reset is run shot by shot inside ``POST /jobs`` and
  refused (400) past ``shots * 2**qubits`` = :data:`~.qasm3.MAX_SHOT_BY_SHOT_WORK` (2**22).
- v2 results (``ionq.result.{probabilities,histogram}.json.v2``): register ``output_all``
  is every qubit, plus a multi-circuit job's ``circuits[].registers``; a bitstring is
  zero-padded, the register's first qubit the rightmost letter.
- The compiled circuit (``ionq.native.v1``) of a completed ``ionq.circuit.v1`` job is exact
  (gpi2 and zz with Z rotations carried as a frame), computed when it is asked for.

The one known deviation from the document
-----------------------------------------
A finished single-circuit job's ``results`` add legacy ``{"url": ...}`` entries
(``probabilities``, ``shots``, ``histogram``; a multi-circuit parent ``probabilities``)
beside the document's artifact descriptors, and ``GET /jobs/{id}/results/{kind}`` serves
them: qiskit-ionq 1.1.1, pennylane-ionq and the ``ionq`` package read them.
``results_style="formats"`` turns them off (the document to the letter).

What a job costs (``prices``)
-----------------------------
``GET /jobs/{UUID}/cost`` and ``GET /jobs/estimate`` price a job from a table of one
:class:`Price` per QPU (``Emulator(prices=...)``, ``ionq-cancel emulator --price``), in the
shape of the document's ``RateCardEntry`` (see :mod:`.pricing`):

========================== ===================== ==========================================
backend                    default price         how it is priced
========================== ===================== ==========================================
``simulator``              free                  no ``estimated_cost`` nor ``cost`` (the
                                                 document: "free targets such as simulators
                                                 have no currency unit that can describe
                                                 them")
``qpu.forte-1``            0.80 usd a second     ``compute_second`` (``cost_model: QCT``):
                                                 ``unit_cost`` per second of predicted
                                                 quantum compute time
``qpu.forte-enterprise-1`` 0.0001 usd a 1q gate, ``gates`` (``cost_model: 2QGE_operations``):
                           0.001 a 2q gate, a    ``shots * (1q * cost_1q_gate + 2q *
                           shot; at least 1.00   cost_2q_gate)``, at least
                                                 ``job_cost_minimum``
========================== ===================== ==========================================

The default figures are examples to test against, **not IonQ's prices**. Predicted quantum
compute time (``stats.predicted_quantum_compute_time_us`` of a QPU job, the estimate's
``estimated_quantum_compute_time_us``) is ``shots * (1000 + 100 * 1q + 600 * 2q)`` us (a
wider gate counts as a two-qubit gate; an ``ionq.qasm3.v1`` program's gates are not
counted). The estimate's times are the emulator's lifecycle, what a job submitted now shows:
``current_predicted_queue_time`` its ``predicted_wait_time_ms``, ``estimated_execution_time``
its ``predicted_execution_duration_ms``. ``error_mitigation`` does not change a price.
A job's ``cost`` appears once it is final: its estimate when it completed; ``0`` when it
failed, was a dry run, or was canceled before it started (IonQ's billing guide: reserved
credit is released on cancel); when canceled while running, the shots it had run (the share
of its run time that had passed, rounded down) at the job's rate, without the job minimum.
A multi-circuit job costs the sum of its circuits. ``cost_limit`` of a session is stored,
not enforced.

Also served from the October document: ``POST /jobs/{UUID}/clone`` (a new job with the
job's type and input, and its fields unless the body gives them; ``parent`` is taken and not
used, the document does not say what it does), ``GET /schemas/formats/{format}`` (draft-07
schemas of the eight formats), ``GET /organizations/{organization_id}/usage`` (all zero: the
emulator keeps no bills), ``SessionSettings.expires_at``, a QPU's ``kw`` and ``location``, a
QPU job's ``cost_model`` (``QCT``).

Not served yet: ``POST /jobs/{UUID}/move`` (the document does not say what it moves, or
where), ``output.error_mitigation`` (debiasing's variants and aggregations).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from .bodies import DEFAULT_LENIENT, LENIENT_CASES
from .faults import Fault, FaultConfig, FaultInjector, RetryAfterMode
from .model import API_PREFIX, BACKENDS, Lifecycle, ManualClock
from .pricing import DEFAULT_PRICES, Price
from .server import LOG_SIZE, AnswerObserver, EmulatorServer, Exchange, LogEntry, RequestLog
from .sessions import SESSION_END_MODES, SessionEnd, SessionStore
from .state import (
    CHILD_CANCEL_MODES,
    FINISHED_CANCEL_MODES,
    ChildCancel,
    FinishedCancel,
    JobStore,
)
from .views import RESULTS_STYLES, ResultsStyle

__all__ = [
    "BACKENDS",
    "CHILD_CANCEL_MODES",
    "DEFAULT_LENIENT",
    "DEFAULT_PRICES",
    "FINISHED_CANCEL_MODES",
    "LENIENT_CASES",
    "RESULTS_STYLES",
    "SESSION_END_MODES",
    "AnswerObserver",
    "ChildCancel",
    "Emulator",
    "Exchange",
    "Fault",
    "FaultConfig",
    "FinishedCancel",
    "Lifecycle",
    "LogEntry",
    "ManualClock",
    "Price",
    "ResultsStyle",
    "RetryAfterMode",
    "SessionEnd",
    "running",
]

logger = logging.getLogger("qiskit_ionq_cancel.emulator")


class Emulator:
    """An IonQ v0.4 jobs API on ``127.0.0.1``; a context manager that starts and stops it.

    Args mirror the CLI: ``api_keys`` (empty: any non-empty key passes), ``queue_time`` and
    ``run_time`` (seconds a job spends ``ready`` and ``started``), ``latency`` (seconds added
    to every answer), ``rate_limit`` (requests a second, then 429), ``retry_after`` (how a 429
    says when to come back: ``"seconds"``, ``"date"`` or ``"none"``), ``fault_rate`` (share
    of answers that are faults), ``seed``; plus ``finished_cancel`` (what cancelling a final
    job answers, see :data:`~.state.FinishedCancel`), ``results_style`` (how results are
    named, see :data:`~.state.ResultsStyle`), ``observer`` (called with every answer as an
    :class:`Exchange` just before it is sent), ``bulk_enabled``, ``bulk_lies`` (the
    bulk cancel answers as usual but cancels nothing), ``bulk_max_ids``, ``clock`` (a
    :class:`ManualClock` makes the lifecycle move only when a test says so) and ``preload``
    (that many one-qubit jobs submitted at start, for benchmarks); ``log_size`` (requests
    the request log keeps, the oldest dropped first); ``rate_burst`` (the
    token bucket's size, default a tenth of a second's worth), ``page_cap`` (pages of
    ``GET /jobs`` hold at most this many jobs, whatever ``limit`` says),
    ``max_in_flight`` (more requests than this at once are answered 503); ``child_cancel``
    (what cancelling one child of a multi-circuit job does, see :data:`~.state.ChildCancel`),
    ``sessions_enabled`` (``False``: the session routes answer 404) and ``session_end``
    (what ending a session does to its unfinished jobs, see :mod:`~.sessions`);
    ``lenient`` (what IonQ's document forbids that the emulator takes anyway: a collection
    of :data:`LENIENT_CASES` names, ``True`` for all, ``False`` for none; default
    :data:`DEFAULT_LENIENT`, the cases a real client sends); ``prices`` (what a QPU
    charges, for ``GET /jobs/{UUID}/cost`` and ``GET /jobs/estimate``: ``{backend: Price}``,
    a :class:`Price` or a mapping of its fields, e.g. ``{"qpu.forte-1": Price(unit="gates",
    cost_1q_gate=0.0002, cost_2q_gate=0.002, job_cost_minimum=5.0)}``; the backends it does
    not name keep :data:`DEFAULT_PRICES`, example figures that are not IonQ's prices; the
    simulator is free and cannot be priced).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Iterable[str] = (),
        queue_time: float = 1.0,
        run_time: float = 0.5,
        submit_time: float = 0.0,
        latency: float = 0.0,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        retry_after: RetryAfterMode = "seconds",
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] | None = None,
        seed: int | None = None,
        finished_cancel: FinishedCancel = "conflict",
        results_style: ResultsStyle = "both",
        observer: AnswerObserver | None = None,
        bulk_enabled: bool = True,
        bulk_lies: bool = False,
        bulk_max_ids: int = 1000,
        clock: Callable[[], float] | None = None,
        preload: int = 0,
        page_cap: int | None = None,
        max_in_flight: int | None = None,
        child_cancel: ChildCancel = "child",
        sessions_enabled: bool = True,
        session_end: SessionEnd = "drain",
        log_size: int = LOG_SIZE,
        lenient: Iterable[str] | bool = DEFAULT_LENIENT,
        prices: Mapping[str, Price | Mapping[str, Any]] | None = None,
    ) -> None:
        self.store = JobStore(
            lifecycle=Lifecycle(submit_time=submit_time, queue_time=queue_time,
                                run_time=run_time),
            finished_cancel=finished_cancel,
            results_style=results_style,
            bulk_enabled=bulk_enabled,
            bulk_lies=bulk_lies,
            bulk_max_ids=bulk_max_ids,
            clock=clock,
            seed=seed,
            page_cap=page_cap,
            child_cancel=child_cancel,
            lenient=lenient,
            prices=prices,
        )
        self.sessions = SessionStore(self.store, enabled=sessions_enabled,
                                     session_end=session_end)
        if preload:
            self.store.add_jobs(preload)
        config = FaultConfig(latency=latency, rate_limit=rate_limit, rate_burst=rate_burst,
                             retry_after=retry_after, fault_rate=fault_rate, seed=seed,
                             max_in_flight=max_in_flight,
                             **({"fault_kinds": tuple(fault_kinds)} if fault_kinds else {}))
        self.faults = FaultInjector(config)
        self.log = RequestLog(log_size)
        self._keys = frozenset(api_keys)
        self.observer = observer
        self._address = (host, port)
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the API, ending in ``/v0.4``."""
        if self._server is None:
            raise RuntimeError("The emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

    def bind(self) -> Emulator:
        """Open the listening socket (on a free port unless one was given), not yet serving."""
        if self._server is not None:
            raise RuntimeError("The emulator is already running")
        self._server = EmulatorServer(self._address, store=self.store, faults=self.faults,
                                      log=self.log, api_keys=self._keys,
                                      observer=self.observer, sessions=self.sessions)
        return self

    def start(self) -> Emulator:
        """Listen and serve in a background thread."""
        self.bind()
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="ionq-emulator", daemon=True)
        self._thread.start()
        logger.info("IonQ emulator listening on %s", self.url)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (for the CLI)."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, close open connections and free the port."""
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
        self._close()

    def _close(self) -> None:
        if self._server is not None:
            self._server.close_connections()
            self._server.server_close()
            self._server = None
            self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"<Emulator {where}>"


@contextmanager
def running(**settings: Any) -> Iterator[str]:
    """Start an :class:`Emulator` on a free port; yield its base URL (ending in ``/v0.4``)."""
    with Emulator(**settings) as emulator:
        yield emulator.url
