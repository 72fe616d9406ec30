"""The HTTP client: one pooled ``requests.Session``, typed errors, one retry loop.

Subclasses qiskit-ionq's ``IonQClient`` so the rest of qiskit-ionq (``IonQJob.status()``,
``result()``, ``submit()``) runs through it unchanged, but with keep-alive, timeouts on every
request, the retry policy and errors that say what happened.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests
from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.helpers import get_user_agent, qiskit_to_ionq
from qiskit_ionq.ionq_client import IonQClient

from .exceptions import (
    AuthenticationError,
    CancelNotConfirmedError,
    IonQRequestError,
    JobNotFoundError,
    MissingCredentialsError,
    RetriesExhaustedError,
)
from .ratelimit import RateGate
from .results import add_legacy_result_urls
from .retry import RetryPolicy, parse_retry_after
from .status import to_job_status
from .validation import check_base_url, validate_job_id

if TYPE_CHECKING:
    from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

__all__ = ["DEFAULT_TIMEOUT", "CancelOutcome", "IonQCancelClient"]

logger = logging.getLogger("qiskit_ionq_cancel")

#: (connect, read) seconds for every request; both are cut to what is left of the deadline.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
_VERSION = "0.1.0"


class _Secret(str):
    """A string whose ``repr`` hides it, so a printed dict or object never shows the key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


@dataclass(frozen=True)
class CancelOutcome:
    """What one cancel established: the job's Qiskit status after it, and the job object
    read back when the answer alone was not conclusive."""

    job_id: str
    status: JobStatus
    job: dict[str, Any] | None = None

    @property
    def cancelled(self) -> bool:
        """True when the job is cancelled."""
        return self.status is JobStatus.CANCELLED


