"""The emulator's HTTP layer: routes, auth, IonQ's error bodies, the request log.

A stdlib ``ThreadingHTTPServer`` speaking HTTP/1.1 with keep-alive: one thread per
connection, a deep listen backlog, ``TCP_NODELAY`` and one ``write`` per answer (headers and
body together, so Nagle's algorithm never holds an answer back).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import selectors
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import catalog
from .faults import Fault, FaultInjector
from .formats import format_schema
from .model import API_PREFIX, ApiError
from .sessions import SessionStore
from .state import LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, OFF_CONTRACT_CANCEL_MODES, JobStore
from .views import encode

logger = logging.getLogger("qiskit_ionq_cancel.emulator")

MAX_BODY_BYTES = 10 * 1024 * 1024  # IonQ answers 413 above 10 MB
# A job id segment: anything but the concrete /jobs/estimate (OpenAPI: concrete paths win
# over templated ones, for every method: DELETE /jobs/estimate is a 405, not a bad job id).
_UUIDISH = r"(?!estimate(?:/|$))[^/]+"



@dataclass(frozen=True)
class Exchange:
    """One answer as it is about to be sent, for an :data:`AnswerObserver`.

    ``target`` is the request's path and query; ``fault`` the injected fault this answer
    commits (``None`` for an honest answer); ``off_contract`` says why a setting of the
    emulator (e.g. ``finished_cancel="noop"``) makes this answer break IonQ's document on
    purpose (``None``: it keeps it).
    """

    method: str
    target: str
    status: int
    headers: dict[str, str]
    payload: bytes
    fault: Fault | None
    off_contract: str | None = None


#: Called in the handler's thread with every answer just before it is sent (the test suite
#: passes one to check every answer against the API contract).
AnswerObserver = Callable[[Exchange], None]


@dataclass(frozen=True)
class LogEntry:
    """One request as the emulator saw it. The key is never stored: ``auth`` is redacted."""

    method: str
    path: str
    query: str
    status: int | None  # None: the connection was dropped without an answer
    time: float  # wall-clock seconds since the epoch, when the request arrived
    duration: float  # seconds spent handling it, before the answer was sent
    auth: str | None  # "apiKey ***", "missing" or "malformed"
    fault: str | None


#: Requests the log keeps by default (about 300 bytes each).
LOG_SIZE = 100_000


class RequestLog:
    """The last ``size`` requests the emulator received, in order; thread-safe. A ring, so a
    long-running emulator keeps a bounded log; ``received`` counts every request."""

    def __init__(self, size: int = LOG_SIZE) -> None:
        if size < 1:
            raise ValueError("the request log's size must be at least 1")
        self._entries: deque[LogEntry] = deque(maxlen=size)
        self._recorded = 0  # every request ever recorded (``clear`` does not reset it)
        self._lock = threading.Lock()

    def append(self, entry: LogEntry) -> None:
        """Record one request (the oldest is dropped once the ring is full)."""
        with self._lock:
            self._entries.append(entry)
            self._recorded += 1

    @property
    def received(self) -> int:
        """Every request recorded, including those the ring has dropped."""
        with self._lock:
            return self._recorded

    def mark(self) -> int:
        """A point in the log, for :meth:`since`."""
        with self._lock:
            return self._recorded

    def since(self, mark: int) -> list[LogEntry]:
        """The requests recorded after ``mark`` (those still in the log)."""
        with self._lock:
            newer = min(self._recorded - mark, len(self._entries))
            return list(self._entries)[-newer:] if newer > 0 else []

    @property
    def entries(self) -> list[LogEntry]:
        """A snapshot of the log."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        """Forget everything logged so far."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[LogEntry]:
        """Iterate over a snapshot of the log (``entries``)."""
        return iter(self.entries)


@dataclass
class Answer:
    """What a route returns: a status and a JSON body (or raw bytes; with ``encoded``, bytes
    that are the JSON body already, as :func:`~.state.encode` gives it)."""

    status: int
    body: Any
    headers: dict[str, str] | None = None
    off_contract: str | None = None  # see Exchange
    encoded: bool = False


Route = Callable[["Request"], Answer]


