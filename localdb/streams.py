"""Where a snapshot page leaves replica.db's cursors: a catch-up stream and a live stream.

A till far behind (its first sync of a large batch, or back after days offline) would see a
change made at head office only after every older change. So while it catches up, the agent also
pulls a *live* stream from the server's head as it was when the catch-up began (`head` of a page,
docs/PROTOCOL.md): meta `cursor` is the catch-up stream's, `live_cursor` the live one's. Each
stream's pages follow on within it, and the agent applies pages in the order it fetched them, so
every row in the file is at the newest version the agent has seen: a page fetched later holds
each of its rows at a newer (or the same) version than any page fetched before it, and no row
of a batch deleted meanwhile. The streams merge when the catch-up reaches the live cursor.

A first sync from cursor 0 into an empty replica loads without the secondary indexes (the
UNIQUE code-hash index above all, which costs a random B-tree insert per voucher) and builds them
in the transaction of the page that completes the snapshot, so a complete snapshot always has
them; meanwhile a lookup by code hash reads the table (slower, never wrong).

All functions here run inside the page's write transaction (localdb/replica.py's apply_page).
"""

from __future__ import annotations

import sqlite3

from localdb.connect import write
from vouchers.wire import SnapshotPage

# The secondary indexes of migration 1, as a first sync builds them when it completes.
SECONDARY_INDEXES = {
    "vouchers_code_hash": "CREATE UNIQUE INDEX IF NOT EXISTS vouchers_code_hash ON vouchers (code_hash)",
    "vouchers_batch": "CREATE INDEX IF NOT EXISTS vouchers_batch ON vouchers (batch_id)",
}
BULK_LOAD = "bulk_load"  # meta: "1" while a first sync runs without the secondary indexes
STREAM_KEYS = (
    "live_cursor",
    "catch_up_from",
    "snapshot_head",
)  # reset by a wipe (BULK_LOAD stays till built)


class DuplicateCodeHash(sqlite3.IntegrityError):
    """The server sent two vouchers with one code hash: the snapshot cannot be completed."""


def live_cursor(conn: sqlite3.Connection) -> int | None:
    value = _meta(conn, "live_cursor")
    return None if value is None else int(value)


def check_follows(conn: sqlite3.Connection, page: SnapshotPage, *, live: bool) -> None:
    """A page must start where its stream stands (ValueError otherwise)."""
    current = live_cursor(conn) if live else int(_meta(conn, "cursor") or 0)
    if current is None:
        raise ValueError(f"a live page from cursor {page.cursor}, but no live stream runs")
    if page.cursor != current:
        stream = "live cursor" if live else "replica is at"
        raise ValueError(f"page starts at cursor {page.cursor}, {stream} {current}")


def before_rows(conn: sqlite3.Connection, page: SnapshotPage, *, live: bool) -> None:
    """A first page from cursor 0 into an empty replica, with more to come: load without the
    secondary indexes."""
    if live or page.cursor != 0 or page.complete or _meta(conn, BULK_LOAD) == "1":
        return
    if conn.execute("SELECT 1 FROM vouchers LIMIT 1").fetchone() is not None:
        return
    for name in SECONDARY_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    _set(conn, {BULK_LOAD: "1"})


def after_rows(conn: sqlite3.Connection, page: SnapshotPage, *, live: bool) -> dict[str, str | None]:
    """The meta values the page leaves (the caller writes them); builds the indexes when a first
    sync completes. A live page moves the live cursor only; a catch-up page moves `cursor`, says
    whether the snapshot is complete, starts the live stream when more is to come, and merges it
    once the catch-up has reached it."""
    nxt, head = page.next_cursor, page.head
    if live:
        return {"live_cursor": str(nxt)}
    live_at = live_cursor(conn)
    values: dict[str, str | None] = {
        "cursor": str(nxt),
        "snapshot_complete": "1" if page.complete else "0",
    }
    if page.complete:
        if live_at is not None:
            values["cursor"] = str(max(nxt, live_at))  # nothing was left between them
        values.update(live_cursor=None, catch_up_from=None, snapshot_head=None)
        if _meta(conn, BULK_LOAD) == "1":
            build_indexes(conn)
            values[BULK_LOAD] = None
        return values
    if _meta(conn, "snapshot_complete") != "0" or _meta(conn, "catch_up_from") is None:
        values["catch_up_from"] = str(page.cursor)  # a catch-up begins here
    if live_at is not None and nxt >= live_at:
        live_at = values["live_cursor"] = None  # merged: the catch-up has everything the live stream had
    if head is not None:
        values["snapshot_head"] = str(head)
        if live_at is None and head > nxt:  # (again, if much changed while it caught up)
            values["live_cursor"] = str(head)
    return values


def missing_indexes(conn: sqlite3.Connection) -> list[str]:
    """While a first sync loads without them: the secondary indexes still to build (their SQL)."""
    if _meta(conn, BULK_LOAD) != "1":
        return []
    have = {row[1] for row in conn.execute("PRAGMA index_list(vouchers)")}
    return [sql for name, sql in SECONDARY_INDEXES.items() if name not in have]


def build_index(conn: sqlite3.Connection, sql: str) -> None:
    """One of them in its own transaction, before the page that completes the first sync (the
    agent's other writes may go between two of these, not in the middle of the whole build)."""
    with write(conn):
        _create(conn, sql)


def build_indexes(conn: sqlite3.Connection) -> None:
    for sql in SECONDARY_INDEXES.values():
        _create(conn, sql)


def _create(conn: sqlite3.Connection, sql: str) -> None:
    try:
        conn.execute(sql)
    except sqlite3.IntegrityError as exc:
        raise DuplicateCodeHash(
            f"the snapshot holds two vouchers with one code hash ({exc}); head office must correct it"
        ) from exc


def progress(meta: dict[str, str | None]) -> int | None:
    """How far the catch-up is, in %, from its start to the head the last page reported; None
    when the server did not say (an older server). An estimate: see `remaining` in PROTOCOL.md."""
    if meta.get("snapshot_complete") == "1":
        return 100
    head, start = meta.get("snapshot_head"), meta.get("catch_up_from")
    if head is None or start is None:
        return 0 if int(meta.get("cursor") or 0) == 0 and meta.get("last_pull_at") is None else None
    done, total = int(meta.get("cursor") or 0) - int(start), int(head) - int(start)
    return max(0, min(99, done * 100 // total)) if total > 0 else 99


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _set(conn: sqlite3.Connection, values: dict[str, str | None]) -> None:
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
