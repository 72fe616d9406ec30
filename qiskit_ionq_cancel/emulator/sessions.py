"""The emulator's sessions: ``POST /sessions``, ``GET /sessions``, ``GET /sessions/{id}``,
``POST /sessions/{id}/end``, ``GET /sessions/{id}/jobs``, and ``session_id`` on jobs.

Shapes are those of IonQ's v0.4 document (``Session``, ``CreateSessionRequest``,
``SessionsResponse``): a session is ``created``, ``started`` once it has a job, ``ended`` when
ended by request or by its ``duration_limit_min``. ``job_count_limit`` is enforced (a job
over it gets a 400), and so is ``cost_limit``: a job whose estimate would take the session's
jobs past it gets a 400 (its jobs count at their billed cost once final, else at their
estimate, so a job cancelled before it ran frees its share; the limit is read in the
backend's currency, its ``unit`` not converted).

Where IonQ is silent the emulator chooses, each a setting:

- ``session_end``: what ending a session does to its jobs that have not finished:
  ``drain`` (default) lets them run to the end, only new jobs are refused;
  ``cancel`` cancels them.
- ``sessions_enabled=False``: every session route answers 404, as for an account without
  sessions, and a job naming a session gets a 400 naming it.

A job naming a session id the emulator never created is a 400, as IonQ's document says,
unless the emulator's ``lenient`` setting has ``unknown_session``: then the job is filed under
that id, and no session limit applies to it. ``POST /sessions`` takes only the backends jobs
run on (``ionq_simulator``, qiskit-ionq's name of the simulator, with ``lenient``'s
``session_backend_alias``, on by default).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .bodies import parse_job_id
from .model import BACKENDS, FINAL_STATUSES, ORGANIZATION_ID, PROJECT_ID, SUBMITTER_ID, ApiError
from .state import JobStore

__all__ = ["SESSION_END_MODES", "SessionEnd", "SessionStore"]

SessionEnd = Literal["drain", "cancel"]
SESSION_END_MODES: tuple[str, ...] = ("drain", "cancel")
_SETTINGS = frozenset({"job_count_limit", "duration_limit_min", "cost_limit"})


@dataclass
class _Session:
    id: str
    backend: str
    settings: dict[str, Any]
    created: float
    started: float | None = None
    ended: float | None = None
    ender: str | None = None
    jobs: list[str] = field(default_factory=list)


class SessionStore:
    """Sessions on top of a :class:`JobStore`; thread-safe."""

    def __init__(self, jobs: JobStore, *, enabled: bool = True,
                 session_end: SessionEnd = "drain") -> None:
        if session_end not in SESSION_END_MODES:
            raise ValueError(f"session_end must be one of {SESSION_END_MODES}")
        self.jobs = jobs
        self.enabled = enabled
        self.session_end: SessionEnd = session_end
        self._lock = threading.RLock()
        self._sessions: dict[str, _Session] = {}

    # -- helpers --------------------------------------------------------------------------
    def _check_enabled(self) -> None:
        if not self.enabled:
            raise ApiError(404, "Sessions are not enabled for this account")

    def _get(self, raw_id: str) -> _Session:
        self._check_enabled()
        try:
            session_id = parse_job_id(raw_id)
        except ApiError:
            raise ApiError(400, f"Invalid session id {raw_id[:80]!r}: expected a UUID") \
                from None
        session = self._sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"Session {session_id} not found")
        self._expire(session)
        return session

    def _expire(self, session: _Session) -> None:
        """End a session whose ``duration_limit_min`` has passed."""
        limit = session.settings.get("duration_limit_min")
        if session.ended is None and isinstance(limit, int) and \
                self.jobs.clock() >= session.created + 60 * limit:
            self._end(session, session.created + 60 * limit, ender=None)

    def _end(self, session: _Session, at: float, ender: str | None) -> None:
        session.ended, session.ender = at, ender
        if self.session_end == "cancel":
            for job_id in session.jobs:
                try:
                    if self.jobs.status_of(job_id) not in FINAL_STATUSES:
                        self.jobs.cancel(job_id)
                except ApiError:
                    continue  # deleted since

    def _view(self, session: _Session) -> dict[str, Any]:
        iso = self.jobs.views.iso_at  # the store's clock-to-wall-time mapping
        status = "ended" if session.ended is not None else \
            "started" if session.started is not None else "created"
        return {
            "id": session.id, "created_at": iso(session.created),
            "organization_id": ORGANIZATION_ID, "backend": session.backend,
            "project_id": PROJECT_ID, "creator_id": SUBMITTER_ID,
            "ended_at": iso(session.ended) if session.ended is not None else None,
            "ender_id": session.ender,
            "settings": self._settings_view(session), "active": session.ended is None,
            "status": status,
            "started_at": iso(session.started) if session.started is not None else None,
        }

    def _settings_view(self, session: _Session) -> dict[str, Any]:
        """``SessionSettings``: as given, plus ``expires_at`` (October 2026) when a
        ``duration_limit_min`` sets one."""
        settings = dict(session.settings)
        limit = settings.get("duration_limit_min")
        if isinstance(limit, int):
            settings["expires_at"] = self.jobs.views.iso_at(session.created + 60 * limit)
        return settings

    # -- routes ---------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /sessions``."""
        self._check_enabled()
        extra = sorted(set(body) - {"backend", "settings"})
        backend = body.get("backend")
        settings = body.get("settings") or {}
        if extra:
            raise ApiError(400, f"Unknown field(s): {', '.join(extra)}", keys=extra,
                           source="payload")
        if not isinstance(backend, str) or not backend:
            raise ApiError(400, "Field 'backend' is required", keys=["backend"],
                           source="payload")
        if backend.startswith("ionq_") and backend.removeprefix("ionq_") in BACKENDS and \
                "session_backend_alias" in self.jobs.lenient:
            pass  # qiskit-ionq's name of the backend (ionq_simulator); see bodies.LENIENT_CASES
        elif backend not in BACKENDS:
            raise ApiError(400, f"Unknown backend {backend[:80]!r}; known: "
                                f"{', '.join(BACKENDS)}", keys=["backend"], source="payload")
        if not isinstance(settings, dict) or set(settings) - _SETTINGS:
            raise ApiError(400, "Field 'settings' may hold job_count_limit, "
                                "duration_limit_min and cost_limit", keys=["settings"],
                           source="payload")
        for name in ("job_count_limit", "duration_limit_min"):
            value = settings.get(name)
            if name in settings and (isinstance(value, bool) or not isinstance(value, int)
                                     or value < 1):
                raise ApiError(400, f"settings.{name} must be a positive integer",
                               keys=["settings"], source="payload")
        cost = settings.get("cost_limit")
        # SessionCostLimit: ``value`` required, ``unit`` optional (October 2026 document)
        if "cost_limit" in settings and (
                not isinstance(cost, dict) or "value" not in cost
                or set(cost) - {"unit", "value"}
                or not isinstance(cost.get("unit", ""), str) or isinstance(cost["value"], bool)
                or not isinstance(cost["value"], (int, float))):
            raise ApiError(400, "settings.cost_limit must be {\"value\"} or {\"unit\", "
                                "\"value\"} with a numeric value", keys=["settings"],
                           source="payload")
        with self._lock:
            session = _Session(id=self.jobs.new_id(), backend=backend,
                               settings=dict(settings), created=self.jobs.clock())
            self._sessions[session.id] = session
            return self._view(session)

    def list(self, active: str | None = None) -> dict[str, Any]:
        """``GET /sessions`` (``active=true|false`` filters)."""
        self._check_enabled()
        if active not in (None, "true", "false"):
            raise ApiError(400, "'active' must be true or false", keys=["active"],
                           source="params")
        with self._lock:
            views = []
            for session in reversed(list(self._sessions.values())):
                self._expire(session)
                view = self._view(session)
                if active is None or view["active"] == (active == "true"):
                    views.append(view)
            return {"organization_id": ORGANIZATION_ID, "sessions": views}

    def get(self, session_id: str) -> dict[str, Any]:
        """``GET /sessions/{id}``."""
        with self._lock:
            return self._view(self._get(session_id))

    def end(self, session_id: str) -> dict[str, Any]:
        """``POST /sessions/{id}/end``: idempotent (ending an ended session changes nothing
        and answers the session)."""
        with self._lock:
            session = self._get(session_id)
            if session.ended is None:
                self._end(session, self.jobs.clock(), ender=SUBMITTER_ID)
            return self._view(session)

    def submit(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /jobs``: a job naming a session must name an active one of its backend,
        within its ``job_count_limit``."""
        raw = body.get("session_id")
        if raw is None:
            return self.jobs.submit(body)
        if not isinstance(raw, str):
            raise ApiError(400, "Field 'session_id' must be a string", keys=["session_id"],
                           source="payload")
        with self._lock:
            if not self.enabled:
                raise ApiError(400, f"Unknown session {raw[:80]!r}: sessions are not "
                                    "enabled for this account", keys=["session_id"],
                               source="payload")
            session = self._sessions.get(raw)
            if session is None:
                if "unknown_session" not in self.jobs.lenient:
                    raise ApiError(400, f"Session {raw[:80]!r} not found (the emulator's "
                                        "lenient setting 'unknown_session' takes it)",
                                   keys=["session_id"], source="payload")
                return self.jobs.submit(body)  # a made-up session id, as the setting asks
            self._expire(session)
            if session.ended is not None:
                raise ApiError(400, f"Session {session.id} has ended; it accepts no new "
                                    "jobs", keys=["session_id"], source="payload")
            limit = session.settings.get("job_count_limit")
            if isinstance(limit, int) and len(session.jobs) >= limit:
                raise ApiError(400, f"Session {session.id} has reached its job_count_limit "
                                    f"of {limit}", keys=["session_id"], source="payload")
            self._check_cost(session, body)
            backend = body.get("backend", "simulator")
            # qiskit-ionq names a session's simulator "ionq_simulator" (its backend's name)
            if str(backend).removeprefix("ionq_") != session.backend.removeprefix("ionq_"):
                raise ApiError(400, f"Session {session.id} is for backend "
                                    f"{session.backend!r}, not {backend!r}",
                               keys=["backend"], source="payload")
            answer = self.jobs.submit(body)
            session.jobs.append(answer["id"])
            if session.started is None:
                session.started = self.jobs.clock()
            return answer

    def _check_cost(self, session: _Session, body: Mapping[str, Any]) -> None:
        """400 when the job's estimate would take the session past its ``cost_limit``."""
        limit = session.settings.get("cost_limit")
        if not isinstance(limit, dict):
            return
        value = float(limit["value"])
        quote, unit = self.jobs.quote(body)
        spent = self.jobs.spent(session.jobs)
        if spent + quote > value + 1e-9:
            raise ApiError(400, f"Session {session.id} has reached its cost_limit of {value:g} "
                                f"{limit.get('unit', unit)}: its jobs count {spent:g}, this job "
                                f"is estimated at {quote:g}", keys=["session_id"],
                           source="payload")

    def check(self, session_id: str) -> None:
        """404 unless the session exists (for ``GET /sessions/{id}/jobs``)."""
        with self._lock:
            self._get(session_id)
