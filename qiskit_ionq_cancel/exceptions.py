"""Every exception this package raises, in one tree whose base you can catch.

::

    IonQCancelError                      (qiskit_ionq's IonQError)
    ├── UsageError                       raised before anything was sent (also a ValueError)
    │   ├── InvalidJobIdError, InvalidSelectionError, JobNotSubmittedError
    │   └── MissingCredentialsError, InvalidAPIKeyError, InsecureURLError
    ├── IonQRequestError                 a request was sent (qiskit_ionq's IonQAPIError)
    │   ├── NoAnswerError                no usable answer: the outcome is unknown
    │   │   └── UnreachableError, RetriesExhaustedError
    │   └── RefusedError                 the server answered no
    │       └── AuthenticationError, JobNotFoundError, WrongBaseURLError
    ├── CancelNotConfirmedError, UnknownJobStatusError   the answer did not settle the job
    ├── BatchCancelError                 CancelReport.raise_for_errors()
    ├── PrimitiveJobCancelledError, SessionEndedError
    └── BudgetExceededError              a budget() refused a submission before it was sent

Each also subclasses the matching ``qiskit_ionq`` exception, so ``except IonQAPIError`` or
``except IonQJobError`` clauses written for qiskit-ionq keep working. None of them ever
carries the API key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qiskit.providers import JobStatus
from qiskit_ionq.exceptions import (
    IonQAPIError,
    IonQCredentialsError,
    IonQError,
    IonQJobError,
    IonQJobStateError,
)

from ._redact import redact, redact_json, shown

__all__ = [
    "AttemptRecord",
    "AuthenticationError",
    "BatchCancelError",
    "BudgetExceededError",
    "CancelNotConfirmedError",
    "InsecureURLError",
    "InvalidAPIKeyError",
    "InvalidJobIdError",
    "InvalidSelectionError",
    "IonQCancelError",
    "IonQRequestError",
    "JobNotFoundError",
    "JobNotSubmittedError",
    "MissingCredentialsError",
    "NoAnswerError",
    "PrimitiveJobCancelledError",
    "RefusedError",
    "RetriesExhaustedError",
    "SessionEndedError",
    "UnknownJobStatusError",
    "UnreachableError",
    "UsageError",
    "WrongBaseURLError",
]


class IonQCancelError(IonQError):
    """The base of every exception this package raises: ``except IonQCancelError`` catches
    them all. ``str()`` is the message itself, not qiskit-ionq's ``Name('...')`` wrapper.
    The message, and every attribute set on it (an answer echoed into ``answer``, a status,
    a body), pass the redactor (the keys of live clients) as they are set: answers are kept
    as data elsewhere, so an exception is where their text leaves."""

    def __init__(self, message: str, *rest: Any) -> None:
        super().__init__(redact(message), *rest)

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, (str, list, dict)):
            value = redact_json(value)
        super().__setattr__(name, value)

    def __str__(self) -> str:
        return str(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class UsageError(IonQCancelError, ValueError):
    """Raised before any request is sent: the input, the URL or the key cannot be used as
    given. Nothing was sent, so nothing changed on the server; fix the input and call again."""


class InvalidJobIdError(UsageError, IonQJobError):
    """Raised before any request is sent, when a job id is not a canonical UUID.

    Attributes:
        job_id: The id as given (with the key taken out, if it was pasted in).
    """

    def __init__(self, job_id: object, secret: str | None = None) -> None:
        if isinstance(job_id, str):
            job_id = redact(job_id, secret)  # the key pasted as (part of) an id
        elif secret and redact(repr(job_id), secret) != repr(job_id):
            job_id = redact(repr(job_id), secret)  # keep no object that holds the key
        super().__init__(
            f"Invalid IonQ job id {shown(job_id, secret)}: expected a lower-case UUID such as "
            "'617a1f8b-59d4-435d-aa33-695433d7155e'. No request was sent; check where the "
            "id came from (job.job_id() gives it)."
        )
        self.job_id = job_id


class InvalidSelectionError(UsageError):
    """Raised before any request is sent, when ``cancel_jobs`` is given both jobs and a
    filter, neither, or a filter that cannot select a cancellable job.

    Attributes:
        rule: Which (``"both"``, ``"none"``, ``"status"``, ``"target"``, ``"session"``).
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class JobNotSubmittedError(UsageError, IonQJobStateError):
    """Raised by ``cancel()`` on a job that has no id yet because it was never submitted."""


