"""The one request path: one pooled session, one attempt at a time, the retry loop around it.

Every request of this package, and every request qiskit-ionq's own code sends through our
client, goes through :meth:`Transport.send`:

* :func:`attempt` sends one request and classifies what came back as an :class:`Outcome`
  (an answer to use, a failure worth another try, or an error to raise);
* :meth:`Transport.send` is the retry loop around it, under a :class:`RetryPolicy` and the
  client's shared :class:`RateGate`;
* :func:`error_for` turns an error answer into the typed exception.

Why not tenacity (or urllib3's ``Retry``): the loop adds what they lack, and would have to be
written as callbacks around them anyway: (1) one total deadline that also cuts each
request's connect and read timeouts, (2) a rate gate shared by every thread of the client,
which a 429 slows and a ``Retry-After`` closes, (3) 429s that do not use up
``max_attempts``, (4) a 2xx whose body is not JSON (a proxy's page) retried like a 502.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from urllib3.exceptions import NewConnectionError

from .._core.deadline import Deadline, current
from .._redact import exception_shows, keep_hidden, redact, watch_loggers
from ..exceptions import (
    AttemptRecord,
    AuthenticationError,
    IonQRequestError,
    JobNotFoundError,
    MissingCredentialsError,
    NoAnswerError,
    RefusedError,
    RetriesExhaustedError,
    UnreachableError,
    WrongBaseURLError,
)
from ..retry import Attempts, RetryPolicy, parse_retry_after
from .bodyread import AnswerTooLarge, ReadDeadlinePassed, read_body, redact_headers
from .concurrency import ConcurrencyLimit
from .rategate import RateGate
from .sockets import Sockets, answer_by

__all__ = ["DEFAULT_TIMEOUT", "Outcome", "Request", "Transport", "attempt", "error_for"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: (connect, read) seconds for every request; both are cut to what is left of the deadline.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)

NETWORK_HINT = "Check the network and the URL, then try again"
DEADLINE_HINT = ("IonQ may be overloaded or down (see status.ionq.co); try again later or "
                 "raise the deadline (RetryPolicy(deadline=...))")
#: Answers that say "too much at once": the concurrency limit drops on them. (A 429 says
#: "too many a second": the rate gate's business, and no measure of load either.)
OVERLOAD_STATUSES = frozenset({503})
_HINTS = {
    400: "The request was malformed; check the job id and arguments",
    409: "The job's state does not allow this now; read its status",
    413: "The request is too large (IonQ's limit is 10 MB); send fewer ids per call",
}
REDIRECT_HINT = ("IonQ's API does not redirect: check the API base URL. No redirect is "
                 "followed, so the key never goes anywhere else")
#: What one attempt may fail with before any answer is usable: ``requests``' own errors (a
#: body cut short, a bad gzip body, an invalid header), and the lower layers' for odd cases.
_NO_ANSWER = (requests.RequestException, http.client.HTTPException, OSError,
              ReadDeadlinePassed)


@dataclass(frozen=True)
class Request:
    """One request to send (and to send again, when retried)."""

    method: str
    url: str
    what: str
    job_id: str | None = None
    params: Any = None
    body: str | bytes | None = None
    auth: bool = True
    expect_json: bool = True
    binary_ok: bool = False  # an application/octet-stream answer is taken as it is


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: ``response`` (``None``: no answer), ``data`` (its JSON),
    and ``problem``, the reason to try again (empty when the answer is to be used)."""

    response: requests.Response | None
    data: Any = None
    problem: str = ""
    error: BaseException | None = None  # the exception when no answer came
    final: bool = False  # a problem another try would not cure (a redirect, a huge answer)

    @property
    def status(self) -> int | None:
        """The HTTP status, or ``None`` when no answer came."""
        return None if self.response is None else self.response.status_code


