"""What the emulator answers about jobs: IonQ's job object, built and encoded.

The store (``state.py``) decides what a job is at a moment; :class:`JobViews` writes it down
as IonQ's document does (the ``GET /jobs/{id}`` object, a listing's ``BaseJob``, the
``results`` entries, wall-clock times), and :func:`encode` gives the bytes of an answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Protocol

from .model import (
    API_PREFIX,
    CANCELLABLE_STATUSES,
    FINAL_STATUSES,
    PROJECT_ID,
    SUBMITTER_ID,
    Job,
    Lifecycle,
)
from .pricing import Price, compute_us, gate_widths

#: Power drawn by a QPU while it runs a job, for ``stats.kwh`` (IonQ's ``Backend.kw``
#: example: 4902.81).
KW_PER_QPU = 4902.81
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
#: The register-nested results of the October 2026 document (its single-circuit example
#: names them): ``{"probabilities": {"registers": {name: {bitstring: p}}}}`` and the same for
#: the histogram. ``output_all`` is every qubit; a multi-circuit job's circuit adds its
#: ``registers``. A bitstring is zero-padded, its register's first qubit the rightmost
#: letter (as Qiskit writes a count).
PROBABILITIES_V2_FORMAT = "ionq.result.probabilities.json.v2"
HISTOGRAM_V2_FORMAT = "ionq.result.histogram.json.v2"
ARTIFACTS = {"probabilities": PROBABILITIES_FORMAT, "shots": SHOTS_FORMAT,
             "histogram": HISTOGRAM_FORMAT, "probabilities-aggregate": AGGREGATE_FORMAT,
             "probabilities-v2": PROBABILITIES_V2_FORMAT, "histogram-v2": HISTOGRAM_V2_FORMAT}
#: Artifacts that have a legacy ``{url}`` entry beside their format-keyed one.
LEGACY_KINDS = frozenset({"probabilities", "shots", "histogram", "probabilities-aggregate"})
#: The compiled circuit of a finished circuit job (``output.compilation.compiled_circuits``;
#: see ``compiled.py``).
NATIVE_FORMAT = "ionq.native.v1"
NATIVE_ARTIFACT = "compiled-native"
#: The per-register shots of an ``ionq.qasm3.v1`` job (what qiskit-ionq reads for them).
SHOTS_V2_FORMAT = "ionq.result.shots.json.v2"
SHOTS_V2_ARTIFACT = "shots-v2"
ResultsStyle = Literal["both", "legacy", "formats"]
"""How a finished job's ``results`` name its probabilities: ``both`` (default) the legacy
``{"probabilities": {"url": ...}}`` entries that qiskit-ionq 1.1.1, pennylane-ionq and the
``ionq`` package read and the format-keyed ``{"ionq.result.probabilities.json.v1": {id,
format, media_type}}`` entries of IonQ's current document; ``legacy`` or ``formats`` only one
of them. ``formats`` keeps IonQ's October 2026 document to the letter (its
``CircuitJobResults`` takes only artifact descriptors); ``both`` is the emulator's one known
deviation from it, kept on purpose for those clients."""
RESULTS_STYLES: tuple[str, ...] = ("both", "legacy", "formats")

_ENCODER = json.JSONEncoder(separators=(",", ":"))

#: Each status, encoded.
_STATUS_JSON = {status: f'"{status}"'.encode()
                for status in (*CANCELLABLE_STATUSES, *FINAL_STATUSES)}


def encode(body: Any) -> bytes:
    """The API's JSON encoding of an answer body, as bytes: what
    ``json.dumps(body, separators=(",", ":")).encode()`` gives (compact, ASCII)."""
    return _ENCODER.encode(body).encode()


class ViewSettings(Protocol):
    """The store's settings a view depends on (they may change while the store runs)."""

    lifecycle: Lifecycle
    results_style: ResultsStyle
    prices: Mapping[str, Price]


