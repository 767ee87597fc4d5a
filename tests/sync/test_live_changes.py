"""Live changes (issue 15.1): a snapshot request with `wait` answers when something changes, in
any server process on the database; a waiting agent gets a head-office change within seconds,
with its pull interval far longer; a stopping server or agent never waits out a long poll."""

from __future__ import annotations

import threading
import time

import httpx

from harness import ServerProcess, wait_for
from vouchers.lifecycle import State

SLOW_PULLS = {"VOUCHER_SYNC_PULL_INTERVAL_SECONDS": "600"}  # only a long poll can bring a change in time
LONG = 60  # the longest wait the protocol allows: far beyond every deadline below


def device_token(office) -> str:
    office.store("s1")
    enrolled = office.admin.post(
        "/devices/enrol", json={"enrolment_code": office.enrolment_code("s1"), "device_name": "poller"}
    )
    enrolled.raise_for_status()
    return enrolled.json()["token"]


def snapshot(url: str, token: str, cursor: int, **params) -> tuple[dict, float]:
    started = time.monotonic()
    answer = httpx.get(
        f"{url}/api/v1/sync/snapshot",
        params={"cursor": cursor, **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=LONG + 30,
    )
    answer.raise_for_status()
    return answer.json(), time.monotonic() - started


def head_of(url: str, token: str) -> int:
    page, _ = snapshot(url, token, 0)
    assert page["complete"]
    return page["next_cursor"]


def waiting(url: str) -> int:
    return httpx.get(f"{url}/healthz", timeout=10).json()["waiting"]


class Poller:
    """A device's long poll on its own thread, seen to wait at the server before the test goes on."""

    def __init__(self, url: str, token: str, cursor: int) -> None:
        self.url, self.answer = url, None
        self.thread = threading.Thread(
            target=lambda: setattr(self, "answer", snapshot(url, token, cursor, wait=LONG))
        )
        before = waiting(url)
        self.thread.start()
        wait_for(lambda: waiting(url) > before, 30, "the request to wait at the server")

    def result(self) -> tuple[dict, float]:
        self.thread.join(LONG + 30)
        assert self.answer is not None, "the waiting request did not answer"
        return self.answer


def test_a_waiting_request_answers_when_a_change_is_committed_in_any_server_process(office, server, tmp_path):
    token = device_token(office)
    office.batch(3)
    cursor = head_of(server.url, token)
    plain, _ = snapshot(server.url, token, cursor)
    assert (
        plain["complete"] and plain["next_cursor"] == cursor and "wait" not in plain
    )  # old clients: as before
    empty, took = snapshot(server.url, token, cursor, wait=1)
    assert (
        empty["wait"] == 1 and empty["complete"] and empty["next_cursor"] == cursor and empty["batches"] == []
    )
    assert took >= 0.9  # it waited, with nothing to bring

    poller = Poller(server.url, token, cursor)
    bid = office.admin.post(
        "/batches", json={"identifier": "Here", "serial_start": 1, "serial_end": 5}
    ).json()["id"]
    page, took = poller.result()
    assert took < LONG - 10 and [b["id"] for b in page["batches"]] == [bid] and page["next_cursor"] > cursor

    other = ServerProcess(server.database_url, log=tmp_path / "other.log").start()  # the same database
    try:
        cursor = page["next_cursor"]
        poller = Poller(server.url, token, cursor)
        admin = other.client()
        admin.patch(
            f"/batches/{bid}", json={"description": "changed through the other process"}
        ).raise_for_status()
        admin.close()
        page, took = poller.result()
        assert took < LONG - 10 and [b["description"] for b in page["batches"]] == [
            "changed through the other process"
        ]
    finally:
        other.stop()


def test_a_stopping_server_answers_its_waiting_requests_at_once(office, server):
    token = device_token(office)
    cursor = head_of(server.url, token)
    poller = Poller(server.url, token, cursor)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < LONG - 10  # stopped, not killed after its 10 s (ServerProcess.stop)
    assert server.process.returncode in (0, -15)
    page, _ = poller.result()
    assert page["complete"] and page["next_cursor"] == cursor


def test_a_claim_and_a_lock_reach_a_waiting_till_long_before_its_pull_interval(office, server, make_till):
    office.store("s1")
    batch = office.batch(5)
    till = make_till(start=False)
    till.agent.env.update(SLOW_PULLS)
    till.agent.start()
    wait_for(lambda: waiting(server.url) > 0, 60, "the agent, caught up, to wait for a change")
    code = office.admin.post(
        "/claims", json={"claim_token": batch["claim_token"], "member_id": "ann@example.com"}
    ).json()["code"]
    wait_for(
        lambda: (found := till.lookup(code)) is not None and found.voucher.claimed,
        60,
        "the claim at the till",
    )  # its pull interval is 600 s
    office.admin.post(f"/batches/{batch['id']}/lock").raise_for_status()
    wait_for(lambda: till.lookup(code).batch.state is State.LOCKED, 60, "the lock at the till")
    wait_for(lambda: waiting(server.url) > 0, 60, "the agent waiting again")
    started = time.monotonic()
    assert till.agent.stop() == 0  # SIGTERM while the agent waits on the server: not waited out
    assert time.monotonic() - started < LONG - 10
