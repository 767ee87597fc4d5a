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
]

HEALTH_KEYS = (
    "last_pull_at", "last_push_at", "last_error", "last_error_at", "clock_skew_seconds", "stopped",
)


class Replica:
    """The agent's writing handle on replica.db."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_writer(path, MIGRATIONS, synchronous="NORMAL")

    def close(self) -> None:
        self.conn.close()

    # --- the snapshot -----------------------------------------------------------------------

    def cursor(self) -> int:
        return int(get_meta(self.conn, "cursor") or 0)

    def apply_page(self, page: dict[str, Any]) -> int:
        """Apply one snapshot page (docs/PROTOCOL.md) and its next_cursor atomically; returns the cursor."""
        with write(self.conn) as c:
            current = int(get_meta(c, "cursor") or 0)
            if page["cursor"] != current:
                raise ValueError(f"page starts at cursor {page['cursor']}, replica is at {current}")
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
                [(v["id"], v["batch_id"], v["type_id"], v["serial"], v["code_hash"], int(bool(v["claimed"])),
                  v.get("status"), v.get("used_at"), v.get("used_store")) for v in page["vouchers"]],
            )
            deleted = page.get("deleted") or {}
            for batch_id in deleted.get("batches", []):
                for table, column in (("vouchers", "batch_id"), ("types", "batch_id"), ("batches", "id")):
                    c.execute(f"DELETE FROM {table} WHERE {column} = ?", (batch_id,))
            c.executemany("DELETE FROM types WHERE id = ?", [(i,) for i in deleted.get("types", [])])
            c.executemany("DELETE FROM vouchers WHERE id = ?", [(i,) for i in deleted.get("vouchers", [])])
            # a pull that succeeds proves the device is enrolled: a `stopped` from a revocation is over
            _set_meta(c, {"cursor": str(page["next_cursor"]), "last_pull_at": now_iso(),
                          "snapshot_complete": "1" if page["complete"] else "0", "stopped": None})
        return page["next_cursor"]

    def mark_reflected(self, push_cursor: int) -> None:
        """After a pull that began when events up to `push_cursor` had outcomes and then reached
        `complete`, the snapshot reflects those events: the till stops overlaying them."""
        with write(self.conn) as c:
            current = int(get_meta(c, "reflected_push_cursor") or 0)
            if push_cursor > current:
                _set_meta(c, {"reflected_push_cursor": str(push_cursor)})

    def wipe_snapshot(self) -> None:
        """Forget the snapshot and start again from cursor 0; outcomes and push cursor stay."""
        with write(self.conn) as c:
            for table in ("vouchers", "types", "batches"):
                c.execute(f"DELETE FROM {table}")
            _set_meta(c, {"cursor": "0", "reflected_push_cursor": "0", "snapshot_complete": "0"})

    # --- pushed events ----------------------------------------------------------------------

    def push_cursor(self) -> int:
        """The journal sequence number up to which every event has an outcome."""
        return int(get_meta(self.conn, "push_cursor") or 0)

    def record_outcomes(self, events: Iterable[dict[str, Any]], results: list[dict[str, Any]], last_seq: int) -> None:
        """Store each event's result and move the push cursor past them, in one transaction."""
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
            _set_meta(c, {"push_cursor": str(last_seq), "last_push_at": now})

    # --- health -----------------------------------------------------------------------------

    def set_health(self, **values: Any) -> None:
        unknown = set(values) - set(HEALTH_KEYS)
        if unknown:
            raise KeyError(f"not health keys: {sorted(unknown)}")
        with write(self.conn) as c:
            _set_meta(c, {k: None if v is None else str(v) for k, v in values.items()})


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