def attempt(session: requests.Session, request: Request,
            timeouts: tuple[float, float], *, budget: float | None = None,
            key: str | None = None) -> Outcome:
    """Send ``request`` once. An error answer is returned, not raised (the loop decides).

    The whole answer is read within ``budget`` seconds (default: the read timeout), at
    most :data:`~qiskit_ionq_cancel._http.bodyread.MAX_ANSWER_BYTES`, with ``key`` taken out of
    its body and headers before anything else sees them. No redirect is followed.
    """
    end = time.monotonic() + (timeouts[1] if budget is None else budget)
    watch_loggers()  # a logger made since (urllib3's, say) is redacted too
    try:
        with answer_by(end):  # the head of the answer, all of it, by the deadline
            response = session.request(
                request.method, request.url, params=request.params, data=request.body,
                timeout=timeouts, headers=None if request.auth else {"Authorization": None},
                stream=True, allow_redirects=False,
            )
        redact_headers(response, key)
        read_body(response, end - time.monotonic(), key, timeouts[1])
    except AnswerTooLarge as exc:
        return Outcome(None, problem=str(exc), error=exc, final=True)
    except _NO_ANSWER as exc:
        return Outcome(None, problem=_describe(exc, key), error=exc)
    if 300 <= response.status_code < 400:
        return Outcome(response, problem=f"HTTP {response.status_code}: a redirect",
                       final=True)
    if response.status_code >= 400:
        return Outcome(response, problem=f"HTTP {response.status_code}: "
                                         f"{ionq_message(response)}")
    if not request.expect_json or (request.binary_ok and "octet-stream" in
                                   response.headers.get("Content-Type", "").lower()):
        return Outcome(response)
    try:
        return Outcome(response, json.loads(response.text))
    except (ValueError, RecursionError):  # RecursionError: JSON nested absurdly deep
        # A 2xx that is not JSON comes from a proxy, not from IonQ: worth another try.
        return Outcome(response, problem=f"HTTP {response.status_code} with a non-JSON body "
                                         f"({response.text[:60]!r})")