class JobViews:
    """Writes jobs down as IonQ does, for one store: its settings and its clock (whose
    readings become ISO-8601 wall times)."""

    def __init__(self, settings: ViewSettings, clock: Callable[[], float]) -> None:
        self._settings = settings
        self._epoch_clock = clock()
        self._epoch_utc = datetime.now(timezone.utc).replace(tzinfo=None)  # at _epoch_clock
        self._iso_cache: dict[float, str] = {}

    def iso_at(self, at: float) -> str:
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

    def view(self, job: Job, now: float, *, full: bool = True,
              status: str | None = None) -> dict[str, Any]:
        """The job object: ``full`` for ``GET /jobs/{id}``, else a listing's ``BaseJob``
        (``status``: the job's at ``now``, when the caller has it)."""
        if status is None:
            status = job.status_at(now, self._settings.lifecycle)
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
            "submitted_at": self.iso_at(job.created),
            **self.times(job, now, status),  # "started_at" to "failure"
            "output": self.output(job, done),
            "settings": job.settings,
            "stats": self._stats(job, done),
            "results": self.results(job) if done and not job.dry_run else None,
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
            view["cost_model"] = self._settings.prices[job.backend].cost_model
        if full:
            view["child_job_ids"] = [c.id for c in job.children] if job.children else None
        return view

    def encoded(self, job: Job, now: float) -> bytes:
        """A listing's view of the job (``full=False``), encoded (:func:`encode`)."""
        status = job.status_at(now, self._settings.lifecycle)
        done = status == "completed"
        style, lifecycle = self._settings.results_style, self._settings.lifecycle
        # Building and encoding a view was most of its cost, and a job is viewed again and
        # again (listed while queued, polled, read back once canceled). Its view changes only
        # in its status and times (see _times) until the job completes or the store's
        # settings change: the rest is kept encoded, as a template, checked against all it
        # was made from, so no code that changes a job has to drop it.
        template = job.template
        if template is not None and template[0] == done and template[1] is style and \
                template[2] is lifecycle:
            return b"".join((template[3], _STATUS_JSON.get(status) or encode(status),
                             template[4], encode(self.times(job, now, status))[1:-1],
                             template[5]))
        encoded = encode(self.view(job, now, full=False, status=status))
        parts = _template(encoded, job.id, status)
        if parts is not None:
            job.template = (done, style, lifecycle, *parts)
        return encoded

    def times(self, job: Job, now: float, status: str) -> dict[str, Any]:
        """The members of the job object from ``started_at`` to ``failure``: those that
        change with its status and the clock (and with its children's, for a parent)."""
        lc = self._settings.lifecycle
        start = job.created + lc.submit_time + lc.queue_time
        end = start + lc.run_time
        started_at = None
        completed_at = None
        if job.fixed_status is not None:
            assert job.fixed_at is not None
            if job.fixed_at >= start:
                started_at = self.iso_at(start)
            completed_at = self.iso_at(job.fixed_at)
        elif status in ("started", "completed", "failed"):
            started_at = self.iso_at(start)
            if status != "started":
                completed_at = self.iso_at(end)
        if job.children and status in FINAL_STATUSES and job.fixed_status is None:
            ends = [c.fixed_at if c.fixed_status is not None else c.created
                    + lc.submit_time + lc.queue_time + lc.run_time for c in job.children]
            completed_at = self.iso_at(max(e for e in ends if e is not None))
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
        """``CircuitJobStats``: the circuit's figures; compute times from the lifecycle on
        the simulator (its run time is all quantum compute), from the compute-time model of
        :mod:`.pricing` on a QPU; energy for a QPU's finished job."""
        stats = job.stats
        predicted = predicted_compute_us(job, self._settings.lifecycle)
        stats["predicted_quantum_compute_time_us"] = predicted
        if done:
            stats["billed_quantum_compute_time_us"] = predicted
            if job.backend != "simulator":
                stats["kwh"] = round(self._settings.lifecycle.run_time * KW_PER_QPU / 3600, 9)
        return stats

    @staticmethod
    def output(job: Job, done: bool) -> dict[str, Any]:
        """``CircuitJobOutput``: a completed circuit job's compiled circuit
        (``ionq.native.v1``), for qiskit-ionq's ``compiled_circuit("native")``."""
        if not done or job.children or job.register_shots is not None or \
                job.type != "ionq.circuit.v1":
            return {}
        return {"compilation": {"compiled_circuits": {NATIVE_FORMAT: {
            "id": NATIVE_ARTIFACT, "format": NATIVE_FORMAT,
            "media_type": "application/json"}}}}

    def results(self, job: Job) -> dict[str, Any]:
        if job.register_shots is not None:
            # an OpenQASM 3 job: per-register shots, except on the ideal simulator (which,
            # qiskit-ionq says, "returns only the aggregate distribution")
            if job.backend == "simulator" and (job.noise or {}).get("model", "ideal") == \
                    "ideal":
                return {}
            return {SHOTS_V2_FORMAT: {"id": SHOTS_V2_ARTIFACT, "format": SHOTS_V2_FORMAT,
                                      "media_type": "application/json"}}
        kinds = ("probabilities-aggregate",) if job.children else (
            "probabilities", "histogram", "shots", "probabilities-v2", "histogram-v2")
        results: dict[str, Any] = {}
        if self._settings.results_style != "formats":
            for kind in kinds:
                if kind not in LEGACY_KINDS:
                    continue
                legacy = kind.split("-")[0]
                results[legacy] = {"url": f"{API_PREFIX}/jobs/{job.id}/results/{legacy}"}
        if self._settings.results_style != "legacy":
            for kind in kinds:
                results[ARTIFACTS[kind]] = {"id": kind, "format": ARTIFACTS[kind],
                                            "media_type": "application/json"}
        return results


def predicted_compute_us(job: Job, lifecycle: Lifecycle) -> int:
    """``stats.predicted_quantum_compute_time_us`` of a job (a parent's sums its children's)."""
    if job.backend == "simulator":
        return int(lifecycle.run_time * 1_000_000)
    if job.children:
        return min(2**31 - 1, sum(predicted_compute_us(c, lifecycle) for c in job.children))
    return compute_us(job.shots, *gate_widths(job.gate_counts))


def _template(encoded: bytes, job_id: str, status: str) -> tuple[bytes, bytes, bytes] | None:
    """A job's encoded view cut around its status and its times (``started_at`` to
    ``failure``), for :meth:`JobViews.encoded` to put new ones in: what comes before
    the status, between the status and the times, and after the times. ``None`` when the
    cuts are ambiguous (a key the cuts look for also occurs nested in the job's data)."""
    before = b'{"id":' + encode(job_id) + b',"status":'
    times = encoded.find(b'"started_at":')
    after = encoded.find(b',"output":')
    if not encoded.startswith(before) or not 0 < times < after or \
            encoded.count(b'"started_at":') != 1 or encoded.count(b',"output":') != 1:
        return None
    return before, encoded[len(before) + len(encode(status)):times], encoded[after:]
