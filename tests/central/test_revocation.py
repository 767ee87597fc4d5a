"""Revocation keeps the record: revoking a till with events it had not pushed asks to confirm; a
till enrolled again pushes its old journal's events under the earlier device that made them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

NOW = datetime.now(UTC)


def redeem(voucher_id: str, seq: int = 1, **extra) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher_id,
        "at": NOW.isoformat(),
        "device_seq": seq,
        **extra,
    }


def push(api, device: dict, *events: dict) -> list[dict]:
    return api.call("POST", "/sync/events", 200, token=device["token"], json={"events": list(events)}).json()[
        "results"
    ]


def beat(api, device: dict, pending: int) -> None:
    api.call(
        "POST",
        "/sync/heartbeat",
        200,
        token=device["token"],
        json={"version": "1", "pending": pending, "snapshot_cursor": 0},
    )


@pytest.fixture
def shop(api):
    api.store("s1")
    api.store("s2")
    return {"old": api.device("s1", "till-1"), "other": api.device("s2", "till-9")}


def test_revoking_a_device_with_events_not_pushed_asks_for_their_number(api, shop):
    old = shop["old"]["device_id"]
    beat(api, shop["old"], 4)
    asked = api.call("POST", f"/devices/{old}/revoke", 409).json()
    assert (
        asked["type"].endswith("revoke-not-confirmed")
        and asked["pending"] == 4
        and asked["last_heartbeat_at"]
    )
    assert "had 4 event(s) not yet pushed at its last heartbeat" in asked["detail"]
    assert "confirm=4" in asked["detail"]
    api.call("POST", f"/devices/{old}/revoke", 409, params={"confirm": 3})  # not the number it had
    done = api.call("POST", f"/devices/{old}/revoke", 200, params={"confirm": 4}).json()
    assert done["revoked"] is True and done["pending"] == 4 and done["revoked_at"]
    api.call(
        "POST",
        "/sync/heartbeat",
        401,
        token=shop["old"]["token"],
        json={"version": "1", "pending": 0, "snapshot_cursor": 0},
    )
    assert api.call("POST", f"/devices/{old}/revoke", 200).json()["revoked"] is True  # again: nothing changes


def test_a_device_with_nothing_pending_is_revoked_at_once(api, shop):
    beat(api, shop["old"], 0)
    assert api.call("POST", f"/devices/{shop['old']['device_id']}/revoke", 200).json()["pending"] == 0
    never = api.device("s1", "till-never")  # no heartbeat at all: nothing known to be pending
    assert api.call("POST", f"/devices/{never['device_id']}/revoke", 200).json()["revoked"] is True


def test_events_of_an_earlier_device_of_the_store_are_recorded_under_it(api, shop):
    batch = api.batch(5)
    first, second = (
        api.call("GET", f"/vouchers/{api.claim(batch, m)['code']}", 200).json() for m in ("ann", "bob")
    )
    old = shop["old"]["device_id"]
    beat(api, shop["old"], 0)
    api.call("POST", f"/devices/{old}/revoke", 200)
    new = api.device("s1", "till-1 again")
    stranded, later = redeem(first["id"], 1, device_id=old), redeem(second["id"], 2)
    assert [r["outcome"] for r in push(api, new, stranded, later)] == ["accepted", "accepted"]
    history = {
        e["id"]: e
        for code in (first["code"], second["code"])
        for e in api.call("GET", f"/vouchers/{code}", 200).json()["history"]
    }
    assert (history[stranded["id"]]["device_id"], history[stranded["id"]]["store_id"]) == (old, "s1")
    assert history[later["id"]]["device_id"] == new["device_id"]
    redemption = api.call("GET", f"/vouchers/{first['code']}", 200).json()["redemption"]
    assert redemption["device_id"] == old
    [again] = push(api, new, stranded)  # sent again, as a till that lost its answers would
    assert again["outcome"] == "duplicate" and again["first"]["outcome"] == "accepted"
    [without] = push(api, new, {**stranded, "device_id": None})  # by the store's new device, without the name
    assert without["outcome"] == "duplicate"
    assert api.get(batch["id"])["metrics"]["redeemed"] == 2


def test_a_device_of_another_store_or_none_is_never_taken(api, shop):
    batch = api.batch(5)
    voucher = api.call("GET", f"/vouchers/{api.claim(batch, 'ann')['code']}", 200).json()
    new = api.device("s1", "till-2")
    foreign = redeem(voucher["id"], 1, device_id=shop["other"]["device_id"])
    unknown = redeem(voucher["id"], 2, device_id="d_nobody")
    results = push(api, new, foreign, unknown)
    assert [(r["outcome"], r["reason"]) for r in results] == [("rejected", "UNKNOWN_DEVICE")] * 2
    assert api.get(batch["id"])["metrics"]["redeemed"] == 0
    [taken] = push(api, shop["other"], foreign)  # the other store's own device, with that id: not its event
    assert (taken["outcome"], taken["reason"]) == ("rejected", "ID_IN_USE")
