"""Exactly once, whatever the network and the power do: faults between agent and server,
SIGKILL at random points, corrupt answers, a corrupt replica file."""

from __future__ import annotations

import json
import random
import sqlite3
import time

import pytest
from support.fault_proxy import FAULTS, FaultProxy

from harness import wait_for
from harness.claims import claim_in_database
from localdb.replica import Replica
from sync.client import SyncClient
from vouchers.status import Status

TABLES = {
    "batches": "SELECT id, state, claims, valid_from, valid_until, stores FROM batches",
    "types": "SELECT id, batch_id, value, initial_status FROM types",
    "vouchers": "SELECT id, claimed, status, used_at, used_store, code_hash FROM vouchers",
}


def identity(till) -> dict:
    return json.loads((till.data_dir / "device.json").read_text())


def point_at(till, url: str) -> None:
    data = identity(till)
    data["server"] = url
    (till.data_dir / "device.json").write_text(json.dumps(data))


def content(conn: sqlite3.Connection) -> dict[str, set]:
    return {name: {tuple(r) for r in conn.execute(sql)} for name, sql in TABLES.items()}


def truth(server_url: str, token: str, tmp_path, name="truth") -> dict[str, set]:
    """What a fresh replica holds after a full pull from cursor 0."""
    replica = Replica(tmp_path / f"{name}.db")
    catch_up(replica, server_url, token)
    try:
        return content(replica.conn)
    finally:
        replica.close()


def catch_up(replica: Replica, server_url: str, token: str) -> None:
    client = SyncClient(server_url, token)
    try:
        while not (page := client.snapshot(replica.cursor(), 500)).complete:
            replica.apply_page(page)
        replica.apply_page(page)
    finally:
        client.close()


def settled(till, office, store) -> bool:
    view = till.view()
    return view.pending() == 0


def exactly_once(till, office, store: str) -> None:
    journal_ids = [r[0] for r in till.journal.conn.execute("SELECT id FROM events ORDER BY seq")]
    ledger_ids = [e["id"] for e in office.ledger(store)]
    assert sorted(ledger_ids) == sorted(journal_ids), "ledger and journal differ"
    assert len(set(ledger_ids)) == len(ledger_ids)
    outcomes = till.view().replica.execute("SELECT count(*) FROM outcomes").fetchone()[0]
    assert outcomes == len(journal_ids)


def redeemable_codes(till, codes):
    out = []
    for code in codes:
        found = till.lookup(code)
        if found is not None and found.voucher.status is Status.UNUSED and found.voucher.claimed:
            out.append(code)
    return out


@pytest.mark.slow
def test_a_faulty_network_loses_nothing_and_counts_nothing_twice(office, server, make_till, tmp_path):
    office.store("s1")
    batch = office.batch(400, claimed=150)
    proxy = FaultProxy.random(server.port, seed=7, fault_rate=0.45, stall_seconds=4).start()
    till = make_till(start=False)
    till.agent.env["VOUCHER_SYNC_PAGE_LIMIT"] = "60"
    point_at(till, proxy.url)
    till.agent.start()
    wait_for(lambda: redeemable_codes(till, batch["codes"][-1:]), 120, "first sync through the faulty proxy")
    rng = random.Random(3)
    for i, code in enumerate(batch["codes"][:80]):
        till.redeem(code)
        if i % 20 == 0:
            office.admin.post(
                "/claims", json={"claim_token": batch["claim_token"], "member_id": f"late{i}@example.com"}
            )
        time.sleep(rng.uniform(0, 0.05))
    wait_for(lambda: sum(proxy.counts[f] > 0 for f in FAULTS) == len(FAULTS), 60, "every fault injected")
    proxy.faulty = False
    wait_for(lambda: settled(till, office, "s1"), 60, "backlog pushed")
    token = identity(till)["token"]
    expected = truth(server.url, token, tmp_path)
    wait_for(lambda: content(till.view().replica) == expected, 30, "replica equal to the server")
    exactly_once(till, office, "s1")
    assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == 80
    proxy.stop()


