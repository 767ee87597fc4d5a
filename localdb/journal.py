"""journal.db, written by the kiosk alone: every event the till makes, append-only.

Each event is committed in its own BEGIN IMMEDIATE transaction with synchronous=FULL before
the kiosk shows its verdict; triggers refuse any UPDATE or DELETE. The sequence number is the
event's `device_seq`. Vouchers are named by id, never by code. One process writes it: a second
kiosk on the same directory is refused (an advisory lock on journal.db.writer, freed by the
kernel when the process ends, however it ends).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localdb.connect import Migration, open_writer, private_dir, write
from localdb.errors import LocalDatabaseError

MIGRATIONS: list[Migration] = [
    (
        1,
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('redeem', 'revert', 'refused')),
            voucher_id TEXT,
            at TEXT NOT NULL,
            cashier TEXT,
            reverts TEXT,
            reason TEXT,
            verdict TEXT
        );
        CREATE INDEX events_voucher ON events (voucher_id);
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END
        """,
    ),
]

COLUMNS = ("seq", "id", "kind", "voucher_id", "at", "cashier", "reverts", "reason", "verdict")


@dataclass(frozen=True)
class JournalEvent:
    seq: int
    id: str
    kind: str
    voucher_id: str | None
    at: datetime
    cashier: str | None = None
    reverts: str | None = None
    reason: str | None = None
    verdict: str | None = None

    def wire(self) -> dict[str, Any]:
        """As docs/PROTOCOL.md's event: device_seq is the journal's sequence number."""
        out = {"id": self.id, "kind": self.kind, "voucher_id": self.voucher_id, "at": self.at.isoformat(),
               "device_seq": self.seq, "cashier": self.cashier}
        if self.kind == "revert":
            out.update(reverts=self.reverts, reason=self.reason)
        if self.kind == "refused":
            out["verdict"] = self.verdict
        return {k: v for k, v in out.items() if v is not None}


def _lock_writer(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise LocalDatabaseError(
            f"{path.parent / path.name.removesuffix('.writer')} is in use by another kiosk (process {holder}); "
            "one till directory has one kiosk. Close the other one first.", title="Kiosk already running") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def event_from_row(row: sqlite3.Row | tuple) -> JournalEvent:
    values = dict(zip(COLUMNS, tuple(row)))
    values["at"] = datetime.fromisoformat(values["at"])
    return JournalEvent(**values)


class Journal:
    """The kiosk's writing handle on journal.db."""

    def __init__(self, path: Path) -> None:
        self.path = path
        private_dir(path.parent)
        self._writer = _lock_writer(path.parent / f"{path.name}.writer")
        try:
            self.conn = open_writer(path, MIGRATIONS, synchronous="FULL")
        except BaseException:
            os.close(self._writer)
            raise

    def close(self) -> None:
        self.conn.close()
        os.close(self._writer)  # frees the lock

    def append(
        self,
        kind: str,
        voucher_id: str | None,
        *,
        at: datetime | None = None,
        cashier: str | None = None,
        reverts: str | None = None,
        reason: str | None = None,
        verdict: str | None = None,
    ) -> JournalEvent:
        """Write one event durably; when this returns, it survives a power cut."""
        at = at or datetime.now(UTC)
        event_id = str(uuid.uuid4())
        with write(self.conn) as c:
            cursor = c.execute(
                "INSERT INTO events (id, kind, voucher_id, at, cashier, reverts, reason, verdict) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (event_id, kind, voucher_id, at.isoformat(), cashier, reverts, reason, verdict),
            )
        return JournalEvent(cursor.lastrowid, event_id, kind, voucher_id, at, cashier, reverts, reason, verdict)


def events_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[JournalEvent]:
    """Events with a sequence number above `seq`, oldest first (for the agent's push loop)."""
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
    return [event_from_row(r) for r in rows]


def last_seq(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def voucher_events(conn: sqlite3.Connection, voucher_id: str, after: int = 0) -> list[JournalEvent]:
    """A voucher's redemptions and reverts at this till with a sequence number above `after`."""
    rows = conn.execute(
        f"SELECT {', '.join(COLUMNS)} FROM events WHERE voucher_id = ? AND seq > ? "
        "AND kind IN ('redeem', 'revert') ORDER BY seq",
        (voucher_id, after),
    )
    return [event_from_row(r) for r in rows]
