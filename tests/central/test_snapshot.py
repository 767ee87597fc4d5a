"""Snapshot pages by change cursor: complete, ordered, with tombstones, holding under concurrent
change; the claimed vouchers only, each from its claim on."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from central.db.engine import next_seq
from central.db.schema import tombstones
from localdb.replica import Replica
from vouchers.codes import code_hash, normalise
from vouchers.wire import SnapshotPage


def pull(api, device, cursor=0, limit=50) -> tuple[dict, int, int]:
    """Apply pages until complete, as an agent would; returns the replica, final cursor and page count."""
    replica = {"batches": {}, "types": {}, "vouchers": {}}
    pages = 0
    while True:
        page = api.call(
            "GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor, "limit": limit}
        ).json()
        SnapshotPage.model_validate(page)
        pages += 1
        assert page["cursor"] == cursor and page["next_cursor"] >= cursor
        for kind in ("batches", "types", "vouchers"):
            for row in page[kind]:
                replica[kind][row["id"]] = row
        for batch_id in page["deleted"]["batches"]:
            replica["batches"].pop(batch_id, None)
            replica["vouchers"] = {k: v for k, v in replica["vouchers"].items() if v["batch_id"] != batch_id}
            replica["types"] = {k: v for k, v in replica["types"].items() if v["batch_id"] != batch_id}
        for type_id in page["deleted"]["types"]:
            replica["types"].pop(type_id, None)
        for voucher_id in page["deleted"]["vouchers"]:
            replica["vouchers"].pop(voucher_id, None)
        cursor = page["next_cursor"]
        if page["complete"]:
            return replica, cursor, pages


def hashed(device, code: str) -> str:
    return code_hash(normalise(code), bytes.fromhex(device["code_hash_key"]))


def test_full_snapshot_in_pages_has_every_claimed_voucher_with_its_code_hash_and_no_other(api):
    api.store("s1")
    device = api.device("s1")
    batch = api.batch(120)
    codes = [api.claim(batch, f"m{i}")["code"] for i in range(25)]
    stranger = api.vouchers(batch["id"], claimed="false", limit=1)[0]["code"]
    replica, cursor, pages = pull(api, device, limit=10)
    assert pages >= 3
    assert len(replica["vouchers"]) == 25 and all(v["claimed"] for v in replica["vouchers"].values())
    assert replica["batches"][batch["id"]]["state"] == "redeemable"
    by_hash = {v["code_hash"]: v for v in replica["vouchers"].values()}
    assert all(by_hash[hashed(device, c)]["status"] == "unused" for c in codes)
    assert hashed(device, stranger) not in by_hash  # no till may accept it: none holds it
    # nothing new: one complete, empty page at the same cursor
    page = api.call("GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor}).json()
    assert page["complete"] and page["next_cursor"] == cursor and page["vouchers"] == []
    assert page["store"] == {"id": "s1", "timezone": "Europe/London", "name": "Store s1", "locale": None}


def test_deltas_carry_changes_and_tombstones(api):
    api.store("s1")
    device = api.device("s1")
    batch = api.batch(10)
    doomed = api.batch(4)
    _, cursor, _ = pull(api, device)
    api.call("POST", f"/batches/{batch['id']}/lock", 200)
    api.claim(doomed, "bob")
    api.call("DELETE", f"/batches/{doomed['id']}", 204, params={"confirm": 4})
    page = api.call("GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor}).json()
    assert page["complete"]
    assert [b["state"] for b in page["batches"]] == ["locked"]
    assert page["deleted"]["batches"] == [doomed["id"]]
    replica2, _, _ = pull(api, device, cursor)
    assert doomed["id"] not in replica2["batches"]


def test_redemption_reaches_every_store_snapshot(api):
    api.store("s1")
    api.store("s2")
    d1, d2 = api.device("s1"), api.device("s2")
    batch = api.batch(3)
    voucher = api.call("GET", f"/vouchers/{api.claim(batch, 'ann')['code']}", 200).json()
    _, cursor, _ = pull(api, d2)
    event = {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher["id"],
        "at": datetime.now(UTC).isoformat(),
        "device_seq": 1,
    }
    api.call("POST", "/sync/events", 200, token=d1["token"], json={"events": [event]})
    replica, _, _ = pull(api, d2, cursor)
    row = replica["vouchers"][voucher["id"]]
    assert (row["status"], row["used_store"]) == ("used", "s1")
    redeemed_at = api.call("GET", f"/vouchers/{voucher['code']}", 200).json()["redemption"]["at"]
    assert (
        datetime.fromisoformat(row["used_at"])
        == datetime.fromisoformat(redeemed_at)
        == datetime.fromisoformat(event["at"])
    )


def test_a_claim_brings_its_voucher_to_the_till_at_a_later_cursor(api):
    api.store("s1")
    device = api.device("s1")
    batch = api.batch(30)
    replica, cursor, pages = pull(api, device)
    assert batch["id"] in replica["batches"] and replica["vouchers"] == {} and pages == 1
    code = api.claim(batch, "ann")["code"]
    page = api.call("GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor}).json()
    [voucher] = page["vouchers"]
    assert page["complete"] and page["next_cursor"] > cursor
    assert (
        voucher["code_hash"] == hashed(device, code) and voucher["claimed"] and voucher["status"] == "unused"
    )
    # its redemption comes the same way, later again
    event = {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher["id"],
        "at": datetime.now(UTC).isoformat(),
        "device_seq": 1,
    }
    api.call("POST", "/sync/events", 200, token=device["token"], json={"events": [event]})
    later = api.call(
        "GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": page["next_cursor"]}
    ).json()
    assert [(v["id"], v["status"]) for v in later["vouchers"]] == [(voucher["id"], "used")]


def test_a_claim_is_never_taken_back_and_a_voucher_tombstone_takes_a_voucher_off_the_till(api, tmp_path):
    """No path gives a claimed voucher back, and the database refuses one (migration 0011): a
    release would have to send the tills a voucher tombstone, which a till's replica applies."""
    api.store("s1")
    device = api.device("s1")
    batch = api.batch(5)
    voucher = api.call("GET", f"/vouchers/{api.claim(batch, 'ann')['code']}", 200).json()
    till = Replica(tmp_path / "replica.db")
    page = api.call("GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": 0}).json()
    cursor = till.apply_page(page)
    assert page["complete"] and [v["id"] for v in page["vouchers"]] == [voucher["id"]]
    db = api.client.app.state.context.db
    batch_id, serial = voucher["id"].rsplit(".", 1)
    with pytest.raises(DBAPIError, match="a claim is never taken back"), db.write() as conn:
        conn.execute(
            text("UPDATE vouchers SET member_id = NULL WHERE batch_id = :b AND serial = :s"),
            {"b": batch_id, "s": int(serial)},
        )
    assert api.vouchers(batch["id"], claimed="true")[0]["id"] == voucher["id"]
    with db.write() as conn:  # what a release would write beside its change
        conn.execute(
            insert(tombstones).values(change_seq=next_seq(conn), kind="voucher", entity_id=voucher["id"])
        )
    page = api.call("GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor}).json()
    assert page["deleted"]["vouchers"] == [voucher["id"]] and page["next_cursor"] > cursor
    held = "SELECT count(*) FROM vouchers"
    assert till.conn.execute(held).fetchone()[0] == 1
    till.apply_page(page)
    assert till.conn.execute(held).fetchone()[0] == 0
    till.close()


def test_paging_under_concurrent_changes_skips_nothing(api):
    """While claims and redemptions land, a puller that keeps paging ends up with the server's truth."""
    api.store("s1")
    device = api.device("s1")
    batch = api.batch(200)
    stop = threading.Event()
    claimed = []

    def writer():
        i = 0
        while not stop.is_set() and i < 150:
            claimed.append(api.claim(batch, f"m{i}")["code"])
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    cursor = 0
    merged = {"batches": {}, "types": {}, "vouchers": {}}
    try:
        while thread.is_alive():
            part, cursor, _ = pull(api, device, cursor, limit=7)
            for kind in merged:
                merged[kind].update(part[kind])
    finally:
        stop.set()
        thread.join()
    part, cursor, _ = pull(api, device, cursor, limit=7)
    for kind in merged:
        merged[kind].update(part[kind])
    truth = {v["id"] for v in api.vouchers(batch["id"]) if v["claim"] is not None}
    assert len(truth) == len(claimed) > 0
    assert set(merged["vouchers"]) == truth  # every claim arrived, and nothing unclaimed
    assert all(v["claimed"] for v in merged["vouchers"].values())


def test_a_store_limit_shows_only_the_devices_own_store(api):
    for store in ("s1", "s2", "s3"):
        api.store(store)
    d1, d3 = api.device("s1"), api.device("s3")
    batch = api.batch(2, stores=["s1", "s2"])
    mine, _, _ = pull(api, d1)
    theirs, _, _ = pull(api, d3)
    assert mine["batches"][batch["id"]]["stores"] == ["s1"]
    assert theirs["batches"][batch["id"]]["stores"] == []  # limited to others: WRONG_STORE at this till


def test_pages_say_how_far_along_they_are(api):
    api.store("s1")
    device = api.device("s1")
    batch = api.batch(120)
    for i in range(60):
        api.claim(batch, f"m{i}")
    cursor, seen = 0, []
    while True:
        page = api.call(
            "GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor, "limit": 25}
        ).json()
        seen.append(page)
        cursor = page["next_cursor"]
        if page["complete"]:
            break
    head = seen[0]["head"]
    assert all(p["head"] == head for p in seen)  # nothing changed meanwhile
    assert [p["remaining"] for p in seen] == [head - p["next_cursor"] for p in seen[:-1]] + [0]
    assert len(seen) >= 3 and seen[0]["remaining"] >= 60 - 25 and seen[-1]["next_cursor"] <= head
    api.claim(api.batch(3), "ann")  # later changes: the head moves on, a delta has them to come
    page = api.call(
        "GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor, "limit": 1}
    ).json()
    assert (
        page["head"] > head
        and not page["complete"]
        and page["remaining"] == page["head"] - page["next_cursor"]
    )
