"""replica.db, written by the sync agent alone: the snapshot, its cursor, event outcomes, health.

A snapshot page and its cursor are applied in one transaction, so the file always holds a
state the server had at some cursor; the kiosk keeps reading the previous state until then.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from localdb import journals, streams
from localdb.connect import Migration, now_iso, open_writer, write

MIGRATIONS: list[Migration] = [
    (
        1,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE batches (
            id TEXT PRIMARY KEY, identifier TEXT NOT NULL, description TEXT NOT NULL, state TEXT NOT NULL,
            claims TEXT NOT NULL, valid_from TEXT, valid_until TEXT, stores TEXT);
        CREATE TABLE types (
            id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
            min_purchase TEXT, initial_status TEXT NOT NULL);
        CREATE INDEX types_batch ON types (batch_id);
        CREATE TABLE vouchers (
            id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, type_id TEXT NOT NULL, serial INTEGER NOT NULL,
            code_hash TEXT NOT NULL, claimed INTEGER NOT NULL, status TEXT, used_at TEXT, used_store TEXT
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX vouchers_code_hash ON vouchers (code_hash);
        CREATE INDEX vouchers_batch ON vouchers (batch_id);
        CREATE TABLE outcomes (
            event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, voucher_id TEXT,
            outcome TEXT NOT NULL, reason TEXT, winner_store TEXT, winner_device TEXT, winner_at TEXT,
            server_time TEXT, recorded_at TEXT NOT NULL);
        CREATE INDEX outcomes_voucher ON outcomes (voucher_id);
        CREATE INDEX outcomes_seq ON outcomes (seq)
        """,
    ),
    (2, journals.MIGRATION),  # push cursors per journal identity (localdb/journals.py)
    (
        4,  # conflicts and rejections to review, from the snapshot: the store's own and the conflicts it won
        """
        CREATE TABLE problems (
            event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT,
            store_id TEXT NOT NULL, device_id TEXT, voucher_id TEXT, at TEXT NOT NULL,
            winner_store TEXT, winner_device TEXT, winner_at TEXT,
            reviewed_at TEXT, reviewed_by TEXT, review_note TEXT)
        """,
    ),
]

CACHE_KIB = 16 * 1024  # the agent's page cache (and index sorter's memory): the upper levels of the indexes

HEALTH_KEYS = (
    "last_pull_at", "last_push_at", "last_error", "last_error_at", "clock_skew_seconds", "stopped",
)


