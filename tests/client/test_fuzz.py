"""Fuzzing with Hypothesis: job ids into the client, raw requests into the emulator.

1. Job ids (any text, and near-UUIDs: upper case, braces, whitespace, path fragments,
   percent-encodings, look-alike Unicode, ...): nothing is ever sent for an id that is not a
   canonical UUID, through ``cancel(id, provider=...)``, ``cancel_jobs([id], ...)`` or
   ``backend.retrieve_job(id)``; and the emulator's log only ever shows the paths a canonical
   id may produce (checked with a regular expression, queries included).
2. Raw requests (methods, paths, query strings, headers, bodies) sent with ``http.client``:
   the emulator answers 2xx or 4xx with IonQ's error body, never a 5xx or a dropped
   connection, and its state stays consistent (job count changed only by a 201 to
   ``POST /jobs`` or a 200 to ``DELETE /jobs/{id}``; every job in one of the six statuses).

One emulator per fuzz test (module-scoped fixtures: function-scoped ones and ``@given`` do
not mix). Examples are bounded and derandomized, with no example database, so CI never
flakes and nothing is written to the work tree. The suite's autouse contract monitor
(conftest.py) is function-scoped but only collects problems, so sharing it across the
examples of one test is what is wanted: its health check is suppressed for that reason.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from contract.observed import Emulator
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support import CANONICAL_UUID, input_keys

from qiskit_ionq_cancel import (
    InvalidJobIdError,
    IonQProvider,
    JobNotFoundError,
    cancel,
    cancel_jobs,
)
from qiskit_ionq_cancel.emulator import ManualClock

KEY = "fuzz-key-5be0c2d94f"
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SIX = {"submitted", "ready", "started", "completed", "failed", "canceled"}
UUID_RE = CANONICAL_UUID.pattern
#: Every (method, path) a canonical id may make the client send, and nothing else.
ALLOWED = [
    ("PUT", re.compile(rf"/v0\.4/jobs/{UUID_RE}/status/cancel")),
    ("PUT", re.compile(r"/v0\.4/jobs/status/cancel")),
    ("GET", re.compile(rf"/v0\.4/jobs/{UUID_RE}")),
    ("GET", re.compile(r"/v0\.4/jobs")),  # read-back: its query is checked on its own
    ("GET", re.compile(r"/v0\.4/backends/simulator")),  # the provider's size look-up
]


# == 1. job ids ==================================================================================
canonical = st.uuids().map(str)
_hex = "0123456789abcdef"
#: Characters that look like hex digits or hyphens, or that vanish in print.
LOOKALIKES = ["\uff10", "\uff41", "\u0430", "\u0435", "\u0455", "\u2010", "\u2011", "\u2212",
              "\u00ad", "\u200b", "\ufeff", "\u0660", "\U0001d7ce", "A", "F", "g", "z", "_"]
FRAGMENTS = ["../", "..", "/", "%2F", "%2f", "%2e%2e%2f", "..%2F", "?", "#", "%00", "\\",
             "/status/cancel", "?ids=", "&", " ", "\t", "\n", "\r\n", "\x00", "\u00a0", "%20"]


@st.composite
def near_uuids(draw: st.DrawFn) -> str:
    """Strings one small step away from a canonical UUID."""
    good = draw(canonical)
    kind = draw(st.sampled_from(["upper", "braces", "urn", "no-hyphens", "space", "fragment",
                                 "lookalike", "non-hex", "truncate", "extend", "mixed-case"]))
    if kind == "upper":
        return good.upper() if good.upper() != good else good + "X"
    if kind == "braces":
        return "{" + good + "}"
    if kind == "urn":
        return "urn:uuid:" + good
    if kind == "no-hyphens":
        return good.replace("-", "")
    if kind == "space":
        pad = draw(st.sampled_from([" ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\x0b"]))
        return draw(st.sampled_from([pad + good, good + pad, pad + good + pad]))
    if kind == "fragment":
        piece = draw(st.sampled_from(FRAGMENTS))
        at = draw(st.integers(0, len(good)))
        return good[:at] + piece + good[at:]
    if kind == "lookalike":
        at = draw(st.integers(0, len(good) - 1))
        return good[:at] + draw(st.sampled_from(LOOKALIKES)) + good[at + 1:]
    if kind == "non-hex":
        at = draw(st.sampled_from([i for i, c in enumerate(good) if c in _hex]))
        return good[:at] + draw(st.sampled_from("ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ")) + \
            good[at + 1:]
    if kind == "truncate":
        return good[:draw(st.integers(0, len(good) - 1))]
    if kind == "extend":
        return good + draw(st.text(min_size=1, max_size=5))
    # mixed-case: at least one hex letter upper-cased
    letters = [i for i, c in enumerate(good) if c in "abcdef"]
    if not letters:
        return good + "-"
    at = draw(st.sampled_from(letters))
    return good[:at] + good[at].upper() + good[at + 1:]


job_ids = st.one_of(
    st.text(),
    st.text(alphabet=_hex + "-{}/.% ", min_size=30, max_size=40),
    st.from_regex(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                  r"[0-9a-fA-F]{12}", fullmatch=True),
    near_uuids(),
    canonical,  # the positive control: these are sent (and are unknown: 404)
)


@pytest.fixture(scope="module")
def id_emu() -> Iterator[Emulator]:
    with Emulator(api_keys=[KEY], clock=ManualClock(), queue_time=100, seed=1) as emu:
        yield emu


@pytest.fixture(scope="module")
def id_provider(id_emu: Emulator) -> IonQProvider:
    return IonQProvider(KEY, url=id_emu.url)


def check_log(emu: Emulator, since: int, job_id: str | None) -> list[tuple[str, str]]:
    """Every request since ``since`` is one a canonical id may produce, naming ``job_id``
    (or no id) and nothing else; return them as (method, path)."""
    seen = []
    for entry in emu.log.since(since):
        assert any(method == entry.method and pattern.fullmatch(entry.path)
                   for method, pattern in ALLOWED), (entry.method, entry.path)
        ids_in_path = re.findall(UUID_RE, entry.path)
        assert ids_in_path in ([], [job_id]), entry.path
        if entry.path == "/v0.4/jobs":
            query = parse_qs(entry.query, keep_blank_values=True)
            assert set(query) <= {"ids", "limit"}, entry.query
            assert query["ids"] == [job_id], entry.query
        else:
            assert entry.query == "", entry.query
        seen.append((entry.method, entry.path))
    return seen


@FUZZ
@given(job_id=job_ids)
def test_fuzzed_job_ids_never_reach_a_url_unless_canonical(
        job_id: str, id_emu: Emulator, id_provider: IonQProvider) -> None:
    valid = CANONICAL_UUID.fullmatch(job_id) is not None
    event("canonical" if valid else "not canonical")
    backend = id_provider.get_backend("simulator")
    mark = id_emu.log.mark()

    # cancel(id, provider=...)
    if valid:
        with pytest.raises(JobNotFoundError):
            cancel(job_id, provider=id_provider)
        assert check_log(id_emu, mark, job_id) == [
            ("PUT", f"/v0.4/jobs/{job_id}/status/cancel")]
    else:
        with pytest.raises(InvalidJobIdError) as info:
            cancel(job_id, provider=id_provider)
        assert info.value.job_id == job_id
        assert id_emu.log.since(mark) == []

    # cancel_jobs([id], ...)
    mark = id_emu.log.mark()
    report = cancel_jobs([job_id], provider=id_provider)
    (key,) = input_keys([job_id])  # the id itself, or "#0 <repr>" for an invalid one
    assert list(report.errors) == [key] and report.statuses == {}
    if valid:
        assert report.not_found == [job_id]
        assert report.requests == len(id_emu.log.since(mark)) > 0
        check_log(id_emu, mark, job_id)
    else:
        assert isinstance(report.errors[key], InvalidJobIdError)
        assert report.requests == 0 and id_emu.log.since(mark) == []

    # backend.retrieve_job(id)
    mark = id_emu.log.mark()
    if valid:
        with pytest.raises(JobNotFoundError):
            backend.retrieve_job(job_id)
        assert check_log(id_emu, mark, job_id) == [("GET", f"/v0.4/jobs/{job_id}")]
    else:
        with pytest.raises(InvalidJobIdError):
            backend.retrieve_job(job_id)
        assert id_emu.log.since(mark) == []


#: Not even strings: ``UUID`` objects and bytes too must be refused, not stringified and sent.
not_text = st.none() | st.integers() | st.binary(max_size=40) | st.uuids() | \
    st.uuids().map(lambda u: str(u).encode())


@FUZZ
@given(items=st.lists(job_ids | not_text, max_size=6).filter(
    lambda items: not items or items[0] is not None))  # see test_a_batch_starting_with_none

def test_fuzzed_batches_send_only_their_canonical_ids(
        items: list[Any], id_emu: Emulator, id_provider: IonQProvider) -> None:
    mark = id_emu.log.mark()
    report = cancel_jobs(items, provider=id_provider)
    valid = {i for i in items if isinstance(i, str) and CANONICAL_UUID.fullmatch(i)}
    keys = set(input_keys(items))
    assert set(report.errors) == keys and report.statuses == {}
    assert all(isinstance(report.errors[k], InvalidJobIdError) for k in keys - valid)
    assert set(report.not_found) == valid
    sent_ids: set[str] = set()
    for entry in id_emu.log.since(mark):
        assert any(method == entry.method and pattern.fullmatch(entry.path)
                   for method, pattern in ALLOWED), (entry.method, entry.path)
        sent_ids.update(re.findall(UUID_RE, entry.path))
        for value in parse_qs(entry.query, keep_blank_values=True).get("ids", []):
            assert CANONICAL_UUID.fullmatch(value), entry.query
            sent_ids.add(value)
    assert sent_ids == valid


def test_a_batch_starting_with_none_loses_no_job(id_emu: Emulator,
                                                 id_provider: IonQProvider) -> None:
    ids = id_emu.store.add_jobs(2)
    report = cancel_jobs([None, *ids], provider=id_provider)  # type: ignore[list-item]
    assert report.total == 3
    assert sorted(report.cancelled) == sorted(ids)
    assert isinstance(report.errors["#0 None"], InvalidJobIdError)


# == 2. raw requests into the emulator ===========================================================
@pytest.fixture(scope="module")
def raw_emu() -> Iterator[Emulator]:
    with Emulator(api_keys=[KEY], clock=ManualClock(), queue_time=100, seed=2) as emu:
        emu.store.add_jobs(20)
        yield emu


@pytest.fixture(scope="module")
def raw_ids(raw_emu: Emulator) -> list[str]:
    """The ids the fuzzing may name: fixed at the start (generation must not depend on the
    state it changes); a deleted one is then a 404."""
    return list(raw_emu.store.iter_ids())


SEGMENTS = ["jobs", "status", "cancel", "results", "probabilities", "backends", "simulator",
            "qpu.aria-1", "..", ".", "", "%2F", "%2e%2e", "%00", "%ZZ", "v0.4", "%E2%82%AC",
            "jobs;x", "*", "~", "%25", "%C0%AF"]
VALID_BELL = {"type": "ionq.circuit.v1", "backend": "simulator", "shots": 10, "name": "bell",
              "input": {"gateset": "qis", "qubits": 2, "circuit": [
                  {"gate": "h", "targets": [0]}, {"gate": "x", "targets": [1], "controls": [0]}]},
              "metadata": {"shots": "10"}}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)


@st.composite
def job_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid job body, with some fields replaced by anything."""
    body: dict[str, Any] = json.loads(json.dumps(VALID_BELL))
    for field in draw(st.lists(st.sampled_from(["type", "backend", "shots", "name", "input",
                                                "metadata", "session_id", "noise",
                                                "settings", "dry_run"]), max_size=3)):
        body[field] = draw(json_values)
    if draw(st.booleans()):
        block = body["input"] if isinstance(body["input"], dict) else {}
        block[draw(st.sampled_from(["qubits", "circuit", "gateset"]))] = draw(
            st.integers(-3, 25) | json_values)
        body["input"] = block
    if draw(st.booleans()):
        circuit = [{"gate": draw(st.sampled_from(["h", "x", "rx", "zz", "pauliexp", "cx",
                                                  "swap", "nope"])),
                    "targets": draw(st.lists(st.integers(-1, 4), max_size=3)),
                    **({"rotation": draw(json_values)} if draw(st.booleans()) else {}),
                    **({"controls": draw(st.lists(st.integers(-1, 4), max_size=2))}
                       if draw(st.booleans()) else {})}]
        body["input"] = {"gateset": "qis", "qubits": draw(st.integers(1, 5)),
                         "circuit": circuit}
    return body