class PrimitiveJobCancelledError(IonQCancelError, IonQJobStateError):
    """Raised by ``result()`` of a cancelled primitive job (``SamplerV2`` / ``EstimatorV2``),
    and inside its worker when it submits an IonQ job after the cancel (that job is
    cancelled at once)."""


class SessionEndedError(IonQCancelError):
    """Raised by ``Session.run()`` once the session has ended (no request is sent)."""


class BudgetExceededError(IonQCancelError):
    """Raised inside ``with budget(...)`` before ``POST /jobs``, when the job's estimate
    would take the committed total past the limit, is in another unit than the budget's, or
    could not be had (``GET /jobs/estimate`` failed) and the budget does not allow that.
    Nothing was sent for the job.

    Attributes:
        estimate: ``GET /jobs/estimate``'s estimate of the job (``None``: none was had).
        committed: What the budget's jobs were counted at before this one.
        limit: The budget's limit.
        unit: The budget's unit (``"usd"`` or ``"credit"``).
        backend: The backend the job was for.
    """

    def __init__(self, message: str, *, estimate: float | None, committed: float,
                 limit: float, unit: str, backend: str | None = None) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.committed = committed
        self.limit = limit
        self.unit = unit
        self.backend = backend


class UnknownJobStatusError(IonQCancelError, IonQJobError):
    """Raised when IonQ reports a job status string this package cannot map.

    Attributes:
        status: The status IonQ reported.
        job_id: The job's id, or ``None``.
    """

    def __init__(self, status: object, job_id: str | None = None) -> None:
        where = f" for job {job_id}" if job_id else ""
        super().__init__(
            f"IonQ reported an unknown job status {status!r}{where}; known: submitted, ready, "
            "started (v0.3: running), completed, failed, canceled. Upgrade "
            "qiskit-ionq-cancel, or report the new status."
        )
        self.status = status
        self.job_id = job_id


class CancelNotConfirmedError(IonQCancelError, IonQJobError):
    """Raised when a cancel was answered but the job, read back, is still not final.

    Attributes:
        job_id: The job's id.
        status: Its Qiskit status, read back.
        answer: What the cancel was answered.
    """

    def __init__(self, job_id: str, status: JobStatus, answer: Any) -> None:
        super().__init__(
            f"Cancel of job {job_id} was answered with {answer!r}, but the job is still "
            f"{status.name} when read back. It may still run: call cancel() again, or check "
            "it in the IonQ console."
        )
        self.job_id = job_id
        self.status = status
        self.answer = answer


class MissingCredentialsError(UsageError, IonQCredentialsError):
    """Raised when a request needs an API key and none was given or found in the environment."""


class InvalidAPIKeyError(UsageError, IonQCredentialsError):
    """Raised before any request when the API key cannot be sent as it is (blanks, a line
    break, control or non-ASCII characters); the message never shows the key."""


class InsecureURLError(UsageError, IonQCredentialsError):
    """Raised when the API URL is not https (plain http only to loopback, unless allowed)."""


class IonQRequestError(IonQCancelError, IonQAPIError):
    """A request was sent and did not give what was asked.

    The base of `NoAnswerError` (no usable answer) and `RefusedError` (the server said no).
    The message says what, which job and what to do.

    Attributes:
        what: What was being done.
        job_id: The job's id, or ``None``.
        status_code: The HTTP status, or ``None`` when no answer came.
        ionq_message: IonQ's own words, if it said any.
        method: The request's HTTP method.
        url: The request's URL.
        hint: What to do next.
    """

    def __init__(
        self,
        what: str,
        *,
        job_id: str | None = None,
        status_code: int | None = None,
        ionq_message: str | None = None,
        error_type: str | None = None,
        method: str = "",
        url: str = "",
        hint: str = "",
        headers: Any = None,
        body: str | None = None,
    ) -> None:
        parts = [what]
        if job_id:
            parts.append(f"job {job_id}")
        if status_code is not None:
            parts.append(f"HTTP {status_code}")
        if method or url:
            parts.append(f"{method} {url}".strip())
        text = f"{parts[0]} ({', '.join(parts[1:])})" if len(parts) > 1 else parts[0]
        if ionq_message:
            text += f". IonQ says: {ionq_message}"
        if hint:
            text += f"{'' if text.endswith('.') else '.'} {hint}"
        super().__init__(text, status_code, headers, None if body is None else redact(body),
                         redact(error_type or ""))
        self.what = redact(what)
        self.job_id = job_id
        self.ionq_message = None if ionq_message is None else redact(ionq_message)
        self.method = method
        self.url = redact(url)
        self.hint = redact(hint)

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), self.__dict__.copy(), self.message))


