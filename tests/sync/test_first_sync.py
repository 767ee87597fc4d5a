"""A till's first sync of a large batch: it says it is loading, never that a voucher does not
exist, and head office's changes meanwhile reach it through the live stream before it ends."""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from support.fault_proxy import FaultProxy

from harness import wait_for
from harness.claims import claim_in_database
from kiosk.service import Redeemer
from kiosk.widgets.status import describe
from localdb import streams
from localdb.replica import Replica, all_meta
from sync.client import SyncClient
from vouchers.verdict import Verdict

TABLES = {
    "batches": "SELECT id, state, claims, valid_from, valid_until, stores FROM batches",
    "types": "SELECT id, batch_id, value, initial_status FROM types",
    "vouchers": "SELECT id, claimed, status, used_at, used_store, code_hash FROM vouchers",
}
LIMITS = {"stale_after": timedelta(hours=24), "offline_after": timedelta(minutes=5)}


def content(conn) -> dict[str, set]:
    return {name: {tuple(r) for r in conn.execute(sql)} for name, sql in TABLES.items()}


def truth(server_url: str, token: str, path) -> dict[str, set]:
    """What a fresh replica holds after one plain pull from cursor 0."""
    replica, client = Replica(path), SyncClient(server_url, token)
    try:
        while not (page := client.snapshot(replica.cursor(), 5000)).complete:
            replica.apply_page(page)
        replica.apply_page(page)
        return content(replica.conn)
    finally:
        client.close()
        replica.close()


def redeem_elsewhere(office, server, code: str) -> None:
    """Another till of the store redeems the voucher (pushed straight to head office)."""
    enrolment = office.enrolment_code("s1")
    device = httpx.post(
        f"{server.url}/api/v1/devices/enrol", json={"enrolment_code": enrolment, "device_name": "other till"}
    ).json()
    event = {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": office.voucher(code)["id"],
        "at": datetime.now(UTC).isoformat(),
        "device_seq": 1,
    }
    answer = httpx.post(
        f"{server.url}/api/v1/sync/events",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {device['token']}"},
    ).json()
    assert answer["results"][0]["outcome"] == "accepted"


# The large batch; VOUCHER_TEST_FIRST_SYNC_SIZE=1000000 runs the size (about 3 minutes here)
BIG = int(os.environ.get("VOUCHER_TEST_FIRST_SYNC_SIZE", "50000"))


def test_a_till_enrolled_during_a_large_batch_says_loading_and_gets_changes_before_it_ends(
    office, server, make_till, tmp_path
):
    office.store("s1")
    small = office.batch(10, claimed=2)  # pulled in the first page
    big = office.batch(BIG)  # a till holds claimed vouchers only: all claimed, the last over HTTP
    assert claim_in_database(server.database_url, big["id"], limit=BIG - 1) == BIG - 1
    big["codes"] = [office.claim(big, "last@example.com")]  # changed last: at the end of a first sync
    redeem_elsewhere(office, server, small["codes"][1])
    till = make_till(start=False)
    token = json.loads((till.data_dir / "device.json").read_text())["token"]
    head = httpx.get(
        f"{server.url}/api/v1/sync/snapshot",
        params={"limit": 1},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["head"]
    # the catch-up gets its first page, then stalls (the network answers 500) until the gate opens;
    # pages of the live stream (from the head) go through
    gate = threading.Event()

    def plan(line: bytes) -> str:
        found = re.search(rb"/sync/snapshot\?cursor=(\d+)", line)
        return "http500" if found and 0 < int(found[1]) < head and not gate.is_set() else "pass"

    proxy = FaultProxy(server.port, plan=plan).start()
    identity = json.loads((till.data_dir / "device.json").read_text())
    (till.data_dir / "device.json").write_text(json.dumps({**identity, "server": proxy.url}))
    till.agent.env["VOUCHER_SYNC_PAGE_LIMIT"] = "10000"  # pages applied in parts (sync/agent.py PART)
    till.agent.start()

    def kiosk() -> Redeemer:
        return Redeemer(till.view(), till.journal, till.key)

    wait_for(lambda: till.lookup(small["codes"][0]) is not None, 30, "the first page")
    meta = all_meta(till.view().replica)
    assert meta["snapshot_complete"] == "0" and int(meta["live_cursor"]) == head
    assert set(streams.SECONDARY_INDEXES) - {
        r[1] for r in till.view().replica.execute("PRAGMA index_list(vouchers)")
    }
    loading = kiosk().scan(big["codes"][0])
    assert loading.verdict is Verdict.LOADING and re.search(r"Voucher list loading \(\d+ %\)", loading.reason)
    text, warning = describe(till.view().health(), datetime.now(UTC), **LIMITS)
    assert re.search(r"voucher list loading: \d+ %", text) and "synced" not in text and warning
    assert (
        kiosk().check(small["codes"][1]).verdict is Verdict.LOADING
    )  # its redemption came after the big batch

    # head office undoes that redemption, then locks the small batch: the till has both before its first sync ends
    office.admin.post(
        f"/vouchers/{small['codes'][1]}/status", json={"status": "unused", "reason": "redeemed by mistake"}
    ).raise_for_status()
    wait_for(lambda: kiosk().check(small["codes"][1]).verdict is Verdict.ACCEPTED, 30, "the undo at the till")
    office.admin.post(f"/batches/{small['id']}/lock").raise_for_status()
    wait_for(
        lambda: kiosk().check(small["codes"][0]).verdict is Verdict.BATCH_LOCKED, 30, "the lock at the till"
    )
    assert all_meta(till.view().replica)["snapshot_complete"] == "0"
    assert kiosk().scan(big["codes"][0]).verdict is Verdict.LOADING

    gate.set()
    wait_for(lambda: all_meta(till.view().replica).get("snapshot_complete") == "1", 60, "the first sync")
    accepted = kiosk().scan(big["codes"][0])
    assert accepted.verdict is Verdict.ACCEPTED and accepted.event is not None
    assert kiosk().check(small["codes"][1]).verdict is Verdict.BATCH_LOCKED
    text, _ = describe(till.view().health(), datetime.now(UTC), **LIMITS)
    assert "synced" in text and "loading" not in text
    assert {r[1] for r in till.view().replica.execute("PRAGMA index_list(vouchers)")} >= set(
        streams.SECONDARY_INDEXES
    )
    wait_for(lambda: till.view().pending() == 0, 30, "the redemption pushed")
    assert office.voucher(big["codes"][0])["status"] == "used"
    expected = truth(server.url, token, tmp_path / "truth.db")
    wait_for(lambda: content(till.view().replica) == expected, 30, "the replica equal to the server")
    assert all_meta(till.view().replica).get("live_cursor") is None
    proxy.stop()
