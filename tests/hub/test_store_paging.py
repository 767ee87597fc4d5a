"""The tills' pages from the hub (hub/feed.py), applied by a till's real replica (localdb's Replica,
which checks that each page follows on): a till paging while the hub decides and takes head
office's pages in between ends with every entity at its latest state as the hub sees it."""

from __future__ import annotations

import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from store_support import (
    STORE,
    T0,
    TILL_1,
    TILL_2,
    TillReplica,
    batch,
    expected_vouchers,
    ho_page,
    kind,
    ready_store,
    redeem,
    revert,
    served,
    voucher,
)

from hub.schema import FEED_BASE
from localdb.till import Till
from vouchers.wire import EventResult, SnapshotPage

SERIALS = range(1, 6)
BUSY = range(1, 3)  # the property's events and head office's changes meet on few vouchers


def test_a_page_is_docs_protocols_page_and_pages_follow_on(tmp_path):
    store = ready_store(tmp_path / "hub.db")
    first = store.page(0, 3)
    SnapshotPage.model_validate(first)
    assert (first["cursor"], first["complete"], first["head"]) == (0, False, store.head())
    assert first["next_cursor"] > FEED_BASE and first["remaining"] == store.head() - first["next_cursor"]
    # three changes: the store's (every page carries the store), the batch, its type
    assert (len(first["batches"]), len(first["types"]), len(first["vouchers"])) == (1, 1, 0)
    rest = store.page(first["next_cursor"], 100)
    assert rest["complete"] and rest["next_cursor"] == store.head() and rest["remaining"] == 0
    assert len(rest["vouchers"]) == 5 and rest["store"] == {
        "id": "s1",
        "timezone": "Europe/London",
        "name": None,  # this head office's page named none
        "locale": None,  # nor a locale
    }
    assert store.page(store.head(), 100)["vouchers"] == []
    store.close()


def test_a_till_paging_meanwhile_gets_each_change_and_ends_at_the_latest(tmp_path):
    store = ready_store(tmp_path / "hub.db")
    till = TillReplica(tmp_path / "till" / "replica.db")
    till.pull(store, limit=2)
    [won] = store.ingest(TILL_1, [event := redeem("b1.5")])  # decided after the till's first page
    till.pull(store, limit=2)
    store.apply_upstream(ho_page(100, 101, vouchers=[voucher(1, status="pending")]), store.begin_pull())
    till.catch_up(store, limit=2)
    assert till.vouchers() == expected_vouchers(store)
    assert till.vouchers()["b1.5"][0] == "used" and till.vouchers()["b1.1"][0] == "pending"
    store.ingest(TILL_2, [revert("b1.5", event.id)])
    till.catch_up(store, limit=2)
    assert till.vouchers()["b1.5"][0] == "unused"
    assert won.outcome == "accepted"
    till.close()
    store.close()


def test_an_event_becoming_reflected_reaches_the_tills(tmp_path):
    store = ready_store(tmp_path / "hub.db")
    till = TillReplica(tmp_path / "till" / "replica.db")
    [result] = store.ingest(TILL_1, [event := redeem("b1.2")])
    store.apply_upstream(ho_page(100, 101, vouchers=[voucher(2, status="pending")]), store.begin_pull())
    till.catch_up(store)
    assert till.vouchers()["b1.2"][0] == "used"  # head office has not reflected the redemption yet
    store.record_forwarded([result])  # head office accepted it (and then made the voucher pending)
    store.apply_upstream(ho_page(101, 101), store.begin_pull())  # a pull begun after the answer
    till.catch_up(store)
    assert till.vouchers()["b1.2"][0] == "pending" == served(store)["vouchers"]["b1.2"]["status"]
    assert event.id == result.id
    till.close()
    store.close()


def test_a_deleted_batch_leaves_every_till(tmp_path):
    store = ready_store(tmp_path / "hub.db")
    store.apply_upstream(
        ho_page(
            100, 110, batches=[batch("b2")], types=[kind("b2")], vouchers=[voucher(1, "b2"), voucher(2, "b2")]
        ),
        store.begin_pull(),
    )
    till = TillReplica(tmp_path / "till" / "replica.db")
    till.catch_up(store)
    assert {"b2.1", "b2.2"} <= set(till.vouchers())
    store.apply_upstream(ho_page(110, 111, deleted={"batches": ["b2"]}), store.begin_pull())
    page = till.pull(store)
    assert page["deleted"]["batches"] == ["b2"] and page["vouchers"] == []
    assert set(till.vouchers()) == {f"b1.{i}" for i in SERIALS} and set(till.batches()) == {"b1"}
    fresh = TillReplica(tmp_path / "new-till" / "replica.db")
    fresh.catch_up(store)
    assert fresh.vouchers() == till.vouchers() == expected_vouchers(store)
    till.close()
    fresh.close()
    store.close()


def test_a_till_that_pulled_from_head_office_before_starts_the_hubs_pages_from_the_beginning(tmp_path):
    store = ready_store(tmp_path / "hub.db")
    for foreign in (1532, store.head() + 10):  # head office's cursor; one of a hub.db made anew
        page = store.page(foreign, 1000)
        assert page["cursor"] == foreign and page["next_cursor"] == store.head()
        assert page["next_cursor"] >= foreign and page["complete"]  # follows on: the agent takes it
        assert len(page["vouchers"]) == 5
    till = TillReplica(tmp_path / "till" / "replica.db")
    till.replica.apply_page(ho_page(0, 1532, batches=[batch()], types=[kind()], vouchers=[voucher(1)]))
    store.ingest(TILL_1, [redeem("b1.2")])
    till.catch_up(store)
    assert till.replica.cursor() == store.head() and till.vouchers() == expected_vouchers(store)
    till.close()
    store.close()


