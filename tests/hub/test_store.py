"""The hub's decisions on its tills' events (hub/decisions.py through HubStore), on a real hub.db:
head office's outcomes and reason words, first wins among the shop's tills, and what the tills
are served of each decision."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from store_support import (
    T0,
    TILL_1,
    TILL_2,
    batch,
    ho_page,
    kind,
    ready_store,
    redeem,
    revert,
    review,
    served,
    store_devices,
    voucher,
)

from hub.store import HubStore, NotReady
from vouchers.wire import Event, EventResult, HeartbeatRequest


@pytest.fixture
def store(tmp_path):
    s = ready_store(tmp_path / "hub.db")
    yield s
    s.close()


def test_two_tills_redeem_one_voucher_the_first_wins_and_the_second_is_told_who(store):
    first = redeem("b1.1", at=T0)
    second = redeem("b1.1", at=T0 + timedelta(seconds=3))
    [a] = store.ingest(TILL_1, [first])
    [b] = store.ingest(TILL_2, [second])
    assert (a.outcome, a.reason, a.winner) == ("accepted", None, None)
    assert (b.outcome, b.reason) == ("conflict", "ALREADY_USED")
    assert b.winner is not None
    assert (b.winner.store_id, b.winner.device_id, b.winner.at) == ("s1", "till-1", T0)
    now = served(store)
    assert now["vouchers"]["b1.1"]["status"] == "used"
    assert now["vouchers"]["b1.1"]["used_store"] == "s1"
    problem = now["problems"][str(second.id)]  # the hub's own conflict, served to every till at once
    assert problem["outcome"] == "conflict" and problem["device_id"] == "till-2"
    assert problem["winner"]["device_id"] == "till-1" and problem["reviewed"] is None


def test_events_of_one_upload_see_each_other(store):
    first, second = redeem("b1.2"), redeem("b1.2")
    results = store.ingest(TILL_1, [first, second])
    assert [r.outcome for r in results] == ["accepted", "conflict"]


def test_an_id_seen_before_is_a_duplicate_with_the_first_result(store):
    event = redeem("b1.1")
    [first] = store.ingest(TILL_1, [event])
    [again] = store.ingest(TILL_1, [event])
    [from_other] = store.ingest(TILL_2, [event])  # same store: the same event (a till enrolled again)
    for repeat in (again, from_other):
        assert repeat.outcome == "duplicate" and repeat.first == first
    assert store.pending() == 1  # kept once, forwarded once


def test_a_revert_undoes_the_redemption_in_effect_only(store):
    event = redeem("b1.3")
    store.ingest(TILL_1, [event])
    [wrong] = store.ingest(TILL_1, [revert("b1.3", uuid.uuid4())])
    assert (wrong.outcome, wrong.reason) == ("rejected", "UNKNOWN_REDEMPTION")
    [other_voucher] = store.ingest(TILL_1, [revert("b1.4", event.id)])
    assert (other_voucher.outcome, other_voucher.reason) == ("rejected", "UNKNOWN_REDEMPTION")
    [undone] = store.ingest(TILL_2, [revert("b1.3", event.id)])  # any till of the shop may undo it
    assert undone.outcome == "accepted"
    assert served(store)["vouchers"]["b1.3"]["status"] == "unused"
    [twice] = store.ingest(TILL_1, [revert("b1.3", event.id)])
    assert (twice.outcome, twice.reason) == ("rejected", "NOT_REDEEMED")
    [again] = store.ingest(TILL_2, [redeem("b1.3")])  # unused again: redeemable again
    assert again.outcome == "accepted"


def test_a_refused_scan_is_kept_for_the_record_and_changes_nothing(store):
    head = store.head()
    refused = Event(
        id=uuid.uuid4(), kind="refused", verdict="EXPIRED", voucher_id="b1.1", at=T0, device_seq=9
    )
    [result] = store.ingest(TILL_1, [refused])
    assert result.outcome == "accepted"
    assert store.head() == head  # nothing for the tills
    assert served(store)["vouchers"]["b1.1"]["status"] == "unused"
    assert [e.id for e in store.unforwarded(10)] == [refused.id]


def test_rejections_carry_the_verdict_code(tmp_path):
    store = HubStore(tmp_path / "hub.db")
    store.set_devices(store_devices())
    store.apply_upstream(
        ho_page(
            0,
            10,
            batches=[batch("b1", "locked"), batch("b2", valid_until="2026-03-01"), batch("b3", stores=[])],
            types=[kind("b1"), kind("b2"), kind("b3")],
            vouchers=[
                voucher(1, "b1"),
                voucher(1, "b2"),
                voucher(1, "b3"),
                voucher(2, "b3", status="pending"),
            ],
        ),
        store.begin_pull(),
    )
    events = [redeem("b1.1"), redeem("b2.1"), redeem("b3.1"), redeem("nope.1")]
    results = store.ingest(TILL_1, events)
    assert [(r.outcome, r.reason) for r in results] == [
        ("rejected", "BATCH_LOCKED"),
        ("rejected", "EXPIRED"),  # in the store's time zone: 2 March is after the last valid day
        ("rejected", "WRONG_STORE"),
        ("rejected", "UNKNOWN"),
    ]
    problems = served(store)["problems"]
    assert {p: problems[p]["reason"] for p in problems} == {
        str(e.id): r.reason for e, r in zip(events, results, strict=True)
    }
    store.close()


def test_an_event_naming_a_device_that_is_no_till_of_the_store_is_rejected(store):
    foreign = redeem("b1.1", device_id="till-elsewhere")
    as_hub = redeem("b1.1", device_id="hub-1")
    earlier = redeem("b1.1", device_id="till-2")  # another till of the store: decided as that till's
    results = store.ingest(TILL_1, [foreign, as_hub, earlier])
    assert [(r.outcome, r.reason) for r in results] == [
        ("rejected", "UNKNOWN_DEVICE"),
        ("rejected", "UNKNOWN_DEVICE"),
        ("accepted", None),
    ]
    forwarded = {e.id: e.device_id for e in store.unforwarded(10)}
    assert forwarded == {foreign.id: "till-elsewhere", as_hub.id: "hub-1", earlier.id: "till-2"}
    [conflict] = store.ingest(TILL_1, [redeem("b1.1")])
    assert conflict.winner is not None and conflict.winner.device_id == "till-2"


def test_a_till_names_only_a_till_enrolled_before_it_as_head_office_rules(store):
    """Head office takes the hub's word for which till made an event, so the hub applies head
    office's rule: a till may name a till of its store enrolled before it, not one enrolled after."""
    store.set_devices(
        [
            d.model_copy(update={"enrolled_at": T0 + timedelta(days=1 if d.device_id == "till-1" else 2)})
            for d in store_devices()
        ]
    )
    later = redeem("b1.1", device_id="till-2")  # till-2 enrolled after till-1
    [refused] = store.ingest(TILL_1, [later])
    assert (refused.outcome, refused.reason) == ("rejected", "UNKNOWN_DEVICE")
    [accepted] = store.ingest(TILL_2, [redeem("b1.1", device_id="till-1")])  # till-1 is the earlier
    assert (accepted.outcome, accepted.reason) == ("accepted", None)


