"""Property-based testing of the emulator against the API contract, with schemathesis.

Every operation of ``tests/contract/ionq-v0.4.openapi.json`` is exercised with
schemathesis's examples, coverage and fuzzing phases (valid and invalid data, at most
``MAX_EXAMPLES`` fuzzed cases each) against a live emulator started here on a free port.
Each answer must pass schemathesis's checks (no 5xx: none is injected here; a documented
status; the documented content type, body and headers; 405 for a method the path does not
have; 401 without the key) and, through the suite's ``api_contract`` fixture, this project's
own validator (an error's ``statusCode`` is its status, among others).

Deterministic: a fixed seed, derandomized generation, no example database, and an emulator
with a fixed seed and a clock that only moves when told. Generated job ids are random, so
about half of them are pointed at jobs that exist (in every state), deterministically from
the generated value, to reach the answers of real jobs and not only 404s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import hypothesis
import pytest
import schemathesis
from contract import Contract, load_spec
from contract.observed import Emulator
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from qiskit_ionq_cancel.emulator import BACKENDS, ManualClock
from qiskit_ionq_cancel.emulator.catalog import characterization_id
from qiskit_ionq_cancel.emulator.model import ORGANIZATION_ID

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

KEY = "schemathesis-key"
AUTH = {"Authorization": f"apiKey {KEY}"}
SEED = 20260429
MAX_EXAMPLES = 50

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                   "database": "none"},
})
schema = schemathesis.openapi.from_dict(load_spec(), config=CONFIG)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, unsupported_method,
          ignored_auth, missing_required_header]

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Target:
    """The emulator under test and the ids of its jobs (``doomed``: the ones DELETE may take,
    so that the others stay for the operations after it)."""

    emulator: Emulator
    known: list[str]
    doomed: list[str]
    purged: list[str]  # the ones DELETE /jobs (bulk) may take
    sessions: list[str]

    def pick(self, value: Any, pool: list[str] | None = None) -> Any:
        """A canonical UUID ending in an even digit becomes a known job's id (chosen by the
        value); anything else stays as generated."""
        pool = pool or self.known
        if isinstance(value, str) and _UUID.fullmatch(value) and int(value[-1], 16) % 2 == 0:
            return pool[int(value[-8:], 16) % len(pool)]
        return value

    def aim(self, case: OpenApiCase) -> None:
        """Point some of the case's job ids (path, ``ids`` query, bulk body) at real jobs."""
        path = case.path_parameters
        if path and isinstance(path.get("name"), str) and len(path["name"]) % 2 == 0:
            path["name"] = sorted(BACKENDS)[len(path["name"]) % len(BACKENDS)]
        if path and "UUID" in path and "name" in path:  # a backend's characterization
            if isinstance(path["name"], str) and path["name"] in BACKENDS and \
                    len(str(path["UUID"])) % 2 == 0:
                path["UUID"] = characterization_id(path["name"])
        elif path and "UUID" in path:
            doomed = case.method.upper() == "DELETE"
            path["UUID"] = self.pick(path["UUID"], self.doomed if doomed else None)
        if path and isinstance(path.get("organization_id"), str) and \
                len(path["organization_id"]) % 2 == 0:
            path["organization_id"] = ORGANIZATION_ID  # the emulator's one organization
        if path and "session_id" in path:
            path["session_id"] = self.pick(path["session_id"], self.sessions)
        artifact = path.get("artifactId") if path else None
        if isinstance(artifact, str) and artifact[:1].isdigit():
            path["artifactId"] = "probabilities"  # the one artifact a finished job names
            path["UUID"] = self.known[0]  # completed
        named = case.body.get("backend") if isinstance(case.body, dict) else None
        if isinstance(case.body, dict) and isinstance(named, str) and len(named) % 2 == 0:
            case.body["backend"] = sorted(BACKENDS)[len(named) % len(BACKENDS)]  # POST /sessions
        backend = case.query.get("backend") if case.query else None
        if isinstance(backend, str) and len(backend) % 2 == 0:  # GET /jobs/estimate
            case.query["backend"] = sorted(BACKENDS)[len(backend) % len(BACKENDS)]
        ids = case.query.get("ids") if case.query else None
        if isinstance(ids, list):
            case.query["ids"] = [self.pick(i) for i in ids]
        elif ids is not None:
            case.query["ids"] = self.pick(ids)
        if isinstance(case.body, dict) and isinstance(body_ids := case.body.get("ids"), list):
            pool = self.purged if case.method.upper() == "DELETE" else None  # DELETE /jobs
            case.body["ids"] = [self.pick(i, pool) for i in body_ids]


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """An emulator with jobs in every state: completed, failed, started, ready, canceled,
    some in a session."""
    clock = ManualClock()
    with Emulator(api_keys=[KEY], clock=clock, queue_time=10, run_time=5, seed=SEED) as emu:
        store = emu.store
        known = store.add_jobs(4) + store.add_jobs(2, will_fail=True)
        doomed = store.add_jobs(2)
        clock.advance(20)  # those are completed or failed now
        known += store.add_jobs(3)
        clock.advance(12)  # those are started
        known += store.add_jobs(3, session_id="5f0c6b0e-3f7a-4c1e-9d2b-8a4e6f1c2d3b")
        known += store.add_jobs(4)  # ready
        doomed += store.add_jobs(2)
        purged = store.add_jobs(2)
        store.cancel(known[-1])
        sessions = [emu.sessions.create({"backend": "simulator"})["id"] for _ in range(3)]
        yield Target(emu, known, doomed, purged, sessions)


@pytest.fixture
def answered(target: Target) -> Iterator[set[int]]:
    """The statuses one operation answered over all its generated cases; afterwards, the
    cases must have reached both its success and its error answers (so the checks had
    something to check). Per operation, so it holds whatever order the tests run in."""
    statuses: set[int] = set()
    yield statuses
    assert any(200 <= s < 300 for s in statuses), statuses
    assert any(400 <= s < 500 for s in statuses), statuses


@schema.parametrize()
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_the_emulator_keeps_the_contract(case: OpenApiCase, target: Target,
                                         answered: set[int]) -> None:
    target.aim(case)
    response = case.call_and_validate(base_url=target.emulator.url, headers=AUTH,
                                      checks=CHECKS)
    answered.add(response.status_code)


def test_every_operation_of_the_contract_is_generated() -> None:
    """Each operation of the contract gets its own generated test above."""
    generated: set[str] = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # (an Err: the operation did not load)
        generated.add(result.ok().label)
    assert generated == {f"{op.method} {op.template}" for op in Contract.load().operations}


def test_the_checks_catch_a_wrong_answer(api_contract: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The same checks fail on an answer that breaks the contract (a job with no status)."""
    with Emulator(api_keys=[KEY], clock=ManualClock(), seed=SEED) as emu:
        [job_id] = emu.store.add_jobs(1)
        real = emu.store.get
        monkeypatch.setattr(emu.store, "get", lambda i: {
            k: v for k, v in real(i).items() if k != "status"})
        case = schema["/jobs/{UUID}"]["GET"].Case(path_parameters={"UUID": job_id})
        with pytest.raises(schemathesis.errors.FailureGroup) as info:
            case.call_and_validate(base_url=emu.url, headers=AUTH, checks=CHECKS)
        assert '"status" is a required property' in str(info.value.exceptions[0])
    assert len(api_contract.problems) == 1  # the suite's monitor saw it too
    api_contract.clear()
