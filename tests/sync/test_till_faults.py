"""A store host that never loses, hides or misstates a redemption, with the agent running as a
process against a real server across each fault: journal.db deleted and emptied, a full disk (a
tmpfs this test mounts), a journal and a replica damaged, a revoked till enrolled again. Nothing
shown ACCEPTED is lost, nothing counts twice, no traceback reaches a user."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.fault_proxy import FaultProxy

from harness import BIN, FAST, AgentProcess, wait_for
from localdb.connect import open_reader
from localdb.journal import salvage_after
from vouchers.status import Status

DEADLINE = 45  # generous: a busy 2-core machine


def identity(data_dir: Path) -> dict:
    return json.loads((data_dir / "device.json").read_text())


def kiosk_redeem(data_dir: Path, code: str) -> subprocess.CompletedProcess:
    """`voucher-kiosk redeem`: a kiosk process of its own, the journal's one writer while it runs."""
    return subprocess.run(
        [str(BIN / "voucher-kiosk"), "redeem", code, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def status(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "voucher-sync"), "status", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def no_traceback(*results: subprocess.CompletedProcess) -> None:
    for r in results:
        assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr


def journal_redemptions(data_dir: Path) -> list[str]:
    conn = open_reader(data_dir / "journal.db")
    try:
        return [r[0] for r in conn.execute("SELECT id FROM events WHERE kind = 'redeem' ORDER BY seq")]
    finally:
        conn.close()


def redeemed_at_head_office(office, store: str = "s1") -> list[str]:
    return sorted(e["id"] for e in office.ledger(store) if e["kind"] == "redeem")


def synced(till, codes) -> bool:
    return all((found := till.lookup(c)) is not None and found.voucher.status is Status.UNUSED for c in codes)


def remove_journal(data_dir: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        (data_dir / f"journal.db{suffix}").unlink(missing_ok=True)


def test_journal_deleted_then_emptied_between_redemptions_loses_nothing_counts_nothing_twice(
    office, server, make_till
):
    office.store("s1")
    batch = office.batch(10, claimed=6)
    codes = batch["codes"]
    till = make_till()
    wait_for(lambda: synced(till, codes), DEADLINE, "first sync")
    a = till.redeem(codes[0])  # the kiosk's journal, held open as the running kiosk holds it
    wait_for(lambda: redeemed_at_head_office(office) == [a.id], DEADLINE, "A at head office")
    server.stop()  # B cannot be pushed before its file is deleted
    b = till.redeem(codes[1])
    remove_journal(till.data_dir)  # journal.db deleted under the running kiosk and agent
    c = till.redeem(codes[2])
    assert c.seq == 1 and b.seq == 2  # a new journal, numbered from 1 again: below the old push cursor
    server.start()
    wait_for(
        lambda: redeemed_at_head_office(office) == sorted([a.id, b.id, c.id]),
        DEADLINE,
        "B from the deleted file (still open in the agent), C from the new one",
    )

    till.journal.close()  # the kiosk stops; journal.db is emptied (a restore of an empty file)
    till._journal = None
    (till.data_dir / "journal.db").write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        (till.data_dir / f"journal.db{suffix}").unlink(missing_ok=True)
    d = kiosk_redeem(till.data_dir, codes[3])
    no_traceback(d)
    assert d.returncode == 0 and d.stdout.startswith("ACCEPTED"), d.stdout + d.stderr
    [d_id] = journal_redemptions(till.data_dir)
    wait_for(
        lambda: redeemed_at_head_office(office) == sorted([a.id, b.id, c.id, d_id]), DEADLINE, "D pushed"
    )
    assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == 4  # none twice

    code, report = wait_for(
        lambda: (
            (r := status(till.data_dir, "--json")).returncode == 1
            and len(json.loads(r.stdout)["journal_losses"]) == 2
            and (1, json.loads(r.stdout))
        ),
        DEADLINE,
        "both losses reported",
    )
    newest, oldest = report["journal_losses"]
    assert (newest["how"], newest["acknowledged"], newest["unsent"]) == ("replaced", 1, 0)  # C's journal
    assert (oldest["how"], oldest["acknowledged"], oldest["unsent"]) == ("replaced", 2, 0)  # A and B's
    assert report["pending"] == 0
    text = status(till.data_dir)
    no_traceback(text)
    first = text.stdout.splitlines()[0]
    assert (
        first.startswith("DEGRADED: journal.db was replaced (")
        and "head office had acknowledged 1 of its events; nothing it held was lost" in first
        and "acknowledged 2 of its events" in first
    )
    assert text.stdout.count("\njournal    journal.db was replaced") == 2


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MiB tmpfs, mounted for this test and unmounted after it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): the full-disk test "
            "needs root, or CAP_SYS_ADMIN"
        )
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(path: Path) -> None:
    """Write until the disk says it is full."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 16, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise


def test_a_full_disk_refuses_the_redemption_in_words_and_everything_resumes_once_freed(
    small_disk, tmp_path, office, server
):
    office.store("s1")
    batch = office.batch(20, claimed=8)
    codes = batch["codes"]
    data_dir = small_disk / "till"
    agent = AgentProcess(data_dir, settings=FAST)
    agent.log = tmp_path / "agent.log"  # the log on another disk, to read what the agent said
    assert agent.enrol(server.url, office.enrolment_code("s1")).returncode == 0
    agent.start()
    try:
        first = wait_for(
            lambda: (r := kiosk_redeem(data_dir, codes[0])).stdout.startswith("ACCEPTED") and r,
            DEADLINE,
            "first sync, then a redemption",
        )
        no_traceback(first)
        wait_for(lambda: len(redeemed_at_head_office(office)) == 1, DEADLINE, "pushed")
        fill(small_disk / "filler")
        refused = kiosk_redeem(data_dir, codes[1])
        no_traceback(refused)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        words = " ".join(refused.stdout.split())
        assert words.startswith(("NOT_RECORDED: ", "TILL_PROBLEM: ")) and "the disk is full" in words
        assert "do not give the discount; call the manager" in words and "ACCEPTED" not in words
        assert len(journal_redemptions(data_dir)) == 1  # nothing written, nothing shown accepted
        office.admin.post(
            "/claims", json={"claim_token": batch["claim_token"], "member_id": "late@example.com"}
        )
        wait_for(
            lambda: "no space left on the disk" in agent.log.read_text(),
            DEADLINE,
            "the agent meets the full disk",
        )
        held = status(data_dir)
        no_traceback(held)
        assert agent.process.poll() is None  # it lives on, trying again

        (small_disk / "filler").unlink()  # space again
        accepted = kiosk_redeem(data_dir, codes[1])
        assert accepted.returncode == 0 and accepted.stdout.startswith("ACCEPTED"), accepted.stdout
        ids = journal_redemptions(data_dir)
        wait_for(lambda: redeemed_at_head_office(office) == sorted(ids), DEADLINE, "the push loop resumed")
        replica = open_reader(data_dir / "replica.db")
        try:
            claimed = "SELECT count(*) FROM vouchers WHERE claimed = 1"
            wait_for(lambda: replica.execute(claimed).fetchone()[0] == 9, DEADLINE, "the pull loop resumed")
        finally:
            replica.close()
        assert agent.process.poll() is None  # the same process: every loop resumed by itself
        assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == 2
    finally:
        agent.stop()


def garble_an_events_page(path: Path) -> None:
    """One page of the journal's events, in the middle, overwritten (what a bad sector does)."""
    conn = sqlite3.connect(path, timeout=30)  # with the kiosk stopped: folds the WAL in first
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    leaf = conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' "
        "ORDER BY pageno LIMIT 1 OFFSET 1"
    ).fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:
        f.seek((leaf - 1) * 4096)
        f.write(b"\xde\xad" * 2048)