class IonQCancelClient(IonQClient):
    """IonQ API client with a pooled session, the retry policy and typed errors."""

    def __init__(
        self,
        token: str | None = None,
        url: str | None = None,
        custom_headers: dict[str, str] | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        pool_size: int = 32,
    ) -> None:
        base = check_base_url(url or "https://api.ionq.co/v0.4",
                              allow_insecure_http=allow_insecure_http)
        super().__init__(_Secret(token) if token else None, base, custom_headers)
        self._user_agent = f"{get_user_agent()} qiskit-ionq-cancel/{_VERSION}"
        self.retry_policy = retry_policy or RetryPolicy()
        self.timeout = timeout
        self.gate = RateGate(self.retry_policy.clock)
        self.requests_sent = 0  # every request this client sent, retries included
        self._counter_lock = threading.Lock()
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=pool_size,
                                                max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        # requests re-reads proxy variables, CA bundle and ~/.netrc on *every* request when
        # trust_env is on (about 0.8 ms a call here), and a netrc entry for the host would
        # even replace our Authorization header. Read the environment once, now.
        self._session.trust_env = False
        self._session.proxies.update(requests.utils.get_environ_proxies(base))
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if ca_bundle:
            self._session.verify = ca_bundle
        headers = {"Content-Type": "application/json", "User-Agent": self._user_agent,
                   **(custom_headers or {})}
        if token:
            headers["Authorization"] = f"apiKey {token}"
        self._session.headers.update(headers)

    @property
    def url(self) -> str:
        """The API base URL every request goes to."""
        return str(self._url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self._session.close()

    def check_id(self, job_id: object) -> str:
        """:func:`validate_job_id`, keeping this client's key out of the error."""
        return validate_job_id(job_id, self._token)

    # -- the one request path -----------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        job_id: str | None = None,
        params: Any = None,
        body: str | bytes | None = None,
        policy: RetryPolicy | None = None,
        retry_statuses: frozenset[int] | None = None,
        retry_connection_errors: bool = True,
        auth: bool = True,
    ) -> Any:
        """Send one request (retrying transient failures) and return its JSON answer.

        Every request of this package goes through here.
        """
        if auth and not self._token:
            raise MissingCredentialsError(
                "No IonQ API key: pass token= to IonQProvider, or set IONQ_API_KEY."
            )
        policy = policy or self.retry_policy
        statuses = policy.retry_statuses if retry_statuses is None else retry_statuses
        url = f"{self._url}/{path}"
        attempts = policy.begin()
        last = ""
        while True:
            paced = self.gate.delay()
            if paced > 0:
                policy.sleep(min(paced, max(0.0, attempts.remaining)))
            if attempts.remaining <= 0 and attempts.count:  # no time left to send anything
                raise RetriesExhaustedError(
                    what, attempts=attempts.count, elapsed=attempts.elapsed,
                    last=f"{last}; stopped because the {policy.deadline:g} s deadline passed",
                    job_id=job_id, method=method, url=url, hint=_DEADLINE_HINT)
            # Both timeouts are cut to what is left of the deadline.
            connect_timeout = max(0.001, min(self.timeout[0], attempts.remaining))
            read_timeout = max(0.001, min(self.timeout[1], attempts.remaining))
            retry_after: str | None = None
            response: requests.Response | None = None
            with self._counter_lock:
                self.requests_sent += 1
            try:
                response = self._session.request(
                    method, url, params=params, data=body,
                    timeout=(connect_timeout, read_timeout),
                    headers=None if auth else {"Authorization": None},
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if not retry_connection_errors:
                    raise IonQRequestError(f"{what}: no answer ({_describe(exc)})",
                                           job_id=job_id, method=method, url=url,
                                           hint=_NETWORK_HINT) from None
                last = _describe(exc)
            else:
                retry_after = response.headers.get("Retry-After")
                if response.status_code == 429:
                    self.gate.throttled(parse_retry_after(retry_after))
                else:
                    self.gate.success()
                if response.status_code in statuses:
                    last = f"HTTP {response.status_code}: {_ionq_message(response)}"
                elif response.status_code >= 400:
                    raise self._error(response, what=what, job_id=job_id)
                else:
                    try:
                        return json.loads(response.text)
                    except ValueError:
                        # A 2xx that is not JSON comes from a proxy, not from IonQ: retry.
                        last = (f"HTTP {response.status_code} with a non-JSON body "
                                f"({response.text[:60]!r})")
            throttled = response is not None and response.status_code == 429
            wait, reason = attempts.next_wait(retry_after, throttled)
            if wait is None:
                raise RetriesExhaustedError(
                    what, attempts=attempts.count, elapsed=attempts.elapsed,
                    last=f"{last}; stopped because {reason}", job_id=job_id, method=method,
                    url=url, hint=_DEADLINE_HINT,
                )
            logger.warning("%s%s: %s; retrying in %s (attempt %d)", what,
                           f" (job {job_id})" if job_id else "", last,
                           "step with the shared rate gate" if throttled else f"{wait:.2f} s",
                           attempts.count + 1)
            if not throttled:  # after a 429 the shared gate holds everyone off
                policy.sleep(wait)

    def _error(self, response: requests.Response, *, what: str,
               job_id: str | None) -> IonQRequestError:
        """The typed exception for an error answer that is not retried."""
        code = response.status_code
        method = response.request.method or ""
        url = response.request.url or ""
        message = _ionq_message(response)
        common: dict[str, Any] = {
            "job_id": job_id, "status_code": code, "ionq_message": message,
            "method": method, "url": url, "headers": dict(response.headers),
            "body": response.text[:2000], "error_type": _ionq_field(response, "error"),
        }
        if code in (401, 403):
            return AuthenticationError(  # IonQ's 403: "failed authorization for the resource"
                f"{what}: IonQ refused {'the API key' if code == 401 else 'access to it'}",
                **common,
                hint=f"Check the key for {self._url} (IONQ_API_KEY, or token= of IonQProvider) "
                     "and that it has access to this project",
            )
        if code == 404 and job_id is not None:
            return JobNotFoundError(
                f"{what}: no such job", **common,
                hint="Check the id, and that the job was submitted with this key and not "
                     "deleted",
            )
        return IonQRequestError(f"{what}: IonQ answered with an error", **common,
                                hint=_HINTS.get(code, "See IonQ's message above"))

    # -- jobs -----------------------------------------------------------------------------
    def retrieve_job(self, job_id: str, *, policy: RetryPolicy | None = None) -> dict[str, Any]:
        """``GET /jobs/{id}``, with its status checked against the status table.

        API v0.3's ``running`` is rewritten to ``started`` so qiskit-ionq's own status code
        understands it.
        """
        job_id = self.check_id(job_id)
        job: dict[str, Any] = self._send("GET", f"jobs/{job_id}", what="Reading job",
                                         job_id=job_id, policy=policy)
        if not isinstance(job, dict):
            raise IonQRequestError("Reading job: the answer is not a job object",
                                   job_id=job_id, body=str(job)[:200])
        to_job_status(job.get("status"), job_id)
        if job.get("status") == "running":
            job["status"] = "started"
        add_legacy_result_urls(job)  # format-keyed results, for qiskit-ionq's result()
        return job

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        """``PUT /jobs/{id}/status/cancel``; the raw answer (qiskit-ionq's signature).

        A cancel is idempotent (cancelling twice leaves the job as cancelling once does), so
        retrying one after a dropped connection or a 5xx is safe.
        """
        job_id = self.check_id(job_id)
        answer: dict[str, Any] = self._send("PUT", f"jobs/{job_id}/status/cancel",
                                            what="Cancelling job", job_id=job_id)
        return answer

    def cancel_jobs(self, job_ids: list[str]) -> list[dict[str, Any]]:
        """qiskit-ionq's signature: cancel each job (all ids are checked first)."""
        checked = [self.check_id(job_id) for job_id in job_ids]
        return [self.cancel_job(job_id) for job_id in checked]

    def cancel(self, job_id: str, *, deadline: float | None = None) -> CancelOutcome:
        """Cancel a job and establish what it really is afterwards.

        A clean ``200 {"id": <job_id>, "status": "canceled"}`` settles it. Any other answer
        (another body, or a 400/409 because the job had just finished) is not trusted: the
        job is read back once and its true status reported.
        """
        job_id = self.check_id(job_id)
        policy = self.retry_policy.with_deadline(deadline)
        refused: IonQRequestError | None = None
        answer: Any = None
        try:
            answer = self._send("PUT", f"jobs/{job_id}/status/cancel", what="Cancelling job",
                                job_id=job_id, policy=policy)
        except (JobNotFoundError, AuthenticationError, RetriesExhaustedError):
            raise
        except IonQRequestError as exc:
            if exc.status_code not in (400, 409):
                raise
            refused = exc
        if isinstance(answer, dict) and answer == {"id": job_id, "status": "canceled"}:
            return CancelOutcome(job_id, JobStatus.CANCELLED)
        logger.info("Cancel of job %s answered %s; reading the job back", job_id,
                    f"HTTP {refused.status_code}" if refused else repr(answer)[:300])
        job = self.retrieve_job(job_id, policy=policy)
        status = to_job_status(job.get("status"), job_id)
        if status not in JOB_FINAL_STATES:
            if refused is not None:
                raise refused
            raise CancelNotConfirmedError(job_id, status, answer)
        return CancelOutcome(job_id, status, job)

    def bulk_cancel(self, job_ids: list[str], *, policy: RetryPolicy | None = None) -> Any:
        """``PUT /jobs/status/cancel`` with ``{"ids": [...]}``; the raw answer.

        Its echo of ids proves nothing about any one job: read them back to know.
        """
        checked = [self.check_id(job_id) for job_id in job_ids]
        return self._send("PUT", "jobs/status/cancel", what=f"Cancelling {len(checked)} jobs",
                          body=json.dumps({"ids": checked}), policy=policy)

    def list_jobs(self, *, ids: list[str] | None = None, status: str | None = None,
                  target: str | None = None, session_id: str | None = None,
                  limit: int | None = None, cursor: str | None = None,
                  policy: RetryPolicy | None = None) -> dict[str, Any]:
        """One page of ``GET /jobs``: ``{"jobs": [...], "next": cursor or None}``."""
        # Validated ids need no escaping: joining them by hand is much cheaper than urlencode
        # for the 150 ids of a read-back.
        query = [f"ids={self.check_id(i)}" for i in ids or []]
        if session_id is not None:
            query.append(f"session_id={self.check_id(session_id)}")
        query += [urlencode({k: v}) for k, v in (("status", status), ("target", target),
                                                 ("limit", limit), ("next", cursor))
                  if v is not None]
        page = self._send("GET", "jobs", what="Listing jobs", params="&".join(query),
                          policy=policy)
        if not isinstance(page, dict) or not isinstance(page.get("jobs"), list):
            raise IonQRequestError("Listing jobs: the answer is not a page of jobs",
                                   body=str(page)[:200])
        return page

    def iter_jobs(self, *, status: str | None = None, target: str | None = None,
                  session_id: str | None = None, page_size: int = 1000,
                  policy: RetryPolicy | None = None) -> Iterator[dict[str, Any]]:
        """Every job matching the filters, following the ``next`` cursor page by page."""
        cursor: str | None = None
        while True:
            page = self.list_jobs(status=status, target=target, session_id=session_id,
                                  limit=page_size, cursor=cursor, policy=policy)
            yield from page["jobs"]
            cursor = page.get("next")
            if not cursor:
                return

    def submit_job(self, job: StockIonQJob) -> dict[str, Any]:
        """``POST /jobs``. Only a 429 is retried: a submission is not idempotent, and any
        other failure might have created the job."""
        body = qiskit_to_ionq(job.circuit, job.backend(), job._passed_args,
                              job.extra_query_params, job.extra_metadata)
        answer: dict[str, Any] = self._send("POST", "jobs", what="Submitting job", body=body,
                                            retry_statuses=frozenset({429}),
                                            retry_connection_errors=False)
        return answer

    def delete_job(self, job_id: str) -> dict[str, Any]:
        """``DELETE /jobs/{id}``."""
        job_id = self.check_id(job_id)
        answer: dict[str, Any] = self._send("DELETE", f"jobs/{job_id}", what="Deleting job",
                                            job_id=job_id)
        return answer

    def get_results(self, results_url: str, sharpen: bool | None = None,
                    extra_query_params: dict[str, Any] | None = None) -> Any:
        """Results of a completed job, from the URL its job object names (same host only)."""
        params: dict[str, Any] = dict(extra_query_params or {})
        if sharpen is not None:
            params["sharpen"] = sharpen
        # The job object gives "/v0.4/jobs/<id>/results/..."; our base already ends in /v0.4.
        path = re.sub(r"^/?v\d+\.\d+/", "", results_url)
        if "://" in path or path.startswith("/"):
            raise IonQRequestError("Reading results: the job names a results URL on another "
                                   f"host ({results_url[:80]!r}); refusing to send the key there")
        return self._send("GET", path, what="Reading results", params=params)

    def backend_qubits(self, api_name: str) -> int | None:
        """Qubit count of a backend from ``GET /backends/{name}`` at *this* URL, or ``None``."""
        try:
            answer = self._send("GET", f"backends/{api_name}", what="Reading backend",
                                policy=RetryPolicy(deadline=10.0, max_attempts=2), auth=False)
        except IonQRequestError as exc:
            logger.info("Could not read the size of backend %s: %s", api_name, exc)
            return None
        qubits = answer.get("qubits") if isinstance(answer, dict) else None
        return qubits if isinstance(qubits, int) and qubits > 0 else None


_NETWORK_HINT = "Check the network and the URL, then try again"
_DEADLINE_HINT = ("IonQ may be overloaded or down (see status.ionq.co); try again later or "
                  "raise the deadline (RetryPolicy(deadline=...))")
_HINTS = {
    400: "The request was malformed; check the job id and arguments",
    409: "The job's state does not allow this now; read its status",
    413: "The request is too large (IonQ's limit is 10 MB); send fewer ids per call",
}


def _describe(exc: BaseException) -> str:
    kind = ("read timeout" if isinstance(exc, requests.ReadTimeout)
            else "connect timeout" if isinstance(exc, requests.ConnectTimeout)
            else "connection failed")
    reason = str(exc)
    return f"{kind}: {type(exc).__name__}" + (f" ({reason[:120]})" if reason else "")


def _ionq_field(response: requests.Response, name: str) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _ionq_message(response: requests.Response) -> str:
    message = _ionq_field(response, "message")
    if message:
        return message
    text = response.text.strip()
    return f"non-JSON body {text[:60]!r}" if text else "empty body"
