"""The emulator's job store: jobs, their lifecycle in time, and every state change.

Nothing here reads or writes HTTP. Errors are raised as :class:`ApiError` (a status code and
IonQ's message), which the HTTP layer turns into IonQ's error body. All public methods take
the store's lock, so the threaded server can call them concurrently.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from .qasm3 import register_shots
from .samples import histogram, sample_shots
from .simulate import UnsupportedCircuitError, gate_counts, ideal_probabilities

API_PREFIX = "/v0.4"
FINAL_STATUSES = frozenset({"completed", "failed", "canceled"})
CANCELLABLE_STATUSES = frozenset({"submitted", "ready", "started"})
LIST_LIMIT_DEFAULT = 25
LIST_LIMIT_MAX = 1000

#: Backends the emulator knows, with their qubit counts: the list of IonQ's v0.4 document
#: (``JobBackends``: ``simulator``, ``qpu.forte-1``, ``qpu.forte-enterprise-1``).
BACKENDS: dict[str, int] = {
    "simulator": 29,
    "qpu.forte-1": 36,
    "qpu.forte-enterprise-1": 36,
}
#: ``submitter_id`` and ``project_id`` of every job: the emulator has one user in one project.
SUBMITTER_ID = "emulator-user-0000000000000001"
PROJECT_ID = "00000000-0000-4000-8000-00000000e4a1"
#: Power drawn by a QPU while it runs a job, for ``stats.kwh`` (IonQ's ``Backend.kw``
#: example: 4902.81).
KW_PER_QPU = 4902.81
#: ``Failure.code`` values of IonQ's v0.4 document.
FAILURE_CODES = frozenset({
    "InvalidInput", "CompilationError", "ContractExpiredError", "DebiasingError",
    "InternalError", "NotEnoughQubits", "OptimizationError", "PreflightError",
    "QuantumCircuitComplexityError", "QuantumComputerError", "QuotaExhaustedError",
    "SimulationError", "SimulationTimeout", "SystemCancel", "TooLongPredictedExecutionTime",
    "TooManyControls", "TooManyGates", "TooManyShots", "UnknownBillingError", "UnsupportedGate",
})
#: The result format each finished job offers next to its legacy ``{url}`` entry (its artifact
#: id, for ``GET /jobs/{id}/artifacts/{artifactId}``, is ``"probabilities"``), as IonQ's
#: listing example.
PROBABILITIES_FORMAT = "ionq.result.probabilities.json.v1"
#: The other artifacts of a finished circuit job (format, artifact id, legacy results key):
#: per-shot outcomes (qiskit-ionq reads ``results.shots.url`` for ``memory``) and the
#: histogram; and the multi-circuit parent's per-child probabilities.
SHOTS_FORMAT = "ionq.result.shots.json.v1"
HISTOGRAM_FORMAT = "ionq.result.histogram.json.v1"
AGGREGATE_FORMAT = "ionq.result.probabilities-aggregate.json.v1"
ARTIFACTS = {"probabilities": PROBABILITIES_FORMAT, "shots": SHOTS_FORMAT,
             "histogram": HISTOGRAM_FORMAT, "probabilities-aggregate": AGGREGATE_FORMAT}
JOB_TYPES = ("ionq.circuit.v1", "ionq.multi-circuit.v1", "ionq.qasm3.v1")
#: The per-register shots of an ``ionq.qasm3.v1`` job (what qiskit-ionq reads for them).
SHOTS_V2_FORMAT = "ionq.result.shots.json.v2"
SHOTS_V2_ARTIFACT = "shots-v2"
MAX_CIRCUITS = 5000  # per multi-circuit job, as IonQ's document says

ChildCancel = Literal["child", "parent", "refuse"]
"""What cancelling one child of a multi-circuit job does. IonQ's document says nothing:

- ``child`` (default): that child alone is canceled; its siblings run on, and the parent,
  whose status follows its children, ends ``canceled`` (not every circuit ran);
- ``parent``: the whole job is canceled, as a cancel of the parent would;
- ``refuse``: ``400``, nothing changes (cancel the parent instead).
"""
CHILD_CANCEL_MODES: tuple[str, ...] = ("child", "parent", "refuse")

FinishedCancel = Literal["conflict", "bad_request", "noop", "claim", "overwrite"]
"""What cancelling an already final job answers. IonQ's document gives only the ``200`` body,
whose ``status`` may only be ``"canceled"``; the rest is unknown:

- ``conflict`` (default): ``409``, nothing changes (allowed: a 4xx says "not done");
- ``bad_request``: ``400``, nothing changes;
- ``noop``: ``200 {"id", "status": <its real status>}``, nothing changes. Outside the
  document (its 200 body allows only ``"canceled"``): kept to test clients against it;
