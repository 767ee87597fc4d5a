"""The wire records (vouchers/wire.py): each goes to its JSON form and back unchanged, is
immutable, and a body that does not follow docs/PROTOCOL.md is refused with the record and the
field named."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from vouchers.status import Status
from vouchers.verdict import Verdict
from vouchers.wire import (
    KINDS,
    Event,
    EventResult,
    EventsResponse,
    HeartbeatRequest,
    Malformed,
    SnapshotPage,
    kind_problems,
)

AT = datetime(2026, 3, 2, 14, 3, tzinfo=UTC)
LONDON_SUMMER = datetime(2026, 7, 2, 15, 3, tzinfo=timezone(timedelta(hours=1)))  # the device's offset


def event_json(**fields) -> dict:
    base = {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": "b1.1",
        "at": AT.isoformat(),
        "device_seq": 7,
    }
    return {k: v for k, v in {**base, **fields}.items() if v is not None}


EVENTS = {
    "redeem": event_json(cashier="Ann"),
    "revert": event_json(kind="revert", reverts=str(uuid.uuid4()), reason="customer changed their mind"),
    "refused": event_json(kind="refused", voucher_id=None, verdict="EXPIRED"),
    "review": event_json(kind="review", voucher_id=None, reviews=str(uuid.uuid4()), reason="called the shop"),
    "earlier device": event_json(device_id="d-old"),
}


@pytest.mark.parametrize("sent", EVENTS.values(), ids=EVENTS.keys())
def test_an_event_goes_to_the_wire_and_back_unchanged(sent):
    event = Event.from_wire(sent)
    assert event.to_wire() == sent  # only the fields it has, times with their offset as the device wrote them
    assert Event.from_wire(json.dumps(event.to_wire())) == event
    assert Event.from_wire(json.dumps(sent).encode()) == event


def test_an_event_keeps_its_offset_and_drops_what_it_does_not_carry():
    event = Event(id=uuid.uuid4(), kind="redeem", voucher_id="b1.1", at=LONDON_SUMMER, device_seq=1)
    wire = event.to_wire()
    assert wire["at"] == "2026-07-02T15:03:00+01:00"  # as the device wrote it (and UTC "+00:00", never "Z")
    assert set(wire) == {
        "id",
        "kind",
        "voucher_id",
        "at",
        "device_seq",
    }  # no device_id: older servers refuse it


def test_records_are_immutable():
    event = Event.from_wire(EVENTS["redeem"])
    with pytest.raises(ValidationError, match="frozen"):
        event.kind = "refused"  # type: ignore[misc]
    result = EventResult(id=event.id, outcome="accepted", server_time=AT)
    with pytest.raises(ValidationError, match="frozen"):
        result.outcome = "rejected"  # type: ignore[misc]


def test_one_table_says_what_each_kind_carries():
    assert set(KINDS) == {"redeem", "revert", "refused", "review"}
    assert kind_problems("redeem", {"voucher_id": "b1.1"}) == []
    assert kind_problems("revert", {"voucher_id": "b1.1", "reason": " "}) == [
        "a revert event needs reverts (the redeem event id) and a reason"
    ]
    assert kind_problems("redeem", {"voucher_id": "b1.1", "reason": "why", "verdict": "EXPIRED"}) == [
        "reason belongs to revert and review events only",
        "verdict belongs to refused events only",
    ]
    assert kind_problems("refused", {"verdict": Verdict.ACCEPTED}) == [
        "a refused event needs the verdict the till showed (not ACCEPTED)"
    ]
    assert kind_problems("undo", {}) == ["kind must be one of redeem, revert, refused, review"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"kind": "review", "voucher_id": None, "reason": "ok"}, "a review event needs reviews"),
        ({"reviews": str(uuid.uuid4())}, "reviews belongs to review events only"),
        ({"at": "2026-03-02T14:03:00"}, "at: Input should have timezone info"),
        ({"device_seq": -1}, "device_seq: Input should be greater than or equal to 0"),
        ({"cashier": "x" * 201}, "cashier: String should have at most 200 characters"),
        ({"store_id": "s1"}, "store_id: Extra inputs are not permitted"),
    ],
)
def test_a_malformed_event_is_refused_in_words_naming_the_field(fields, words):
    with pytest.raises(Malformed, match=f"^Event: .*{words}") as refused:
        Event.from_wire(event_json(**fields))
    assert isinstance(refused.value, ValueError) and refused.value.record == "Event"


def test_a_result_goes_to_the_wire_and_back_and_a_duplicate_keeps_its_first_answer():
    first = {
        "id": str(uuid.uuid4()),
        "outcome": "conflict",
        "reason": "ALREADY_USED",
        "winner": {"store_id": "s2", "device_id": None, "at": (AT - timedelta(hours=1)).isoformat()},
        "server_time": AT.isoformat(),
        "first": None,
    }
    again = {**first, "outcome": "duplicate", "reason": None, "winner": None, "first": first}
    result = EventResult.from_wire(again)
    assert EventResult.from_wire(result.to_wire()) == result
    assert result.final.outcome == "conflict" and result.final.winner is not None
    assert result.final.winner.store_id == "s2"
    assert EventResult.from_wire(first).final.outcome == "conflict"  # not a duplicate: itself


PAGE = {
    "cursor": 0,
    "next_cursor": 1532,
    "complete": False,
    "head": 2000,
    "remaining": 468,
    "store": {"id": "s1", "timezone": "Europe/London"},
    "batches": [
        {
            "id": "b1",
            "identifier": "Q1",
            "description": "d",
            "state": "redeemable",
            "claims": "active",
            "valid_from": None,
            "valid_until": "2026-03-31",
            "stores": ["s1"],
        }
    ],
    "types": [
        {
            "id": "t1",
            "batch_id": "b1",
            "name": "n",
            "value": "£5 off",
            "min_purchase": None,
            "initial_status": "unused",
        }
    ],
    "vouchers": [
        {
            "id": "b1.1001",
            "batch_id": "b1",
            "type_id": "t1",
            "serial": 1001,
            "code_hash": "ab",
            "claimed": True,
            "status": "used",
            "used_at": "2026-03-02T14:03:00+00:00",
            "used_store": "s2",
        }
    ],
    "deleted": {"batches": ["b0"], "types": [], "vouchers": []},
    "problems": [
        {
            "event_id": "e1",
            "kind": "redeem",
            "outcome": "conflict",
            "reason": "ALREADY_USED",
            "store_id": "s1",
            "device_id": "d1",
            "voucher_id": "b1.1001",
            "at": "2026-03-02T14:00:00+00:00",
            "winner": {"store_id": "s2", "device_id": "d2", "at": "2026-03-02T13:00:00+00:00"},
            "reviewed": None,
        }
    ],
}


def test_a_snapshot_page_goes_to_the_wire_and_back_its_vouchers_plain_dicts():
    page = SnapshotPage.from_wire(json.dumps(PAGE))
    assert page.batches[0].valid_until == date(2026, 3, 31) and page.types[0].initial_status is Status.UNUSED
    voucher = page.vouchers[0]
    assert type(voucher) is dict and voucher["used_at"] == AT  # the hot path: no object per voucher
    assert page.problems[0].winner is not None and page.problems[0].winner.store_id == "s2"
    assert SnapshotPage.from_wire(page.to_wire()) == page
    assert page.wait is None  # a server without live changes says nothing of waiting


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda p: p["vouchers"][0].update(claimed="maybe"), "vouchers.0.claimed", "valid boolean"),
        (lambda p: p["vouchers"][0].pop("code_hash"), "vouchers.0.code_hash", "Field required"),
        (lambda p: p["batches"][0].update(state="sleeping"), "batches.0.state", "Input should be"),
        (lambda p: p["problems"][0].update(outcome="accepted"), "problems.0.outcome", "Input should be"),
        (lambda p: p.pop("next_cursor"), "next_cursor", "Field required"),
    ],
)
def test_a_malformed_page_is_refused_whole_naming_the_field(change, field, words):
    body = json.loads(json.dumps(PAGE))
    change(body)
    with pytest.raises(Malformed) as refused:
        SnapshotPage.from_wire(json.dumps(body))
    assert (refused.value.record, refused.value.field) == ("SnapshotPage", field)
    assert str(refused.value).startswith(f"SnapshotPage: {field}: ") and words in str(refused.value)


def test_a_malformed_answer_to_a_push_names_the_result_and_field():
    with pytest.raises(Malformed, match=r"^EventsResponse: results\.0\.server_time: Field required$"):
        EventsResponse.from_wire(
            b'{"results": [{"id": "%s", "outcome": "accepted"}]}' % str(uuid.uuid4()).encode()
        )
    with pytest.raises(Malformed, match=r"^EventsResponse: Invalid JSON"):
        EventsResponse.from_wire(b'{"results": [')  # a truncated body


def test_a_heartbeat_goes_to_the_wire_with_its_offsets():
    beat = HeartbeatRequest(version="1.0", pending=3, last_pull_at=AT, snapshot_cursor=42, device_time=AT)
    wire = beat.to_wire()
    assert wire == {
        "version": "1.0",
        "pending": 3,
        "last_pull_at": "2026-03-02T14:03:00+00:00",
        "last_push_at": None,
        "snapshot_cursor": 42,
        "device_time": "2026-03-02T14:03:00+00:00",
    }
    assert HeartbeatRequest.from_wire(wire) == beat
