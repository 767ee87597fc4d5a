"""Claims (seed 000), voucher status (seed 002), batch card metrics, and the sync wire models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vouchers.claims import check_claim
from vouchers.errors import ClaimRefused, Conflict, StatusChangeRefused
from vouchers.metrics import metrics
from vouchers.status import Status, check_member_mark_used, check_staff_change
from vouchers.verdict import Verdict
from vouchers.wire import MAX_EVENTS, Event, EventResult, EventsRequest, SnapshotPage

# --- claims ----------------------------------------------------------------------------------

CLAIMABLE = ["distributed", "redeemable", "locked"]
NOT_CLAIMABLE = ["configuring", "validated", "generating", "generated", "void"]


def refusal(*args) -> ClaimRefused:
    with pytest.raises(ClaimRefused) as caught:
        check_claim(*args)
    assert isinstance(caught.value, Conflict)  # answered 409 (central/problems.py)
    assert caught.value.title.strip() and caught.value.detail.strip()
    return caught.value


@pytest.mark.parametrize("state", CLAIMABLE)
def test_claim_allowed(state):
    assert check_claim(state, "active", 1, None) is None
    assert check_claim(state, "active", 500, None) is None


@pytest.mark.parametrize("state", NOT_CLAIMABLE)
def test_not_claimable_states(state):
    refused = refusal(state, "active", 10, None)
    assert refused.slug == "not-claimable"
    assert refused.extra["current_state"] == state
    assert state in refused.detail


@pytest.mark.parametrize("state", NOT_CLAIMABLE)
def test_not_claimable_wins_over_everything(state):
    assert refusal(state, "paused", 0, "7T3K9QJ2XMVBCD").slug == "not-claimable"


@pytest.mark.parametrize("state", CLAIMABLE)
@pytest.mark.parametrize(
    ("claims", "available"), [("active", 5), ("paused", 5), ("active", 0), ("paused", 0)]
)
def test_already_claimed_returns_the_code_and_wins_over_paused_and_none_available(state, claims, available):
    refused = refusal(state, claims, available, "7T3K9QJ2XMVBCD")
    assert refused.slug == "already-claimed"
    assert refused.extra["code"] == "7T3K9QJ2XMVBCD"


@pytest.mark.parametrize("state", CLAIMABLE)
@pytest.mark.parametrize("available", [0, 5])
def test_paused(state, available):
    refused = refusal(state, "paused", available, None)
    assert refused.slug == "claims-paused"
    assert refused.title == "Promotion temporarily paused"


@pytest.mark.parametrize("state", CLAIMABLE)
@pytest.mark.parametrize("available", [0, -1])
def test_none_available(state, available):
    refused = refusal(state, "active", available, None)
    assert refused.slug == "none-available"
    assert refused.title == "No vouchers available"


# --- voucher status --------------------------------------------------------------------------

ALL = [s.value for s in Status]
STAFF_ALLOWED = {("pending", "unused"), ("pending", "used"), ("pending", "issued"), ("used", "unused")}


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("new", ALL)
def test_staff_change(current, new):
    if (current, new) in STAFF_ALLOWED:
        assert check_staff_change(current, new) is Status(new)
        return
    with pytest.raises(StatusChangeRefused) as caught:
        check_staff_change(current, new)
    assert isinstance(caught.value, Conflict)  # answered 409 (central/problems.py)
    assert current in caught.value.detail


@pytest.mark.parametrize("new", ALL)
def test_staff_cannot_set_the_status_of_an_unclaimed_voucher(new):
    with pytest.raises(StatusChangeRefused) as caught:
        check_staff_change(None, new)
    assert "claimed" in caught.value.detail


def test_member_marks_an_unused_voucher_used():
    assert check_member_mark_used("unused") is Status.USED
    assert check_member_mark_used(Status.UNUSED) is Status.USED


@pytest.mark.parametrize("current", ["used", "issued", "pending", None])
def test_member_cannot_mark_anything_else_used(current):
    with pytest.raises(StatusChangeRefused) as caught:
        check_member_mark_used(current)
    assert "unused" in caught.value.detail


# --- metrics ---------------------------------------------------------------------------------


def test_metrics_from_the_seed_card():
    m = metrics(total=500, claimed=127, redeemed=45)
    assert (m.total, m.claimed, m.redeemed, m.available) == (500, 127, 45, 373)
    assert m.redemption_rate == 35.4  # 45 / 127 = 35.43…%
    assert m.as_dict() == {
        "total": 500,
        "claimed": 127,
        "redeemed": 45,
        "available": 373,
        "redemption_rate": 35.4,
    }


@pytest.mark.parametrize(
    ("claimed", "redeemed", "rate"),
    [
        (3, 1, 33.3),
        (3, 2, 66.7),
        (7, 1, 14.3),
        (1, 1, 100.0),
        (200, 1, 0.5),
        (1000, 1, 0.1),
        (2000, 1, 0.1),
        (16, 1, 6.3),
        (8, 1, 12.5),
    ],
)
def test_rate_rounds_to_one_decimal(claimed, redeemed, rate):
    assert metrics(5000, claimed, redeemed).redemption_rate == rate


def test_rate_is_zero_when_nothing_is_claimed():
    m = metrics(100, 0, 0)
    assert m.redemption_rate == 0 and m.available == 100


def test_available_never_negative():
    assert metrics(10, 12, 0).available == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 10**6), st.data())
def test_metrics_properties(total, claimed, data):
    redeemed = data.draw(st.integers(0, claimed))
    m = metrics(total, claimed, redeemed)
    assert m.available == max(0, total - claimed)
    assert 0 <= m.redemption_rate <= 100
    assert abs(m.redemption_rate - redeemed * 100 / claimed) <= 0.05 + 1e-9
    assert m.redemption_rate == round(m.redemption_rate, 1)


# --- wire models -----------------------------------------------------------------------------

AT = datetime(2026, 3, 2, 14, 3, tzinfo=UTC)


def event(**fields) -> dict:
    base = {"id": str(uuid.uuid4()), "kind": "redeem", "voucher_id": "v1", "at": AT, "device_seq": 17}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def test_valid_events():
    assert Event.model_validate(event()).kind == "redeem"
    revert = Event.model_validate(
        event(kind="revert", reverts=str(uuid.uuid4()), reason="Customer changed mind")
    )
    assert revert.reason == "Customer changed mind"
    refused = Event.model_validate(event(kind="refused", voucher_id=..., verdict="UNKNOWN"))
    assert refused.verdict is Verdict.UNKNOWN and refused.voucher_id is None
    assert (
        Event.model_validate_json(
            f'{{"id": "{uuid.uuid4()}", "kind": "redeem", "voucher_id": "v1", "at": "2026-03-02T14:03:00+00:00",'
            ' "device_seq": 0, "cashier": "Ann"}'
        ).cashier
        == "Ann"
    )


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"voucher_id": ...}, id="redeem without voucher_id"),
        pytest.param({"voucher_id": ""}, id="redeem with empty voucher_id"),
        pytest.param({"kind": "revert", "reason": "oops"}, id="revert without reverts"),
        pytest.param({"kind": "revert", "reverts": str(uuid.uuid4())}, id="revert without reason"),
        pytest.param(
            {"kind": "revert", "reverts": str(uuid.uuid4()), "reason": "  "}, id="revert blank reason"
        ),
        pytest.param(
            {"kind": "revert", "voucher_id": ..., "reverts": str(uuid.uuid4()), "reason": "x"},
            id="revert without voucher_id",
        ),
        pytest.param({"kind": "refused"}, id="refused without verdict"),
        pytest.param({"kind": "refused", "verdict": "ACCEPTED"}, id="refused as accepted"),
        pytest.param({"kind": "refused", "verdict": "MAYBE"}, id="refused unknown verdict"),
        pytest.param({"verdict": "EXPIRED"}, id="redeem with verdict"),
        pytest.param({"reverts": str(uuid.uuid4())}, id="redeem with reverts"),
        pytest.param({"reason": "why"}, id="redeem with reason"),
        pytest.param({"store_id": "s1"}, id="unknown field"),
        pytest.param({"at": datetime(2026, 3, 2, 14, 3)}, id="naive datetime"),
        pytest.param({"at": "2026-03-02T14:03:00"}, id="naive datetime text"),
        pytest.param({"kind": "redeemed"}, id="unknown kind"),
        pytest.param({"id": "not-a-uuid"}, id="bad id"),
        pytest.param({"device_seq": -1}, id="negative device_seq"),
        pytest.param({"voucher_id": "v" * 201}, id="voucher_id too long"),
        pytest.param({"at": datetime(1969, 12, 31, 23, 59, tzinfo=UTC)}, id="before 1970"),
        pytest.param({"at": "9999-01-01T00:00:00+00:00"}, id="after 9000"),
        pytest.param({"voucher_id": "v1\x00"}, id="NUL in voucher_id"),
        pytest.param({"cashier": "Ann\x00"}, id="NUL in cashier"),
    ],
)
def test_malformed_events_are_rejected(fields):
    with pytest.raises(ValidationError):
        Event.model_validate(event(**fields))


def test_events_request_holds_at_most_1000_events():
    assert MAX_EVENTS == 1000
    assert len(EventsRequest.model_validate({"events": [event() for _ in range(1000)]}).events) == 1000
    with pytest.raises(ValidationError):
        EventsRequest.model_validate({"events": [event() for _ in range(1001)]})
    with pytest.raises(ValidationError):
        EventsRequest.model_validate({"events": [], "extra": 1})


def test_server_answers_are_read_leniently():
    result = EventResult.model_validate(
        {
            "id": str(uuid.uuid4()),
            "outcome": "conflict",
            "winner": {"store_id": "s2", "device_id": "d9", "at": "2026-03-02T14:00:00+00:00", "till": 3},
            "server_time": "2026-03-02T14:05:00+00:00",
            "added_in_v2": True,
        }
    )
    assert result.winner is not None and result.winner.store_id == "s2"
    with pytest.raises(ValidationError):
        EventResult.model_validate({"id": str(uuid.uuid4()), "outcome": "maybe", "server_time": AT})


def test_snapshot_page_from_protocol_example():
    page = SnapshotPage.model_validate(
        {
            "cursor": 0,
            "next_cursor": 1532,
            "complete": False,
            "store": {"id": "s1", "timezone": "Europe/London"},
            "batches": [
                {
                    "id": "b1",
                    "identifier": "Q1",
                    "description": "d",
                    "state": "redeemable",
                    "claims": "active",
                    "valid_from": None,
                    "valid_until": "2026-03-01",
                    "stores": None,
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
                    "id": "v1",
                    "batch_id": "b1",
                    "type_id": "t1",
                    "serial": 1001,
                    "code_hash": "ab",
                    "claimed": True,
                    "status": "unused",
                    "used_at": None,
                    "used_store": None,
                }
            ],
            "deleted": {"batches": ["b0"], "vouchers": ["v0"]},
        }
    )
    assert page.batches[0].valid_until.isoformat() == "2026-03-01"
    assert page.deleted.types == []
