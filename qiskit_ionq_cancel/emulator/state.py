"""The emulator's job store: its jobs, their lifecycle in time, and every state change.

Nothing here reads or writes HTTP: requests are read by ``bodies.py`` and answers written by
``views.py``. Errors are raised as :class:`ApiError` (a status code and IonQ's message),
which the HTTP layer turns into IonQ's error body. All public methods take the store's lock,
so the threaded server can call them concurrently.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from .bodies import (
    DEFAULT_LENIENT,
    bulk_ids,
    check_lenient,
    decode_cursor,
    encode_cursor,
    parse_job_id,
    parse_submission,
)
from .compiled import native_circuit
from .model import (
    API_PREFIX,
    BACKENDS,
    CANCELLABLE_STATUSES,
    FAILURE_CODES,
    FINAL_STATUSES,
    SUBMITTER_ID,
    ApiError,
    Job,
    Lifecycle,
    ManualClock,
)
from .pricing import Price, check_prices, gate_widths, partial_shots
from .qasm3 import register_shots
from .samples import histogram
from .simulate import UnsupportedCircuitError, circuit_width, gate_counts, ideal_probabilities
from .views import (
    ARTIFACTS,
    NATIVE_ARTIFACT,
    RESULTS_STYLES,
    SHOTS_V2_ARTIFACT,
    SHOTS_V2_FORMAT,
    JobViews,
    ResultsStyle,
    encode,
)

__all__ = [
    "API_PREFIX", "BACKENDS", "CHILD_CANCEL_MODES", "FINISHED_CANCEL_MODES",
    "OFF_CONTRACT_CANCEL_MODES", "RESULTS_STYLES", "ApiError", "ChildCancel",
    "FinishedCancel", "Job", "JobStore", "Lifecycle", "ManualClock", "ResultsStyle",
]

#: Fields of IonQ's ``CloneJobPayload`` (``parent`` is taken and not used: the document
#: does not say what it does).
CLONE_FIELDS = frozenset({"parent", "name", "metadata", "shots", "backend", "session_id",
                          "settings", "dry_run", "noise"})
LIST_LIMIT_DEFAULT = 25
LIST_LIMIT_MAX = 1000


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

- ``conflict`` (default): ``409``, nothing changes (allowed: a 4xx says "not done"). Chosen
  because IonQ's real answer is undocumented, and a ``200`` claiming a cancel that did not
  happen (``claim``) or a cancel that throws away a finished job's results (``overwrite``)
  are both worse guesses than a ``409``;
- ``bad_request``: ``400``, nothing changes;
- ``noop``: ``200 {"id", "status": <its real status>}``, nothing changes. Outside the
  document (its 200 body allows only ``"canceled"``): kept to test clients against it;
- ``claim``: ``200 {"id", "status": "canceled"}`` although nothing changes (a lying answer);
- ``overwrite``: the job becomes ``canceled`` and the answer says so.
"""
FINISHED_CANCEL_MODES: tuple[str, ...] = ("conflict", "bad_request", "noop", "claim", "overwrite")
#: Settings whose answers break IonQ's document on purpose (the HTTP layer flags them).
OFF_CONTRACT_CANCEL_MODES = frozenset({"noop"})


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
        lenient: Iterable[str] | bool = DEFAULT_LENIENT,
        prices: Mapping[str, Price | Mapping[str, Any]] | None = None,
    ) -> None:
        #: The price of each QPU (see pricing.py): DEFAULT_PRICES with ``prices`` instead
        self.prices: Mapping[str, Price] = check_prices(prices, BACKENDS)
        #: What IonQ's document forbids that this store takes anyway (see bodies.LENIENT_CASES)
        self.lenient = check_lenient(lenient)
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
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._order: list[str] = []  # ids by submission; deleted ids stay, skipped on read
        self._seq = 0
        self.views = JobViews(self, self.clock)  # how its jobs are written down

    # -- creation -----------------------------------------------------------------------
    def submit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a ``POST /jobs`` body, store the job and return IonQ's 201 answer."""
        new = parse_submission(body, self.lenient)
        job_type, input_block, seed = new.job_type, new.input_block, new.seed
        registers = None
        shot_seed: int | None = None
        try:
            if job_type == "ionq.qasm3.v1":
                with self._lock:
                    shot_seed = seed if isinstance(seed, int) else self._rng.getrandbits(32)
                registers = register_shots(input_block.get("data"), new.shots, shot_seed)
                probabilities: list[dict[str, float]] = [{}]
            else:
                probabilities = [ideal_probabilities(block) for block in new.circuits]
        except UnsupportedCircuitError as exc:
            raise ApiError(400, str(exc)) from None
        if job_type != "ionq.qasm3.v1" and max(circuit_width(block) for block in
                                               new.circuits) > BACKENDS[new.backend]:
            raise ApiError(400, f"Circuit needs more qubits than {new.backend} has")
        common, name = new.common, new.name
        with self._lock:
            if job_type != "ionq.multi-circuit.v1":
                job = self._new_job(job_type=job_type, name=name, input_block=input_block,
                                    probabilities=probabilities[0], **common)
                if registers is not None and shot_seed is not None:
                    job.register_shots, job.shot_seed = registers, shot_seed
            else:
                job = self._new_job(job_type=job_type, name=name, input_block=input_block,
                                    probabilities={}, **common)
                for child_name, block, probs in zip(new.names, new.circuits, probabilities,
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

    def clone_body(self, job_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The ``POST /jobs`` body of ``POST /jobs/{id}/clone``: the job's own type, input
        and fields, with those of ``changes`` (IonQ's ``CloneJobPayload``) instead."""
        extra = sorted(set(changes) - CLONE_FIELDS)
        if extra:
            raise ApiError(400, f"Unknown field(s): {', '.join(extra)}", keys=extra,
                           source="payload")
        with self._lock:
            job = self._get(job_id)
            body: dict[str, Any] = {
                "type": job.type, "backend": job.backend, "input": job.input,
                "shots": job.shots, "metadata": dict(job.metadata),
                "settings": dict(job.settings), "dry_run": job.dry_run}
            if job.name is not None:
                body["name"] = job.name
            if job.noise is not None:
                body["noise"] = dict(job.noise)
            if job.session_id is not None:
                body["session_id"] = job.session_id
        body.update({k: v for k, v in changes.items() if k != "parent"})
        return body

    def new_id(self) -> str:
        """A new UUID from the store's generator: the same ids, in order, for one ``seed``."""
        with self._lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _new_job(self, *, backend: str, job_type: str, name: str | None, shots: int,
                 input_block: dict[str, Any], metadata: dict[str, Any], session_id: str | None,
                 probabilities: dict[str, float], will_fail: dict[str, str] | None,
                 dry_run: bool, noise: dict[str, Any] | None,
                 settings: dict[str, Any]) -> Job:
        job_id = self.new_id()
        self._seq += 1
        seed = (noise or {}).get("seed")
        job = Job(
            id=job_id, seq=self._seq, backend=backend, type=job_type, name=name, shots=shots,
            input=input_block, metadata=metadata, session_id=session_id, parent_job_id=None,
            dry_run=dry_run, noise=noise, settings=settings, created=self.clock(),
            probabilities=probabilities,
            qubits=circuit_width(input_block) if "data" not in input_block else
            int(input_block.get("qubits") or 1),
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
            return self.views.view(self._get(job_id), self.clock())

    def cost(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/{id}/cost`` (``GetJobCostResponse``): ``estimated_cost`` on a priced
        backend (none on the free simulator), ``cost`` once the job is final: the estimate
        when it completed, ``0`` when it failed, was a dry run or was canceled before it
        started, and the shots it ran (the share of its run time that had passed) when it
        was canceled while running, without the job minimum. A multi-circuit job's is the
        sum of its circuits'."""
        with self._lock:
            job = self._get(job_id)
            answer: dict[str, Any] = {"dry_run": job.dry_run}
            price = self.prices.get(job.backend)
            if price is None:
                return answer
            estimated, billed = self._priced(job, self.clock(), price)
            answer["estimated_cost"] = {"value": estimated, "unit": price.currency}
            if billed is not None:
                answer["cost"] = {"value": billed, "unit": price.currency}
            return answer

    def quote(self, body: Mapping[str, Any]) -> tuple[float, str]:
        """The estimated cost of the job a ``POST /jobs`` body would create, and its unit
        (a multi-circuit job's is the sum of its circuits', as :meth:`cost` bills it); 400
        as :meth:`submit` for a body it would refuse."""
        new = parse_submission(body, self.lenient)
        price = self.prices.get(new.backend)
        if price is None:
            return 0.0, "usd"
        total = sum(price.cost(new.shots, *gate_widths(gate_counts(block)))
                    for block in new.circuits)
        return round(total, 6), price.currency

    def spent(self, job_ids: list[str]) -> float:
        """What ``job_ids`` count against a limit: the billed cost of a final job, the
        estimate of the others (a job cancelled before it ran costs nothing)."""
        total = 0.0
        with self._lock:
            now = self.clock()
            for job_id in job_ids:
                job = self._jobs.get(job_id)
                price = self.prices.get(job.backend) if job is not None else None
                if job is not None and price is not None:
                    estimated, billed = self._priced(job, now, price)
                    total += estimated if billed is None else billed
        return round(total, 6)

    def _priced(self, job: Job, now: float, price: Price) -> tuple[float, float | None]:
        """A job's estimated cost and its billed cost (``None`` until it is final)."""
        if job.children:
            parts = [self._priced(child, now, price) for child in job.children]
            billed = None if job.status_at(now, self.lifecycle) not in FINAL_STATUSES else \
                round(sum(b or 0.0 for _, b in parts), 6)
            return round(sum(e for e, _ in parts), 6), billed
        oneq, twoq = gate_widths(job.gate_counts)
        estimated = price.cost(job.shots, oneq, twoq)
        status = job.status_at(now, self.lifecycle)
        if status not in FINAL_STATUSES:
            return estimated, None
        if status == "completed" and not job.dry_run:
            return estimated, estimated
        lc = self.lifecycle
        start = job.created + lc.submit_time + lc.queue_time
        if status != "canceled" or job.dry_run or job.fixed_at is None or \
                job.fixed_at <= start or lc.run_time <= 0:
            return estimated, 0.0
        shots = partial_shots(job.shots, (job.fixed_at - start) / lc.run_time)
        return estimated, price.cost(shots, oneq, twoq, minimum=False)

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
        """``GET /jobs/{id}/artifacts/{artifactId}``: the artifacts its ``results`` and its
        ``output`` name."""
        with self._lock:
            job = self._get(job_id)
            is_parent = bool(job.children)
            done = job.status_at(self.clock(), self.lifecycle) == "completed"
            if job.register_shots is not None and artifact_id == SHOTS_V2_ARTIFACT and \
                    SHOTS_V2_FORMAT in (self.views.results(job) if done else {}):
                return {"shots": job.register_shots}
            if artifact_id == NATIVE_ARTIFACT and self.views.output(job, done):
                block = job.input
            else:
                block = None
        if block is not None:
            return native_circuit(block)  # compiled outside the lock: a transpile
        if artifact_id not in ARTIFACTS or (artifact_id == "probabilities-aggregate") != \
                is_parent:
            raise ApiError(404, f"Job {job_id} has no artifact {artifact_id[:80]!r}")
        if artifact_id in ("probabilities-v2", "histogram-v2"):
            return self._registered(job_id, artifact_id.split("-")[0])
        return self.result(job_id, "probabilities" if is_parent else artifact_id)

    def _registered(self, job_id: str, kind: str) -> dict[str, Any]:
        """``ionq.result.{probabilities,histogram}.json.v2`` (see views.py)."""
        values = self.result(job_id, kind)  # 404 unless completed
        with self._lock:
            job = self._get(job_id)
            registers = {"output_all": list(range(job.qubits))}
            extra = job.input.get("registers")
            if isinstance(extra, dict):
                registers.update({str(k): [int(q) for q in v] for k, v in extra.items()})
        nested: dict[str, dict[str, Any]] = {}
        for name, qubits in registers.items():
            counts: dict[str, Any] = {}
            for outcome, value in values.items():
                word = "".join("1" if int(outcome) >> q & 1 else "0" for q in reversed(qubits))
                counts[word] = counts.get(word, 0) + value
            nested[name] = {word: round(v, 12) if kind == "probabilities" else v
                            for word, v in sorted(counts.items())}
        return {kind: {"registers": nested}}

    def forbid(self, job_id: str) -> None:
        """Make every request on this job answer 403, as IonQ does for a resource the key may
        not touch (for tests of per-resource authorization)."""
        with self._lock:
            self._get(job_id).forbidden = True

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
            return {"jobs": [self.views.view(job, now, full=False) for job in jobs], "next": more}

    def list_encoded(self, **filters: Any) -> bytes:
        """:meth:`list`'s answer (same arguments), encoded (:func:`encode`): the same bytes
        as ``encode(list(...))``, joined from the jobs' cached encoded views."""
        with self._lock:
            jobs, now, more = self._page(**filters)
            views = [self.views.encoded(job, now) for job in jobs]
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
            start = len(self._order) if cursor is None else decode_cursor(cursor)
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
            return page, now, encode_cursor(position) if more else None

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
        ids = bulk_ids(body, self.bulk_max_ids, self._jobs)
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
        ids = bulk_ids(body, self.bulk_max_ids, self._jobs)
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