def test_a_damaged_journal_and_replica_are_never_decided_from_and_the_agent_keeps_going(
    office, server, make_till
):
    office.store("s1")
    batch = office.batch(80, claimed=70)
    codes = batch["codes"]
    till = make_till()
    wait_for(lambda: synced(till, codes), DEADLINE, "first sync")
    server.stop()
    for code in codes[:60]:  # redeemed offline: the journal holds 60 events not yet pushed
        till.redeem(code)
    till.journal.close()  # the kiosk stops
    till._journal = None
    path = till.data_dir / "journal.db"
    garble_an_events_page(path)
    reader = open_reader(path)
    readable, unreadable, _ = salvage_after(reader, 0, 1000)
    reader.close()
    assert readable and unreadable
    damaged = hashlib.sha256(path.read_bytes()).hexdigest()
    server.start()
    wait_for(
        lambda: redeemed_at_head_office(office) == sorted(e.id for e in readable),
        DEADLINE,
        "what can be read pushed, once",
    )
    office.admin.post(f"/batches/{batch['id']}/lock").raise_for_status()
    wait_for(
        lambda: till.view().replica.execute("SELECT state FROM batches").fetchone()[0] == "locked",
        DEADLINE,
        "the pull loop goes on",
    )
    refused = kiosk_redeem(till.data_dir, codes[65])
    told = status(till.data_dir)
    no_traceback(refused, told)
    assert refused.returncode == 1 and refused.stdout.startswith(
        "TILL_PROBLEM: This till cannot record redemptions: its journal (journal.db) is damaged"
    )
    assert "do not give the discount; call the manager" in refused.stdout
    assert told.returncode == 2 and len(told.stderr.strip().splitlines()) == 1
    assert "journal.db" in told.stderr and "damaged" in told.stderr and "journal.db.damaged" in told.stderr
    assert hashlib.sha256(path.read_bytes()).hexdigest() == damaged  # never rewritten
    assert till.agent.process.poll() is None
    assert "could not be read" in till.agent.log.read_text()

    # the manager keeps the journal aside; then a crash, and the replica is found truncated
    for suffix in ("", "-wal", "-shm"):
        if (till.data_dir / f"journal.db{suffix}").exists():
            (till.data_dir / f"journal.db{suffix}").rename(till.data_dir / f"journal.db.damaged{suffix}")
    office.admin.post(f"/batches/{batch['id']}/redeemable").raise_for_status()
    till.agent.kill()
    till._replica.close()
    till._replica = None
    replica = till.data_dir / "replica.db"
    conn = sqlite3.connect(replica)  # the file as the crash left it on the disk ...
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(replica, "r+b") as f:  # ... which lost its tail
        f.truncate(8192)
    lost = kiosk_redeem(till.data_dir, codes[66])
    no_traceback(lost)
    assert lost.stdout.startswith("TILL_PROBLEM: Vouchers cannot be checked"), lost.stdout + lost.stderr
    till.agent.start()
    wait_for(
        lambda: "moved to replica.db.corrupt-" in till.agent.log.read_text(), DEADLINE, "the damage found"
    )
    assert list(till.data_dir.glob("replica.db.corrupt-*"))
    after = wait_for(
        lambda: (r := kiosk_redeem(till.data_dir, codes[66])).stdout.startswith("ACCEPTED") and r,
        DEADLINE,
        "the rebuilt voucher list decides again",
    )
    no_traceback(after)
    [new] = journal_redemptions(till.data_dir)
    wait_for(lambda: new in redeemed_at_head_office(office), DEADLINE, "pushed from the new journal")
    assert len(redeemed_at_head_office(office)) == len(readable) + 1  # nothing twice