def _rebuild(cls: type[IonQRequestError], state: dict[str, Any], message: str) -> Any:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    error.args = (message,)
    return error


class NoAnswerError(IonQRequestError):
    """Raised when no usable answer came: the server was unreachable, did not answer in
    time, answered something that is not IonQ's (a proxy's page), kept answering 429/5xx
    until retries ran out, or the call was interrupted. The outcome on the server is unknown:
    a request already sent may have taken effect, so read the job's status before acting."""


class RefusedError(IonQRequestError):
    """Raised when the server answered and said no: a 4xx (authentication, not found, a
    request it will not take) or a redirect. Sending the same again gives the same answer."""


class JobNotFoundError(RefusedError):
    """Raised when IonQ answers 404 for a job: it does not exist for this key, or was deleted."""


class WrongBaseURLError(RefusedError):
    """Raised on a 404 that did not come from IonQ's jobs API (its body is not IonQ's error
    JSON, or names no job): the API base URL is probably wrong (it must end in ``/v0.4``)."""


class AuthenticationError(RefusedError, IonQCredentialsError):
    """Raised when IonQ answers 401 or 403: the API key is missing, wrong or lacks access."""


class RetriesExhaustedError(NoAnswerError):
    """Raised when retries of a transient failure ran out of attempts or time.

    Transient: 429, 5xx, a dropped connection, a timeout, a non-JSON answer.

    Attributes:
        attempts: How many attempts were made.
        elapsed: Seconds they took.
        last: The last failure, and why no further attempt was made.
        history: Every failed attempt, oldest first (`AttemptRecord`s, as
            ``urllib3.util.Retry.history``).
    """

    def __init__(self, what: str, *, attempts: int, elapsed: float, last: str,
                 history: tuple[AttemptRecord, ...] = (), **kwargs: Any) -> None:
        super().__init__(
            f"{what} failed after {attempts} attempt{'s' if attempts != 1 else ''} over "
            f"{elapsed:.1f} s; last: {last}",
            **kwargs,
        )
        self.attempts = attempts
        self.elapsed = elapsed
        self.last = redact(last)
        self.history = history


class UnreachableError(NoAnswerError):
    """Raised when the server could not be reached at all (connection refused, unknown host,
    connect timeout) after a few quick attempts; names the URL."""


@dataclass(frozen=True)
class AttemptRecord:
    """One failed attempt of a request, in `RetriesExhaustedError.history`.

    Attributes:
        method: The request's HTTP method.
        status: The HTTP status, or ``None`` when no answer came.
        problem: What went wrong.
        wait: Seconds waited before the next attempt, or ``None`` when there was none.
    """

    method: str
    status: int | None
    problem: str
    wait: float | None


class BatchCancelError(IonQCancelError):
    """Raised by ``CancelReport.raise_for_errors()`` when some jobs were not confirmed
    cancelled or finished: not found, invalid, or their outcome not known.

    Attributes:
        report: The `CancelReport`; its ``errors`` say what happened to each of them.
    """

    def __init__(self, report: Any) -> None:
        errors: dict[str, object] = {**report.errors, **{
            key: f"not reached: {why}" for key, why in report.not_reached.items()}}
        shown = "; ".join(f"{job_id}: {str(error).rstrip('.')}"
                          for job_id, error in list(errors.items())[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(
            f"{len(errors)} of {report.total} job(s) not confirmed cancelled or already "
            f"finished (not found, invalid, outcome unknown or not reached): {shown}{more}. "
            "See report.errors and report.not_reached; jobs in report.statuses are settled."
        )
        self.report = report
