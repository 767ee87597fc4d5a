"""Journal migration 5: a redemption keeps the code scanned and a scan the code's keyed hash, for
this till's manager; neither goes to head office (the pushed event has neither), nor into a repr."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

from localdb.connect import migrate, open_reader
from localdb.journal import MIGRATIONS, Journal, events_after

CODE = "7K2M9QH4RTX3A7"
HASH = "ab" * 32
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_the_code_and_its_hash_stay_on_the_till(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    try:
        event = journal.append("redeem", "b.1", at=NOW, cashier="jo", code=CODE, code_hash=HASH)
    finally:
        journal.close()
    reader = open_reader(tmp_path / "journal.db")
    try:
        [read] = events_after(reader, 0, 10)
    finally:
        reader.close()
    assert read == event and (read.code, read.code_hash) == (CODE, HASH)
    pushed = read.wire().model_dump_json()
    assert CODE not in pushed and HASH not in pushed and "code" not in read.wire().model_dump()
    assert CODE not in repr(read) and HASH not in repr(read)


def test_a_journal_of_version_4_keeps_its_events_and_gains_the_columns(tmp_path):
    path = tmp_path / "journal.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate(old, MIGRATIONS[:4])
    old.execute(
        "INSERT INTO events (id, kind, voucher_id, at) VALUES (?, 'redeem', 'b.1', ?)",
        (str(uuid.uuid4()), NOW.isoformat()),
    )
    before = open_reader(path)  # an agent reading the old journal meanwhile: no code columns yet
    try:
        [older] = events_after(before, 0, 10)
        assert (older.code, older.code_hash) == (None, None)
    finally:
        before.close()
        old.close()
    journal = Journal(path)
    try:
        assert max(v for v, _ in MIGRATIONS) == 5
        newer = journal.append("redeem", "b.2", code=CODE, code_hash=HASH)
        events = events_after(journal.conn, 0, 10)
        assert [(e.seq, e.code) for e in events] == [(1, None), (2, CODE)] and newer.seq == 2
        plan = " ".join(
            str(r[3])
            for r in journal.conn.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM events WHERE code_hash = ?", (HASH,)
            )
        )
        assert "events_code_hash" in plan
    finally:
        journal.close()
