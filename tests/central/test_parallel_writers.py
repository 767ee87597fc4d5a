"""Writers in parallel on PostgreSQL (issue 16.1): four server processes claim, redeem and change
batches at once while tills page the snapshot, and every till ends with every change.

Change numbers come from a sequence, so a writer can commit a smaller number after a larger one;
a reader that served whatever was committed would pass over the late one for good. The snapshot
serves changes only up to the head (central/db/engine.py); these tests are what would catch it
skipping: the first on the mechanism itself, the second through the whole server.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from central.db.engine import Database, next_seq
from central.db.migrate import upgrade
from harness import ServerProcess

VOUCHERS = 800
PROCESSES = 4


@pytest.mark.postgres
def test_the_head_stays_below_a_number_drawn_by_a_writer_still_open(postgres_server):
    name = f"head_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(name)
    db = Database(postgres_server.url(name))
    try:
        upgrade(db)
        with db.write() as conn:
            committed = next_seq(conn)
        assert db.head() == committed
        with db.write() as slow:
            late = next_seq(slow)  # drawn first, committed last
            with db.write() as quick:
                early = next_seq(quick)
            assert early > late
            assert db.head() < late  # the quick one is committed, but served only after the slow one
            with db.read_at_head() as (_, head):
                assert head < late
        assert db.head() == early  # both committed: everything up to the last number is final
        with pytest.raises(ZeroDivisionError), db.write() as conn:  # a writer that fails ...
            next_seq(conn)
            _ = 1 / 0
        assert db.head() == early + 1  # ... leaves a gap, not a head held back
    finally:
        db.dispose()
        postgres_server.drop_database(name)


def _wait_generated(client, bid: str) -> None:
    deadline = time.monotonic() + 120
    while client.get(f"/batches/{bid}").json()["state"] != "generated":
        assert time.monotonic() < deadline, "generation did not finish"
        time.sleep(0.05)


def _batch(admin, name: str, size: int) -> tuple[str, str]:
    bid = admin.post("/batches", json={"identifier": name, "serial_start": 1, "serial_end": size}).json()[
        "id"
    ]
    admin.post(f"/batches/{bid}/types", json={"name": "All", "value": "£1"}).raise_for_status()
    for step in ("validate", "generate"):
        admin.post(f"/batches/{bid}/{step}").raise_for_status()
    _wait_generated(admin, bid)
    for step in ("distribute", "redeemable"):
        admin.post(f"/batches/{bid}/{step}").raise_for_status()
    return bid, admin.get(f"/batches/{bid}").json()["claim_token"]


def _device(admin, store: str, name: str) -> str:
    code = admin.post(f"/stores/{store}/enrolment-codes").json()["code"]
    return admin.post("/devices/enrol", json={"enrolment_code": code, "device_name": name}).json()["token"]


class Till:
    """What a till's replica holds, built from snapshot pages alone."""

    def __init__(self, client) -> None:
        self.client = client
        self.cursor = 0
        self.vouchers: dict[str, tuple[bool, str | None]] = {}
        self.claims: dict[str, str] = {}  # batch id -> claims (active, paused)
        self.pages = 0

    def pull(self, limit: int) -> dict:
        page = self.client.get("/sync/snapshot", params={"cursor": self.cursor, "limit": limit}).json()
        assert page["next_cursor"] >= self.cursor, "a cursor went back"
        for v in page["vouchers"]:
            self.vouchers[v["id"]] = (v["claimed"], v["status"])
        for b in page["batches"]:
            self.claims[b["id"]] = b["claims"]
        self.cursor = page["next_cursor"]
        self.pages += 1
        return page


