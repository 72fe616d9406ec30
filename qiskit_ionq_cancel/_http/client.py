"""The IonQ API client: qiskit-ionq's ``IonQClient``, every request through one path.

It subclasses qiskit-ionq's ``IonQClient`` so the rest of qiskit-ionq (``IonQJob.status()``,
``result()``, ``submit()``, ``backend.calibration()``, ``Session``) runs through it unchanged,
but every method through which qiskit-ionq sends HTTP is routed to
:class:`~qiskit_ionq_cancel._http.transport.Transport`: keep-alive, timeouts on every request, the
retry policy, the shared rate gate and typed errors.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import requests
from qiskit.providers import JobStatus
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit_ionq.helpers import get_user_agent, qiskit_to_ionq
from qiskit_ionq.ionq_client import IonQClient
from qiskit_ionq.ionq_job import IonQJob as StockIonQJob

from .._compat import upstream
from .._compat.results import add_legacy_result_urls
from .._core.deadline import adopt, entered, result_of, scope
from .._core.ledger import Ledger
from .._core.status import CANCELLABLE, to_job_status
from .._core.validation import check_api_key, check_base_url, validate_job_id, validate_job_ids
from .._core.verdict import verdict
from .._core.version import __version__
from .._core.watchdog import submit_ledgers
from .._redact import Secret, redact
from ..exceptions import (
    AuthenticationError,
    CancelNotConfirmedError,
    InvalidJobIdError,
    IonQRequestError,
    JobNotFoundError,
    NoAnswerError,
    RefusedError,
    RetriesExhaustedError,
    UsageError,
)
from ..retry import RetryPolicy
from . import budget
from .rategate import RateGate
from .transport import DEFAULT_TIMEOUT, Request, Transport

logger = logging.getLogger("qiskit_ionq_cancel")

#: Per thread: how many submits got as far as their ``POST /jobs``. A submit cut short by
#: Ctrl-C before it (waiting for a watchdog, a budget's estimate) made no job.
_posts = threading.local()


def posts_begun() -> int:
    """How many submits of this thread have begun their ``POST /jobs``."""
    count: int = getattr(_posts, "count", 0)
    return count

__all__ = ["DEFAULT_TIMEOUT", "READ_CHUNK", "CancelOutcome", "IonQCancelClient", "posts_begun"]

#: Ids per read-back ``GET /jobs?ids=...``: about 6 kB of URL, under common 8 kB limits.
READ_CHUNK = 150


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
        pool_size: int = 64,
        retry_policy: RetryPolicy | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
    ) -> None:
        check_api_key(token or None)
        base = check_base_url(url or "https://api.ionq.co/v0.4",
                              allow_insecure_http=allow_insecure_http, secret=token or None)
        key = Secret(token) if token else None
        super().__init__(key, base, custom_headers)
        self.url = base
        self.key = key
        #: The most jobs the server has put in one page (``None``: never seen it cap one).
        self.page_cap: int | None = None
        #: Where every submit is recorded (``IonQProvider(ledger=...)``), or ``None``.
        self.ledger: Ledger | None = None
        user_agent = f"{get_user_agent()} qiskit-ionq-cancel/{__version__}"
        self.transport = Transport(
            base, key, {"User-Agent": user_agent, **(custom_headers or {})},
            retry_policy=retry_policy or RetryPolicy(), timeout=timeout, pool_size=pool_size)

    @property
    def retry_policy(self) -> RetryPolicy:
        """How transient failures are retried."""
        return self.transport.retry_policy

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) seconds per request."""
        return self.transport.timeout

    @timeout.setter
    def timeout(self, value: tuple[float, float]) -> None:
        self.transport.timeout = value

    @property
    def gate(self) -> RateGate:
        """The rate gate shared by every request of this client."""
        return self.transport.gate

    @property
    def session(self) -> requests.Session:
        """The pooled ``requests.Session`` every request goes through."""
        return self.transport.session

    @property
    def requests_sent(self) -> int:
        """Every request this client sent, retries included."""
        return self.transport.requests_sent

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self.transport.close()

    def check_id(self, job_id: object) -> str:
        """:func:`validate_job_id`, keeping this client's key out of the error."""
        return validate_job_id(job_id, self.key)

    def check_ids(self, job_ids: list[str]) -> list[str]:
        """:func:`validate_job_ids`, keeping this client's key out of the error."""
        return validate_job_ids(job_ids, self.key)

    # -- the one request path -----------------------------------------------------------
    def _send(self, method: str, path: str, *, what: str, job_id: str | None = None,
              params: Any = None, body: str | bytes | None = None,
              policy: RetryPolicy | None = None,
              retry_statuses: frozenset[int] | None = None,
              retry_connection_errors: bool = True, auth: bool = True) -> Any:
        """Send one request to ``{url}/{path}`` and return its JSON answer."""
        request = Request(method, f"{self.url}/{path}", what, job_id, params, body, auth)
        return self.transport.send(request, policy=policy, retry_statuses=retry_statuses,
                                   retry_connection_errors=retry_connection_errors).data

    def _path_of(self, url: str, what: str) -> str:
        """The path below our base URL of a full URL qiskit-ionq built; refuses any other
        host, so the key is never sent there."""
        if url.startswith(self.url + "/"):
            return url[len(self.url) + 1:]
        raise UsageError(f"{what}: the URL {redact(url)[:80]!r} is not below {self.url}; "
                         "refusing to send the key there")

    # -- qiskit-ionq's own request helpers, routed ----------------------------------------
    def get_with_retry(self, req_path: str, params: Any = None, headers: Any = None,
                       timeout: Any = 30) -> requests.Response:
        """qiskit-ionq's GET helper (``calibration()``, ``get_artifact()``,
        ``estimate_job()``, ``Session``, ``get_results()``): through the one request path.
        ``headers`` and ``timeout`` are this client's; an error answer raises the typed
        error, and so does a 2xx that is not JSON (a proxy's HTML page, JSON nested too deep
        to read), retried first (qiskit-ionq's ``res.json()`` would raise a bare
        ``JSONDecodeError`` or ``RecursionError``); an ``application/octet-stream`` answer
        (the binary ``ionq.mir.v1`` artifact) is returned as it is."""
        path = self._path_of(req_path, "GET")
        request = Request("GET", f"{self.url}/{path}", f"GET /{path.split('?')[0]}",
                          params=params, binary_ok=True)
        response = self.transport.send(request).response
        assert response is not None
        return response

    def post(self, *path_parts: str, json_body: dict[str, Any] | None = None,
             idempotent: bool = False) -> dict[str, Any]:
        """qiskit-ionq's POST helper (sessions). A POST may create something, so only a 429
        is retried, unless it is ``idempotent`` (``POST /sessions/{id}/end``): then it is
        retried as every other request. Without ``json_body`` no body is sent (``POST
        /sessions/{id}/end`` takes none)."""
        path = "/".join(path_parts)
        answer: dict[str, Any] = self._send(
            "POST", path, what=f"POST /{path}",
            body=None if json_body is None else json.dumps(json_body),
            retry_statuses=None if idempotent else frozenset({429}),
            retry_connection_errors=idempotent)
        return answer

    def put(self, *path_parts: str, json_body: dict[str, Any] | None = None
            ) -> dict[str, Any]:
        """qiskit-ionq's PUT helper: idempotent, so retried as every other request."""
        path = "/".join(path_parts)
        answer: dict[str, Any] = self._send("PUT", path, what=f"PUT /{path}",
                                            body=json.dumps(json_body or {}))
        return answer

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
            raise NoAnswerError("Reading job: the answer is not a job object",
                                   job_id=job_id, body=redact(str(job))[:200])
        to_job_status(job.get("status"), job_id)
        budget.observe(job_id, job.get("status"))
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
        return [self.cancel_job(job_id) for job_id in self.check_ids(list(job_ids))]

    def cancel(self, job_id: str, *, deadline: float | None = None,
               verify: bool = False) -> CancelOutcome:
        """Cancel a job and establish what it really is afterwards (the judge:
        :func:`~qiskit_ionq_cancel._core.verdict.verdict`).

        A clean ``200 {"id": <job_id>, "status": "canceled"}`` settles it (IonQ's word),
        unless ``verify``: then the job is read back, and what it is then is the outcome (a
        server that answers ``canceled`` for a job that had finished is caught). Any other
        answer (another body, or a 400/409 because the job had just finished) is not
        trusted: the job is read back once and its true status reported. The cancel and the
        read-back share one ``deadline`` (default: the retry policy's), within the current
        call's.
        """
        job_id = self.check_id(job_id)
        policy = self.retry_policy.with_deadline(deadline)
        with scope(policy.deadline, policy.clock):
            return self._cancel(job_id, policy, verify)

    def _cancel(self, job_id: str, policy: RetryPolicy, verify: bool) -> CancelOutcome:
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
        status = None if refused is not None else verdict(job_id, answer, read_back=False)
        if status is not None and not verify:
            if status is JobStatus.CANCELLED:
                budget.observe(job_id, "canceled")
            return CancelOutcome(job_id, status)
        logger.info("Cancel of job %s answered %s; reading the job back", job_id,
                    f"HTTP {refused.status_code}" if refused else redact(repr(answer))[:300])
        job = self.retrieve_job(job_id, policy=policy)
        status = verdict(job_id, job, read_back=True)
        if status is None:
            raise NoAnswerError("Cancelling job: the job read back is another job",
                                job_id=job_id, body=str(job)[:200])
        if status not in JOB_FINAL_STATES:
            if refused is not None:
                raise refused
            raise CancelNotConfirmedError(job_id, status, answer)
        return CancelOutcome(job_id, status, job)

    def bulk_cancel(self, job_ids: list[str], *, policy: RetryPolicy | None = None) -> Any:
        """``PUT /jobs/status/cancel`` with ``{"ids": [...]}``; the raw answer.

        Its echo of ids proves nothing about any one job: read them back to know.
        """
        checked = self.check_ids(job_ids)
        return self._send("PUT", "jobs/status/cancel", what=f"Cancelling {len(checked)} jobs",
                          body=json.dumps({"ids": checked}), policy=policy)

    def list_jobs(self, *, ids: list[str] | None = None, status: str | None = None,
                  target: str | None = None, session_id: str | None = None,
                  limit: int | None = None, cursor: str | None = None,
                  policy: RetryPolicy | None = None) -> dict[str, Any]:
        """One page of ``GET /jobs``: ``{"jobs": [...], "next": cursor or None}``."""
        # Validated ids need no escaping: joining them by hand is much cheaper than urlencode
        # for the 150 ids of a read-back.
        query = [f"ids={i}" for i in self.check_ids(ids or [])]
        if session_id is not None:
            query.append(f"session_id={self.check_id(session_id)}")
        query += [urlencode({k: v}) for k, v in (("status", status), ("target", target),
                                                 ("limit", limit), ("next", cursor))
                  if v is not None]
        page = self._send("GET", "jobs", what="Listing jobs", params="&".join(query),
                          policy=policy)
        if not isinstance(page, dict) or not isinstance(page.get("jobs"), list):
            raise NoAnswerError("Listing jobs: the answer is not a page of jobs",
                                   body=redact(str(page))[:200])
        return page

    def iter_jobs(self, *, status: str | None = None, target: str | None = None,
                  session_id: str | None = None, page_size: int = 1000,
                  policy: RetryPolicy | None = None) -> Iterator[dict[str, Any]]:
        """Every job matching the filters, following the ``next`` cursor page by page.

        The current call's deadline (else ``policy``'s) bounds the whole listing, not each
        page; a cursor the server sent before (a listing that would never end) raises
        :class:`IonQRequestError`."""
        deadline = self.transport.deadline_for(policy)
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            if deadline.expired:
                raise NoAnswerError(
                    f"Listing jobs: the {deadline.seconds:g} s deadline ran out after "
                    f"{len(seen)} pages ({deadline.elapsed:.1f} s)",
                    hint="Narrow the filter or raise the deadline")
            with entered(deadline):  # not across the yield: the caller's context is its own
                page = self.list_jobs(status=status, target=target, session_id=session_id,
                                      limit=min(page_size, self.page_cap or page_size),
                                      cursor=cursor)
            yield from page["jobs"]
            cursor = page.get("next")
            self._learn_page_cap(page_size, len(page["jobs"]), bool(cursor))
            if not cursor:
                return
            if str(cursor) in seen:
                raise NoAnswerError(
                    "Listing jobs: the server sent a next cursor it had sent before; "
                    f"stopped after {len(seen) + 1} pages rather than loop",
                    hint="Try again later; if it persists, report it to IonQ")
            seen.add(str(cursor))

    def _learn_page_cap(self, asked: int, got: int, more: bool) -> None:
        """A page of ``got`` jobs, ``asked`` for, with ``more`` to come: when it came back
        short, the server caps its pages at ``got``; remember the smallest cap seen."""
        if more and 0 < got < asked:
            self.page_cap = got if self.page_cap is None else min(self.page_cap, got)

    @property
    def read_chunk(self) -> int:
        """Ids per read-back request: :data:`READ_CHUNK`, or the server's page size once a
        page came back capped below what was asked (so each read is one request)."""
        return min(READ_CHUNK, self.page_cap or READ_CHUNK)

    def read_jobs(self, ids: list[str], *, policy: RetryPolicy | None = None
                  ) -> dict[str, dict[str, Any]]:
        """The jobs among ``ids`` that ``GET /jobs?ids=...`` returns, by id (give at most
        :data:`READ_CHUNK` ids). A server that caps its pages below ``len(ids)`` is followed
        through its ``next`` cursor, and its page size remembered (:attr:`read_chunk`). All
        pages share one deadline: the current call's (else ``policy``'s)."""
        found: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        deadline = self.transport.deadline_for(policy)
        for _ in range(len(ids)):  # a page holds at least one job, or the listing ends
            with entered(deadline):
                page = self.list_jobs(ids=ids, limit=len(ids), cursor=cursor)
            jobs = page["jobs"]
            found.update((job["id"], job) for job in jobs
                         if isinstance(job, dict) and isinstance(job.get("id"), str))
            for job in jobs if budget.watching() else ():
                if isinstance(job, dict):
                    budget.observe(job.get("id"), job.get("status"))
            cursor = page.get("next")
            self._learn_page_cap(len(ids), len(jobs), bool(cursor))
            if not cursor or not jobs or len(found) >= len(ids):
                break
        return found

    def lookup_jobs(self, ids: list[str], *, concurrency: int = 8
                    ) -> dict[str, dict[str, Any]]:
        """Every job among ``ids`` that IonQ returns, by id, read :data:`READ_CHUNK` at a
        time, ``concurrency`` requests in flight, all within one deadline (the current
        call's, else the retry policy's)."""
        step = self.read_chunk
        chunks = [ids[i:i + step] for i in range(0, len(ids), step)]
        found: dict[str, dict[str, Any]] = {}
        deadline = self.transport.deadline_for(None)
        pool = ThreadPoolExecutor(min(concurrency, max(1, len(chunks))), initializer=adopt,
                                  initargs=(deadline,))  # the workers work for this call
        try:
            with entered(deadline):  # Ctrl-C here interrupts it: the workers wake at once
                # result_of, not pool.map: the main thread's wait lets a Ctrl-C in
                for jobs in map(result_of, [pool.submit(self.read_jobs, c) for c in chunks]):
                    found.update(jobs)
        finally:
            pool.shutdown(wait=not deadline.interrupted, cancel_futures=True)
        return found

    def cancellable_jobs(self, *, status: str | None = None, target: str | None = None,
                         session_id: str | None = None, policy: RetryPolicy | None = None
                         ) -> list[dict[str, Any]]:
        """Every job matching the filters that can still be cancelled, all listed before
        any is cancelled (how IonQ's cursors behave while the set changes is undocumented)."""
        return [job for job in self.iter_jobs(status=status, target=target,
                                              session_id=session_id, policy=policy)
                if isinstance(job, dict) and job.get("status") in CANCELLABLE
                and isinstance(job.get("id"), str)]

    def submit_job(self, job: StockIonQJob) -> dict[str, Any]:
        """``POST /jobs``. Only a 429 is retried: a submission is not idempotent, and any
        other failure might have created the job. Inside ``with budget(...)`` the payload is
        estimated first (``GET /jobs/estimate``) and refused past the limit."""
        body = qiskit_to_ionq(job.circuit, job.backend(), upstream.job_submission(job),
                              job.extra_query_params, job.extra_metadata)
        # The watchdogs' ledgers first: the first submit of a scope waits there for its
        # watchdog to be ready, and a Ctrl-C in that wait must find no budget reservation
        # (nothing was sent; it would be kept as a lost job).
        watched = submit_ledgers(self.url, self.key)
        # The one place every submit passes (backend.run, qiskit-ionq's IonQJob.submit, the
        # primitives, sessions): the budget check comes before anything is recorded or sent.
        ticket = budget.reserve(self, body)
        if ticket is None:
            return self._submit_recorded(job, body, watched)
        try:
            answer = self._submit_recorded(job, body, watched)
        except (RefusedError, UsageError):  # IonQ said no, or nothing was sent (an
            ticket.refused()  # unwritable ledger fails before the POST): no job exists
            raise
        except BaseException:
            ticket.lost()  # a job may exist: its estimate stays counted
            raise
        ticket.submitted(_answered_id(answer))
        return answer

    def _submit_recorded(self, job: StockIonQJob, body: str,
                         watched: list[Ledger]) -> dict[str, Any]:
        """``POST /jobs`` of ``body``, recorded in the provider's ledger and in ``watched``,
        those of the watchdogs of the ``cancel_on_exit`` scopes that own this submit."""
        ledgers = [*([self.ledger] if self.ledger is not None else []), *watched]
        if not ledgers:
            return self._post_job(body)
        # The intent is on disk before the POST, the id after it.
        backend = job.backend().name.removeprefix("ionq_")  # IonQ's name
        session = upstream.job_submission(job).get("session_id")
        entries: list[tuple[Ledger, dict[str, Any]]] = []
        try:
            for ledger in ledgers:
                entries.append((ledger, ledger.intent(backend, session)))
        except UsageError as exc:  # a ledger cannot be written: nothing is sent, so the
            for ledger, entry in entries:  # intents written say so (no "id unknown" job)
                self._after_post(ledger.failed, entry, exc)
            raise
        try:
            answer = self._post_job(body)
        except RefusedError as exc:  # IonQ said no: no job exists (any other failure
            # leaves the intent alone: a job may exist, its id unknown)
            for ledger, entry in entries:
                self._after_post(ledger.failed, entry, exc)
            raise
        job_id = _answered_id(answer)
        if job_id is not None:  # (else the intent stands: "submitted, id unknown")
            for ledger, entry in entries:
                self._after_post(ledger.submitted, entry, job_id)
        return answer

    @staticmethod
    def _after_post(write: Callable[..., None], *args: Any) -> None:
        """A ledger write after the POST: its failure must not fail a submit that happened
        (the intent record already stands for the job), so it is logged, not raised."""
        try:
            write(*args)
        except UsageError as exc:
            logger.warning("%s; the job is recorded as submitted, id unknown", exc)

    def _post_job(self, body: str) -> dict[str, Any]:
        _posts.count = posts_begun() + 1  # from here a Ctrl-C may leave a job IonQ made
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

    def job_cost(self, job_id: str, *, policy: RetryPolicy | None = None) -> Any:
        """``GET /jobs/{id}/cost``; the raw answer (``GetJobCostResponse``: ``estimated_cost``
        ``{value, unit}``, omitted for a job never priced; ``cost`` once it is billed)."""
        job_id = self.check_id(job_id)
        return self._send("GET", f"jobs/{job_id}/cost", what="Reading the cost of job",
                          job_id=job_id, policy=policy)

    def estimate(self, query: dict[str, str], *, policy: RetryPolicy | None = None) -> Any:
        """``GET /jobs/estimate`` with ``query`` (``backend``, ``type``, ``qubits``, ``shots``,
        ``1q_gates``, ``2q_gates``, ``error_mitigation``); the raw answer
        (``GetJobEstimateResponse``)."""
        return self._send("GET", "jobs/estimate", what="Estimating a job's cost",
                          params=urlencode(query), policy=policy)

    def _quick_policy(self) -> RetryPolicy:
        """The client's policy for an optional read: 2 attempts and 10 s at most."""
        policy = self.retry_policy
        return replace(policy, max_attempts=min(2, policy.max_attempts or 2)).with_deadline(
            min(policy.deadline, 10.0))

    def backend_qubits(self, api_name: str) -> int | None:
        """Qubit count of a backend from ``GET /backends/{name}`` at *this* URL, or ``None``."""
        try:
            answer = self._send("GET", f"backends/{api_name}", what="Reading backend",
                                policy=self._quick_policy(), auth=False)
        except IonQRequestError as exc:
            logger.info("Could not read the size of backend %s: %s", api_name, exc)
            return None
        qubits = answer.get("qubits") if isinstance(answer, dict) else None
        return qubits if isinstance(qubits, int) and qubits > 0 else None

    def backends_catalog(self) -> dict[str, dict[str, Any]]:
        """``GET /backends``, keyed by backend name (what qiskit-ionq main's provider reads
        its backends' sizes and gates from)."""
        answer = self._send("GET", "backends", what="Reading the backends catalog",
                            policy=self.retry_policy.with_deadline(
                                min(self.retry_policy.deadline, 10.0)))
        backends = answer if isinstance(answer, list) else (
            answer.get("backends") or [] if isinstance(answer, dict) else [])
        return {b["backend"]: b for b in backends if isinstance(b, dict) and "backend" in b}


def _answered_id(answer: object) -> str | None:
    """The job id of a ``POST /jobs`` answer, if it is one (a canonical UUID, as IonQ's
    are); ``None`` otherwise. An id no request could use is not recorded as the job's: the
    ledger and the budget then count the job as submitted, id unknown, and never write or
    show what the server put there (it could hold anything, the key included)."""
    job_id = answer.get("id") if isinstance(answer, dict) else None
    try:
        return validate_job_id(job_id)
    except InvalidJobIdError:
        if job_id is not None:
            logger.warning("POST /jobs answered an id that is not an IonQ job id; the job is "
                           "recorded as submitted, id unknown")
        return None