@pytest.mark.slow
def test_sigkill_at_random_points_keeps_replica_and_ledger_exact(office, server, make_till, tmp_path):
    office.store("s1")
    batch = office.batch(200, claimed=120)
    till = make_till(start=False)
    till.agent.env["VOUCHER_SYNC_PAGE_LIMIT"] = "50"
    token = identity(till)["token"]
    till.agent.start()
    wait_for(lambda: len(redeemable_codes(till, batch["codes"])) == 120, 60, "first sync")
    till.agent.kill()
    bulk = office.batch(1500)  # a big delta, so that kills land in the middle of pulls as well as pushes
    assert claim_in_database(server.database_url, bulk["id"]) == 1500  # a till holds claimed ones only
    rng = random.Random(11)
    redeemed = 0
    for round_ in range(12):
        till.agent.start()
        for code in redeemable_codes(till, rng.sample(batch["codes"], 10))[:4]:
            till.redeem(code)
            redeemed += 1
        office.admin.post(
            "/claims", json={"claim_token": batch["claim_token"], "member_id": f"r{round_}@example.com"}
        )
        time.sleep(rng.uniform(0.05, 0.8))
        till.agent.kill()
        # whatever the kill interrupted, the replica is the server's state at its cursor:
        # catching a copy up from that cursor gives exactly the server's state
        copy = tmp_path / f"copy{round_}.db"
        source = sqlite3.connect(f"file:{till.data_dir / 'replica.db'}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        replica = Replica(copy)
        catch_up(replica, server.url, token)
        assert content(replica.conn) == truth(server.url, token, tmp_path, f"truth{round_}"), (
            f"round {round_}"
        )
        replica.close()
    till.agent.start()
    wait_for(lambda: settled(till, office, "s1"), 60, "backlog pushed")
    expected = truth(server.url, token, tmp_path)
    wait_for(lambda: content(till.view().replica) == expected, 30, "replica equal to the server")
    exactly_once(till, office, "s1")
    assert redeemed > 0
    assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == redeemed


def test_malformed_answers_are_reported_then_sync_resumes(office, server, make_till, tmp_path):
    office.store("s1")
    batch = office.batch(30, claimed=5)
    mode = {"fault": "garbage"}
    proxy = FaultProxy(server.port, plan=lambda _: mode["fault"]).start()
    till = make_till(start=False)
    point_at(till, proxy.url)
    till.agent.start()
    wait_for(lambda: "malformed answer from the server" in till.agent.status(), 20, "the error reported")
    mode["fault"] = "wrong_shape"
    wait_for(lambda: proxy.counts["wrong_shape"] >= 3, 20, "answers of the wrong shape")
    assert till.lookup(batch["codes"][0]) is None  # nothing garbled was applied
    mode["fault"] = "pass"
    wait_for(lambda: redeemable_codes(till, batch["codes"][:1]), 20, "sync after the server recovers")
    expected = truth(server.url, identity(till)["token"], tmp_path)
    wait_for(lambda: content(till.view().replica) == expected, 20, "replica equal to the server")
    proxy.stop()


def test_a_corrupt_replica_is_rebuilt_and_the_journal_kept(office, server, make_till, tmp_path):
    office.store("s1")
    batch = office.batch(50, claimed=10)
    till = make_till()
    wait_for(lambda: redeemable_codes(till, batch["codes"]) == batch["codes"], 30, "first sync")
    for code in batch["codes"][:5]:
        till.redeem(code)
    wait_for(lambda: settled(till, office, "s1"), 30, "pushed")
    till.agent.stop()
    till._replica.close()
    till._replica = None
    journal_before = till.journal.conn.execute("SELECT * FROM events").fetchall()
    path = till.data_dir / "replica.db"
    for side in ("replica.db-wal", "replica.db-shm"):
        (till.data_dir / side).unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xde\xad" * 2048  # trash a page in the middle
    data[:16] = b"garbage garbage!"
    path.write_bytes(bytes(data))
    till.agent.start()
    wait_for(lambda: "corrupt" in till.agent.log.read_text(), 20, "the corruption reported")
    assert list(till.data_dir.glob("replica.db.corrupt-*"))
    expected = truth(server.url, identity(till)["token"], tmp_path)
    wait_for(lambda: settled(till, office, "s1") and content(till.view().replica) == expected, 30, "rebuilt")
    assert till.journal.conn.execute("SELECT * FROM events").fetchall() == journal_before
    exactly_once(till, office, "s1")
    assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == 5
    assert "replica was corrupt" in till.agent.status()


def test_a_stuck_push_never_blocks_fresh_snapshots(office, server, make_till):
    office.store("s1")
    batch = office.batch(20, claimed=2)
    proxy = FaultProxy(
        server.port, plan=lambda line: "stall" if b"/sync/events" in line else "pass", stall_seconds=10
    ).start()
    till = make_till(start=False)
    point_at(till, proxy.url)
    till.agent.env["VOUCHER_SYNC_TIMEOUT_SECONDS"] = "8"  # the upload hangs for a long time
    till.agent.start()
    wait_for(lambda: redeemable_codes(till, batch["codes"]), 20, "first sync")
    till.redeem(batch["codes"][0])
    wait_for(lambda: proxy.counts["stall"] >= 1, 10, "an upload stuck in the network")
    office.admin.post(f"/batches/{batch['id']}/lock").raise_for_status()
    wait_for(lambda: till.lookup(batch["codes"][1]).batch.state == "locked", 10, "the lock pulled meanwhile")
    assert till.view().pending() == 1
    proxy.stop()


def test_429_retry_after_is_honoured(office, server, make_till):
    office.store("s1")
    batch = office.batch(10, claimed=1)
    answers = iter(["http429"])
    proxy = FaultProxy(
        server.port, plan=lambda line: next(answers, "pass") if b"/sync/events" in line else "pass"
    )
    proxy.retry_after = "2"
    proxy.start()
    till = make_till(start=False)
    point_at(till, proxy.url)
    till.agent.start()
    wait_for(lambda: redeemable_codes(till, batch["codes"]), 20, "first sync")
    till.redeem(batch["codes"][0])
    wait_for(lambda: till.view().pending() == 0, 20, "pushed after the server's pause")
    pushes = [(t, fault) for t, line, fault in proxy.log if b"/sync/events" in line]
    assert [f for _, f in pushes[:2]] == ["http429", "pass"]
    assert pushes[1][0] - pushes[0][0] >= 2.0  # not before the server said
    proxy.stop()