def bodies(ids: list[str]) -> st.SearchStrategy[bytes | None]:
    return st.one_of(
        st.none(),
        st.binary(max_size=64),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(lambda v: json.dumps({"ids": v}).encode(),
                  st.lists(st.sampled_from(ids) | st.text(max_size=40) | st.uuids().map(str),
                           max_size=5) | json_values),
        job_bodies().map(lambda b: json.dumps(b).encode()),
        st.just(json.dumps(VALID_BELL).encode()),
    )


API_METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH"}
ROUTES = ["/v0.4/jobs", "/v0.4/jobs/{id}", "/v0.4/jobs/{id}/status/cancel",
          "/v0.4/jobs/status/cancel", "/v0.4/jobs/{id}/results/probabilities",
          "/v0.4/backends", "/v0.4/backends/{name}", "/v0.4/jobs/{id}/artifacts/{name}",
          "/v0.4/jobs/{id}/cost", "/v0.4/jobs/estimate", "/v0.4/whoami",
          "/v0.4/backends/{name}/characterizations",
          "/v0.4/backends/{name}/characterizations/{id}"]


@st.composite
def raw_requests(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    if draw(st.integers(0, 4)):  # mostly the API's methods
        method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH"]))
    else:
        # (not an API method in another case: see test_contract_methods_are_case_sensitive)
        method = draw(st.sampled_from(["HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"])
                      | st.from_regex(r"[A-Za-z_]{1,10}", fullmatch=True).filter(
                          lambda m: m.upper() not in API_METHODS))
    segment = st.sampled_from(SEGMENTS) | st.sampled_from(ids) | st.uuids().map(str) | \
        st.text(max_size=12).map(lambda t: quote(t, safe=""))
    if draw(st.integers(0, 3)):  # mostly a route of the API, with any id or name in it
        job_id = draw(st.sampled_from(ids) | st.sampled_from(ids).map(str.upper)
                      | st.uuids().map(str) | segment)
        name = draw(st.sampled_from(["simulator", "qpu.aria-1", "qpu.nope"]) | segment)
        path = draw(st.sampled_from(ROUTES)).replace("{id}", job_id).replace("{name}", name)
    else:
        prefix = draw(st.sampled_from(["/v0.4", "/v0.3", "", "/v0.4/", "//v0.4", "/V0.4"]))
        segments = draw(st.lists(segment, max_size=5))
        path = prefix + ("/" + "/".join(segments) if segments else "")
    if not path.startswith("/"):
        path = "/" + path
    pairs = draw(st.lists(st.tuples(
        st.sampled_from(["ids", "status", "target", "limit", "next", "session_id",
                         "parent_job_id", "x", ""]),
        st.sampled_from(ids) | st.uuids().map(str) | st.integers(-5, 2000).map(str)
        | st.text(max_size=12) | st.sampled_from(["ready", "canceled", "", ",", "cA", "p-1"])),
        max_size=4))
    if draw(st.integers(0, 9)):
        query = urlencode(pairs)
    else:
        query = draw(st.sampled_from(["a=%zz", "&&=&", "ids", "ids=%00", "limit=1e3",
                                      "next=%FF%FE", "=", "ids=,,", "limit=" + "9" * 5000]))
    target = path + ("?" + query if query else "")
    if method == "POST" and draw(st.booleans()):
        body: bytes | None = json.dumps(draw(job_bodies() | st.just(VALID_BELL))).encode()
    else:
        body = draw(bodies(ids))
    headers: dict[str, str] = {}
    auth = draw(st.sampled_from(["good"] * 6 + ["wrong", "none", "empty", "bearer"]))
    headers["Authorization"] = {"good": f"apiKey {KEY}", "wrong": "apiKey not-the-key",
                                "empty": "apiKey ", "bearer": f"Bearer {KEY}",
                                "none": ""}[auth]
    if not headers["Authorization"]:
        del headers["Authorization"]
    if draw(st.booleans()):
        headers["Content-Type"] = draw(st.sampled_from([
            "application/json", "text/plain", "application/x-www-form-urlencoded", "",
            "application/json; charset=latin-1"]))
    length = len(body) if body is not None else 0
    # the true length (also padded), or one that is not a number at all (a 400); never a
    # lie about a number, which would leave the server waiting for bytes that never come
    if draw(st.integers(0, 7)):
        headers["Content-Length"] = draw(st.sampled_from([str(length), f" {length} "]))
    else:
        headers["Content-Length"] = draw(st.sampled_from(["abc", "-1", "1e3", "0x10", "",
                                                          "+1", "1 1"]))
    return {"method": method, "target": target, "body": body, "headers": headers}


def send_raw(emu: Emulator, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    host, port = urlsplit(emu.url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(request["method"], request["target"], skip_host=False,
                        skip_accept_encoding=True)
        for name, value in request["headers"].items():
            conn.putheader(name, value)
        conn.endheaders(request["body"])
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@FUZZ
@given(data=st.data())
def test_fuzzed_raw_requests_get_4xx_or_2xx_and_leave_the_state_consistent(
        data: st.DataObject, raw_emu: Emulator, raw_ids: list[str]) -> None:
    request = data.draw(raw_requests(raw_ids), label="request")
    existing = set(raw_emu.store.iter_ids())
    before = len(existing)

    status, _, payload = send_raw(raw_emu, request)  # a dropped connection raises
    shown = request["method"] if request["method"] in ("GET", "PUT", "POST", "DELETE") \
        else "other"
    event(f"{shown} -> {status}")

    assert 200 <= status < 500, (status, payload[:200])
    if request["method"] == "HEAD":
        assert payload == b""  # an answer to HEAD has no body
    elif status >= 400:  # IonQ's error body
        body = json.loads(payload)
        assert body["statusCode"] == status and body["message"], body
    else:
        json.loads(payload)
    after = len(list(raw_emu.store.iter_ids()))
    path = urlsplit(request["target"]).path
    created = request["method"] == "POST" and status == 201
    gone: set[str] = set()
    if request["method"] == "DELETE" and status == 200:
        if path == "/v0.4/jobs":  # DELETE /jobs: the ids of the body that were there
            gone = existing & set(json.loads(request["body"])["ids"])
        else:
            assert re.fullmatch(rf"/v0\.4/jobs/{UUID_RE}", path)
            gone = {path.rsplit("/", 1)[1]}
    assert after == before + created - len(gone), (request, status)
    if created:
        assert path == "/v0.4/jobs"
    assert set(raw_emu.store.counts()) <= SIX
    for job_id in raw_emu.store.iter_ids():
        assert raw_emu.store.status_of(job_id) in SIX


def test_the_emulator_still_answers_after_the_fuzzing(raw_emu: Emulator) -> None:
    """The fuzzing left a working server (the module's emulator is still the same one)."""
    job_id = raw_emu.store.add_jobs(1)[0]
    request = {"method": "PUT", "target": f"/v0.4/jobs/{job_id}/status/cancel", "body": None,
               "headers": {"Authorization": f"apiKey {KEY}", "Content-Length": "0"}}
    status, _, payload = send_raw(raw_emu, request)
    assert status == 200 and json.loads(payload) == {"id": job_id, "status": "canceled"}


@pytest.mark.parametrize(("method", "target", "status"), [
    ("HEAD", "/v0.4/jobs", 405), ("OPTIONS", "/v0.4/jobs", 405), ("TRACE", "/v0.4/jobs", 405),
    ("FOO", "/v0.4/jobs/status/cancel", 405), ("OPTIONS", "/nowhere", 404)])
def test_methods_the_api_does_not_have_are_refused_with_4xx(
        method: str, target: str, status: int, raw_emu: Emulator) -> None:
    """Methods the API lacks are answered like the others (405 with ``Allow`` on an API
    path, 404 elsewhere), never a 501 or a dropped connection, and change nothing."""
    before = len(list(raw_emu.store.iter_ids()))
    got, headers, payload = send_raw(raw_emu, {
        "method": method, "target": target, "body": None,
        "headers": {"Authorization": f"apiKey {KEY}"}})
    assert got == status
    if status == 405:
        assert headers["Allow"]
    if method != "HEAD":
        assert json.loads(payload)["statusCode"] == status
    assert len(list(raw_emu.store.iter_ids())) == before


def test_contract_methods_are_case_sensitive() -> None:
    from contract import Contract

    contract = Contract.load()
    assert contract.find("GET", "/v0.4/jobs")[0] is not None
    assert contract.find("get", "/v0.4/jobs") == (None, {})