class Replica:
    """The agent's writing handle on replica.db."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_writer(path, MIGRATIONS, synchronous="NORMAL")
        self.conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    def close(self) -> None:
        self.conn.close()

    # --- the snapshot -----------------------------------------------------------------------

    def cursor(self) -> int:
        return int(get_meta(self.conn, "cursor") or 0)

    def apply_page(self, page: dict[str, Any], *, live: bool = False) -> int:
        """Apply one snapshot page (docs/PROTOCOL.md) and its next_cursor atomically; returns the cursor.
        `live`: a page of the live stream, pulled while the catch-up runs (localdb/streams.py)."""
        with write(self.conn) as c:
            streams.check_follows(c, page, live=live)
            streams.before_rows(c, page, live=live)
            store = page["store"]
            _set_meta(c, {"store_id": store["id"], "store_timezone": store["timezone"]})
            c.executemany(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (b["id"], b["identifier"], b["description"], b["state"], b["claims"], b.get("valid_from"),
                     b.get("valid_until"), None if b.get("stores") is None else json.dumps(b["stores"]))
                    for b in page["batches"]
                ],
            )
            c.executemany(
                "INSERT OR REPLACE INTO types VALUES (?, ?, ?, ?, ?, ?)",
                [(t["id"], t["batch_id"], t["name"], t["value"], t.get("min_purchase"), t["initial_status"])
                 for t in page["types"]],
            )
            c.executemany(
                "INSERT OR REPLACE INTO vouchers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(v["id"], v["batch_id"], v["type_id"], v["serial"], v["code_hash"], bool(v["claimed"]),
                  v.get("status"), v.get("used_at"), v.get("used_store")) for v in page["vouchers"]],
            )
            deleted = page.get("deleted") or {}
            for batch_id in deleted.get("batches", []):
                for table, column in (("vouchers", "batch_id"), ("types", "batch_id"), ("batches", "id")):
                    c.execute(f"DELETE FROM {table} WHERE {column} = ?", (batch_id,))
            c.executemany("DELETE FROM types WHERE id = ?", [(i,) for i in deleted.get("types", [])])
            c.executemany("DELETE FROM vouchers WHERE id = ?", [(i,) for i in deleted.get("vouchers", [])])
            c.executemany(
                "INSERT OR REPLACE INTO problems VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(p["event_id"], p["kind"], p["outcome"], p.get("reason"), p["store_id"], p.get("device_id"),
                  p.get("voucher_id"), p["at"], *_winner(p.get("winner")), *_reviewed(p.get("reviewed")))
                 for p in page.get("problems") or []],
            )
            # a pull that succeeds proves the device is enrolled: a `stopped` from a revocation is over
            _set_meta(c, {**streams.after_rows(c, page, live=live), "last_pull_at": now_iso(), "stopped": None})
        return page["next_cursor"]

    def mark_reflected(self, mark: tuple[str | None, int] | int) -> None:
        """After a pull that began at `mark` (push_mark: the journal pushed from and its cursor)
        and then reached `complete`, the snapshot reflects those events: the till stops overlaying
        them. A bare cursor is taken as the current journal's."""
        jid, push_cursor = mark if isinstance(mark, tuple) else (journals.followed(self.conn), mark)
        jid = journals.LEGACY if jid is None else jid  # pushed before any journal was followed
        with write(self.conn) as c:
            journals.mark_reflected(c, jid, push_cursor)
            current = int(get_meta(c, "reflected_push_cursor") or 0)
            if push_cursor > current and jid == (journals.followed(c) or journals.LEGACY):
                _set_meta(c, {"reflected_push_cursor": str(push_cursor)})

    def wipe_snapshot(self) -> None:
        """Forget the snapshot and start again from cursor 0; outcomes and push cursor stay."""
        with write(self.conn) as c:
            for table in ("vouchers", "types", "batches", "problems"):
                c.execute(f"DELETE FROM {table}")
            _set_meta(c, {"cursor": "0", "reflected_push_cursor": "0", "snapshot_complete": "0",
                          **dict.fromkeys(streams.STREAM_KEYS)})
            journals.forget_reflected(c)

    # --- pushed events ----------------------------------------------------------------------

    def push_cursor(self) -> int:
        """The sequence number up to which every event of the journal pushed from has an outcome."""
        return journals.push_cursor(self.conn)

    def push_mark(self) -> tuple[str | None, int]:
        """The journal pushed from and its push cursor, for mark_reflected after a pull."""
        jid = journals.followed(self.conn) or journals.LEGACY
        return jid, journals.push_cursor(self.conn, jid)

    def follow_journal(self, jid: str, top: int, event_id_at) -> tuple[int, journals.JournalLoss | None]:
        """Push from journal `jid` (see localdb/journals.py); its push cursor, and a loss found now."""
        with write(self.conn) as c:
            return journals.follow(c, jid, top, event_id_at, lambda event_id: c.execute(
                "SELECT 1 FROM outcomes WHERE event_id = ?", (event_id,)).fetchone() is not None)

    def record_outcomes(self, events: Iterable[dict[str, Any]], results: list[dict[str, Any]], last_seq: int,
                        *, journal_id: str | None = None, unreadable: int = 0) -> None:
        """Store each event's result and move the push cursor of journal `journal_id` (the one
        followed when None) past them, in one transaction; `unreadable` sequence numbers up to
        `last_seq` were skipped, unreadable in a damaged journal."""
        events = list(events)
        now = now_iso()
        rows = []
        for event, result in zip(events, results, strict=True):
            first = result.get("first") if result["outcome"] == "duplicate" else None
            final = first or result  # a duplicate of an event whose answer we lost: keep the first answer
            winner = final.get("winner") or {}
            rows.append((
                str(event["id"]), event["device_seq"], event["kind"], event.get("voucher_id"), final["outcome"],
                final.get("reason"), winner.get("store_id"), winner.get("device_id"), winner.get("at"),
                final.get("server_time"), now,
            ))
        with write(self.conn) as c:
            c.executemany("INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            jid = journals.followed(c) if journal_id is None else journal_id
            anchor = next((str(e["id"]) for e in events if e["device_seq"] == last_seq), None)
            journals.record_push(c, jid if jid is not None else journals.LEGACY, last_seq, anchor, unreadable)
            _set_meta(c, {"push_cursor": str(last_seq), "last_push_at": now})

    def note_rebuilt(self, reason: str) -> None:
        """This replica replaces a damaged one: until its snapshot is complete, the kiosk says the
        voucher list is being rebuilt instead of deciding from it."""
        with write(self.conn) as c:
            _set_meta(c, {"rebuilt_at": now_iso(), "rebuilt_reason": reason[:500], "last_error": reason[:500],
                          "last_error_at": now_iso()})

    # --- health -----------------------------------------------------------------------------

    def set_health(self, **values: Any) -> None:
        unknown = set(values) - set(HEALTH_KEYS)
        if unknown:
            raise KeyError(f"not health keys: {sorted(unknown)}")
        with write(self.conn) as c:
            _set_meta(c, {k: None if v is None else str(v) for k, v in values.items()})


def _winner(winner: dict[str, Any] | None) -> tuple:
    return (winner["store_id"], winner.get("device_id"), winner["at"]) if winner else (None, None, None)


def _reviewed(reviewed: dict[str, Any] | None) -> tuple:
    return (reviewed["at"], reviewed["by"], reviewed["note"]) if reviewed else (None, None, None)


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def all_meta(conn: sqlite3.Connection) -> dict[str, str | None]:
    return {row[0]: row[1] for row in conn.execute("SELECT key, value FROM meta")}


def snapshot_complete(meta: dict[str, str | None]) -> bool:
    """Whether the last page applied said `complete`. Not before the first pull, nor after a wipe
    (both at cursor 0), nor in a replica from before this key was kept, until its next pull; a
    store with nothing to sync yet is complete at cursor 0."""
    return meta.get("snapshot_complete") == "1"


def _set_meta(conn: sqlite3.Connection, values: dict[str, str | None]) -> None:
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
