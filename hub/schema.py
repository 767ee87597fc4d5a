"""hub.db's tables, as versioned migrations (localdb.connect.migrate), and its small key-value meta.

meta       upstream_cursor, the store (head office's `store` object, JSON), the pull numbers
           (`pulls`: the last one handed out; `reflected_pull`: the newest pull that ended
           complete), `complete` once head office's snapshot came whole, and the times of the
           last contact of each kind
batches, types, problems    head office's rows, each kept in its wire form (JSON)
vouchers   head office's vouchers, in columns (the hub decides from them)
ledger     every event a till sent: the event as it is forwarded (its `device_id` = the till
           that made it), the hub's result, and head office's once it answered (with the pull
           number of that moment: see hub/views.py, what "reflected" means)
devices    the store's devices from head office's GET /sync/devices, with the last heartbeat
           each till sent to the hub
changes    the hub's own change feed, which tills page through: a changed entity takes a new
           `seq` (INSERT OR REPLACE deletes the old row), and SQLite has one writer, so seq
           order is commit order and a till paging never skips a change
"""

from __future__ import annotations

import sqlite3

from localdb.connect import Migration

MIGRATIONS: list[Migration] = [
    (
        1,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE batches (id TEXT PRIMARY KEY, wire TEXT NOT NULL);
        CREATE TABLE types (id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, wire TEXT NOT NULL);
        CREATE INDEX types_batch ON types (batch_id);
        CREATE TABLE vouchers (
            id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, type_id TEXT NOT NULL, serial INTEGER NOT NULL,
            code_hash TEXT NOT NULL, claimed INTEGER NOT NULL, status TEXT, used_at TEXT, used_store TEXT
        ) WITHOUT ROWID;
        CREATE INDEX vouchers_batch ON vouchers (batch_id);
        CREATE TABLE problems (event_id TEXT PRIMARY KEY, wire TEXT NOT NULL);
        CREATE TABLE ledger (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            voucher_id TEXT,
            device_id TEXT NOT NULL,
            sender_id TEXT NOT NULL,
            target TEXT,
            at TEXT NOT NULL,
            event TEXT NOT NULL,
            received_at TEXT NOT NULL,
            outcome TEXT NOT NULL,
            result TEXT NOT NULL,
            ho_outcome TEXT,
            ho_result TEXT,
            ho_answered_at TEXT,
            ho_pull INTEGER);
        CREATE INDEX ledger_voucher ON ledger (voucher_id, seq) WHERE voucher_id IS NOT NULL;
        CREATE INDEX ledger_target ON ledger (target, seq) WHERE target IS NOT NULL;
        CREATE INDEX ledger_unforwarded ON ledger (seq) WHERE ho_result IS NULL;
        CREATE INDEX ledger_ho_pull ON ledger (ho_pull) WHERE ho_pull IS NOT NULL;
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, token_hash TEXT NOT NULL,
            revoked INTEGER NOT NULL, heartbeat TEXT, heartbeat_at TEXT, enrolled_at TEXT);
        CREATE INDEX devices_token ON devices (token_hash);
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, entity_id TEXT NOT NULL,
            UNIQUE (kind, entity_id));
        INSERT INTO sqlite_sequence (name, seq) VALUES ('changes', 1000000000000000);
        """,
    ),
]

# The hub's change numbers start above this, far above any head office's: a cursor below it (a till
# that pulled from head office before, its `server` now the hub) is not the hub's (hub/feed.py).
FEED_BASE = 10**15
KINDS = ("batch", "type", "voucher", "problem", "store")  # what a row of `changes` names


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def meta_int(conn: sqlite3.Connection, key: str) -> int:
    return int(get_meta(conn, key) or 0)


def set_meta(conn: sqlite3.Connection, **values: str | int | None) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [(k, None if v is None else str(v)) for k, v in values.items()],
    )


def bump(conn: sqlite3.Connection, kind: str, entity_id: str) -> None:
    """The entity changed (as the tills see it): it takes the next change number."""
    conn.execute("INSERT OR REPLACE INTO changes (kind, entity_id) VALUES (?, ?)", (kind, entity_id))


def head(conn: sqlite3.Connection) -> int:
    """The last change number handed out (every one up to it is committed: one writer)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
    return FEED_BASE if row is None else int(row[0])