class Transport:
    """A pooled ``requests.Session`` with IonQ's headers, a shared rate gate and the retry
    loop. ``requests_sent`` counts every request, retries included."""

    def __init__(self, base_url: str, key: str | None, headers: dict[str, str], *,
                 retry_policy: RetryPolicy, timeout: tuple[float, float],
                 pool_size: int) -> None:
        self.base_url = base_url
        self.retry_policy = retry_policy
        self.timeout = timeout
        self.gate = RateGate(retry_policy.clock)
        self.limit = ConcurrencyLimit(min(16, pool_size), pool_size)
        self.requests_sent = 0
        self._unreachable: tuple[float, str] | None = None  # when, and why
        self._key = key
        # out of every log record (urllib3's too) while this lives, or until closed
        self._hidden = keep_hidden(key, self)
        self._counter_lock = threading.Lock()
        self._sockets = Sockets()
        self.session = requests.Session()
        adapter = self._sockets.adapter(pool_connections=1, pool_maxsize=pool_size,
                                        max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # requests re-reads proxy variables, CA bundle and ~/.netrc on *every* request when
        # trust_env is on (about 0.8 ms a call here), and a netrc entry for the host would
        # even replace our Authorization header. Read the environment once, now.
        self.session.trust_env = False
        self.session.proxies.update(requests.utils.get_environ_proxies(base_url))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            self.session.verify = ca_bundle
        all_headers = {"Content-Type": "application/json", **headers}
        if key:
            all_headers["Authorization"] = f"apiKey {key}"
        self.session.headers.update(all_headers)

    def close(self) -> None:
        """Close the pooled connections; the key stops being searched for in others' text."""
        self.session.close()
        self._hidden()

    def abort(self) -> None:
        """Cut every request in flight now and wake the threads waiting for a slot (the hook
        a call's deadline runs when it is interrupted: Ctrl-C, SIGTERM)."""
        self._sockets.abort()
        self.limit.wake()

    def deadline_for(self, policy: RetryPolicy | None) -> Deadline:
        """The deadline of one operation (a request and its retries, a listing): the
        policy's (default: the client's) from now, within the current call's (see
        ``_core/deadline.py``), which it never extends; outside any call, the policy's."""
        own = policy or self.retry_policy
        outer = current()
        return Deadline(own.deadline, own.clock) if outer is None else outer.within(own.deadline)

    def _check_aborted(self, request: Request, deadline: Deadline) -> None:
        if deadline.interrupted:
            raise NoAnswerError(f"{request.what}: stopped (interrupted)",
                                   job_id=request.job_id, method=request.method,
                                   url=request.url, hint="A request already sent may have "
                                   "taken effect; read the job's status")

    def send(self, request: Request, *, policy: RetryPolicy | None = None,
             retry_statuses: frozenset[int] | None = None,
             retry_connection_errors: bool = True) -> Outcome:
        """Send ``request``, retrying transient failures; the outcome of the answer used.

        Raises the typed errors of :mod:`~qiskit_ionq_cancel.exceptions` for an error
        answer that is not retried, and :class:`RetriesExhaustedError` (with the history of
        every attempt) when retries run out of attempts or time.
        """
        if request.auth and not self._key:
            raise MissingCredentialsError(
                "No IonQ API key: pass token= to IonQProvider, or set IONQ_API_KEY."
            )
        deadline = self.deadline_for(policy)
        deadline.on_interrupt(self.abort)
        policy = policy or self.retry_policy
        statuses = policy.retry_statuses if retry_statuses is None else retry_statuses
        attempts = policy.begin(deadline)
        history: list[AttemptRecord] = []
        unreached = 0
        self._fail_if_unreachable(request, policy)
        while True:
            self._check_aborted(request, deadline)
            outcome = self._paced_attempt(request, attempts, policy)
            self._check_aborted(request, deadline)
            if outcome is None:  # no time left to send anything
                raise self._exhausted(request, attempts.count, attempts.elapsed, history,
                                      f"the {deadline.seconds:g} s deadline passed")
            code = outcome.status
            if code == 429:
                asked = parse_retry_after(_header(outcome, "Retry-After"))
                # A wait past retry_after_max is not waited for: it must not close the gate.
                self.gate.throttled(None if asked is not None and
                                    asked > policy.retry_after_max else asked)
            elif code is not None:
                self.gate.success()
            if not outcome.problem:
                return outcome
            if outcome.final:
                raise self._final(request, outcome)
            if code is None and _unreachable(outcome.error):
                # a connect timeout has cost seconds already: it counts twice
                unreached += 2 if isinstance(outcome.error, requests.ConnectTimeout) else 1
                if unreached >= policy.connect_attempts:
                    self._unreachable = (policy.clock(), outcome.problem)
                    raise self._unreachable_error(request, outcome.problem) from None
            elif code is not None:
                self._unreachable = None
            if code is None and not retry_connection_errors:
                error = NoAnswerError(
                    f"{request.what}: no answer ({outcome.problem})", job_id=request.job_id,
                    method=request.method, url=request.url, hint=NETWORK_HINT)
                if outcome.error is not None and not exception_shows(outcome.error,
                                                                     self._key):
                    error.__context__ = outcome.error  # kept for debugging, not shown
                raise error from None
            if code is not None and code >= 400 and code not in statuses:
                assert outcome.response is not None
                raise error_for(outcome.response, what=request.what, job_id=request.job_id,
                                base_url=self.base_url, key=self._key)
            throttled = code == 429
            wait, reason = attempts.next_wait(_header(outcome, "Retry-After"), throttled)
            history.append(AttemptRecord(request.method, code, redact(outcome.problem,
                                                                       self._key), wait))
            if wait is None:
                raise self._exhausted(request, attempts.count, attempts.elapsed, history,
                                      reason)
            logger.warning("%s%s: %s; retrying in %s (attempt %d)", request.what,
                           f" (job {request.job_id})" if request.job_id else "",
                           redact(outcome.problem, self._key),
                           "step with the shared rate gate" if throttled else f"{wait:.2f} s",
                           attempts.count + 1)
            if not throttled:  # after a 429 the shared gate holds everyone off
                policy.pause(wait, deadline)

    def _final(self, request: Request, outcome: Outcome) -> IonQRequestError:
        if outcome.response is not None:
            return error_for(outcome.response, what=request.what, job_id=request.job_id,
                             base_url=self.base_url, key=self._key)
        return NoAnswerError(f"{request.what}: {outcome.problem}", job_id=request.job_id,
                                method=request.method, url=request.url,
                                hint="Not retried: the same answer would come again")

    def _paced_attempt(self, request: Request, attempts: Attempts,
                       policy: RetryPolicy) -> Outcome | None:
        """One attempt within the concurrency limit, once the rate gate lets it go (the gate
        is waited for inside the limit, so no crowd that passed it early goes at once);
        ``None`` when the deadline passed first."""
        deadline = attempts.deadline
        slot = self.limit.acquire_by(deadline)
        if slot is None:  # the deadline passed (or the call was interrupted) meanwhile
            return None
        load = self.limit.in_flight
        try:
            while True:  # until the gate reserves a slot (or no time is left)
                cuts = self.gate.cuts
                paced, reserved = self.gate.turn()
                if paced > 0:
                    policy.pause(paced, deadline)
                    # the rate was cut while this one waited for its slot: pace it again
                    reserved = reserved and self.gate.cuts == cuts
                if reserved or deadline.expired or deadline.interrupted:
                    break
            # Nothing is sent once the call's time is up (its first request included: the
            # deadline is the call's, not this request's).
            if deadline.expired or deadline.interrupted:
                self.limit.release(slot, measured=False)
                return None
            with self._counter_lock:
                self.requests_sent += 1
            timeouts = (deadline.cap(self.timeout[0]), deadline.cap(self.timeout[1]))
            sent = self.limit.clock()
            outcome = attempt(self.session, request, timeouts,
                              budget=max(0.001, deadline.remaining), key=self._key)
        except BaseException:
            self.limit.release(slot, measured=False)
            raise
        code = outcome.status
        self.limit.release(sent, overloaded=code in OVERLOAD_STATUSES,
                           measured=code is not None and code < 500 and code != 429,
                           kind=request.what, load=load)
        return outcome

    def _fail_if_unreachable(self, request: Request, policy: RetryPolicy) -> None:
        """Fail at once while the server was found unreachable moments ago."""
        marked = self._unreachable
        if marked is not None and policy.clock() - marked[0] < policy.unreachable_for:
            raise self._unreachable_error(request, marked[1])

    def _unreachable_error(self, request: Request, problem: str) -> UnreachableError:
        return UnreachableError(
            f"{request.what}: could not reach {self.base_url} "
            f"({redact(problem, self._key)})", job_id=request.job_id,
            method=request.method, url=request.url,
            hint=f"Check the URL ({self.base_url}: --url or IONQ_API_URL) and the network")

    def _exhausted(self, request: Request, count: int, elapsed: float,
                   history: list[AttemptRecord], reason: str) -> RetriesExhaustedError:
        last = history[-1].problem if history else "nothing sent"
        return RetriesExhaustedError(
            request.what, attempts=count, elapsed=elapsed,
            last=f"{last}; stopped because {reason}", history=tuple(history),
            job_id=request.job_id, method=request.method, url=request.url,
            hint=DEADLINE_HINT)


def error_for(response: requests.Response, *, what: str, job_id: str | None,
              base_url: str, key: str | None = None) -> IonQRequestError:
    """The typed exception for an error answer that is not retried."""
    code = response.status_code
    common: dict[str, Any] = {
        "job_id": job_id, "status_code": code,
        "ionq_message": redact(ionq_message(response), key),
        "method": response.request.method or "", "url": response.request.url or "",
        "headers": dict(response.headers), "body": redact(response.text, key)[:2000],
        "error_type": redact(ionq_field(response, "error") or "", key) or None,
    }
    if 300 <= code < 400:
        location = redact(response.headers.get("Location", "nowhere"), key)[:200]
        return RefusedError(f"{what}: the server redirected to {location}", **common,
                                hint=REDIRECT_HINT)
    if code in (401, 403):
        return AuthenticationError(  # IonQ's 403: "failed authorization for the resource"
            f"{what}: IonQ refused {'the API key' if code == 401 else 'access to it'}",
            **common,
            hint=f"Check the key for {base_url} (IONQ_API_KEY, or token= of IonQProvider) "
                 "and that it has access to this project",
        )
    if code == 404 and not _names_a_job(response):
        return WrongBaseURLError(  # not IonQ's words: the message goes in ``what``
            f"{what}: the server has no such endpoint ({common['ionq_message']})",
            **{**common, "ionq_message": None},
            hint=f"The API base URL {base_url} is probably wrong; {_suggest_base_url(base_url)}",
        )
    if code == 404 and job_id is not None:
        return JobNotFoundError(
            f"{what}: no such job", **common,
            hint="Check the id, and that the job was submitted with this key and not deleted",
        )
    # A 5xx not retried (retry_statuses left it out) says nothing about the request itself.
    kind = NoAnswerError if code >= 500 else RefusedError
    return kind(f"{what}: IonQ answered with an error", **common,
                hint=_HINTS.get(code, "See IonQ's message above"))


def _unreachable(error: BaseException | None) -> bool:
    """The request never reached a server: refused, no such host, or no answer to connect."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error is not None and error.args else None
    return isinstance(reason, NewConnectionError)


def _header(outcome: Outcome, name: str) -> str | None:
    return None if outcome.response is None else outcome.response.headers.get(name)


def _describe(exc: BaseException, key: str | None = None) -> str:
    kind = ("read timeout" if isinstance(exc, (requests.ReadTimeout, ReadDeadlinePassed))
            else "connect timeout" if isinstance(exc, requests.ConnectTimeout)
            else "answer cut short" if isinstance(exc, requests.exceptions.ChunkedEncodingError)
            else "answer not decodable" if isinstance(exc,
                                                      requests.exceptions.ContentDecodingError)
            else "connection failed")
    root = _root_cause(exc)
    reason = root.strerror if isinstance(root, OSError) and root.strerror else str(root)
    reason = redact(reason, key)  # before the cut: a malformed answer may echo our headers
    return f"{kind}: {type(exc).__name__}" + (f" ({reason[:120]})" if reason else "")


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error behind ``exc`` (requests wraps urllib3's, which wraps the socket's
    "Connection refused"): what the user can act on, where the outer message is plumbing."""
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        reason = getattr(exc, "reason", None)
        inner = reason if isinstance(reason, BaseException) else (
            exc.args[0] if exc.args and isinstance(exc.args[0], BaseException)
            else exc.__cause__)
        if inner is None:
            break
        exc = inner
    return exc


def _names_a_job(response: requests.Response) -> bool:
    """A 404's body is IonQ's error JSON and its message names a job (the word or an id),
    leaving out any path it echoes: ``Cannot PUT /jobs/<id>/...`` is a router's miss."""
    message = ionq_field(response, "message")
    if message is None:
        return False
    words = " ".join(word for word in message.split() if "/" not in word)
    return re.search(r"\bjobs?\b|[0-9a-f]{8}-[0-9a-f]{4}-", words, re.IGNORECASE) is not None


def _suggest_base_url(url: str) -> str:
    """What the base URL should probably be: IonQ's API lives under ``/v0.4``."""
    parts = urlsplit(url)
    path = re.sub(r"/v\d+(\.\d+)?$", "", parts.path.rstrip("/"))
    if parts.path.rstrip("/").endswith("/v0.4"):
        return ("it ends in /v0.4 as it should, so check the host and any path before "
                "/v0.4 (IonQ's is https://api.ionq.co/v0.4)")
    return f"try {urlunsplit((parts.scheme, parts.netloc, path + '/v0.4', '', ''))}"


def ionq_field(response: requests.Response, name: str) -> str | None:
    """A string field of IonQ's JSON error body, if there is one."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def ionq_message(response: requests.Response) -> str:
    """IonQ's own words for an answer (its ``message``), or a short description of the body."""
    message = ionq_field(response, "message")
    if message:
        return message
    text = response.text.strip()
    return f"non-JSON body {text[:60]!r}" if text else "empty body"
