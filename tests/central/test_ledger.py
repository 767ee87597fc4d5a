"""Redemption events from tills: accepted, duplicate, conflict, rejected; reverts; staff changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime.now(UTC)


def redeem(voucher_id: str, seq: int = 1, at: datetime = NOW, **extra) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher_id,
        "at": at.isoformat(),
        "device_seq": seq,
        **extra,
    }


def push(api, device: dict, *events: dict) -> list[dict]:
    body = api.call("POST", "/sync/events", 200, token=device["token"], json={"events": list(events)}).json()
    assert [r["id"] for r in body["results"]] == [e["id"] for e in events]
    return body["results"]


@pytest.fixture
def shop(api):
    api.store("s1")
    api.store("s2")
    return {"t1": api.device("s1", "till-1"), "t2": api.device("s2", "till-2")}


def claimed_voucher(api, batch, member="ann") -> dict:
    code = api.claim(batch, member)["code"]
    return api.call("GET", f"/vouchers/{code}", 200).json()


def test_accepted_then_duplicate_returns_the_first_result(api, shop):
    batch = api.batch(5)
    voucher = claimed_voucher(api, batch)
    event = redeem(voucher["id"], cashier="jo")
    [first] = push(api, shop["t1"], event)
    assert first["outcome"] == "accepted" and first["reason"] is None
    [again] = push(api, shop["t1"], event)
    assert again["outcome"] == "duplicate" and again["first"]["outcome"] == "accepted"
    after = api.call("GET", f"/vouchers/{voucher['code']}", 200).json()
    assert after["status"] == "used" and after["redemption"]["store_id"] == "s1"
    assert after["redemption"]["device_id"] == shop["t1"]["device_id"]
    assert [h["kind"] for h in after["history"]] == ["redeem"]
    assert api.get(batch["id"])["metrics"]["redeemed"] == 1


def test_same_event_twice_in_one_request_counts_once(api, shop):
    batch = api.batch(5)
    event = redeem(claimed_voucher(api, batch)["id"])
    results = push(api, shop["t1"], event, event)
    assert [r["outcome"] for r in results] == ["accepted", "duplicate"]
    assert api.get(batch["id"])["metrics"]["redeemed"] == 1


def test_second_till_gets_a_conflict_naming_the_winner(api, shop):
    batch = api.batch(5)
    voucher = claimed_voucher(api, batch)
    early = NOW - timedelta(hours=2)
    [won] = push(api, shop["t1"], redeem(voucher["id"], at=early))
    [lost] = push(api, shop["t2"], redeem(voucher["id"], at=NOW - timedelta(hours=3)))
    assert won["outcome"] == "accepted"
    assert lost["outcome"] == "conflict"
    assert lost["winner"]["store_id"] == "s1" and lost["winner"]["device_id"] == shop["t1"]["device_id"]
    assert datetime.fromisoformat(lost["winner"]["at"]) == early
    for store in ("s1", "s2"):  # both stores' managers see it
        report = api.call("GET", f"/stores/{store}/redemptions", 200).json()
        assert any(e["result"]["outcome"] == "conflict" for e in report["events"])
    assert api.get(batch["id"])["metrics"]["redeemed"] == 1


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("locked", "BATCH_LOCKED"),
        ("void", "BATCH_VOID"),
        ("distributed", "BATCH_NOT_REDEEMABLE"),
        ("unclaimed", "NOT_CLAIMED"),
        ("pending", "PENDING"),
        ("wrong-store", "WRONG_STORE"),
        ("expired", "EXPIRED"),
    ],
)
def test_rejections_are_kept_with_the_verdict(api, shop, setup, reason):
    fields = {}
    if setup == "wrong-store":
        fields["stores"] = ["s2"]
    if setup == "expired":
        fields["valid_until"] = (NOW - timedelta(days=3)).date().isoformat()
    batch = api.batch(5, initial_status="pending" if setup == "pending" else "unused", **fields)
    if setup == "unclaimed":
        voucher_id = api.vouchers(batch["id"])[0]["id"]
    else:
        voucher_id = claimed_voucher(api, batch)["id"]
    if setup in ("locked", "void"):
        api.call("POST", f"/batches/{batch['id']}/{'lock' if setup == 'locked' else 'void'}", 200)
    if setup == "distributed":
        api.call("POST", f"/batches/{batch['id']}/lock", 200)
        # a locked batch can go back to redeemable but never to distributed; use a fresh one
        batch = api.batch(5, state="distributed")
        voucher_id = claimed_voucher(api, batch)["id"]
    [result] = push(api, shop["t1"], redeem(voucher_id))
    assert (result["outcome"], result["reason"]) == ("rejected", reason)
    history = api.call("GET", f"/vouchers/{voucher_id_to_code(api, batch, voucher_id)}", 200).json()[
        "history"
    ]
    assert [h["result"]["outcome"] for h in history] == ["rejected"]


def voucher_id_to_code(api, batch, voucher_id):
    return next(v["code"] for v in api.vouchers(batch["id"]) if v["id"] == voucher_id)


def test_unknown_voucher_is_rejected_not_dropped(api, shop):
    [result] = push(api, shop["t1"], redeem("b_NOPE.1"))
    assert (result["outcome"], result["reason"]) == ("rejected", "UNKNOWN")
    [again] = push(api, shop["t1"], redeem("garbage-without-serial"))
    assert again["reason"] == "UNKNOWN"


def test_refused_scans_are_recorded_and_change_nothing(api, shop):
    batch = api.batch(5)
    voucher = claimed_voucher(api, batch)
    refused = {
        "id": str(uuid.uuid4()),
        "kind": "refused",
        "voucher_id": voucher["id"],
        "at": NOW.isoformat(),
        "device_seq": 1,
        "verdict": "EXPIRED",
    }
    unknown = {
        "id": str(uuid.uuid4()),
        "kind": "refused",
        "at": NOW.isoformat(),
        "device_seq": 2,
        "verdict": "INVALID_CODE",
    }
    assert [r["outcome"] for r in push(api, shop["t1"], refused, unknown)] == ["accepted", "accepted"]
    after = api.call("GET", f"/vouchers/{voucher['code']}", 200).json()
    assert after["status"] == "unused" and after["history"][0]["verdict"] == "EXPIRED"


def test_revert_undoes_a_redemption_as_a_new_event(api, shop):
    batch = api.batch(5)
    voucher = claimed_voucher(api, batch)
    red = redeem(voucher["id"], 1)
    revert = {
        "id": str(uuid.uuid4()),
        "kind": "revert",
        "voucher_id": voucher["id"],
        "at": NOW.isoformat(),
        "device_seq": 2,
        "reverts": red["id"],
        "reason": "customer changed their mind",
    }
    assert [r["outcome"] for r in push(api, shop["t1"], red, revert)] == ["accepted", "accepted"]
    after = api.call("GET", f"/vouchers/{voucher['code']}", 200).json()
    assert after["status"] == "unused" and after["redemption"] is None
    assert [h["kind"] for h in after["history"]] == ["redeem", "revert"]
    assert api.get(batch["id"])["metrics"]["redeemed"] == 0
    [again] = push(api, shop["t1"], {**revert, "id": str(uuid.uuid4()), "device_seq": 3})
    assert (again["outcome"], again["reason"]) == ("rejected", "NOT_REDEEMED")
    [other_store] = push(api, shop["t2"], {**revert, "id": str(uuid.uuid4())})
    assert other_store["reason"] == "WRONG_STORE"
    # redeemable again after the revert
    assert push(api, shop["t2"], redeem(voucher["id"], 9))[0]["outcome"] == "accepted"


def test_staff_status_changes_are_ledger_events(api, shop):
    batch = api.batch(5, initial_status="pending")
    voucher = claimed_voucher(api, batch)
    changed = api.call(
        "POST",
        f"/vouchers/{voucher['code']}/status",
        200,
        json={"status": "unused", "reason": "workflow done"},
    ).json()
    assert changed["status"] == "unused"
    push(api, shop["t1"], redeem(voucher["id"]))
    refused = api.call(
        "POST", f"/vouchers/{voucher['code']}/status", 409, json={"status": "pending", "reason": "x"}
    )
    assert "used" in refused.json()["detail"]
    reverted = api.call(
        "POST",
        f"/vouchers/{voucher['code']}/status",
        200,
        json={"status": "unused", "reason": "till mistake"},
    ).json()
    assert reverted["status"] == "unused" and reverted["redemption"] is None
    assert [h["kind"] for h in reverted["history"]] == ["status", "redeem", "status"]
    assert api.get(batch["id"])["metrics"]["redeemed"] == 0


def test_store_report_filters_by_time_and_batch(api, shop):
    batch = api.batch(5)
    other = api.batch(5)
    v1, v2 = claimed_voucher(api, batch, "a"), claimed_voucher(api, other, "b")
    push(api, shop["t1"], redeem(v1["id"], 1, at=NOW - timedelta(days=2)), redeem(v2["id"], 2))
    everything = api.call("GET", "/stores/s1/redemptions", 200).json()
    assert everything["summary"]["accepted"] == 2
    recent = api.call(
        "GET", "/stores/s1/redemptions", 200, params={"from": (NOW - timedelta(days=1)).isoformat()}
    ).json()
    assert [e["voucher_id"] for e in recent["events"]] == [v2["id"]]
    only = api.call("GET", "/stores/s1/redemptions", 200, params={"batch": batch["id"]}).json()
    assert [e["voucher_id"] for e in only["events"]] == [v1["id"]]
    assert api.call("GET", "/stores/s2/redemptions", 200).json()["events"] == []


def test_heartbeat_records_health_and_skew(api, shop):
    body = {
        "version": "0.1.0",
        "pending": 3,
        "last_pull_at": NOW.isoformat(),
        "last_push_at": None,
        "snapshot_cursor": 42,
        "device_time": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
    }
    answer = api.call("POST", "/sync/heartbeat", 200, token=shop["t1"]["token"], json=body).json()
    assert abs(datetime.fromisoformat(answer["server_time"]) - datetime.now(UTC)) < timedelta(minutes=1)
    [device] = api.call("GET", "/stores/s1", 200).json()["devices"]
    assert (device["pending"], device["snapshot_cursor"]) == (3, 42)
    assert 290 <= device["clock_skew_seconds"] <= 310
    assert "token_hash" not in device


def test_a_review_in_the_same_request_as_its_problem_closes_it(api, shop):
    """A till that pushes a conflict and the manager's review of it at once: the review sees the
    problem made earlier in its own request, as it would in a later one."""
    batch = api.batch(5)
    voucher = claimed_voucher(api, batch)
    push(api, shop["t1"], redeem(voucher["id"]))
    lost = redeem(voucher["id"])
    unknown = redeem(f"{batch['id']}.999")
    reviews = [
        {**redeem(None, seq), "kind": "review", "reviews": e["id"], "reason": note}
        for seq, (e, note) in enumerate(((lost, "one discount"), (unknown, "typo"), (lost, "second look")), 3)
    ]
    not_a_problem = {**redeem(None, 6), "kind": "review", "reviews": reviews[1]["id"], "reason": "no"}
    results = push(api, shop["t2"], lost, unknown, *reviews, not_a_problem)
    assert [(r["outcome"], r["reason"]) for r in results] == [
        ("conflict", "ALREADY_USED"),
        ("rejected", "UNKNOWN"),
        ("accepted", None),
        ("accepted", None),
        ("accepted", None),
        ("rejected", "UNKNOWN_PROBLEM"),
    ]
    closed = api.call("GET", "/problems", 200, params={"store": "s2", "reviewed": "true"}).json()
    notes = {p["event_id"]: p["reviewed"]["note"] for p in closed}
    assert notes == {lost["id"]: "one discount", unknown["id"]: "typo"}  # the first review stands
    assert api.call("GET", "/problems", 200, params={"store": "s1", "reviewed": "false"}).json() == []
