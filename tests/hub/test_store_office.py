"""The hub's storage against the real head office (its ASGI app on a SQLite file): the hub pulls
head office's pages with its own hub token, forwards its tills' events, and records the answers.
What the tills are served follows head office once head office has reflected an event: the
overlay stops (a pull begun after the answer), an event head office answered `conflict` shows the
winner's use at once, and head office's own problem replaces the hub's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from store_support import redeem, review, served
from support.api import Api, make_settings

from central.app import create_app
from hub.store import HubDevice, HubStore
from vouchers.wire import DevicesResponse, EventsResponse, SnapshotPage


class Office:
    """Head office with store s1 (its hub and two tills) and store s2 (one till), and a batch of
    five vouchers valid everywhere, all claimed."""

    def __init__(self, client: TestClient) -> None:
        self.api = Api(client)
        self.api.store("s1")
        self.api.store("s2")
        code = self.api.call("POST", "/stores/s1/enrolment-codes", 201, json={"role": "hub"}).json()["code"]
        hub = self.api.call(
            "POST", "/devices/enrol", 201, json={"enrolment_code": code, "device_name": "hub"}
        )
        assert hub.json()["role"] == "hub"
        self.hub_token = hub.json()["token"]
        self.tills = {name: self.api.device("s1", name) for name in ("till-1", "till-2")}
        self.far = self.api.device("s2", "far-till")
        batch = self.api.batch(5)
        self.codes = {}  # voucher id -> code
        for i in range(5):
            claimed = self.api.claim(batch, f"member-{i}")
            self.codes[claimed["voucher_id"]] = claimed["code"]
        self.vouchers = sorted(self.codes)

    def pull(self, store: HubStore, pull: int | None = None) -> None:
        """Pages from head office into the hub until one is complete (one pull number, taken first)."""
        number = store.begin_pull() if pull is None else pull
        while True:
            page = self.fetch(store)
            store.apply_upstream(page, number)
            if page.complete:
                return

    def fetch(self, store: HubStore) -> SnapshotPage:
        answer = self.api.call(
            "GET", f"/sync/snapshot?cursor={store.upstream_cursor()}&limit=3", 200, token=self.hub_token
        )
        return SnapshotPage.model_validate(answer.json())

    def devices(self, store: HubStore) -> None:
        answer = self.api.call("GET", "/sync/devices", 200, token=self.hub_token)
        store.set_devices(DevicesResponse.model_validate(answer.json()).devices)

    def forward(self, store: HubStore) -> EventsResponse:
        events = store.unforwarded(1000)
        answer = self.api.call(
            "POST", "/sync/events", 200, token=self.hub_token, json={"events": [e.to_wire() for e in events]}
        )
        results = EventsResponse.model_validate(answer.json())
        store.record_forwarded(results.results)
        return results

    def till(self, store: HubStore, name: str) -> HubDevice:
        device = store.device_for_token(self.tills[name]["token"])
        assert device is not None
        return device

    def history(self, voucher_id: str) -> list[dict[str, Any]]:
        return self.api.call("GET", f"/vouchers/{self.codes[voucher_id]}", 200).json()["history"]


@pytest.fixture
def office(sqlite_url) -> Iterator[Office]:
    with TestClient(create_app(make_settings(sqlite_url))) as client:
        yield Office(client)


@pytest.fixture
def store(tmp_path, office) -> Iterator[HubStore]:
    s = HubStore(tmp_path / "hub.db")
    office.devices(s)
    office.pull(s)
    yield s
    s.close()


def test_the_hub_holds_head_offices_snapshot_and_devices(office, store):
    assert store.ready() and store.store_id() == "s1"
    now = served(store)
    assert sorted(now["vouchers"]) == office.vouchers
    assert {v["status"] for v in now["vouchers"].values()} == {"unused"}
    assert {t.name: t.role for t in store.status().devices} == {
        "hub": "hub",
        "till-1": "till",
        "till-2": "till",
    }


def test_the_overlay_stops_once_a_pull_begun_after_head_offices_answer_ends_complete(office, store):
    v = office.vouchers[0]
    [result] = store.ingest(office.till(store, "till-1"), [redeem(v)])
    assert result.outcome == "accepted"
    early = store.begin_pull()  # a pull that began before head office answered...
    page = office.fetch(store)  # ...and read head office before the event reached it
    [answer] = office.forward(store).results
    assert answer.outcome == "accepted"
    store.apply_upstream(page, early)
    assert served(store)["vouchers"][v]["status"] == "used"  # head office's older row does not stand yet
    office.pull(store)  # begun after the answer: head office's row has the redemption
    assert served(store)["vouchers"][v]["status"] == "used"
    office.api.call(
        "POST",
        f"/vouchers/{office.codes[v]}/status",
        200,
        json={"status": "unused", "reason": "wrong voucher"},
    )
    office.pull(store)
    assert served(store)["vouchers"][v]["status"] == "unused"  # head office's view: the overlay has stopped
    [again] = store.ingest(office.till(store, "till-2"), [redeem(v)])
    assert again.outcome == "accepted"


def test_an_event_head_office_answered_conflict_shows_the_winner_and_head_offices_problem(office, store):
    v = office.vouchers[1]
    far = redeem(v)
    office.api.call("POST", "/sync/events", 200, token=office.far["token"], json={"events": [far.to_wire()]})
    mine = redeem(v)
    [accepted] = store.ingest(office.till(store, "till-1"), [mine])  # the hub has not heard of s2's use
    assert accepted.outcome == "accepted"
    [answer] = office.forward(store).results
    assert answer.outcome == "conflict" and answer.winner is not None and answer.winner.store_id == "s2"
    now = served(store)["vouchers"][v]
    assert (now["status"], now["used_store"]) == ("used", "s2")  # at once, before any pull
    [after] = store.ingest(office.till(store, "till-2"), [second := redeem(v)])
    assert after.outcome == "conflict" and after.winner is not None and after.winner.store_id == "s2"
    hubs_own = served(store)["problems"][str(second.id)]
    assert (
        hubs_own["winner"]["store_id"] == "s2"
        and hubs_own["device_id"] == office.tills["till-2"]["device_id"]
    )
    office.forward(store)
    office.pull(store)
    problems = served(store)["problems"]
    # head office's problem, recorded under the till
    assert problems[str(mine.id)]["device_id"] == office.tills["till-1"]["device_id"]
    assert problems[str(mine.id)]["winner"]["device_id"] == office.far["device_id"]
    assert problems[str(second.id)]["winner"]["device_id"] == office.far["device_id"]
    assert served(store)["vouchers"][v]["used_store"] == "s2"


def test_two_tills_one_voucher_reach_head_office_once_each_under_their_own_till(office, store):
    v = office.vouchers[2]
    first, second = redeem(v), redeem(v)
    store.ingest(office.till(store, "till-1"), [first])
    [lost] = store.ingest(office.till(store, "till-2"), [second])
    assert lost.winner is not None and lost.winner.device_id == office.tills["till-1"]["device_id"]
    store.ingest(office.till(store, "till-2"), [review(second.id, "one discount given")])
    events = store.unforwarded(10)
    assert [e.id for e in events] == [first.id, second.id]  # the review goes in the next batch
    results = office.forward(store).results
    events += store.unforwarded(10)
    results += office.forward(store).results
    assert [r.outcome for r in results] == ["accepted", "conflict", "accepted"]
    assert (
        results[1].winner is not None and results[1].winner.device_id == office.tills["till-1"]["device_id"]
    )
    assert store.pending() == 0
    # the hub killed before it recorded the answers sends them again: head office counts nothing twice
    again = office.api.call(
        "POST", "/sync/events", 200, token=office.hub_token, json={"events": [e.to_wire() for e in events]}
    ).json()["results"]
    assert [r["outcome"] for r in again] == ["duplicate"] * 3
    history = office.history(v)
    redeems = [e for e in history if e["kind"] == "redeem"]
    assert len(redeems) == 2
    assert {e["device_id"]: e["result"]["outcome"] for e in redeems} == {
        office.tills["till-1"]["device_id"]: "accepted",
        office.tills["till-2"]["device_id"]: "conflict",
    }
    office.pull(store)
    problem = served(store)["problems"][str(second.id)]
    assert problem["reviewed"] is not None and problem["reviewed"]["note"] == "one discount given"