# --- the property: any interleaving of decisions, head office's pages and a till's pages --------

ops = st.one_of(
    st.tuples(st.just("redeem"), st.sampled_from([TILL_1, TILL_2]), st.sampled_from(SERIALS)),
    st.tuples(st.just("revert"), st.sampled_from([TILL_1, TILL_2]), st.sampled_from(SERIALS)),
    st.tuples(
        st.just("ho_voucher"), st.sampled_from(SERIALS), st.sampled_from(["unused", "used", "pending"])
    ),
    st.tuples(st.just("ho_batch"), st.sampled_from(["redeemable", "locked"])),
    st.tuples(st.just("ho_b2"), st.booleans()),  # batch b2 made (again) or deleted
    st.tuples(st.just("forward"), st.booleans()),  # head office's answers: as the hub's, or all rejected
    st.tuples(st.just("pull")),
    st.tuples(st.just("till_page"), st.integers(1, 4)),
    st.tuples(st.just("till_catch_up"), st.integers(1, 4)),
)


class World:
    """The hub, a till paging from it, and head office played by hand."""

    def __init__(self, root: Path) -> None:
        self.store = ready_store(root / "hub.db")
        self.till = TillReplica(root / "till" / "replica.db")
        self.redeemed: dict[int, uuid.UUID] = {}
        self.clock = 0

    def ho(self, **rows) -> None:
        cursor = self.store.upstream_cursor()
        self.store.apply_upstream(ho_page(cursor, cursor + 1, **rows), self.store.begin_pull())

    def run(self, op: tuple) -> None:
        self.clock += 1
        at = T0 + timedelta(seconds=self.clock)
        match op:
            case ("redeem", till, serial):
                event = redeem(f"b1.{serial}", at=at)
                [result] = self.store.ingest(till, [event])
                if result.outcome == "accepted":
                    self.redeemed[serial] = event.id
            case ("revert", till, serial):
                self.store.ingest(
                    till, [revert(f"b1.{serial}", self.redeemed.get(serial, uuid.uuid4()), at=at)]
                )
            case ("ho_voucher", serial, status):
                used = {"used_at": at.isoformat(), "used_store": "s9"} if status == "used" else {}
                self.ho(vouchers=[voucher(serial, status=status, **used)])
            case ("ho_batch", state):
                self.ho(batches=[batch("b1", state)])
            case ("ho_b2", True):
                self.ho(
                    batches=[batch("b2")], types=[kind("b2")], vouchers=[voucher(1, "b2"), voucher(2, "b2")]
                )
            case ("ho_b2", False):
                self.ho(deleted={"batches": ["b2"]})
            case ("forward", echo):
                events = self.store.unforwarded(1000)
                answers = []
                for event in events:
                    [own] = self.store.ingest(TILL_1, [event])  # a duplicate: the hub's first answer
                    assert own.first is not None
                    first = own.first
                    answers.append(
                        first
                        if echo
                        else EventResult(
                            id=event.id, outcome="rejected", reason="BATCH_LOCKED", server_time=at
                        )
                    )
                self.store.record_forwarded(answers)
            case ("pull",):
                self.ho()
            case ("till_page", limit):
                self.till.pull(self.store, limit)
            case ("till_catch_up", limit):
                self.till.catch_up(self.store, limit)

    def close(self) -> None:
        self.till.close()
        self.store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, max_size=30))
@example(  # a redemption head office answers, then reflects with a newer row of its own
    [("redeem", TILL_1, 1), ("ho_voucher", 1, "pending"), ("till_catch_up", 2), ("forward", True), ("pull",)]
)
@example(  # head office answers conflict: the winner's use, then its row
    [("ho_voucher", 2, "used"), ("redeem", TILL_2, 2), ("till_page", 3), ("forward", False), ("ho_b2", True)]
)
def test_any_interleaving_ends_with_the_till_at_the_hubs_latest_state(steps):
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp))
        try:
            for step in steps:
                world.run(step)
            world.till.catch_up(world.store, limit=3)
            now = served(world.store)
            assert world.till.vouchers() == expected_vouchers(world.store)
            assert world.till.batches() == {b: now["batches"][b]["state"] for b in now["batches"]}
            reviewed = {
                p: (
                    now["problems"][p]["outcome"],
                    now["problems"][p]["reason"],
                    (now["problems"][p]["reviewed"] or {}).get("by"),
                )
                for p in now["problems"]
            }
            assert world.till.problems() == reviewed
        finally:
            world.close()


def test_the_store_s_locale_set_at_head_office_reaches_a_till_that_is_caught_up(tmp_path):
    store = ready_store(tmp_path / "hub.db")
    till = TillReplica(tmp_path / "till" / "replica.db")
    till.catch_up(store)
    head = store.head()
    assert Till(till.replica.conn, None).locale() is None
    # head office set the store's locale: its counter moved, its next page carries the store so
    store.apply_upstream(ho_page(100, 101, store={**STORE, "locale": "de_CH"}), store.begin_pull())
    assert store.head() > head  # a change for the tills, though no row changed
    page = till.pull(store)
    assert page["store"]["locale"] == "de_CH" and Till(till.replica.conn, None).locale() == "de_CH"
    store.close()
