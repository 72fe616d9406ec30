"""The emulator's cached job views: ``GET /jobs`` answers from encoded views the store keeps
(whole while a job is final, as a template before). Whatever happened to a job since it was
last listed, the answer is byte for byte what encoding its view afresh gives:
``json.dumps(body, separators=(",", ":"))`` of the store's own ``list`` (and ``GET
/jobs/{id}`` agrees with it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from contract.observed import Emulator
from support import BELL_INPUT, Api, job_body

from qiskit_ionq_cancel.emulator import Lifecycle, ManualClock

pytestmark = pytest.mark.emu(api_keys=())

X_INPUT = {"gateset": "qis", "qubits": 1, "circuit": [{"gate": "x", "targets": [0]}]}
QASM3 = ('OPENQASM 3.0; include "stdgates.inc"; bit[1] c; qubit[1] q; h q[0]; '
         "c[0] = measure q[0];")


@pytest.fixture
def client(emu: Emulator, api_for: Any) -> Api:
    return api_for(emu)  # type: ignore[no-any-return]


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def assert_fresh(emu: Emulator, client: Api, ids: list[str], *, twice: bool = True) -> None:
    """Each job's answer, alone and listed by id, is its view encoded afresh (read twice: the
    first read may make what the second reads from)."""
    for _ in range(2 if twice else 1):
        for job_id in ids:
            response = client.get(f"/jobs/{job_id}")
            assert response.status_code == 200, response.text
            assert response.headers["Content-Type"] == "application/json; charset=utf-8"
            assert response.content == dumps(emu.store.get(job_id))
        response = client.get("/jobs", params={"ids": ids, "limit": 1000})
        assert response.status_code == 200, response.text
        assert response.content == dumps(emu.store.list(ids=ids, limit=1000))


def multi_body() -> dict[str, Any]:
    return job_body(type="ionq.multi-circuit.v1", input={
        "gateset": "qis", "qubits": 2,
        "circuits": [{"name": "bell", "circuit": BELL_INPUT["circuit"]},
                     {"name": "x", "circuit": X_INPUT["circuit"], "qubits": 1}]})


def assorted_jobs(emu: Emulator, client: Api) -> list[str]:
    """Jobs of every kind the views distinguish (their fields, not just their statuses)."""
    ids = emu.store.add_jobs(3)
    ids += emu.store.add_jobs(2, backend="qpu.forte-1", session_id=emu.store.add_jobs(1)[0])
    ids += emu.store.add_jobs(2, will_fail=True)
    bodies = [
        job_body(name='quote " and \\ and ü and \u2028', metadata={"ü": "é", "n": "1"}),
        job_body(noise={"model": "aria-1", "seed": 7}, shots=30,
                 settings={"error_mitigation": {"debias": True}}),
        job_body(dry_run=True),
        job_body(backend="qpu.forte-1", noise=None, metadata={"emulator_fail": "TooManyGates"}),
        job_body(type="ionq.qasm3.v1", input={"qubits": 1, "data": QASM3}),
        job_body(type="ionq.qasm3.v1", input={"qubits": 1, "data": QASM3},
                 noise={"model": "aria-1", "seed": 5}),
        # keys the encoded view's template is cut at, nested in the job's own data
        job_body(metadata={"started_at": "x", "output": "y", "failure": "z"}),
    ]
    ids += [client.submit(body) for body in bodies]
    parent = client.submit(multi_body())
    ids += [parent, *client.job(parent)["child_job_ids"]]
    return ids


@pytest.mark.parametrize("style", ["both", "legacy", "formats"])
def test_every_kind_of_job_answers_its_view_encoded_afresh_at_every_stage(
        start_emulator: Any, api_for: Any, clock: ManualClock, style: str) -> None:
    emu = start_emulator(clock=clock, queue_time=10, run_time=5, results_style=style,
                         finished_cancel="overwrite")
    client = api_for(emu)
    ids = assorted_jobs(emu, client)
    assert_fresh(emu, client, ids)  # queued
    clock.advance(12)
    assert_fresh(emu, client, ids)  # running
    client.put("/jobs/status/cancel", json={"ids": ids[::3]})
    assert_fresh(emu, client, ids)  # some canceled while running
    clock.advance(10)
    assert_fresh(emu, client, ids)  # final
    client.put("/jobs/status/cancel", json={"ids": ids[1::3]})  # overwrite: final ones too
    assert_fresh(emu, client, ids)
    # the listings without ids, a page at a time, are the store's pages encoded afresh
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"next": cursor} if cursor else {})}
        response = client.get("/jobs", params=params)
        assert response.content == dumps(emu.store.list(limit=4, cursor=cursor))
        cursor = response.json()["next"]
        if cursor is None:
            break


def test_a_job_canceled_then_failed_answers_each_change(emu: Emulator, client: Api,
                                                        clock: ManualClock) -> None:
    job_id = client.submit()
    assert_fresh(emu, client, [job_id])
    assert client.put(f"/jobs/{job_id}/status/cancel").status_code == 200
    assert_fresh(emu, client, [job_id])  # read as final (cached from here on)
    clock.advance(1)
    emu.store.fail(job_id, "TooManyShots", "after the cancel")
    assert client.job(job_id)["status"] == "failed"
    assert client.job(job_id)["failure"] == {"code": "TooManyShots",
                                             "message": "after the cancel"}
    assert_fresh(emu, client, [job_id])
    emu.store.fail(job_id, "TooManyGates", "again, at the same moment")  # only failure differs
    listed = client.get("/jobs", params={"ids": job_id}).json()["jobs"]
    assert listed[0]["failure"]["code"] == "TooManyGates"
    assert_fresh(emu, client, [job_id])


def test_a_completed_job_failed_later_answers_its_failure(emu: Emulator, client: Api,
                                                          clock: ManualClock) -> None:
    job_id = client.submit()
    clock.advance(20)
    assert_fresh(emu, client, [job_id])  # completed, read as final
    emu.store.fail(job_id)
    body = client.job(job_id)
    assert body["status"] == "failed" and body["failure"]["code"] == "InternalError"
    assert body["results"] is None
    assert_fresh(emu, client, [job_id])


@pytest.mark.emu(finished_cancel="overwrite")
def test_a_completed_job_canceled_by_overwrite_answers_canceled(emu: Emulator, client: Api,
                                                                clock: ManualClock) -> None:
    job_id = client.submit()
    clock.advance(20)
    assert client.job(job_id)["status"] == "completed"
    clock.advance(3)
    assert client.put(f"/jobs/{job_id}/status/cancel").json()["status"] == "canceled"
    body = client.job(job_id)
    assert body["status"] == "canceled" and body["results"] is None
    assert_fresh(emu, client, [job_id])


def test_a_forbidden_or_deleted_job_is_neither_answered_nor_listed(emu: Emulator,
                                                                   client: Api) -> None:
    forbidden, deleted, kept = emu.store.add_jobs(3)
    client.put("/jobs/status/cancel", json={"ids": [forbidden, deleted, kept]})
    assert_fresh(emu, client, [forbidden, deleted, kept])  # each read as final
    emu.store.forbid(forbidden)
    assert client.delete(f"/jobs/{deleted}").status_code == 200
    assert client.get(f"/jobs/{forbidden}").status_code == 403
    assert client.get(f"/jobs/{deleted}").status_code == 404
    listed = client.get("/jobs", params={"ids": [forbidden, deleted, kept]}).json()["jobs"]
    assert [job["id"] for job in listed] == [kept]
    assert_fresh(emu, client, [kept])


def test_a_parent_read_as_final_answers_a_later_change_of_a_child(
        start_emulator: Any, api_for: Any, clock: ManualClock) -> None:
    emu = start_emulator(clock=clock, queue_time=10, run_time=5, finished_cancel="overwrite")
    client = api_for(emu)
    parent = client.submit(multi_body())
    first, second = client.job(parent)["child_job_ids"]
    assert_fresh(emu, client, [parent, first, second])  # queued
    client.put(f"/jobs/{first}/status/cancel")  # one child: the other runs on
    assert client.job(parent)["status"] == "ready"
    clock.advance(20)
    before = client.job(parent)
    assert before["status"] == "canceled"  # not every circuit ran
    assert_fresh(emu, client, [parent, first, second])  # the parent read as final
    # the completed child canceled (overwrite) later: the parent stays canceled, but its
    # completed_at is now that child's cancel
    clock.advance(100)
    client.put(f"/jobs/{second}/status/cancel")
    after = client.job(parent)
    assert after["status"] == "canceled" and after["completed_at"] != before["completed_at"]
    assert_fresh(emu, client, [parent, first, second])
    # and a child failed: the parent fails
    emu.store.fail(first)
    assert client.job(parent)["status"] == "failed"
    assert_fresh(emu, client, [parent, first, second])


def test_a_parent_whose_child_is_canceled_after_the_parent_was_read(
        emu: Emulator, client: Api, clock: ManualClock) -> None:
    parent = client.submit(multi_body())
    first, second = client.job(parent)["child_job_ids"]
    clock.advance(12)
    assert_fresh(emu, client, [parent, first, second])  # running
    client.put("/jobs/status/cancel", json={"ids": [second]})
    assert client.job(second)["status"] == "canceled"
    assert_fresh(emu, client, [parent, first, second])
    clock.advance(10)
    assert client.job(parent)["status"] == "canceled"
    assert_fresh(emu, client, [parent, first, second])


def test_changing_the_results_style_or_lifecycle_changes_the_answers(
        emu: Emulator, client: Api, clock: ManualClock) -> None:
    done, parent = client.submit(), client.submit(multi_body())
    clock.advance(20)
    queued = client.submit()
    assert_fresh(emu, client, [queued, done, parent])
    emu.store.results_style = "legacy"
    assert_fresh(emu, client, [queued, done, parent])
    assert set(client.job(done)["results"]) == {"probabilities", "histogram", "shots"}
    assert set(client.job(parent)["results"]) == {"probabilities"}
    emu.store.lifecycle = Lifecycle(queue_time=1, run_time=7)
    assert_fresh(emu, client, [queued, done, parent])
    assert client.job(done)["execution_duration_ms"] == 7000


def test_the_fast_list_answer_is_json_dumps_of_the_same_body(emu: Emulator,
                                                             client: Api) -> None:
    ids = assorted_jobs(emu, client)
    for params in ({}, {"limit": 3}, {"ids": ids[:5], "limit": 2}, {"ids": ["f" * 8 + ids[0][8:]]},
                   {"status": "ready"}, {"target": "qpu.forte-1"}):
        assert emu.store.list_encoded(**params) == dumps(emu.store.list(**params))
    empty = client.get("/jobs", params={"status": "canceled"})
    assert empty.content == b'{"jobs":[],"next":null}'