- ``claim``: ``200 {"id", "status": "canceled"}`` although nothing changes (a lying answer);
- ``overwrite``: the job becomes ``canceled`` and the answer says so.
"""
FINISHED_CANCEL_MODES: tuple[str, ...] = ("conflict", "bad_request", "noop", "claim", "overwrite")
#: Settings whose answers break IonQ's document on purpose (the HTTP layer flags them).
OFF_CONTRACT_CANCEL_MODES = frozenset({"noop"})
ResultsStyle = Literal["both", "legacy", "formats"]
"""How a finished job's ``results`` name its probabilities: ``both`` (default) the legacy
``{"probabilities": {"url": ...}}`` entry that qiskit-ionq 1.x reads and the format-keyed
``{"ionq.result.probabilities.json.v1": {id, format, media_type}}`` entry of IonQ's current
document; ``legacy`` or ``formats`` only one of them."""
RESULTS_STYLES: tuple[str, ...] = ("both", "legacy", "formats")


class ApiError(Exception):
    """Raised by the emulator's store for a request the API refuses; the HTTP layer answers
    it as IonQ's error body. It holds the HTTP status plus IonQ's message, and for a 400 the
    ``validation`` IonQ adds: the offending ``keys`` and their ``source`` (``"params"`` for
    the query, ``"payload"`` for the body)."""

    def __init__(self, status: int, message: str, *, keys: Iterable[str] = (),
                 source: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.keys = list(keys)
        self.source = source
        self.off_contract = False  # set when a setting makes this answer break the document


class ManualClock:
    """A clock that moves only when told to, for tests of the lifecycle without sleeping."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._now += seconds


@dataclass(frozen=True)
class Lifecycle:
    """How long a job spends in each state before it moves on (seconds)."""

    submit_time: float = 0.0
    queue_time: float = 1.0
    run_time: float = 0.5


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def parse_job_id(raw: str) -> str:
    """Return ``raw`` if it is a canonical lower-case UUID string, else raise a 400."""
    if isinstance(raw, str) and _CANONICAL_UUID.fullmatch(raw):
        return raw
    shown = raw[:80] if isinstance(raw, str) else raw
    try:
        uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise ApiError(400, f"Invalid job id {shown!r}: expected a UUID") from None
    raise ApiError(400, f"Invalid job id {shown!r}: expected a canonical UUID")


_ENCODER = json.JSONEncoder(separators=(",", ":"))

#: Each status, encoded.
_STATUS_JSON = {status: f'"{status}"'.encode()
                for status in (*CANCELLABLE_STATUSES, *FINAL_STATUSES)}


def encode(body: Any) -> bytes:
    """The API's JSON encoding of an answer body, as bytes: what
    ``json.dumps(body, separators=(",", ":")).encode()`` gives (compact, ASCII)."""
    return _ENCODER.encode(body).encode()


@dataclass
class Job:
    """One job as the emulator stores it. Its status is derived from the clock."""

    id: str
    seq: int
    backend: str
    type: str
    name: str | None
    shots: int
    input: dict[str, Any]
    metadata: dict[str, Any]
    session_id: str | None
    parent_job_id: str | None
    dry_run: bool
    noise: dict[str, Any] | None
    settings: dict[str, Any]
    created: float
    probabilities: dict[str, float]
    qubits: int
    will_fail: dict[str, str] | None = None
    fixed_status: str | None = None
    fixed_at: float | None = None
    failure: dict[str, str] | None = None
    cancel_requests: int = field(default=0)
    forbidden: bool = False  # every request on it answers 403 (another project's job)
    gate_counts: dict[str, int] = field(default_factory=dict)
    children: list[Job] = field(default_factory=list)  # of a multi-circuit parent
    shot_seed: int = 0
    register_shots: list[dict[str, Any]] | None = None  # of an ionq.qasm3.v1 job
    # Kept by JobStore._encoded_view to encode the job's listing view again (see there): the
    # template of that view (_template), with what it was made from: completed or not, the
    # store's results style and lifecycle.
    template: tuple[bool, str, Lifecycle, bytes, bytes, bytes] | None = field(
        default=None, repr=False, compare=False)

    @property
    def stats(self) -> dict[str, Any]:
        """``stats`` of the job object (``CircuitJobStats``); a parent's sums its children's."""
        if not self.children:
            return {"qubits": self.qubits, "circuits": 1,
                    "gate_counts": dict(self.gate_counts)}
        counts: dict[str, int] = {}
        for child in self.children:
            for width, count in child.gate_counts.items():
                counts[width] = counts.get(width, 0) + count
        return {"qubits": max(c.qubits for c in self.children),
                "circuits": len(self.children), "gate_counts": counts}

    def shots_drawn(self) -> list[str]:
        """This job's per-shot outcomes (the same on every call)."""
        return sample_shots(self.probabilities, self.shots, self.shot_seed)

    def status_at(self, now: float, lifecycle: Lifecycle) -> str:
        """The job's status at clock time ``now``. A multi-circuit parent's follows its
        children: the least advanced while any runs; once all are final, ``completed`` if
        all completed, ``failed`` if any failed, else ``canceled``."""
        if self.fixed_status is not None:
            return self.fixed_status
        if self.children:
            states = {child.status_at(now, lifecycle) for child in self.children}
            if states <= FINAL_STATUSES:
                return ("completed" if states == {"completed"}
                        else "failed" if "failed" in states else "canceled")
            return next(s for s in ("submitted", "ready", "started") if s in states)
        age = now - self.created
        if age < lifecycle.submit_time:
            return "submitted"
        if age < lifecycle.submit_time + lifecycle.queue_time:
            return "ready"
        if age < lifecycle.submit_time + lifecycle.queue_time + lifecycle.run_time:
            return "started"
        return "failed" if self.will_fail else "completed"


