"""replica.db, written by the sync agent's pull side alone: the snapshot, its cursor, its health.

Event outcomes and push cursors are in pushed.db beside it (localdb/pushed.py).

A snapshot page and its cursor are applied in one transaction, so the file always holds a
state the server had at some cursor; the kiosk keeps reading the previous state until then.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from localdb import journals, streams
from localdb.connect import Migration, now_iso, open_writer, write
from localdb.pushed import (
    OUTCOMES,
    SCHEMA,
    Pushed,
    attach,
    attached,
    detach_moving,
    move_out,
    open_pushed,
    spread,
)
from vouchers.wire import ProblemReviewed, ProblemWinner, SnapshotPage
from vouchers.wording import Said

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
        """
        + OUTCOMES,  # (moved to pushed.db by migration 5)
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
    (5, move_out),  # outcomes, push cursors and push state to pushed.db (localdb/pushed.py)
]

CACHE_KIB = 16 * 1024  # the agent's page cache (and index sorter's memory): the upper levels of the indexes

HEALTH_KEYS = (
    "last_pull_at",
    "last_push_at",
    "last_error",
    "last_error_words",
    "last_error_at",
    "clock_skew_seconds",
    "stopped",
    "stopped_words",
)
REPLICA_HEALTH_KEYS = (
    "last_pull_at",
    "stopped",
    "stopped_words",
)  # written with a page or a wipe; the rest in pushed.db