def test_a_review_closes_a_problem_the_hub_knows_and_is_refused_otherwise(store):
    store.ingest(TILL_1, [redeem("b1.1")])
    lost = redeem("b1.1")
    store.ingest(TILL_2, [lost])
    [unknown] = store.ingest(TILL_1, [review(uuid.uuid4())])
    assert (unknown.outcome, unknown.reason) == ("rejected", "UNKNOWN_PROBLEM")
    [accepted_event] = [e for e in store.unforwarded(10) if e.kind == "redeem" and e.id != lost.id]
    [not_a_problem] = store.ingest(TILL_1, [review(accepted_event.id)])
    assert (not_a_problem.outcome, not_a_problem.reason) == ("rejected", "UNKNOWN_PROBLEM")
    [closed] = store.ingest(TILL_1, [review(lost.id, "gave the discount once")])
    assert closed.outcome == "accepted"
    reviewed = served(store)["problems"][str(lost.id)]["reviewed"]
    assert (
        reviewed["by"] == "Sam at store s1 (device till-1)" and reviewed["note"] == "gave the discount once"
    )
    [second] = store.ingest(TILL_2, [review(lost.id, "later")])  # accepted, but the first review stands
    assert second.outcome == "accepted"
    assert served(store)["problems"][str(lost.id)]["reviewed"]["note"] == "gave the discount once"


def test_a_review_of_head_offices_problem_is_accepted(store):
    event_id = str(uuid.uuid4())
    problem = {
        "event_id": event_id,
        "kind": "redeem",
        "outcome": "conflict",
        "reason": "ALREADY_USED",
        "store_id": "s2",
        "device_id": "far-till",
        "voucher_id": "b1.5",
        "at": T0.isoformat(),
        "winner": {"store_id": "s1", "device_id": "till-1", "at": T0.isoformat()},
        "reviewed": None,
    }
    store.apply_upstream(ho_page(100, 110, problems=[problem]), store.begin_pull())
    assert served(store)["problems"][event_id]["store_id"] == "s2"  # a conflict this store won
    [result] = store.ingest(TILL_1, [review(event_id)])
    assert result.outcome == "accepted"
    assert served(store)["problems"][event_id]["reviewed"]["by"].startswith("Sam at store s1")


def test_the_hub_neither_decides_nor_serves_before_head_offices_snapshot_came_whole(tmp_path):
    store = HubStore(tmp_path / "hub.db")
    assert store.store_id() is None and not store.ready()
    with pytest.raises(NotReady):
        store.page(0, 10)
    store.apply_upstream(ho_page(0, 5, complete=False, batches=[batch()]), store.begin_pull())
    assert store.store_id() == "s1" and not store.ready()
    with pytest.raises(NotReady):
        store.ingest(TILL_1, [redeem("b1.1")])
    assert store.pending() == 0
    store.apply_upstream(ho_page(5, 9, types=[kind()], vouchers=[voucher(1)]), store.begin_pull())
    assert store.ready()
    assert store.ingest(TILL_1, [redeem("b1.1")])[0].outcome == "accepted"
    store.close()