def device_row(office, device_id: str) -> dict:
    return next(d for d in office.admin.get("/stores/s1").json()["devices"] if d["id"] == device_id)


def central(office, *args: str) -> subprocess.CompletedProcess:
    """`voucher-central` with the token head office's admin client uses."""
    token = office.admin.headers["authorization"].split()[1]
    return subprocess.run(
        [str(BIN / "voucher-central"), *args, "--server", office.server.url],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "VOUCHER_ADMIN_TOKEN": token},
    )


def test_a_revoked_till_enrolled_again_pushes_its_stranded_events_under_the_old_device(
    office, server, make_till
):
    office.store("s1")
    batch = office.batch(10, claimed=5)
    codes = batch["codes"]
    proxy = FaultProxy(
        server.port, plan=lambda line: "http500" if b"/sync/events" in line else "pass"
    ).start()
    till = make_till(start=False)
    data = identity(till.data_dir)
    data["server"] = proxy.url  # pulls and heartbeats reach head office, uploads do not
    (till.data_dir / "device.json").write_text(json.dumps(data))
    till.agent.start()
    wait_for(lambda: synced(till, codes), DEADLINE, "first sync")
    stranded = [till.redeem(code) for code in codes[:3]]
    old = data["device_id"]
    wait_for(lambda: device_row(office, old)["pending"] == 3, DEADLINE, "the heartbeat says 3 pending")

    asked = office.admin.post(f"/devices/{old}/revoke")
    assert asked.status_code == 409 and asked.json()["pending"] == 3
    assert "had 3 event(s) not yet pushed at its last heartbeat" in asked.json()["detail"]
    refused = central(office, "device", "revoke", old)
    assert (
        refused.returncode == 1
        and "--confirm 3" in refused.stderr
        and device_row(office, old)["revoked_at"] is None
    )
    revoked = central(office, "device", "revoke", old, "--confirm", "3")
    assert revoked.returncode == 0 and "revoked with 3 event(s) not yet pushed" in revoked.stdout
    assert till.agent.process.wait(DEADLINE) == 3
    proxy.stop()

    again = till.agent.enrol(server.url, office.enrolment_code("s1"))
    assert again.returncode == 0 and f"up to #3 were made as device {old}" in again.stdout, again.stdout
    new = identity(till.data_dir)["device_id"]
    assert new != old and identity(till.data_dir)["earlier_devices"] == [
        {"device_id": old, "journal_id": till.journal.identity, "up_to_seq": 3}
    ]
    till.agent.start()
    wait_for(
        lambda: redeemed_at_head_office(office) == sorted(e.id for e in stranded),
        DEADLINE,
        "the stranded events pushed",
    )
    ledger = {e["id"]: e for e in office.ledger("s1")}
    assert all(
        ledger[e.id]["device_id"] == old and ledger[e.id]["result"]["outcome"] == "accepted" for e in stranded
    )
    wait_for(lambda: synced(till, codes[3:4]), DEADLINE, "the snapshot pulled again")
    later = till.redeem(codes[3])
    wait_for(lambda: later.id in redeemed_at_head_office(office), DEADLINE, "a new redemption")
    assert {e["id"]: e for e in office.ledger("s1")}[later.id]["device_id"] == new
    assert office.admin.get(f"/batches/{batch['id']}").json()["metrics"]["redeemed"] == 4
    assert till.view().pending() == 0