class Replica:
    """The agent's writing handle on replica.db, with pushed.db beside it (`pushed`: its own, or
    the agent's shared one) attached read-only to the same connection for reading."""

    def __init__(self, path: Path, pushed: Pushed | None = None) -> None:
        self.path = path
        self._owns_pushed = pushed is None
        self.pushed = open_pushed(path) if pushed is None else pushed
        try:
            self.conn = open_writer(path, MIGRATIONS, synchronous="NORMAL")
        except BaseException:
            if self._owns_pushed:
                self.pushed.close()
            raise
        detach_moving(self.conn)
        attach(self.conn)
        self.conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")

    def close(self) -> None:
        self.conn.close()
        if self._owns_pushed:
            self.pushed.close()

    # --- the snapshot -----------------------------------------------------------------------

    def cursor(self) -> int:
        return int(get_meta(self.conn, "cursor") or 0)

    def apply_page(self, page: SnapshotPage | Mapping[str, object], *, live: bool = False) -> int:
        """Apply one snapshot page (docs/PROTOCOL.md) and its next_cursor atomically; returns the cursor.
        A page as the client returns it, or its JSON object (read into one first: tests and benchmarks
        write pages by hand). `live`: a page of the live stream, pulled while the catch-up runs
        (localdb/streams.py)."""
        if not isinstance(page, SnapshotPage):
            page = SnapshotPage.from_wire(page)
        with write(self.conn) as c:
            streams.check_follows(c, page, live=live)
            streams.before_rows(c, page, live=live)
            _set_meta(
                c,
                {
                    "store_id": page.store.id,
                    "store_timezone": page.store.timezone,
                    "store_name": page.store.name,
                    "store_locale": page.store.locale,
                },
            )
            c.executemany(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        b.id,
                        b.identifier,
                        b.description,
                        b.state.value,
                        b.claims.value,
                        None if b.valid_from is None else b.valid_from.isoformat(),
                        None if b.valid_until is None else b.valid_until.isoformat(),
                        None if b.stores is None else json.dumps(b.stores),
                    )
                    for b in page.batches
                ],
            )
            c.executemany(
                "INSERT OR REPLACE INTO types VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (t.id, t.batch_id, t.name, t.value, t.min_purchase, t.initial_status.value)
                    for t in page.types
                ],
            )
            c.executemany(  # the hot path of a first sync: plain dicts, as validated (wire.SnapshotVoucher)
                "INSERT OR REPLACE INTO vouchers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        v["id"],
                        v["batch_id"],
                        v["type_id"],
                        v["serial"],
                        v["code_hash"],
                        v["claimed"],
                        v.get("status"),
                        None if (used := v.get("used_at")) is None else used.isoformat(),
                        v.get("used_store"),
                    )
                    for v in page.vouchers
                ],
            )
            for batch_id in page.deleted.batches:
                for table, column in (("vouchers", "batch_id"), ("types", "batch_id"), ("batches", "id")):
                    c.execute(f"DELETE FROM {table} WHERE {column} = ?", (batch_id,))
            c.executemany("DELETE FROM types WHERE id = ?", [(i,) for i in page.deleted.types])
            c.executemany("DELETE FROM vouchers WHERE id = ?", [(i,) for i in page.deleted.vouchers])
            c.executemany(
                "INSERT OR REPLACE INTO problems VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        p.event_id,
                        p.kind,
                        p.outcome,
                        p.reason,
                        p.store_id,
                        p.device_id,
                        p.voucher_id,
                        p.at.isoformat(),
                        *_winner(p.winner),
                        *_reviewed(p.reviewed),
                    )
                    for p in page.problems
                ],
            )
            # a pull that succeeds proves the device is enrolled: a `stopped` from a revocation is over
            _set_meta(
                c, {**streams.after_rows(c, page, live=live), "last_pull_at": now_iso(), "stopped": None}
            )
        return page.next_cursor

    def wipe_snapshot(self) -> None:
        """Forget the snapshot and start again from cursor 0; outcomes and push cursors stay."""
        with write(self.conn) as c:
            for table in ("vouchers", "types", "batches", "problems"):
                c.execute(f"DELETE FROM {table}")
            _set_meta(c, {"cursor": "0", "snapshot_complete": "0", **dict.fromkeys(streams.STREAM_KEYS)})
        self.pushed.forget_reflected()

    def note_rebuilt(self, reason: Said) -> None:
        """This replica replaces a damaged one: until its snapshot is complete, the kiosk says the
        voucher list is being rebuilt instead of deciding from it."""
        with write(self.conn) as c:
            _set_meta(c, {"rebuilt_at": now_iso(), "rebuilt_reason": reason.english()[:500]})
        self.pushed.set_state(last_error=reason, last_error_at=now_iso())

    # --- health -----------------------------------------------------------------------------

    def set_health(self, **values: str | Said | int | None) -> None:
        """Health values: the pull's and a revocation's here, the rest in pushed.db's state; a
        message kept with its facts (Said) is written as localdb.pushed.spread says."""
        written = spread(values)
        unknown = set(written) - set(HEALTH_KEYS)
        if unknown:
            raise KeyError(f"not health keys: {sorted(unknown)}")
        here = {k: None if v is None else str(v) for k, v in written.items() if k in REPLICA_HEALTH_KEYS}
        if here:
            with write(self.conn) as c:
                _set_meta(c, here)
        elsewhere = {k: v for k, v in written.items() if k not in REPLICA_HEALTH_KEYS}
        if elsewhere:
            self.pushed.set_state(**elsewhere)


def _winner(winner: ProblemWinner | None) -> tuple[str | None, str | None, str | None]:
    return (winner.store_id, winner.device_id, winner.at.isoformat()) if winner else (None, None, None)


def _reviewed(reviewed: ProblemReviewed | None) -> tuple[str | None, str | None, str | None]:
    return (reviewed.at.isoformat(), reviewed.by, reviewed.note) if reviewed else (None, None, None)


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def all_meta(conn: sqlite3.Connection) -> dict[str, str | None]:
    """replica.db's meta with pushed.db's state (when attached: the agent's push side)."""
    out = {row[0]: row[1] for row in conn.execute("SELECT key, value FROM meta")}
    if attached(conn):
        out.update((row[0], row[1]) for row in conn.execute(f"SELECT key, value FROM {SCHEMA}.state"))
    return out


def snapshot_complete(meta: dict[str, str | None]) -> bool:
    """Whether the last page applied said `complete`. Not before the first pull, nor after a wipe
    (both at cursor 0), nor in a replica from before this key was kept, until its next pull; a
    store with nothing to sync yet is complete at cursor 0."""
    return meta.get("snapshot_complete") == "1"


def _set_meta(conn: sqlite3.Connection, values: dict[str, str | None]) -> None:
    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))
