"""The HTTP layer: auth, routes and their errors, public backends, the body limit, keep-alive,
the request log, starting and stopping."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from contract.observed import Emulator, running
from support import KEY, TIMEOUT, Api, assert_ionq_error, auth, job_body

from qiskit_ionq_cancel.emulator import BACKENDS, Fault
from qiskit_ionq_cancel.emulator.server import parse_query

UNKNOWN = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def raw_connection(emulator: Emulator) -> http.client.HTTPConnection:
    """A plain ``http.client`` connection to the emulator: its ``sock`` shows whether the
    server kept the connection open (it becomes ``None`` once either side closed it)."""
    host, port = emulator.url.split("//")[1].split("/")[0].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)


def exchange(conn: http.client.HTTPConnection, method: str, path: str,
             body: bytes | None = None) -> tuple[int, bytes]:
    headers = {**auth(), "Content-Type": "application/json"}
    conn.request(method, "/v0.4" + path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


# -- auth -------------------------------------------------------------------------------------

@pytest.mark.ionq_emulator(api_keys=["good-key", "other-key"])
@pytest.mark.parametrize("key", ["good-key", "other-key"])
def test_configured_keys_pass(ionq_emulator: Emulator, api_for: Any, key: str) -> None:
    assert api_for(ionq_emulator, key=key).get("/jobs").status_code == 200


@pytest.mark.ionq_emulator(api_keys=["good-key"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "apiKey wrong-key"},
        {"Authorization": "apiKey "},
        {"Authorization": ""},
        {"Authorization": "Bearer good-key"},
        {"Authorization": "apikey good-key"},
        {"Authorization": "good-key"},
        {"Authorization": "apiKey good-key-and-more"},
    ],
)
def test_other_credentials_answer_401(ionq_emulator: Emulator, headers: dict[str, str]) -> None:
    response = requests.get(f"{ionq_emulator.url}/jobs", headers=headers, timeout=TIMEOUT)
    body = assert_ionq_error(response, 401)
    assert body["error"] == "Unauthorized Error"  # IonQ's example body
    assert "good-key" not in response.text


@pytest.mark.parametrize("key", ["anything", "x", KEY])
def test_without_configured_keys_any_non_empty_key_passes(ionq_emulator: Emulator,
                                                          key: str) -> None:
    response = requests.get(f"{ionq_emulator.url}/jobs", headers=auth(key), timeout=TIMEOUT)
    assert response.status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "apiKey "},
                                     {"Authorization": "apiKey    "},
                                     {"Authorization": "Basic dXNlcjpwdw=="}])
def test_without_configured_keys_missing_or_empty_key_answers_401(
        ionq_emulator: Emulator, headers: dict[str, str]) -> None:
    response = requests.get(f"{ionq_emulator.url}/jobs", headers=headers, timeout=TIMEOUT)
    assert_ionq_error(response, 401)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/jobs"), ("GET", "/jobs"), ("GET", f"/jobs/{UNKNOWN}"),
     ("DELETE", f"/jobs/{UNKNOWN}"), ("PUT", f"/jobs/{UNKNOWN}/status/cancel"),
     ("PUT", "/jobs/status/cancel"), ("GET", f"/jobs/{UNKNOWN}/results/probabilities")],
)
def test_every_job_route_needs_a_key(ionq_emulator: Emulator, api_for: Any, method: str,
                                     path: str) -> None:
    client = api_for(ionq_emulator, key=None)
    assert_ionq_error(client.request(method, path, json={"ids": [UNKNOWN]}), 401)
    assert ionq_emulator.store.counts() == {}


# -- backends (public) ------------------------------------------------------------------------

@pytest.mark.ionq_emulator(api_keys=["good-key"])
def test_backends_are_public(ionq_emulator: Emulator, api_for: Any) -> None:
    client = api_for(ionq_emulator, key=None)
    response = client.get("/backends")
    assert response.status_code == 200
    listed = response.json()
    assert {b["backend"]: b["qubits"] for b in listed if b["status"] == "available"} == BACKENDS
    assert {b["status"] for b in listed if b["backend"] not in BACKENDS} == {"retired"}
    one = client.get("/backends/simulator")
    assert one.status_code == 200
    assert one.json()["backend"] == "simulator"
    assert one.json()["qubits"] == 29
    # a wrong key does not matter on a public route
    wrong = api_for(ionq_emulator, key="wrong").get("/backends/qpu.forte-1")
    assert wrong.status_code == 200
    assert wrong.json()["qubits"] == 36


def test_unknown_backend_answers_404(api: Api) -> None:
    assert "qpu.nowhere" in assert_ionq_error(api.get("/backends/qpu.nowhere"), 404)["message"]


# -- routes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/nope", "/jobs/a/b/c/d", "/backends/a/b", "/jobs/",
                                  f"/jobs/{UNKNOWN}/results", f"/jobs/{UNKNOWN}/status"])
def test_unknown_route_answers_404(api: Api, path: str) -> None:
    assert "Cannot GET" in assert_ionq_error(api.get(path), 404)["message"]


@pytest.mark.parametrize("url_path", ["/v0.3/jobs", "/jobs", "/", "/v0.4"])
def test_paths_outside_the_api_answer_404(ionq_emulator: Emulator, url_path: str) -> None:
    base = ionq_emulator.url.removesuffix("/v0.4")
    response = requests.get(base + url_path, headers=auth(), timeout=TIMEOUT)
    assert_ionq_error(response, 404)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("PATCH", "/jobs", "DELETE, GET, POST"), ("PUT", "/jobs", "DELETE, GET, POST"),
     ("GET", "/jobs/status/cancel", "PUT"), ("POST", "/jobs/status/cancel", "PUT"),
     ("POST", f"/jobs/{UNKNOWN}/status/cancel", "PUT"),
     ("GET", f"/jobs/{UNKNOWN}/status/cancel", "PUT"),
     ("PUT", f"/jobs/{UNKNOWN}", "DELETE, GET"),
     ("POST", "/backends", "GET"), ("DELETE", "/backends/simulator", "GET")],
)
def test_wrong_method_answers_405_with_allow(api: Api, method: str, path: str,
                                             allowed: str) -> None:
    response = api.request(method, path)
    body = assert_ionq_error(response, 405)
    assert body["error"] == "Method Not Allowed"
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", UNKNOWN.upper(), UNKNOWN.replace("-", ""), "{" + UNKNOWN + "}",
            "urn:uuid:" + UNKNOWN, UNKNOWN[:-1], "123"])
@pytest.mark.parametrize(
    ("method", "template"),
    [("GET", "/jobs/{}"), ("DELETE", "/jobs/{}"), ("PUT", "/jobs/{}/status/cancel"),
     ("GET", "/jobs/{}/results/probabilities")],
)
def test_malformed_job_id_answers_400(api: Api, method: str, template: str, bad: str) -> None:
    body = assert_ionq_error(api.request(method, template.format(bad)), 400)
    assert "UUID" in body["message"]


@pytest.mark.parametrize(
    ("method", "template"),
    [("GET", "/jobs/{}"), ("DELETE", "/jobs/{}"), ("PUT", "/jobs/{}/status/cancel"),
     ("GET", "/jobs/{}/results/probabilities")],
)
def test_unknown_job_answers_404(api: Api, method: str, template: str) -> None:
    body = assert_ionq_error(api.request(method, template.format(UNKNOWN)), 404)
    assert body["error"] == "Not Found Error"  # IonQ's example body
    assert UNKNOWN in body["message"]


def test_answers_are_compact_json(api: Api) -> None:
    response = api.get("/jobs")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["Content-Length"] == str(len(response.content))


# -- body size --------------------------------------------------------------------------------

def test_body_over_10_mb_answers_413_and_closes(ionq_emulator: Emulator, api: Api) -> None:
    # Only the header claims 10 MB + 1: the server must judge by Content-Length without
    # reading (or waiting for) the body.
    response = api.post("/jobs", headers={"Content-Length": str(10 * 1024 * 1024 + 1)})
    body = assert_ionq_error(response, 413)
    assert "10 MB" in body["message"]
    assert response.headers["Connection"] == "close"
    assert ionq_emulator.store.counts() == {}
    assert ionq_emulator.log.entries[-1].status == 413
    assert api.get("/jobs").status_code == 200  # a new connection serves again


def test_a_real_body_over_10_mb_answers_413(ionq_emulator: Emulator, api: Api) -> None:
    response = api.post("/jobs", data=b"x" * (10 * 1024 * 1024 + 1),
                        headers={"Content-Type": "application/json"})
    assert_ionq_error(response, 413)
    assert ionq_emulator.store.counts() == {}


def test_a_body_of_exactly_10_mb_is_read(api: Api) -> None:
    response = api.post("/jobs", data=b"x" * (10 * 1024 * 1024),
                        headers={"Content-Type": "application/json"})
    assert "JSON" in assert_ionq_error(response, 400)["message"]  # read, then judged


@pytest.mark.parametrize("length", ["abc", "-1", "1e3"])
def test_malformed_content_length_answers_400(ionq_emulator: Emulator, api: Api,
                                              length: str) -> None:
    response = api.post("/jobs", headers={"Content-Length": length})
    assert_ionq_error(response, 400)
    assert ionq_emulator.log.entries[-1].status == 400
    assert api.get("/jobs").status_code == 200


def test_a_body_of_some_size_is_accepted(api: Api) -> None:
    padding = "x" * 200_000
    response = api.post("/jobs", json=job_body(name=padding))
    assert response.status_code == 201
    assert api.job(response.json()["id"])["name"] == padding


# -- keep-alive -------------------------------------------------------------------------------

def test_keep_alive_reuses_one_connection(ionq_emulator: Emulator) -> None:
    [job_id] = ionq_emulator.store.add_jobs(1)
    conn = raw_connection(ionq_emulator)
    try:
        assert exchange(conn, "GET", "/jobs")[0] == 200
        sock = conn.sock
        assert sock is not None
        port = sock.getsockname()[1]
        statuses = [
            exchange(conn, "GET", f"/jobs/{job_id}")[0],
            exchange(conn, "GET", f"/jobs/{UNKNOWN}")[0],  # an error keeps it open too
            exchange(conn, "PUT", f"/jobs/{job_id}/status/cancel")[0],
            exchange(conn, "POST", "/jobs", json.dumps(job_body()).encode())[0],
            exchange(conn, "GET", "/backends")[0],
        ]
        assert statuses == [200, 404, 200, 201, 200]
        assert conn.sock is sock  # never closed, never reopened
        assert sock.getsockname()[1] == port
        assert len(ionq_emulator.log) == 6
    finally:
        conn.close()


def test_keep_alive_with_requests_session(ionq_emulator: Emulator, api: Api) -> None:
    responses = [api.get("/jobs"), api.get(f"/jobs/{UNKNOWN}"), api.get("/backends")]
    assert [r.status_code for r in responses] == [200, 404, 200]
    assert all("close" not in r.headers.get("Connection", "").lower() for r in responses)
    assert [e.status for e in ionq_emulator.log.entries] == [200, 404, 200]


@pytest.mark.parametrize("fault", [Fault.http(429, retry_after="1"), Fault.http(503)])
def test_keep_alive_after_a_fault_before_reading_the_body(ionq_emulator: Emulator,
                                                          fault: Fault) -> None:
    ionq_emulator.faults.inject(fault, method="POST")
    body = json.dumps(job_body()).encode()
    conn = raw_connection(ionq_emulator)
    try:
        assert exchange(conn, "POST", "/jobs", body)[0] == fault.status
        sock = conn.sock
        # the retry goes over the same connection: the first body must not be taken for the
        # start of the next request
        status, answer = exchange(conn, "POST", "/jobs", body)
        assert status == 201, answer
        assert conn.sock is sock
        assert sum(ionq_emulator.store.counts().values()) == 1
    finally:
        conn.close()


# -- the request log --------------------------------------------------------------------------

def test_log_records_each_request_with_the_key_redacted(start_emulator: Any) -> None:
    secret = "s3cr3t-Key-That-Must-Not-Leak"
    emu = start_emulator(api_keys=[secret])
    url = emu.url
    requests.post(f"{url}/jobs", json=job_body(), headers=auth(secret), timeout=TIMEOUT)
    requests.get(f"{url}/jobs", params={"limit": 3}, headers=auth(secret), timeout=TIMEOUT)
    requests.get(f"{url}/jobs", timeout=TIMEOUT)
    requests.get(f"{url}/jobs", headers={"Authorization": f"Bearer {secret}"},
                 timeout=TIMEOUT)
    requests.get(f"{url}/jobs", headers={"Authorization": secret}, timeout=TIMEOUT)
    requests.get(f"{url}/backends", headers=auth(secret), timeout=TIMEOUT)
    requests.delete(f"{url}/nowhere", headers=auth(secret), timeout=TIMEOUT)

    entries = emu.log.entries
    assert [(e.method, e.path, e.status, e.auth) for e in entries] == [
        ("POST", "/v0.4/jobs", 201, "apiKey ***"),
        ("GET", "/v0.4/jobs", 200, "apiKey ***"),
        ("GET", "/v0.4/jobs", 401, "missing"),
        ("GET", "/v0.4/jobs", 401, "malformed"),
        ("GET", "/v0.4/jobs", 401, "malformed"),
        ("GET", "/v0.4/backends", 200, "apiKey ***"),
        ("DELETE", "/v0.4/nowhere", 404, "apiKey ***"),
    ]
    assert entries[1].query == "limit=3"
    assert all(e.fault is None for e in entries)
    assert all(e.duration >= 0 for e in entries)
    assert [e.time for e in entries] == sorted(e.time for e in entries)
    for entry in entries:
        assert secret not in repr(entry)
        assert secret not in str(vars(entry))
    emu.log.clear()
    assert len(emu.log) == 0


# -- starting and stopping --------------------------------------------------------------------

def test_running_yields_a_v04_url_and_stops_after() -> None:
    with running(queue_time=0) as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/v0.4")
        assert requests.get(f"{url}/backends", timeout=TIMEOUT).status_code == 200
        response = requests.post(f"{url}/jobs", json=job_body(), headers=auth(),
                                 timeout=TIMEOUT)
        assert response.status_code == 201
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/backends", timeout=TIMEOUT)


def test_url_needs_a_running_emulator() -> None:
    emu = Emulator()
    assert "stopped" in repr(emu)
    with pytest.raises(RuntimeError):
        _ = emu.url
    with emu:
        assert emu.url in repr(emu)
        with pytest.raises(RuntimeError):
            emu.start()
    with pytest.raises(RuntimeError):
        _ = emu.url
    emu.stop()  # stopping twice is harmless


def test_stop_frees_the_port_and_closes_keep_alive_connections() -> None:
    emu = Emulator().start()
    port = int(emu.url.split(":")[2].split("/")[0])
    client = Api(emu.url)
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    try:
        assert client.get("/jobs").status_code == 200  # now an idle keep-alive connection
        raw.sendall(b"GET /v0.4/backends HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"\r\n\r\n" not in received:
            received += raw.recv(65536)
        head, _, rest = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(rest) < length:
            rest += raw.recv(65536)

        emu.stop()

        assert raw.recv(1) == b""  # the server closed the idle connection
        with pytest.raises(requests.ConnectionError):
            client.get("/jobs")
        with Emulator(port=port) as again:  # the port is free
            assert again.url == emu_url(port)
            assert requests.get(f"{again.url}/backends", timeout=TIMEOUT).status_code == 200
    finally:
        raw.close()
        client.close()
        emu.stop()


def emu_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/v0.4"


def test_stop_with_a_request_in_flight_does_not_hang() -> None:
    emu = Emulator().start()
    emu.faults.inject(Fault.hang(5))
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{emu.url}/backends", timeout=0.3)
    emu.stop()
    with pytest.raises(RuntimeError):
        _ = emu.url


@pytest.mark.parametrize("query", [
    "", "&", "&&", "a", "a=", "=b", "=", "a=1&a=2&b", "ids=x&&ids=y&", "a=b=c", "a==",
    "ids=0b6d0d1e-6fd6-4c2c-9a43-2b1f3a0e8f11,0b6d0d1e-6fd6-4c2c-9a43-2b1f3a0e8f12&limit=150",
    "%41=%42", "a+b=c+d", "a=%zz", "ids=%E2%82%AC", "a=1;b=2", "a=%", "x=é&y=ü", "?a=1",
    "a=1#b", " a = 1 ",
])
def test_the_query_is_parsed_as_parse_qs_parses_it(query: str) -> None:
    # the emulator's own parse (quicker for the long queries of read-backs) changes nothing
    assert parse_query(query) == parse_qs(query, keep_blank_values=True)


def _server() -> Any:
    from qiskit_ionq_cancel.emulator.faults import FaultInjector
    from qiskit_ionq_cancel.emulator.server import EmulatorServer, RequestLog
    from qiskit_ionq_cancel.emulator.state import JobStore

    return EmulatorServer(("127.0.0.1", 0), store=JobStore(), faults=FaultInjector(),
                          log=RequestLog(), api_keys=frozenset())


def test_a_client_resetting_its_connection_is_not_an_error(
        capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    """A client that resets a kept-alive connection between requests (a pool closing) is
    normal traffic: nothing on stderr (the stdlib would print a traceback there), no error
    logged."""
    server = _server()
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError:
            server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    assert capfd.readouterr().err == ""
    assert not [r for r in caplog.records if r.levelno >= 30]


def test_a_handler_crash_is_logged_not_printed(
        capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    server = _server()
    try:
        try:
            raise RuntimeError("a bug in a route")
        except RuntimeError:
            server.handle_error(None, ("127.0.0.1", 1))
    finally:
        server.server_close()
    assert "Exception occurred during processing" not in capfd.readouterr().err
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.exc_info is not None and "a bug in a route" in str(record.exc_info[1])


def test_shutdown_does_not_wait_for_the_poll_interval() -> None:
    """Stopping is immediate (600 emulators per test run each waited up to 0.05 s): the
    loop wakes on shutdown(), not when its select() times out; it still serves until then."""
    import threading
    import time

    server = _server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 60})
    thread.start()
    try:
        host, port = server.server_address[:2]
        answer = requests.get(f"http://{host}:{port}/v0.4/backends", timeout=TIMEOUT)
        assert answer.status_code == 200  # served while the loop waits on both sockets
        began = time.monotonic()
        server.shutdown()
        thread.join(30)
        assert not thread.is_alive()
        assert time.monotonic() - began < 30  # the stdlib's loop would take 60 s
    finally:
        server.server_close()