def break_an_index(path: Path, table: str, index: str, row: str, change: str, other_column: str) -> None:
    """An index that no longer matches its table (what a crash mid-write can leave): quick_check
    does not see it, integrity_check does."""
    conn = sqlite3.connect(path)
    conn.execute(f"INSERT INTO {table} VALUES {row}")
    conn.commit()
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_master SET sql = ? WHERE name = ?",
        (f"CREATE INDEX {index} ON {table} ({other_column})", index),
    )
    conn.commit()
    conn.close()
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE {table} SET {change}")  # the real index is not updated
    conn.commit()
    conn.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql, index))
    conn.commit()
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()


def test_after_a_run_that_did_not_stop_cleanly_the_replica_is_checked_in_full(tmp_path):
    from localdb.replica import Replica
    from sync.agent import Agent
    from sync.client import SyncClient
    from sync.settings import load_settings
    from vouchers.wire import Event, EventResult

    settings = load_settings(None, data_dir=tmp_path)
    replica = Replica(settings.replica_path)
    now = datetime.now(UTC)
    event = Event(id=uuid.uuid4(), kind="redeem", voucher_id="b1.1", at=now, device_seq=1)
    replica.pushed.record_outcomes(
        [event], [EventResult(id=event.id, outcome="accepted", server_time=now)], 1, journal_id="j1"
    )
    replica.close()
    break_an_index(
        settings.replica_path,
        "vouchers",
        "vouchers_batch",
        "('b1.1', 'b1', 't1', 1, 'h1', 1, 'unused', NULL, NULL)",
        "batch_id = 'b2'",
        "type_id",
    )
    clean = Agent(settings, SyncClient("http://127.0.0.1:9"))  # the last run stopped cleanly: quick_check
    clean.close()
    assert not list(tmp_path.glob("replica.db.corrupt-*")) and not (tmp_path / "agent.running").exists()
    (tmp_path / "agent.running").write_text("4242\n")  # as a killed agent leaves it
    after_crash = Agent(settings, SyncClient("http://127.0.0.1:9"))
    try:
        assert list(tmp_path.glob("replica.db.corrupt-*"))  # found by integrity_check, moved aside
        assert after_crash.replica.conn.execute("SELECT count(*) FROM vouchers").fetchone()[0] == 0
        reason = after_crash.replica.conn.execute(
            "SELECT value FROM meta WHERE key = 'rebuilt_reason'"
        ).fetchone()[0]
        assert reason.startswith("replica was corrupt (") and "vouchers_batch" in reason, reason
        # what head office answered, in pushed.db, is kept: nothing is pushed again
        assert after_crash.pushed.push_mark() == ("j1", 1)
        assert [tuple(r) for r in after_crash.replica.conn.execute("SELECT outcome FROM outcomes")] == [
            ("accepted",)
        ]
        assert (tmp_path / "agent.running").exists()  # this run is under way
    finally:
        after_crash.close()
    assert not (tmp_path / "agent.running").exists()