def test_forwarding_in_ledger_order_under_each_till_and_recording_head_offices_answers(store):
    events = [redeem("b1.1"), redeem("b1.2"), redeem("b1.2")]
    store.ingest(TILL_1, events[:2])
    store.ingest(TILL_2, events[2:])
    out = store.unforwarded(10)
    assert [e.id for e in out] == [e.id for e in events]
    assert [e.device_id for e in out] == ["till-1", "till-1", "till-2"]
    assert store.unforwarded(1) == out[:1]
    answers = [EventResult(id=e.id, outcome="accepted", server_time=T0) for e in out[:2]]
    store.record_forwarded(answers)
    assert store.pending() == 1 and [e.id for e in store.unforwarded(10)] == [events[2].id]
    # sent again after a crash: head office answers duplicate with the first; the first answer stays
    store.record_forwarded(
        [EventResult(id=events[0].id, outcome="duplicate", server_time=T0, first=answers[0])]
    )
    assert store.pending() == 1
    status = store.status()
    assert (status.events, status.unforwarded, status.store_id) == (3, 1, "s1")
    assert status.last_forward_at is not None and status.last_contact_at is not None


def test_tokens_devices_and_heartbeats(store):
    assert store.device_for_token("tok-1") == TILL_1
    assert store.device_for_token("nobody") is None
    hub = store.device_for_token("tok-hub")
    assert hub is not None and hub.role == "hub"
    store.record_heartbeat(
        TILL_2, HeartbeatRequest(version="1.2", pending=4, snapshot_cursor=store.head(), device_time=T0)
    )
    revoked = [d.model_copy(update={"revoked": d.device_id == "till-2"}) for d in store_devices()[:2]]
    store.set_devices(revoked)  # the hub is gone from the list: it is forgotten
    assert store.device_for_token("tok-hub") is None
    till_2 = store.device_for_token("tok-2")
    assert till_2 is not None and till_2.revoked
    tills = {t.device_id: t for t in store.status().devices}
    assert set(tills) == {"till-1", "till-2"}
    assert tills["till-2"].revoked and tills["till-2"].pending == 4 and tills["till-2"].version == "1.2"
    assert tills["till-2"].last_heartbeat_at is not None and tills["till-1"].last_heartbeat_at is None


def test_answers_and_decisions_outlive_the_store_object(tmp_path):
    store = ready_store(tmp_path / "hub.db")
    [accepted] = store.ingest(TILL_1, [event := redeem("b1.1")])
    head = store.head()
    store.close()
    again = HubStore(tmp_path / "hub.db")
    assert again.head() == head and again.pending() == 1
    [repeat] = again.ingest(TILL_2, [event])
    assert repeat.first == accepted
    assert served(again)["vouchers"]["b1.1"]["status"] == "used"
    again.close()


def test_a_problem_of_the_hubs_that_head_office_then_accepted_is_served_closed(tmp_path):
    store = HubStore(tmp_path / "hub.db")
    store.set_devices(store_devices())
    page = ho_page(0, 10, batches=[batch("b1", "locked")], types=[kind()], vouchers=[voucher(1)])
    store.apply_upstream(page, store.begin_pull())
    [refused] = store.ingest(TILL_1, [event := redeem("b1.1")])
    assert (refused.outcome, refused.reason) == ("rejected", "BATCH_LOCKED")
    assert store.status().open_problems == 1
    head = store.head()
    store.record_forwarded([EventResult(id=event.id, outcome="accepted", server_time=T0)])  # unlocked there
    assert store.head() > head  # the tills hear of it
    problem = served(store)["problems"][str(event.id)]
    assert problem["outcome"] == "rejected" and problem["reviewed"]["by"] == "head office"
    assert served(store)["vouchers"]["b1.1"]["status"] == "used"  # head office's answer counts at once
    assert store.status().open_problems == 0
    store.close()


def test_tills_deciding_at_once_from_many_threads_one_wins(store):
    contenders = [redeem("b1.4", at=T0 + timedelta(seconds=i)) for i in range(8)]
    results: list[EventResult] = []
    errors: list[BaseException] = []

    def send(event: Event, till) -> None:
        try:
            results.extend(store.ingest(till, [event]))
            store.page(0, 1000)  # and pages read meanwhile, each thread on its own connection
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [
        threading.Thread(target=send, args=(e, TILL_1 if i % 2 else TILL_2)) for i, e in enumerate(contenders)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 8
    [winner] = [r for r in results if r.outcome == "accepted"]
    first = next(e for e in contenders if e.id == winner.id)
    for lost in (r for r in results if r is not winner):
        assert lost.outcome == "conflict" and lost.winner is not None and lost.winner.at == first.at
    assert store.pending() == 8