@dataclass
class Request:
    """A parsed request as routes see it."""

    method: str
    path: str
    params: dict[str, list[str]]
    body: bytes
    match: re.Match[str]

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400."""
        try:
            data = json.loads(self.body or b"null", parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):  # Recursion: nested deep
            raise ApiError(400, "Request body is not valid JSON (RFC 8259: no NaN, Infinity "
                                "or -Infinity)") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Request body must be a JSON object")
        return data

    def one(self, name: str) -> str | None:
        """A query parameter given at most once."""
        values = self.params.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise ApiError(400, f"Query parameter {name!r} given more than once")
        return values[0]


def _no_constant(name: str) -> Any:
    """``json.loads``'s hook for ``NaN``, ``Infinity`` and ``-Infinity``: Python's parser
    takes them, JSON (RFC 8259) does not, and a stored ``NaN`` would make every later
    answer that shows it invalid JSON."""
    raise ValueError(f"{name} is not JSON")


#: Query parameters of ``GET /jobs`` (IonQ's ``GetJobsQueryParams``; it takes no others).
_LIST_PARAMS = frozenset({"ids", "parent_job_id", "status", "target", "session_id",
                          "submitter_id", "limit", "next"})


def build_routes(store: JobStore, sessions: SessionStore | None = None
                 ) -> list[tuple[str, re.Pattern[str], bool, Route]]:
    """The API's routes: (method, path pattern, needs auth, handler). Concrete paths come
    before templated ones (``/jobs/estimate`` is not a job id)."""

    sessions = sessions or SessionStore(store)

    def list_jobs(req: Request) -> Answer:
        if "sid" in req.match.groupdict():  # GET /sessions/{id}/jobs
            sessions.check(req.match["sid"])
            req.params.setdefault("session_id", [req.match["sid"]])
        unknown = sorted(set(req.params) - _LIST_PARAMS)
        if unknown:
            raise ApiError(400, f"Unknown query parameter(s): {', '.join(unknown)}",
                           keys=unknown, source="params")
        limit_raw = req.one("limit")
        try:
            limit = int(limit_raw) if limit_raw is not None else LIST_LIMIT_DEFAULT
        except ValueError:
            raise ApiError(400, "'limit' must be an integer", keys=["limit"],
                           source="params") from None
        # IonQ's document bounds 'limit' nowhere: a page holds 1 to LIST_LIMIT_MAX jobs
        # whatever it asks (a page may hold fewer than asked; 'next' says whether more come).
        limit = min(max(limit, 1), LIST_LIMIT_MAX)
        # ``ids`` is a repeated parameter (ids=a&ids=b); a comma list is taken too.
        ids = [i for value in req.params.get("ids", []) for i in value.split(",")]
        if "" in ids:  # an empty filter must never widen into "every job"
            raise ApiError(400, "Query parameter 'ids' has an empty value", keys=["ids"],
                           source="params")
        return Answer(200, store.list_encoded(
            ids=ids, status=req.one("status"), target=req.one("target"),
            session_id=req.one("session_id"), parent_job_id=req.one("parent_job_id"),
            submitter_id=req.one("submitter_id"), limit=limit, cursor=req.one("next"),
        ), encoded=True)

    def cancel(req: Request) -> Answer:
        body = store.cancel(req.match["id"])
        noop = (store.finished_cancel in OFF_CONTRACT_CANCEL_MODES and isinstance(body, dict)
                and body.get("status") != "canceled")
        return Answer(200, body, off_contract="finished_cancel='noop' answers a final job's "
                      "own status" if noop else None)

    def last(req: Request) -> dict[str, str]:
        return {name: values[-1] for name, values in req.params.items()}

    p = API_PREFIX
    job = f"/jobs/(?P<id>{_UUIDISH})"
    backend = "/backends/(?P<name>[^/]+)"
    session = f"/sessions/(?P<sid>{_UUIDISH})"
    table: list[tuple[str, str, bool, Route]] = [
        ("POST", "/jobs", True, lambda r: Answer(201, sessions.submit(r.json()))),
        ("GET", "/jobs", True, list_jobs),
        ("DELETE", "/jobs", True, lambda r: Answer(200, store.delete_many(r.json()))),
        ("PUT", "/jobs/status/cancel", True, lambda r: Answer(200, store.cancel_many(r.json()))),
        ("GET", "/jobs/estimate", True, lambda r: Answer(200, catalog.estimate(
            last(r), store.prices, store.lifecycle))),
        ("GET", job, True, lambda r: Answer(200, store.get(r.match["id"]))),
        ("DELETE", job, True, lambda r: Answer(200, store.delete(r.match["id"]))),
        ("PUT", f"{job}/status/cancel", True, cancel),
        ("POST", f"{job}/clone", True, lambda r: Answer(201, sessions.submit(
            store.clone_body(r.match["id"], r.json())))),
        *(("GET", f"{job}/results/(?P<kind>{kind})", True,
           lambda r: Answer(200, store.result(r.match["id"], r.match["kind"])))
          for kind in ("probabilities", "shots", "histogram")),
        ("GET", f"{job}/artifacts/(?P<artifact>[^/]+)", True,
         lambda r: Answer(200, store.artifact(r.match["id"], r.match["artifact"]))),
        ("GET", f"{job}/cost", True, lambda r: Answer(200, store.cost(r.match["id"]))),
        ("POST", "/sessions", True, lambda r: Answer(201, sessions.create(r.json()))),
        ("GET", "/sessions", True,
         lambda r: Answer(200, sessions.list(last(r).get("active")))),
        ("GET", session, True, lambda r: Answer(200, sessions.get(r.match["sid"]))),
        ("POST", f"{session}/end", True, lambda r: Answer(200, sessions.end(r.match["sid"]))),
        ("GET", f"{session}/jobs", True, list_jobs),
        ("GET", "/whoami", True, lambda r: Answer(200, catalog.whoami())),
        ("GET", "/organizations/(?P<org>[^/]+)/usage", True,
         lambda r: Answer(200, catalog.usage(r.match["org"], last(r)))),
        ("GET", "/schemas/formats/(?P<format>[^/]+)", True,
         lambda r: Answer(200, format_schema(r.match["format"]))),
        # IonQ's backend list is public; qiskit-ionq asks it for qubit counts without a key.
        ("GET", "/backends", False, lambda r: Answer(200, catalog.backend_views())),
        ("GET", backend, False,
         lambda r: Answer(200, catalog.backend_view(catalog.known_backend(r.match["name"])))),
        ("GET", f"{backend}/characterizations", False,
         lambda r: Answer(200, catalog.characterizations(
             catalog.known_backend(r.match["name"]), last(r)))),
        ("GET", f"{backend}/characterizations/(?P<cid>[^/]+)", True,
         lambda r: Answer(200, _characterization(r.match["name"], r.match["cid"]))),
    ]
    return [(m, re.compile(f"{re.escape(p)}{pattern}"), auth, fn) for m, pattern, auth, fn in table]


def parse_query(query: str) -> dict[str, list[str]]:
    """The query's parameters: ``parse_qs(query, keep_blank_values=True)``."""
    if "%" in query or "+" in query:
        return parse_qs(query, keep_blank_values=True)
    # Without escapes parse_qs only splits, 4 times slower (0.17 ms for a read-back's ids).
    params: dict[str, list[str]] = {}
    for field in query.split("&"):
        if field:
            name, _, value = field.partition("=")
            values = params.get(name)
            if values is None:
                params[name] = [value]
            else:
                values.append(value)
    return params