class JobStore:
    """All jobs of one emulator, with their lifecycle and the cancel semantics."""

    def __init__(
        self,
        *,
        lifecycle: Lifecycle | None = None,
        finished_cancel: FinishedCancel = "conflict",
        results_style: ResultsStyle = "both",
        bulk_enabled: bool = True,
        bulk_lies: bool = False,
        bulk_max_ids: int = 1000,
        clock: Callable[[], float] | None = None,
        seed: int | None = None,
        page_cap: int | None = None,
        child_cancel: ChildCancel = "child",
    ) -> None:
        if finished_cancel not in FINISHED_CANCEL_MODES:
            raise ValueError(f"finished_cancel must be one of {FINISHED_CANCEL_MODES}")
        if child_cancel not in CHILD_CANCEL_MODES:
            raise ValueError(f"child_cancel must be one of {CHILD_CANCEL_MODES}")
        self.child_cancel: ChildCancel = child_cancel
        if results_style not in RESULTS_STYLES:
            raise ValueError(f"results_style must be one of {RESULTS_STYLES}")
        self.results_style: ResultsStyle = results_style
        self.lifecycle = lifecycle or Lifecycle()
        self.finished_cancel: FinishedCancel = finished_cancel
        self.bulk_enabled = bulk_enabled
        self.bulk_lies = bulk_lies  # answer the bulk cancel as usual but cancel nothing
        self.bulk_max_ids = bulk_max_ids
        if page_cap is not None and page_cap < 1:
            raise ValueError("page_cap must be at least 1")
        # Pages hold at most this many jobs whatever ``limit`` asks (as a server that caps
        # its pages quietly; IonQ documents no ``limit`` for ``GET /jobs``).
        self.page_cap = page_cap
        self.clock: Callable[[], float] = clock or time.monotonic
        self._epoch_clock = self.clock()
        self._epoch_utc = datetime.now(timezone.utc).replace(tzinfo=None)  # at _epoch_clock
        self._rng = random.Random(seed)
        self._iso_cache: dict[float, str] = {}
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._order: list[str] = []  # ids by submission; deleted ids stay, skipped on read
        self._seq = 0

    # -- time ---------------------------------------------------------------------------
    def _iso_at(self, at: float) -> str:
        """ISO-8601 wall time of clock time ``at``; memoised, since listings repeat them."""
        text = self._iso_cache.get(at)
        if text is None:
            # In UTC without a time zone: formatting an offset only to replace it with "Z"
            # was a third of the time.
            wall = self._epoch_utc + timedelta(seconds=at - self._epoch_clock)
            text = wall.isoformat(timespec="milliseconds") + "Z"
            if len(self._iso_cache) < 1_000_000:
                self._iso_cache[at] = text
        return text

    # -- creation -----------------------------------------------------------------------
    def submit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a ``POST /jobs`` body, store the job and return IonQ's 201 answer."""
        job_type = body.get("type", "ionq.circuit.v1")
        if job_type not in JOB_TYPES:
            raise ApiError(400, f"Job type {job_type!r} is not supported by the emulator",
                           keys=["type"], source="payload")
        backend = body.get("backend", "simulator")
        if not isinstance(backend, str) or backend not in BACKENDS:
            raise ApiError(400, f"Unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        input_block = body.get("input")
        if not isinstance(input_block, dict):
            raise ApiError(400, "Field 'input' must be an object")
        shots = body.get("shots", 100)
        if shots is None:
            shots = 100
        # The document says integer, but cirq-ionq sends a decimal string ("100") and its
        # own tests expect IonQ to take it: so does the emulator.
        if isinstance(shots, str) and re.fullmatch(r"[0-9]{1,7}", shots):
            shots = int(shots)
        if not isinstance(shots, int) or isinstance(shots, bool) or not 1 <= shots <= 1_000_000:
            raise ApiError(400, "Field 'shots' must be an integer from 1 to 1000000",
                           keys=["shots"], source="payload")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ApiError(400, "Field 'metadata' must be an object", keys=["metadata"],
                           source="payload")
        session_id = body.get("session_id")
        if session_id is not None:
            parse_job_id(str(session_id))

        noise = body.get("noise") if isinstance(body.get("noise"), dict) else None
        seed = (noise or {}).get("seed")
        names, circuits = _circuit_inputs(input_block, job_type)
        registers = None
        shot_seed: int | None = None
        try:
            if job_type == "ionq.qasm3.v1":
                with self._lock:
                    shot_seed = seed if isinstance(seed, int) else self._rng.getrandbits(32)
                registers = register_shots(input_block.get("data"), shots, shot_seed)
                probabilities: list[dict[str, float]] = [{}]
            else:
                probabilities = [ideal_probabilities(block) for block in circuits]
        except UnsupportedCircuitError as exc:
            raise ApiError(400, str(exc)) from None
        if max(int(block.get("qubits") or 1) for block in circuits) > BACKENDS[backend]:
            raise ApiError(400, f"Circuit needs more qubits than {backend} has")
        settings = body.get("settings")
        if not isinstance(settings, dict):
            settings = {}
        fail_code = metadata.get("emulator_fail")
        will_fail = (
            {"code": str(fail_code) if fail_code in FAILURE_CODES else "InternalError",
             "message": f"Failure requested by emulator_fail metadata ({fail_code})"}
            if fail_code
            else None
        )
        common: dict[str, Any] = {
            "backend": backend, "shots": shots, "metadata": metadata,
            "session_id": str(session_id) if session_id else None, "will_fail": will_fail,
            "dry_run": bool(body.get("dry_run", False)),
            "noise": noise, "settings": settings}
        name = body.get("name") if isinstance(body.get("name"), str) else None
        with self._lock:
            if job_type != "ionq.multi-circuit.v1":
                job = self._new_job(job_type=job_type, name=name, input_block=input_block,
                                    probabilities=probabilities[0], **common)
                if registers is not None and shot_seed is not None:
                    job.register_shots, job.shot_seed = registers, shot_seed
            else:
                job = self._new_job(job_type=job_type, name=name, input_block=input_block,
                                    probabilities={}, **common)
                for child_name, block, probs in zip(names, circuits, probabilities,
                                                    strict=True):
                    child = self._new_job(job_type="ionq.circuit.v1", name=child_name,
                                          input_block=block, probabilities=probs, **common)
                    child.parent_job_id = job.id
                    job.children.append(child)
            return {"id": job.id, "status": "submitted", "session_id": job.session_id}

    def add_jobs(self, count: int, *, backend: str = "simulator", session_id: str | None = None,
                 will_fail: bool = False) -> list[str]:
        """Create ``count`` one-qubit jobs directly (no HTTP), for tests and benchmarks."""
        block = {"gateset": "qis", "qubits": 1, "circuit": [{"gate": "h", "targets": [0]}]}
        with self._lock:
            return [
                self._new_job(
                    backend=backend, job_type="ionq.circuit.v1", name=f"job-{i}", shots=100,
                    input_block=block, metadata={}, session_id=session_id,
                    probabilities={"0": 0.5, "1": 0.5},
                    will_fail={"code": "InternalError", "message": "requested"} if will_fail
                    else None,
                    dry_run=False, noise=None, settings={},
                ).id
                for i in range(count)
            ]

    def _new_job(self, *, backend: str, job_type: str, name: str | None, shots: int,
                 input_block: dict[str, Any], metadata: dict[str, Any], session_id: str | None,
                 probabilities: dict[str, float], will_fail: dict[str, str] | None,
                 dry_run: bool, noise: dict[str, Any] | None,
                 settings: dict[str, Any]) -> Job:
        job_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        self._seq += 1
        seed = (noise or {}).get("seed")
        job = Job(
            id=job_id, seq=self._seq, backend=backend, type=job_type, name=name, shots=shots,
            input=input_block, metadata=metadata, session_id=session_id, parent_job_id=None,
            dry_run=dry_run, noise=noise, settings=settings, created=self.clock(),
            probabilities=probabilities, qubits=int(input_block.get("qubits", 1)),
            gate_counts=gate_counts(input_block),
            will_fail=will_fail,
            # from the id, not the generator: job ids stay those of a given seed
            shot_seed=seed if isinstance(seed, int) else int(job_id[:8], 16),
        )
        self._jobs[job_id] = job
        self._order.append(job_id)
        return job

    # -- reading ------------------------------------------------------------------------
    def _get(self, raw_id: str) -> Job:
        job_id = parse_job_id(raw_id)
        job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"Job {job_id} not found")
        if job.forbidden:
            raise ApiError(403, f"This key is not authorized for job {job_id}")
        return job

    def status_of(self, job_id: str) -> str:
        """The current status string of a job (404 when unknown)."""
        with self._lock:
            return self._get(job_id).status_at(self.clock(), self.lifecycle)

    def get(self, job_id: str) -> dict[str, Any]:
        """The job object of ``GET /jobs/{id}``."""
        with self._lock:
            return self._view(self._get(job_id), self.clock())

    def probabilities(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}/results/probabilities``: only for completed jobs (else 404, "Job
        not found or not yet completed" in IonQ's document)."""
        with self._lock:
            job = self._get(job_id)
            status = job.status_at(self.clock(), self.lifecycle)
            if status != "completed" or job.dry_run:
                raise ApiError(404, f"Job {job_id} has no results: it is {status}"
                                    f"{' (a dry run)' if job.dry_run else ''}")
            if job.children:  # a multi-circuit parent: each child's, by child id
                return {c.id: dict(c.probabilities) for c in job.children}
            if job.register_shots is not None:
                raise ApiError(404, f"Job {job_id} is an OpenQASM 3 job: its results are "
                                    f"the {SHOTS_V2_ARTIFACT!r} artifact")
            return dict(job.probabilities)

    def result(self, job_id: str, kind: str) -> Any:
        """``GET /jobs/{id}/results/{kind}`` (``probabilities``, ``shots``, ``histogram``):
        the URLs a finished job's legacy ``results`` entries name."""
        probabilities = self.probabilities(job_id)  # 404 unless completed
        if kind == "probabilities":
            return probabilities
        with self._lock:
            job = self._get(job_id)
            if job.children or kind not in ("shots", "histogram"):
                raise ApiError(404, f"Job {job_id} has no {kind[:40]!r} results")
            shots = job.shots_drawn()
        return shots if kind == "shots" else histogram(shots)

    def artifact(self, job_id: str, artifact_id: str) -> Any:
        """``GET /jobs/{id}/artifacts/{artifactId}``: the artifacts its ``results`` name."""
        with self._lock:
            job = self._get(job_id)
            is_parent = bool(job.children)
            if job.register_shots is not None and artifact_id == SHOTS_V2_ARTIFACT and \
                    SHOTS_V2_FORMAT in (self._results(job) if job.status_at(
                        self.clock(), self.lifecycle) == "completed" else {}):
                return {"shots": job.register_shots}
        if artifact_id not in ARTIFACTS or (artifact_id == "probabilities-aggregate") != \
                is_parent:
            raise ApiError(404, f"Job {job_id} has no artifact {artifact_id[:80]!r}")
        return self.result(job_id, "probabilities" if is_parent else artifact_id)

    def forbid(self, job_id: str) -> None:
        """Make every request on this job answer 403, as IonQ does for a resource the key may
        not touch (for tests of per-resource authorization)."""
        with self._lock:
            self._get(job_id).forbidden = True

    def _view(self, job: Job, now: float, *, full: bool = True,
              status: str | None = None) -> dict[str, Any]:
        """The job object: ``full`` for ``GET /jobs/{id}``, else a listing's ``BaseJob``
        (``status``: the job's at ``now``, when the caller has it)."""
        if status is None:
            status = job.status_at(now, self.lifecycle)
        done = status == "completed"
        # Required keys of IonQ's document (SingleCircuitJob; BaseJob in listings, without
        # child_job_ids), null where they do not apply.
        view: dict[str, Any] = {
            "id": job.id,
            "status": status,
            "type": job.type,
            "backend": job.backend,
            "dry_run": job.dry_run,
            "submitter_id": SUBMITTER_ID,
            "project_id": PROJECT_ID,
            "parent_job_id": job.parent_job_id,
            "session_id": job.session_id,
            "metadata": job.metadata or None,
            "name": job.name,
            "submitted_at": self._iso_at(job.created),
            **self._times(job, now, status),  # "started_at" to "failure"
            "output": {},
            "settings": job.settings,
            "stats": self._stats(job, done),
            "results": self._results(job) if done and not job.dry_run else None,
        }
        # "noise: only present when backend is simulator"; "shots are not included with
        # ideal simulator backend".
        if job.backend == "simulator":
            noise = {k: v for k, v in (job.noise or {"model": "ideal"}).items() if v is not None}
            view["noise"] = noise
            if noise.get("model") != "ideal":
                view["shots"] = job.shots
        else:
            view["shots"] = job.shots
        if full:
            view["child_job_ids"] = [c.id for c in job.children] if job.children else None
        return view

    def _encoded_view(self, job: Job, now: float) -> bytes:
        """A listing's view of the job (``full=False``), encoded (:func:`encode`)."""
        status = job.status_at(now, self.lifecycle)
        done = status == "completed"
        style, lifecycle = self.results_style, self.lifecycle
        # Building and encoding a view was most of its cost, and a job is viewed again and
        # again (listed while queued, polled, read back once canceled). Its view changes only
        # in its status and times (see _times) until the job completes or the store's
        # settings change: the rest is kept encoded, as a template, checked against all it
        # was made from, so no code that changes a job has to drop it.
        template = job.template
        if template is not None and template[0] == done and template[1] is style and \
                template[2] is lifecycle:
            return b"".join((template[3], _STATUS_JSON.get(status) or encode(status),
                             template[4], encode(self._times(job, now, status))[1:-1],
                             template[5]))
        encoded = encode(self._view(job, now, full=False, status=status))
        parts = _template(encoded, job.id, status)
        if parts is not None:
            job.template = (done, style, lifecycle, *parts)
        return encoded

    def _times(self, job: Job, now: float, status: str) -> dict[str, Any]:
        """The members of the job object from ``started_at`` to ``failure``: those that
        change with its status and the clock (and with its children's, for a parent)."""
        lc = self.lifecycle
        start = job.created + lc.submit_time + lc.queue_time
        end = start + lc.run_time
        started_at = None
        completed_at = None
        if job.fixed_status is not None:
            assert job.fixed_at is not None
            if job.fixed_at >= start:
                started_at = self._iso_at(start)
            completed_at = self._iso_at(job.fixed_at)
        elif status in ("started", "completed", "failed"):
            started_at = self._iso_at(start)
            if status != "started":
                completed_at = self._iso_at(end)
        if job.children and status in FINAL_STATUSES and job.fixed_status is None:
            ends = [c.fixed_at if c.fixed_status is not None else c.created
                    + lc.submit_time + lc.queue_time + lc.run_time for c in job.children]
            completed_at = self._iso_at(max(e for e in ends if e is not None))
        failure = job.failure
        if status == "failed" and failure is None:
            failure = job.will_fail
        waiting = status in ("submitted", "ready")
        return {
            "started_at": started_at,
            "completed_at": completed_at,
            "predicted_wait_time_ms": max(0, int((start - now) * 1000)) if waiting else None,
            "predicted_execution_duration_ms": int(lc.run_time * 1000) if waiting else None,
            "execution_duration_ms": int(lc.run_time * 1000) if status == "completed" else None,
            "failure": failure,
        }

    def _stats(self, job: Job, done: bool) -> dict[str, Any]:
        """``CircuitJobStats``: the circuit's figures, compute times from the lifecycle (the
        run time is all quantum compute here), energy for a QPU's finished job."""
        stats = job.stats
        compute_us = int(self.lifecycle.run_time * 1_000_000)
        stats["predicted_quantum_compute_time_us"] = compute_us
        if done:
            stats["billed_quantum_compute_time_us"] = compute_us
            if job.backend != "simulator":
                stats["kwh"] = round(self.lifecycle.run_time * KW_PER_QPU / 3600, 9)
        return stats

    def _results(self, job: Job) -> dict[str, Any]:
        if job.register_shots is not None:
            # an OpenQASM 3 job: per-register shots, except on the ideal simulator (which,
            # qiskit-ionq says, "returns only the aggregate distribution")
            if job.backend == "simulator" and (job.noise or {}).get("model", "ideal") == \
                    "ideal":
                return {}
            return {SHOTS_V2_FORMAT: {"id": SHOTS_V2_ARTIFACT, "format": SHOTS_V2_FORMAT,
                                      "media_type": "application/json"}}
        kinds = ("probabilities-aggregate",) if job.children else (
            "probabilities", "histogram", "shots")
        results: dict[str, Any] = {}
        if self.results_style != "formats":
            for kind in kinds:
                legacy = kind.split("-")[0]
                results[legacy] = {"url": f"{API_PREFIX}/jobs/{job.id}/results/{legacy}"}
        if self.results_style != "legacy":
            for kind in kinds:
                results[ARTIFACTS[kind]] = {"id": kind, "format": ARTIFACTS[kind],
                                            "media_type": "application/json"}
        return results

    def list(self, *, ids: Iterable[str] = (), status: str | None = None,
             target: str | None = None, session_id: str | None = None,
             parent_job_id: str | None = None, submitter_id: str | None = None,
             limit: int = LIST_LIMIT_DEFAULT, cursor: str | None = None) -> dict[str, Any]:
        """``GET /jobs``: newest first, filtered, one page and the cursor of the next.

        ``target`` is one backend or a comma-separated list of them; ``submitter_id`` keeps
        the jobs of that user (every job here is :data:`SUBMITTER_ID`'s).
        """
        with self._lock:
            jobs, now, more = self._page(
                ids=ids, status=status, target=target, session_id=session_id,
                parent_job_id=parent_job_id, submitter_id=submitter_id, limit=limit,
                cursor=cursor)
            return {"jobs": [self._view(job, now, full=False) for job in jobs], "next": more}

    def list_encoded(self, **filters: Any) -> bytes:
        """:meth:`list`'s answer (same arguments), encoded (:func:`encode`): the same bytes
        as ``encode(list(...))``, joined from the jobs' cached encoded views."""
        with self._lock:
            jobs, now, more = self._page(**filters)
            views = [self._encoded_view(job, now) for job in jobs]
        return b'{"jobs":[' + b",".join(views) + b'],"next":' + encode(more) + b"}"

    def _page(self, *, ids: Iterable[str] = (), status: str | None = None,
              target: str | None = None, session_id: str | None = None,
              parent_job_id: str | None = None, submitter_id: str | None = None,
              limit: int = LIST_LIMIT_DEFAULT, cursor: str | None = None
              ) -> tuple[Sequence[Job], float, str | None]:
        """The jobs of one page of :meth:`list`, the clock time they are seen at, and the
        next page's cursor."""
        # An id the store holds is canonical (the store made it): only others need the check.
        jobs_now = self._jobs
        wanted = {i if isinstance(i, str) and i in jobs_now else parse_job_id(i) for i in ids}
        targets = None if target is None else set(target.split(","))
        if not 1 <= limit <= LIST_LIMIT_MAX:
            raise ApiError(400, f"'limit' must be between 1 and {LIST_LIMIT_MAX}")
        if self.page_cap is not None:
            limit = min(limit, self.page_cap)
        if status is not None and status not in CANCELLABLE_STATUSES | FINAL_STATUSES:
            raise ApiError(400, f"Unknown status filter {status!r}")
        for name, value in (("session_id", session_id), ("parent_job_id", parent_job_id)):
            if value is not None:
                try:
                    parse_job_id(value)
                except ApiError:
                    raise ApiError(400, f"Invalid {name} {value[:80]!r}: expected a UUID") \
                        from None
        with self._lock:
            now = self.clock()
            start = len(self._order) if cursor is None else _decode_cursor(cursor)
            page: list[Job] = []
            position = start
            positions: Iterable[int]
            if wanted:  # only the wanted jobs, not a scan of all (read-backs do this a lot)
                positions = sorted((j.seq - 1 for i in wanted if (j := self._jobs.get(i))
                                    and j.seq - 1 < start), reverse=True)
                last = positions[-1] if positions else 0
            else:
                positions = range(min(start, len(self._order)) - 1, -1, -1)
                last = 0
            for position in positions:
                job = self._jobs.get(self._order[position])
                if job is None:
                    continue
                if job.forbidden:
                    continue  # another project's job: not listed
                if targets is not None and job.backend not in targets:
                    continue
                if submitter_id is not None and submitter_id != SUBMITTER_ID:
                    continue
                if session_id is not None and job.session_id != session_id:
                    continue
                if parent_job_id is not None and job.parent_job_id != parent_job_id:
                    continue
                if status is not None and job.status_at(now, self.lifecycle) != status:
                    continue
                page.append(job)
                if len(page) == limit:
                    break
            more = len(page) == limit and position > last
            return page, now, _encode_cursor(position) if more else None

    def iter_ids(self) -> Iterator[str]:
        """Every live job id, oldest first (a snapshot)."""
        with self._lock:
            return iter([i for i in self._order if i in self._jobs])

    def counts(self) -> dict[str, int]:
        """How many jobs are in each status now."""
        with self._lock:
            now = self.clock()
            result: dict[str, int] = {}
            for job in self._jobs.values():
                status = job.status_at(now, self.lifecycle)
                result[status] = result.get(status, 0) + 1
            return result

    # -- changes ------------------------------------------------------------------------
    def cancel(self, raw_id: str) -> dict[str, Any]:
        """``PUT /jobs/{id}/status/cancel``."""
        with self._lock:
            job = self._get(raw_id)
            job.cancel_requests += 1
            status = self._cancel_one(job)
            return {"id": job.id, "status": status}

    def _cancel_one(self, job: Job, now: float | None = None) -> str:
        """Apply a cancel to one job at clock time ``now`` (default: the clock's); return the
        status the answer claims. Cancelling a multi-circuit parent cancels its unfinished
        children; a child, see :data:`ChildCancel`."""
        if now is None:
            now = self.clock()
        if job.parent_job_id is not None and self.child_cancel != "child":
            parent = self._jobs.get(job.parent_job_id)
            if parent is not None and job.status_at(now, self.lifecycle) \
                    in CANCELLABLE_STATUSES:
                if self.child_cancel == "refuse":
                    raise ApiError(400, f"Job {job.id} is one circuit of multi-circuit job "
                                        f"{parent.id}: cancel that job instead")
                self._cancel_one(parent, now)
                return "canceled"
        status = job.status_at(now, self.lifecycle)
        if status in CANCELLABLE_STATUSES:
            for child in job.children:
                if child.status_at(now, self.lifecycle) in CANCELLABLE_STATUSES:
                    child.fixed_status, child.fixed_at = "canceled", now
            job.fixed_status, job.fixed_at = "canceled", now
            return "canceled"
        if status == "canceled":
            return "canceled"  # cancelling twice is cancelling once: true in every mode
        mode = self.finished_cancel
        if mode == "conflict":
            raise ApiError(409, f"Job {job.id} is already {status} and cannot be canceled")
        if mode == "bad_request":
            raise ApiError(400, f"Job {job.id} is {status}; only queued or running jobs can "
                                "be canceled")
        if mode == "overwrite":
            job.fixed_status, job.fixed_at = "canceled", job.fixed_at or now
            return "canceled"
        return "canceled" if mode == "claim" else status

    def cancel_many(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``PUT /jobs/status/cancel``: cancels what it can, echoes every id it was given.

        Like the real service may, the echo includes ids that were unknown or already final:
        it proves nothing about any one job.
        """
        if not self.bulk_enabled:
            raise ApiError(404, "Cannot PUT /v0.4/jobs/status/cancel")
        ids = _bulk_ids(body, self.bulk_max_ids, self._jobs)
        with self._lock:
            # One moment for the whole request: its jobs all end at it, and their read-backs
            # share one completed_at (formatted once, not once a job).
            now = self.clock()
            for raw in ids if not self.bulk_lies else ():
                job = self._jobs.get(raw)
                if job is None or job.forbidden:
                    continue
                job.cancel_requests += 1
                # (not contextlib.suppress: entering one cost nearly a microsecond a job)
                try:  # noqa: SIM105
                    self._cancel_one(job, now)
                except ApiError:  # a final job in a bulk request stays as is
                    pass
            return {"ids": list(ids), "status": "canceled"}

    def delete(self, raw_id: str) -> dict[str, Any]:
        """``DELETE /jobs/{id}``: the job is gone afterwards (404). IonQ does not say what
        deleting a queued or running job does to it; here it stops (it is gone)."""
        with self._lock:
            job = self._get(raw_id)
            del self._jobs[job.id]
            return {"id": job.id, "status": "deleted"}

    def delete_many(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``DELETE /jobs`` with ``{"ids": [...]}``: deletes what it can, echoes every id
        (unknown ones too, as the bulk cancel does)."""
        ids = _bulk_ids(body, self.bulk_max_ids, self._jobs)
        with self._lock:
            for raw in ids:
                job = self._jobs.get(raw)
                if job is not None and not job.forbidden:
                    del self._jobs[raw]
            return {"ids": list(ids), "status": "deleted"}

    def fail(self, job_id: str, code: str = "InternalError",
             message: str = "Failed on request") -> None:
        """Make a job fail now, whatever its state (for tests). ``code`` is one of IonQ's
        ``Failure.code`` values (:data:`FAILURE_CODES`)."""
        if code not in FAILURE_CODES:
            raise ValueError(f"code must be one of IonQ's failure codes: {sorted(FAILURE_CODES)}")
        with self._lock:
            job = self._get(job_id)
            job.fixed_status, job.fixed_at = "failed", self.clock()
            job.failure = {"code": code, "message": message}

    def cancel_requests(self, job_id: str) -> int:
        """How many cancel requests (single or bulk) reached this job."""
        with self._lock:
            return self._get(job_id).cancel_requests


def _circuit_inputs(input_block: dict[str, Any], job_type: str
                    ) -> tuple[list[str | None], list[dict[str, Any]]]:
    """The single-circuit input blocks of a job: its ``input`` itself, or for a
    multi-circuit job one per ``input.circuits`` entry (each inheriting the parent's
    ``gateset`` and ``qubits`` unless it sets its own); and their names."""
    if job_type != "ionq.multi-circuit.v1":
        return [None], [input_block]
    circuits = input_block.get("circuits")
    if "circuit" in input_block:
        raise ApiError(400, "A multi-circuit job takes 'input.circuits', not 'input.circuit'",
                       keys=["input"], source="payload")
    if not isinstance(circuits, list) or not circuits or len(circuits) > MAX_CIRCUITS:
        raise ApiError(400, f"Field 'input.circuits' must be a list of 1 to {MAX_CIRCUITS} "
                            "circuits", keys=["input"], source="payload")
    names: list[str | None] = []
    blocks = []
    for index, entry in enumerate(circuits):
        if not isinstance(entry, dict) or set(entry) - {"name", "circuit", "gateset",
                                                        "qubits"}:
            raise ApiError(400, f"input.circuits[{index}] must be an object with 'circuit' "
                                "and optionally 'name', 'gateset', 'qubits'",
                           keys=["input"], source="payload")
        name = entry.get("name")
        names.append(name if isinstance(name, str) else None)
        blocks.append({"gateset": entry.get("gateset", input_block.get("gateset", "qis")),
                       "qubits": entry.get("qubits", input_block.get("qubits")),
                       "circuit": entry.get("circuit")})
    return names, blocks


def _bulk_ids(body: Mapping[str, Any], most: int, known: Container[str]) -> list[str]:
    """The ``ids`` of a bulk request body (``JobsBulkOperationRequest``), checked (an id in
    ``known``, the store's, is canonical: the store made it)."""
    if set(body) - {"ids"}:
        raise ApiError(400, "Only field 'ids' is allowed", keys=sorted(set(body) - {"ids"}),
                       source="payload")
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ApiError(400, "Field 'ids' must be a non-empty list of job ids", keys=["ids"],
                       source="payload")
    if len(ids) > most:
        raise ApiError(400, f"At most {most} ids per request", keys=["ids"], source="payload")
    for raw in ids:
        if raw not in known:
            parse_job_id(raw)
    return ids


def _template(encoded: bytes, job_id: str, status: str) -> tuple[bytes, bytes, bytes] | None:
    """A job's encoded view cut around its status and its times (``started_at`` to
    ``failure``), for :meth:`JobStore._encoded_view` to put new ones in: what comes before
    the status, between the status and the times, and after the times. ``None`` when the
    cuts are ambiguous (a key the cuts look for also occurs nested in the job's data)."""
    before = b'{"id":' + encode(job_id) + b',"status":'
    times = encoded.find(b'"started_at":')
    after = encoded.find(b',"output":')
    if not encoded.startswith(before) or not 0 < times < after or \
            encoded.count(b'"started_at":') != 1 or encoded.count(b',"output":') != 1:
        return None
    return before, encoded[len(before) + len(encode(status)):times], encoded[after:]


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError(raw)
        position = int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "Invalid 'next' cursor") from None
    if position < 0:
        raise ApiError(400, "Invalid 'next' cursor")
    return position