@pytest.mark.postgres
@pytest.mark.slow
def test_four_processes_write_at_once_and_paging_misses_no_change(postgres_server, tmp_path):
    name = f"writers_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(name)
    url = postgres_server.url(name)
    servers = [ServerProcess(url, log=tmp_path / f"s{i}.log").start() for i in range(PROCESSES)]
    try:
        admin = servers[0].client()
        admin.post("/stores", json={"id": "s1", "name": "One", "timezone": "UTC"}).raise_for_status()
        admin.post("/stores", json={"id": "s2", "name": "Two", "timezone": "UTC"}).raise_for_status()
        # one batch per claiming process: their claims queue on no common batch row
        parallel = [_batch(admin, f"Parallel {i}", VOUCHERS // PROCESSES) for i in range(PROCESSES)]
        side, _ = _batch(admin, "Paused and resumed", 10)
        tokens = [_device(admin, "s1" if i % 2 else "s2", f"t{i}") for i in range(PROCESSES)]
        readers = [Till(servers[i].client(_device(admin, "s1", f"reader {i}"))) for i in range(PROCESSES)]

        claimed: list[str] = []  # voucher ids, in claim order
        lock = threading.Lock()
        stop = threading.Event()
        errors: list[str] = []

        def claimer(i: int) -> None:
            client = servers[i].client()
            for n in range(VOUCHERS // PROCESSES):
                r = client.post(
                    "/claims", json={"claim_token": parallel[i][1], "member_id": f"m{n}@example.com"}
                )
                if r.status_code not in (200, 201):
                    errors.append(f"claim {n}: {r.status_code} {r.text[:200]}")
                    continue
                with lock:
                    claimed.append(r.json()["voucher_id"])

        def redeemer(i: int) -> None:
            """Redeems each voucher of its share once, up to 20 a request: half the claimed vouchers
            end used and half only claimed, so a change a till missed stays missed."""
            client = servers[i].client(tokens[i])
            done = 0
            while True:
                finished = stop.is_set()
                with lock:
                    todo = claimed[i :: PROCESSES * 2][done : done + 20]
                if not todo:
                    if finished:
                        return
                    time.sleep(0.005)
                    continue
                events = [
                    {
                        "id": str(uuid.uuid4()),
                        "kind": "redeem",
                        "voucher_id": vid,
                        "at": datetime.now(UTC).isoformat(),
                        "device_seq": done + n + 1,
                    }
                    for n, vid in enumerate(todo)
                ]
                r = client.post("/sync/events", json={"events": events})
                if r.status_code != 200 or any(x["outcome"] != "accepted" for x in r.json()["results"]):
                    errors.append(f"push: {r.status_code} {r.text[:200]}")
                done += len(todo)

        def staff(i: int) -> None:
            client = servers[i].client()
            while not stop.is_set():
                for action in ("pause", "resume"):
                    r = client.post(f"/batches/{side}/{action}")
                    if r.status_code != 200:
                        errors.append(f"{action}: {r.status_code} {r.text[:200]}")

        def paging(reader: Till, limit: int) -> None:
            while not stop.is_set():
                reader.pull(limit)  # small pages: many cursors fall between concurrent commits

        claimers = [threading.Thread(target=claimer, args=(i,)) for i in range(PROCESSES)]
        others = [threading.Thread(target=redeemer, args=(i,)) for i in range(PROCESSES)]
        others += [threading.Thread(target=staff, args=(i,)) for i in (1, 3)]
        others += [threading.Thread(target=paging, args=(r, 3 + 4 * i)) for i, r in enumerate(readers)]
        for t in claimers + others:
            t.start()
        for t in claimers:
            t.join()
        stop.set()
        for t in others:
            t.join()
        assert not errors, errors[:5]
        assert len(claimed) == VOUCHERS

        engine = create_engine(url)
        with engine.connect() as conn:
            truth = {
                f"{b}.{s}": (m is not None, st)
                for b, s, m, st in conn.execute(
                    text("SELECT batch_id, serial, member_id, status FROM vouchers WHERE batch_id <> :b"),
                    {"b": side},
                )
            }
            side_claims = conn.execute(
                text("SELECT claims FROM batches WHERE id = :b"), {"b": side}
            ).scalar_one()
        engine.dispose()
        used = sum(status == "used" for _, status in truth.values())
        assert used == VOUCHERS // 2 and sum(c for c, _ in truth.values()) == VOUCHERS
        for reader in readers:
            while not reader.pull(500)["complete"]:
                pass
            missed = {
                v: (reader.vouchers.get(v), truth[v]) for v in truth if reader.vouchers.get(v) != truth[v]
            }
            assert not missed, f"{len(missed)} changes never reached a till, e.g. {list(missed.items())[:3]}"
            assert reader.claims[side] == side_claims
            assert reader.pages > 20
        redeemed = sum(admin.get(f"/batches/{b}").json()["metrics"]["redeemed"] for b, _ in parallel)
        assert redeemed == used  # the batch counters agree with the rows, written side by side
    finally:
        for s in servers:
            s.stop()
        postgres_server.drop_database(name)