def _characterization(name: str, cid: str) -> dict[str, Any]:
    catalog.known_backend(name)
    if cid != catalog.characterization_id(name):
        raise ApiError(404, f"Characterization {cid[:80]!r} not found")
    return catalog.characterization(name)


def _fault_status(fault: Fault) -> int | None:
    """The status a fault answers with (``None``: no answer at all)."""
    return {"drop": None, "garbage": 200, "json": 200}.get(fault.kind, fault.status)


#: ``error`` of IonQ's error bodies where its document shows one ("Not Found Error", ...);
#: any other status says its HTTP reason phrase (IonQ's 400 says "Bad Request", its 500
#: "Internal Server Error").
_ERROR_NAMES = {401: "Unauthorized Error", 403: "Forbidden Error", 404: "Not Found Error"}


def error_body(status: int, message: str, *, keys: list[str] | None = None,
               source: str | None = None) -> dict[str, Any]:
    """IonQ's error body; a 400 about named fields carries IonQ's ``validation``."""
    body: dict[str, Any] = {"statusCode": status,
                            "error": _ERROR_NAMES.get(status, _phrase(status)),
                            "message": message}
    if keys and status == 400:
        body["validation"] = {"keys": keys, "source": source or "payload"}
    return body


class PromptShutdown(socketserver.TCPServer):
    """A mixin for a ``socketserver`` server: ``shutdown()`` returns as soon as
    ``serve_forever()`` has stopped, not up to ``poll_interval`` later.

    Hand-written: the stdlib's ``serve_forever`` notices ``shutdown()`` only when its
    ``select()`` times out; this one also waits on one end of a socket pair, which
    ``shutdown()`` writes to (the self-pipe trick). Serving is otherwise the stdlib's.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # before the listening socket: a failed bind calls server_close(), which closes them
        self._waker, self._wake = socket.socketpair()
        self._stopped = threading.Event()
        self._stopped.set()  # not serving
        super().__init__(*args, **kwargs)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.fileno(), selectors.EVENT_READ, "listener")
                selector.register(self._waker, selectors.EVENT_READ, "waker")
                while True:
                    ready = {key.data for key, _ in selector.select(poll_interval)}
                    if "waker" in ready:
                        self._waker.recv(64)
                        break
                    if "listener" in ready:
                        self.handle_request()  # the connection waiting: accepted at once
                    self.service_actions()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self._wake.send(b"\0")
        self._stopped.wait()

    def server_close(self) -> None:
        super().server_close()
        self._waker.close()
        self._wake.close()


class EmulatorServer(PromptShutdown, ThreadingHTTPServer):
    """The threaded server, holding the parts its handlers need."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the stdlib's 5 drops connections under load

    def __init__(self, address: tuple[str, int], *, store: JobStore, faults: FaultInjector,
                 log: RequestLog, api_keys: frozenset[str],
                 observer: AnswerObserver | None = None,
                 sessions: SessionStore | None = None) -> None:
        self.observer = observer
        self.store = store
        self.faults = faults
        self.log = log
        self.api_keys = api_keys
        self.routes = build_routes(store, sessions)
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A handler's exception goes to ``logging``, not to stderr as the stdlib prints it; a
        client that closes or resets its connection is normal traffic (a client closing its
        pool between two kept-alive requests), not an error."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            logger.debug("Connection from %s ended by the client: %r", client_address, exc)
            return
        logger.error("Error handling a request from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        """Close every open keep-alive connection (so stopping never hangs on a client)."""
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer
    timeout = 120  # idle keep-alive connections end after this
    fault: Fault | None = None  # the fault the current answer commits (for answer_observer)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the stdlib's stderr log: the request log and ``logging`` replace it."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def __getattr__(self, name: str) -> Any:
        # Any other method (OPTIONS, TRACE, HEAD, ...) is routed like the five above: a 405
        # with Allow on an API path, a 404 elsewhere, in IonQ's error body; not the stdlib's
        # HTML "501 Not Implemented", a 5xx no fault was injected for.
        if name.startswith("do_"):
            return lambda: self._handle(name[3:])
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The stdlib's own error answers (a malformed request line, a request line or
        headers too long) in IonQ's error body too; the connection is closed after them."""
        self.close_connection = True
        self.fault = None
        if code == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED:  # "HTTP/9.9": a bad request too
            code, message = 400, f"Unsupported HTTP version ({message or 'unknown'})"
        self._send(Answer(code, error_body(code, message or _phrase(code))))

    def _handle(self, method: str) -> None:
        self.server.faults.enter()
        try:
            self._handle_counted(method)
        finally:
            self.server.faults.leave()

    def _handle_counted(self, method: str) -> None:
        arrived = time.time()
        started = time.monotonic()
        try:
            split = urlsplit(self.path)
        except ValueError as exc:  # "http://[/v0.4/jobs": an unclosed IPv6 bracket
            self._refuse_target(method, arrived, started, str(exc))
            return
        auth = self._auth_label()
        fault = self.server.faults.decide(method, split.path)
        answer: Answer | None = None
        if fault is not None and not fault.after and fault.kind != "hang":
            self._discard_body()  # else it would be read as the next kept-alive request
        else:
            if fault is not None and fault.kind == "hang":
                time.sleep(fault.delay)
            answer = self._answer(method, split.path, split.query)
        shown = fault if fault is not None and fault.kind != "hang" else None
        self.fault = shown
        status = _fault_status(shown) if shown is not None else answer.status if answer else None
        # Logged before the answer goes out, so a client that has its answer always finds
        # its request in the log (no race for tests to paper over).
        self.server.log.append(LogEntry(
            method=method, path=split.path, query=split.query, status=status, time=arrived,
            duration=time.monotonic() - started, auth=auth,
            fault=None if fault is None else fault.kind,
        ))
        logger.debug("%s %s -> %s%s", method, split.path, status,
                     f" (fault: {fault.kind})" if fault else "")
        self._delay()
        if shown is not None:
            self._misbehave(shown)
        elif answer is not None:
            self._send(answer)

    def _refuse_target(self, method: str, arrived: float, started: float, why: str) -> None:
        """Answer 400 to a request target that is not a URL (and close the connection)."""
        self._discard_body()
        self.close_connection = True
        self.fault = None
        shown = self.path[:200]
        self.server.log.append(LogEntry(
            method=method, path=shown, query="", status=400, time=arrived,
            duration=time.monotonic() - started, auth=self._auth_label(), fault=None))
        self._send(Answer(400, error_body(400, f"Malformed request target {shown[:80]!r}: "
                                               f"{why}")))

    def _auth_label(self) -> str:
        header = self.headers.get("Authorization")
        if header is None:
            return "missing"
        return "apiKey ***" if header.startswith("apiKey ") else "malformed"

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("apiKey "):
            return False
        key = header[len("apiKey "):].strip()
        if not key:
            return False
        return not self.server.api_keys or key in self.server.api_keys

    def _body_length(self) -> int | None:
        """The request's Content-Length (0 when absent), ``None`` when it is malformed."""
        raw = self.headers.get("Content-Length")
        if raw is None:
            return 0
        return int(raw.strip()) if re.fullmatch(r"[0-9]+", raw.strip()) else None

    def _discard_body(self) -> None:
        """Read and drop the request body, so a kept-alive connection stays in step."""
        length = self._body_length()
        if length is None or length > MAX_BODY_BYTES:
            self.close_connection = True
        elif length:
            self.rfile.read(length)

    def _answer(self, method: str, path: str, query: str) -> Answer:
        length = self._body_length()
        if length is None:
            self.close_connection = True
            return Answer(400, error_body(400, "Invalid Content-Length header"))
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return Answer(413, error_body(413, "Request body is larger than 10 MB"))
        body = self.rfile.read(length) if length else b""
        path_allowed: list[str] = []
        for route_method, pattern, needs_auth, handler in self.server.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if route_method != method:
                path_allowed.append(route_method)
                continue
            if needs_auth and not self._authorised():
                return Answer(401, error_body(401, "Invalid or missing API key. Send the "
                                                   "header 'Authorization: apiKey <KEY>'"))
            request = Request(method, path, parse_query(query), body, match)
            try:
                return handler(request)
            except ApiError as exc:
                return Answer(exc.status, error_body(exc.status, exc.message, keys=exc.keys,
                                                     source=exc.source))
            except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
                # The client's data broke a computation (huge pauliexp coefficients, say):
                # a bad request, answered as IonQ would, never a dropped connection.
                logger.info("%s %s: bad request (%s: %s)", method, path,
                            type(exc).__name__, exc)
                return Answer(400, error_body(400, "The request could not be processed: "
                                                   f"{type(exc).__name__}"))
            except Exception:  # a bug of the emulator: an answer, never a dropped connection
                logger.exception("%s %s: the emulator failed", method, path)
                return Answer(500, error_body(500, "The emulator failed on this request (a "
                                                   "bug: see its log)"))
        if path_allowed:
            return Answer(405, error_body(405, f"Cannot {method} {path}"),
                          {"Allow": ", ".join(sorted(set(path_allowed)))})
        return Answer(404, error_body(404, f"Cannot {method} {path}"))

    def _delay(self) -> None:
        if self.server.faults.latency:
            time.sleep(self.server.faults.latency)

    def _misbehave(self, fault: Fault) -> None:
        """Commit ``fault`` instead of the honest answer."""
        if fault.kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault.kind == "garbage":
            self._send(Answer(200, b"<html><body>502 Bad Gateway (upstream)</body></html>",
                              {"Content-Type": "text/html"}))
            return
        if fault.kind == "json":  # off the document by design: the point of the fault
            self._send(Answer(200, fault.body, off_contract="an injected json fault"))
            return
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        message = {
            429: "Too Many Requests. To get a higher rate limit, please reach out to "
                 "support@ionq.co",
            # as IonQ's own 404 for an unknown job, which names the job (a 404 naming none
            # tells clients the base URL is wrong)
            404: "Injected fault: job not found",
        }.get(fault.status, f"Injected fault: {_phrase(fault.status)}")
        self._send(Answer(fault.status, error_body(fault.status, message), headers))

    def _send(self, answer: Answer) -> None:
        if answer.encoded:
            payload = answer.body
            content_type = "application/json; charset=utf-8"
        elif isinstance(answer.body, bytes):
            payload = answer.body
            content_type = "application/octet-stream"
        else:
            payload = encode(answer.body)
            content_type = "application/json; charset=utf-8"
        headers = {"Content-Type": content_type, **(answer.headers or {})}
        if self.close_connection:
            headers["Connection"] = "close"
        lines = [f"HTTP/1.1 {answer.status} {_phrase(answer.status)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(payload)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.server.observer is not None:
            self.server.observer(Exchange(self.command or "", getattr(self, "path", ""),
                                          answer.status, headers, payload, self.fault,
                                          answer.off_contract))
        try:
            # one write: see the module docstring; an answer to HEAD has no body
            self.wfile.write(head + (payload if self.command != "HEAD" else b""))
        except OSError:
            self.close_connection = True


def _phrase(status: int) -> str:
    """The reason phrase of a status, also for those the stdlib does not know (520-529)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown Error"
