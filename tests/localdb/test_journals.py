"""A journal can be replaced, never silently lost: identities, push cursors per journal, losses in
words, the till's overlay with a new journal, a damaged journal refused and read what can be read.
Real SQLite files throughout; the agent's side is driven through the replica's own methods."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime

import pytest

from localdb.connect import open_reader, open_writer
from localdb.errors import DamagedFile, DiskFull
from localdb.journal import MIGRATIONS as JOURNAL_MIGRATIONS
from localdb.journal import Journal, events_after, identity, salvage_after
from localdb.replica import MIGRATIONS as REPLICA_MIGRATIONS
from localdb.replica import Replica
from localdb.till import Till
from vouchers.status import Status
from vouchers.wire import EventResult

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def page(cursor=0, next_cursor=10, vouchers=(1, 2, 3)):
    return {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": True,
        "store": {"id": "s1", "timezone": "Europe/London"},
        "batches": [
            {
                "id": "b1",
                "identifier": "Spring",
                "description": "",
                "state": "redeemable",
                "claims": "active",
                "valid_from": None,
                "valid_until": None,
                "stores": None,
            }
        ],
        "types": [
            {
                "id": "t1",
                "batch_id": "b1",
                "name": "Std",
                "value": "£5 off",
                "min_purchase": None,
                "initial_status": "unused",
            }
        ],
        "vouchers": [
            {
                "id": f"b1.{n}",
                "batch_id": "b1",
                "type_id": "t1",
                "serial": n,
                "code_hash": f"h{n}",
                "claimed": True,
                "status": "unused",
                "used_at": None,
                "used_store": None,
            }
            for n in vouchers
        ],
        "deleted": {"batches": [], "types": [], "vouchers": []},
    }


def push(replica: Replica, journal: Journal) -> int:
    """What the agent's push step does with the replica: follow the journal, record every pending
    event as accepted; returns how many were pushed."""
    reader = open_reader(journal.path)
    try:
        jid = identity(reader)
        top = reader.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        start, _ = replica.pushed.follow_journal(jid, top, lambda seq: _id_at(reader, seq))
        events = [e.wire() for e in events_after(reader, start, 1000)]
    finally:
        reader.close()
    if events:
        results = [EventResult(id=e.id, outcome="accepted", server_time=NOW) for e in events]
        replica.pushed.record_outcomes(events, results, events[-1].device_seq, journal_id=jid)
    return len(events)


def _id_at(conn, seq):
    row = conn.execute("SELECT id FROM events WHERE seq = ?", (seq,)).fetchone()
    return row and row[0]


def remove(path):
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def test_each_journal_has_its_own_identity_made_with_it_and_never_changed(tmp_path):
    first = Journal(tmp_path / "a" / "journal.db")
    second = Journal(tmp_path / "b" / "journal.db")
    assert len(first.identity) == 32 and first.identity != second.identity
    for sql in (
        "UPDATE journal_identity SET id = 'x'",
        "DELETE FROM journal_identity",
        "INSERT INTO journal_identity VALUES ('x', 'y')",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="one identity"):
            first.conn.execute(sql)
    before = first.identity
    first.close()
    assert Journal(tmp_path / "a" / "journal.db").identity == before  # reopened: the same journal
    second.close()


def test_a_new_journal_is_pushed_from_its_start_and_the_old_one_reported_with_its_count(tmp_path):
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    replica.apply_page(page())
    for n in (1, 2, 3):
        journal.append("redeem", f"b1.{n}", at=NOW)
    assert push(replica, journal) == 3
    replica.apply_page(page(10, 20, vouchers=()))
    replica.pushed.mark_reflected(replica.pushed.push_mark())  # the snapshot reflects events up to #3
    old = journal.identity
    journal.close()
    remove(tmp_path / "journal.db")  # deleted between two redemptions
    journal = Journal(tmp_path / "journal.db")
    assert journal.identity != old
    again = journal.append("redeem", "b1.1", at=NOW)  # #1 of the new journal, below the old cursor 3
    till = Till(replica.conn, journal.conn)
    assert till.pending() == 1  # not hidden behind the old journal's push cursor
    assert till.lookup("h1").redeemed_here == again  # and overlaid: the till will not accept it twice
    [unnoticed] = till.journal_losses()
    assert (unnoticed.how, unnoticed.acknowledged, unnoticed.at) == ("replaced", 3, None)
    assert push(replica, journal) == 1
    [loss] = till.journal_losses()
    assert (loss.journal_id, loss.how, loss.acknowledged, loss.unsent) == (old, "replaced", 3, 0)
    assert loss.at is not None and loss.recent(datetime.now(UTC))
    assert loss.words().endswith("head office had acknowledged 3 of its events; nothing it held was lost")
    assert till.pending() == 0 and push(replica, journal) == 0
    journal.close(), replica.close()


def test_events_seen_but_never_pushed_are_counted_as_lost(tmp_path):
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    journal.append("redeem", "b1.1", at=NOW)
    push(replica, journal)
    journal.append("redeem", "b1.2", at=NOW)
    reader = open_reader(journal.path)
    replica.pushed.follow_journal(
        identity(reader), 2, lambda seq: _id_at(reader, seq)
    )  # seen, not yet pushed
    reader.close()
    journal.close()
    remove(tmp_path / "journal.db")
    journal = Journal(tmp_path / "journal.db")
    journal.append("refused", None, verdict="INVALID_CODE")
    push(replica, journal)
    [loss] = Till(replica.conn, journal.conn).journal_losses()
    assert (loss.acknowledged, loss.unsent) == (1, 1)
    assert "1 event it held never reached head office and is lost" in loss.words()
    journal.close(), replica.close()


def test_a_journal_restored_from_an_older_copy_goes_back_to_what_the_copy_holds(tmp_path):
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    replica.apply_page(page())
    journal.append("redeem", "b1.1", at=NOW)
    journal.append("redeem", "b1.2", at=NOW)
    journal.close()
    shutil.copy(tmp_path / "journal.db", tmp_path / "backup.db")  # a copy with two events
    journal = Journal(tmp_path / "journal.db")
    journal.append("redeem", "b1.3", at=NOW)
    journal.append("refused", None, verdict="UNKNOWN")
    assert push(replica, journal) == 4
    journal.close()
    remove(tmp_path / "journal.db")
    shutil.copy(tmp_path / "backup.db", tmp_path / "journal.db")
    journal = Journal(tmp_path / "journal.db")
    new = journal.append("redeem", "b1.3", at=NOW)  # #3 again, another event: the same identity
    till = Till(replica.conn, journal.conn)
    assert till.lookup("h3").redeemed_here == new
    [unnoticed] = till.journal_losses()
    assert unnoticed.how == "rewound" and unnoticed.at is None
    assert push(replica, journal) == 1  # only the new #3: #1 and #2 have their answers
    [loss] = till.journal_losses()
    assert (loss.how, loss.acknowledged, loss.held) == ("rewound", 4, 2)
    assert loss.words().startswith("journal.db went back to an older copy")
    assert "the copy holds 2; events written since are pushed from #3" in loss.words()
    assert till.pending() == 0
    journal.close(), replica.close()


def test_a_journal_from_before_identities_is_adopted_not_reported_replaced(tmp_path):
    """An upgrade: replica and journal made by the previous version (migration 1 only), then each
    migrated by its own writer: the same journal keeps its push cursor."""
    replica_conn = open_writer(tmp_path / "replica.db", REPLICA_MIGRATIONS[:1], synchronous="NORMAL")
    journal_conn = open_writer(tmp_path / "journal.db", JOURNAL_MIGRATIONS[:1])
    ids = []
    for n in (1, 2):
        cursor = journal_conn.execute(
            "INSERT INTO events (id, kind, voucher_id, at) VALUES (?, 'redeem', ?, ?)",
            (f"00000000-0000-4000-8000-00000000000{n}", f"b1.{n}", NOW.isoformat()),
        )
        ids.append((cursor.lastrowid, f"00000000-0000-4000-8000-00000000000{n}"))
    replica_conn.executemany(
        "INSERT INTO outcomes VALUES (?, ?, 'redeem', NULL, 'accepted', NULL, NULL, NULL, NULL, NULL, ?)",
        [(i, seq, NOW.isoformat()) for seq, i in ids],
    )
    replica_conn.execute("INSERT INTO meta VALUES ('push_cursor', '2')")
    replica_conn.close(), journal_conn.close()
    replica = Replica(tmp_path / "replica.db")  # the agent upgraded first
    journal = Journal(tmp_path / "journal.db")  # then the kiosk, which gives the journal its identity
    till = Till(replica.conn, journal.conn)
    assert till.pending() == 0 and till.journal_losses() == []
    assert push(replica, journal) == 0
    assert till.journal_losses() == [] and replica.pushed.push_cursor() == 2
    journal.close(), replica.close()


def test_a_damaged_journal_is_refused_and_never_written(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    for n in range(300):
        journal.append("refused", None, verdict="INVALID_CODE", cashier="x" * 150)
    journal.close()
    path = tmp_path / "journal.db"
    conn = sqlite3.connect(path)
    leaf = conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' "
        "ORDER BY pageno LIMIT 1 OFFSET 2"
    ).fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    data[(leaf - 1) * 4096 : leaf * 4096] = b"\xde\xad" * 2048  # one page of events in the middle garbled
    path.write_bytes(bytes(data))
    with pytest.raises(DamagedFile, match="journal.db.damaged") as raised:
        Journal(path)
    assert "the file is damaged" in str(raised.value)
    assert path.read_bytes() == bytes(data)  # not migrated, not rewritten
    reader = open_reader(path)
    with pytest.raises(sqlite3.DatabaseError):
        events_after(reader, 0, 1000)
    found, unreadable, top = salvage_after(reader, 0, 1000)  # what the agent still pushes
    assert top == 300 and unreadable and found
    assert len(found) + len(unreadable) == 300 and {e.seq for e in found}.isdisjoint(unreadable)
    reader.close()


def test_deleted_under_a_running_kiosk_the_next_event_goes_to_the_new_file(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    journal.append("redeem", "b1.1", at=NOW)
    old = journal.identity
    remove(tmp_path / "journal.db")
    (tmp_path / "journal.db-wal").write_bytes(b"left behind")  # e.g. a restore that missed it
    event = journal.append("redeem", "b1.2", at=NOW)
    assert journal.identity != old and event.seq == 1
    assert list(tmp_path.glob("journal.db-wal.orphan-*"))  # kept aside, not read into the new journal
    reader = open_reader(tmp_path / "journal.db")
    assert [e.id for e in events_after(reader, 0, 10)] == [event.id]
    reader.close(), journal.close()


def test_a_full_disk_refuses_the_write_in_words_and_writes_again_once_there_is_room(tmp_path):
    """SQLite's own 'database or disk is full', from a page limit on the journal (a tmpfs filling up
    is tested with the agent running, in tests/sync/test_till_faults.py)."""
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    replica.apply_page(page())
    pages = journal.conn.execute("PRAGMA page_count").fetchone()[0]
    journal.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(DiskFull, match="no space left on the disk"):
        for _ in range(200):
            journal.append("refused", None, verdict="INVALID_CODE", cashier="x" * 150)
    journal.conn.execute(f"PRAGMA max_page_count = {pages + 1000}")
    journal.append("redeem", "b1.1", at=NOW)
    assert Till(replica.conn, journal.conn).lookup("h1").voucher.status is Status.USED
    journal.close(), replica.close()
