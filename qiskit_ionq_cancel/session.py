"""``Session``: qiskit-ionq's ``Session`` whose cancel is truthful and whose end is certain.

qiskit-ionq's ``Session.cancel()`` lists ``GET /jobs?status=queued``; ``queued`` is not a
v0.4 status, so it cancels nothing, and its ``__exit__`` neither reports that nor survives
a failed cancel. This one:

* ``cancel()`` cancels the session's jobs that are not final (``submitted``, ``ready``,
  ``started``) through :func:`~qiskit_ionq_cancel.bulk.cancel_jobs` and returns its
  :class:`~qiskit_ionq_cancel.report.CancelReport`;
* a ``with`` block ended by an exception, ``Ctrl-C`` or SIGTERM (main thread: SIGTERM
  raises ``SystemExit(143)`` inside the block) cancels them, then ends the session, even if
  the cancel failed; the report is kept in ``report``;
* ``close()`` is idempotent (one ``POST /sessions/{id}/end``, however often it is called),
  and, ending being idempotent on the server too, a transient failure of it is retried; a
  ``with`` block's exception (``KeyboardInterrupt``, SIGTERM's ``SystemExit``, the user's)
  is never replaced by a failure to end the session: that is logged, and the session left
  for ``close()``;
* running a job in an ended session raises
  :class:`~qiskit_ionq_cancel.exceptions.SessionEndedError` before any request;
* created inside ``with budget(...)``, its ``cost_limit`` is what is left of the budget
  (or ``max_cost``, if lower), in the budget's unit, so IonQ enforces the budget too.

All its requests go through the backend's client, this package's when the backend is.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from qiskit_ionq.ionq_session import Session as StockSession

from ._compat import upstream
from ._core.sigterm import SigtermAsExit
from ._http import budget
from ._http.client import IonQCancelClient
from .bulk import cancel_jobs
from .exceptions import NoAnswerError, SessionEndedError
from .report import CancelReport

__all__ = ["Session"]

logger = logging.getLogger("qiskit_ionq_cancel")


@dataclass(frozen=True)
class _Holder:
    """The ``provider`` argument of ``cancel_jobs``: just a client."""

    client: IonQCancelClient


class Session(StockSession):
    """A drop-in for ``qiskit_ionq.Session`` on this package's backends.

    A ``with`` block ended by an exception, Ctrl-C or SIGTERM cancels the session's
    unfinished jobs, then ends the session, even if the cancel failed.

    Args:
        backend: A backend of this package (``IonQProvider(...).get_backend(...)``).
        max_time: As qiskit-ionq's ``Session``.
        max_cost: As qiskit-ionq's ``Session``.
        max_jobs: As qiskit-ionq's ``Session``.
        create_new: As qiskit-ionq's ``Session``.
        session_id: As qiskit-ionq's ``Session``.

    Attributes:
        report: The `CancelReport` of the cancel a failed ``with`` block made (``None``
            until then).

    Raises:
        TypeError: The backend is not this package's (nothing was created).
    """

    report: CancelReport | None = None
    _ended = False

    def __init__(self, backend: Any, *, max_time: int | str | None = None,
                 max_cost: int | str | None = None, max_jobs: int | None = None,
                 create_new: bool = True, session_id: str | None = None) -> None:
        client = backend.client
        if not isinstance(client, IonQCancelClient):  # refused before anything is created
            raise TypeError("qiskit_ionq_cancel.Session needs a backend of this package "
                            "(IonQProvider(...).get_backend(...))")
        self._cancel_client = client
        self._sigterm = SigtermAsExit()
        self._owner = os.getpid()  # a child forked inside the block leaves the session be
        if create_new and not session_id:
            session_id = self._create_within_budget(backend, max_time, max_cost, max_jobs)
            create_new = session_id is None
        super().__init__(backend, max_time=max_time, max_cost=max_cost, max_jobs=max_jobs,
                         create_new=create_new, session_id=session_id)

    def _create_within_budget(self, backend: Any, max_time: int | str | None,
                              max_cost: int | str | None, max_jobs: int | None) -> str | None:
        """Inside ``with budget(...)``: ``POST /sessions`` with what is left of the open
        budgets counting this backend's jobs as ``cost_limit`` (the least left of those in
        the innermost one's unit, or ``max_cost`` if lower), in that unit (qiskit-ionq's
        writes ``usd`` always); the new session's id. ``None`` outside a budget: qiskit-ionq
        creates the session."""
        guards = [g for g in budget.current() if g.covers(self._cancel_client)]
        if not guards:
            return None
        guard = guards[-1]  # its unit; what is left of every open budget kept in it
        left = min(g.remaining for g in guards if g.unit == guard.unit)
        limit = left if max_cost is None else min(left, float(max_cost))
        settings: dict[str, Any] = {"cost_limit": {"unit": guard.unit, "value": limit}}
        if max_jobs is not None:
            settings["job_count_limit"] = max_jobs
        if max_time is not None:
            settings["duration_limit_min"] = max_time
        logger.info("Session: cost_limit %s %s, what is left of the budget",
                    budget.money(limit), guard.unit)
        answer = self._cancel_client.post("sessions", json_body={
            "backend": backend.name.replace("ionq_qpu", "qpu"), "settings": settings})
        session_id = answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(session_id, str):
            raise NoAnswerError("Creating a session: the answer has no session id",
                                body=str(answer)[:200])
        return session_id

    @property
    def ended(self) -> bool:
        """Whether this object ended the session (or found it ended)."""
        return self._ended

    def status(self) -> str | None:
        """Return the session's status, read from IonQ.

        Returns:
            ``"created"``, ``"started"`` or ``"ended"`` (IonQ's ``status`` field;
            qiskit-ionq reads ``state``, which v0.4 does not have); ``None`` if absent.
        """
        details = self.details()
        status = details.get("status", details.get("state"))
        return status if isinstance(status, str) else None

    def cancel(self, *, deadline: float | None = 60.0) -> CancelReport:  # type: ignore[override]
        """Cancel the session's jobs that are not final (submitted, ready, started).

        Args:
            deadline: Seconds the cancelling may take.

        Returns:
            The `CancelReport`: what each job is.
        """
        report = cancel_jobs(provider=_Holder(self._cancel_client),
                             session_id=self.session_id, deadline=deadline)
        logger.info("Session %s: %s", self.session_id, report.summary())
        return report

    def close(self) -> None:
        """End the session (``POST /sessions/{id}/end``), once. Ending is idempotent, so a
        transient failure (a 5xx, a dropped connection) is retried as any other request."""
        if self._ended:
            return
        self._cancel_client.post("sessions", self.session_id, "end", idempotent=True)
        self._ended = True

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run circuits in this session, as ``backend.run``.

        Raises:
            SessionEndedError: The session has ended (nothing was sent).
        """
        if self._ended:
            raise SessionEndedError(f"Session {self.session_id} has ended; it runs no more "
                                    "jobs. Open a new Session.")
        return super().run(*args, **kwargs)  # type: ignore[no-untyped-call]

    def __enter__(self) -> Session:
        super().__enter__()  # type: ignore[no-untyped-call]
        self._owner = os.getpid()
        self._sigterm.install()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if os.getpid() != self._owner:  # a forked child unwinding the block (sys.exit,
                return  # an exception): the session and its jobs are the parent's
            if exc_type is not None:
                logger.warning("Session %s: the block ended with %s; cancelling its "
                               "unfinished jobs", self.session_id, exc_type.__name__)
                try:
                    self.report = self.cancel()
                    logger.warning("Session %s: %s", self.session_id, self.report.summary())
                except Exception:
                    logger.exception("Session %s: cancelling its jobs failed; ending it "
                                     "anyway", self.session_id)
            if exc_type is None:
                self.close()  # the block succeeded: a failure to end the session is news
            else:
                self._close_quietly(exc_type)
        finally:
            upstream.undo_session_patch(self)
            self._sigterm.restore()

    def _close_quietly(self, exc_type: type[BaseException]) -> None:
        """End the session while the block's exception (Ctrl-C's ``KeyboardInterrupt``,
        SIGTERM's ``SystemExit``, the user's error) is in flight: a failure to end it is
        logged, never raised in its place."""
        try:
            self.close()
        except Exception:
            logger.exception("Session %s: ending it failed after the block ended with %s; "
                             "it stays open until IonQ ends it (end it with "
                             "session.close())", self.session_id, exc_type.__name__)
