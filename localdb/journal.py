"""journal.db, written by the kiosk alone: every event the till makes, append-only.

Each event is committed in its own BEGIN IMMEDIATE transaction with synchronous=FULL before
the kiosk shows its verdict; triggers refuse any UPDATE or DELETE. The sequence number is the
event's `device_seq`. Vouchers are named by id; a redemption also keeps the code that was scanned
(migration 5), so the manager sees the code the customer holds, and a redemption or refusal the
code's keyed hash, so a voucher's story at this till is found by its code. Neither is ever pushed:
`JournalEvent.wire` leaves them out. One process writes it: a second
kiosk on the same directory is refused (an advisory lock on journal.db.writer, freed by the
kernel when the process ends, however it ends).

Each journal has an identity, a random id made with the file (migration 2), so the agent can
tell a new journal (journal.db deleted, emptied, replaced) from the one it pushed: sequence
numbers start again at 1 in a new one. When journal.db is deleted or replaced under a running
kiosk, the next event goes to the file now at that path, never to the old one. A damaged
journal is refused (DamagedFile), never migrated, rewritten or deleted.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from localdb.connect import Migration, open_writer, private_dir, write
from localdb.errors import LocalDatabaseError, is_damaged, translate
from vouchers import wire
from vouchers.wording import N_, said

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
    (
        2,  # the journal's identity: made once, with the file, never changed
        """
        CREATE TABLE journal_identity (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
        INSERT INTO journal_identity VALUES (lower(hex(randomblob(16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
        CREATE TRIGGER journal_identity_once BEFORE INSERT ON journal_identity
            BEGIN SELECT RAISE(ABORT, 'a journal has one identity'); END;
        CREATE TRIGGER journal_identity_no_update BEFORE UPDATE ON journal_identity
            BEGIN SELECT RAISE(ABORT, 'a journal has one identity'); END;
        CREATE TRIGGER journal_identity_no_delete BEFORE DELETE ON journal_identity
            BEGIN SELECT RAISE(ABORT, 'a journal has one identity'); END
        """,
    ),
]


def _allow_reviews(conn: sqlite3.Connection) -> str:
    """Migration 3: events may be `review` (a manager closed a conflict or rejection, named by
    `reviews`). SQLite cannot change a CHECK, so the table is rebuilt with every column it has
    (whatever other migrations added), rows and sequence numbers unchanged."""
    columns = [(r[1], r[2], r[3], r[5]) for r in conn.execute("PRAGMA table_info(events)")]
    names = [name for name, *_ in columns]
    defs = []
    for name, kind, notnull, _pk in columns:
        if name == "seq":
            defs.append("seq INTEGER PRIMARY KEY AUTOINCREMENT")
        elif name == "id":
            defs.append("id TEXT NOT NULL UNIQUE")
        elif name == "kind":
            defs.append("kind TEXT NOT NULL CHECK (kind IN ('redeem', 'revert', 'refused', 'review'))")
        else:
            defs.append(f"{name} {kind}{' NOT NULL' if notnull else ''}")
    if "reviews" not in names:
        defs.append("reviews TEXT")
    listed = ", ".join(names)
    return f"""
        DROP TRIGGER events_no_update;
        DROP TRIGGER events_no_delete;
        CREATE TABLE events_v3 ({", ".join(defs)});
        INSERT INTO events_v3 ({listed}) SELECT {listed} FROM events;
        DROP TABLE events;
        ALTER TABLE events_v3 RENAME TO events;
        CREATE INDEX events_voucher ON events (voucher_id);
        CREATE INDEX events_reviews ON events (reviews) WHERE reviews IS NOT NULL;
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END
        """


MIGRATIONS.append((3, _allow_reviews))
# Migration 4: what the till noticed and tells its people until it is fixed (localdb/notices.py):
# a scanner typing through the wrong keyboard layout. Append-only like the events; never pushed.
MIGRATIONS.append(
    (
        4,
        """
    CREATE TABLE notices (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('scanner_layout')),
        event TEXT NOT NULL CHECK (event IN ('raised', 'corrected', 'correct', 'fixed', 'dismissed')),
        detail TEXT,
        by TEXT
    );
    CREATE INDEX notices_kind ON notices (kind, event, seq);
    CREATE TRIGGER notices_no_update BEFORE UPDATE ON notices
        BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
    CREATE TRIGGER notices_no_delete BEFORE DELETE ON notices
        BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END
    """,
    )
)

# Migration 5: the code a redemption scanned (canonical), and the code's keyed hash (the replica's
# `code_hash`) of a redemption or a refusal of a well-formed code. For this till's manager only:
# the agent pushes neither (PROTOCOL.md's events name vouchers by id), docs/DESIGN.md "Voucher codes".
MIGRATIONS.append(
    (
        5,
        """
    ALTER TABLE events ADD COLUMN code TEXT;
    ALTER TABLE events ADD COLUMN code_hash TEXT;
    CREATE INDEX events_code_hash ON events (code_hash) WHERE code_hash IS NOT NULL
    """,
    )
)

COLUMNS = (
    "seq",
    "id",
    "kind",
    "voucher_id",
    "at",
    "cashier",
    "reverts",
    "reason",
    "verdict",
    "reviews",
    "code",
    "code_hash",
)


@dataclass(frozen=True)
class JournalEvent:
    """An event as this journal holds it; `wire()` is the same event as the agent pushes it."""

    seq: int
    id: str
    kind: str
    voucher_id: str | None
    at: datetime
    cashier: str | None = None
    reverts: str | None = None
    reason: str | None = None
    verdict: str | None = None
    reviews: str | None = None  # a review: the conflicted or rejected event it closes
    code: str | None = field(default=None, repr=False)  # a redemption's code, canonical; never pushed
    code_hash: str | None = field(default=None, repr=False)  # the scanned code's keyed hash; never pushed

    def wire(self, device_id: str | None = None) -> wire.Event:
        """As docs/PROTOCOL.md's event (device_seq is the journal's sequence number), held to the
        wire's rules for its kind, without the code or its hash (they stay on the till);
        `device_id`: the earlier device of this till that made it.
        wire.Malformed, naming the field, when the row is not an event the protocol can carry."""
        fields = {
            "id": self.id,
            "kind": self.kind,
            "voucher_id": self.voucher_id,
            "at": self.at,
            "device_seq": self.seq,
            "cashier": self.cashier,
            "device_id": device_id,
            "reverts": self.reverts,
            "reviews": self.reviews,
            "reason": self.reason,
            "verdict": self.verdict,
        }
        return wire.Event.from_wire({k: v for k, v in fields.items() if v is not None})


def _lock_writer(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise LocalDatabaseError(
            said(
                "{path} is in use by another kiosk (process {holder}); one till directory has one kiosk. Close "
                "the other one first.",
                path=str(path.parent / path.name.removesuffix(".writer")),
                holder=holder,
            ),
            title=N_("Kiosk already running"),
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass  # the process id is for people (a full disk); the lock is what counts
    return fd


def selected(conn: sqlite3.Connection) -> str:
    """The event columns to SELECT from this journal: those of COLUMNS it has (a journal the kiosk
    has not migrated yet, read by a newer agent, lacks the newest)."""
    present = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    return ", ".join(c if c in present else f"NULL AS {c}" for c in COLUMNS)


def event_from_row(row: sqlite3.Row | tuple) -> JournalEvent:
    values = dict(zip(COLUMNS, tuple(row), strict=False))
    values["at"] = datetime.fromisoformat(values["at"])
    return JournalEvent(**values)


def identity(conn: sqlite3.Connection) -> str | None:
    """The journal's identity; None for a journal from before identities, or one still being created."""
    try:
        row = conn.execute("SELECT id FROM journal_identity").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    return None if row is None else row[0]


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _set_orphans_aside(path: Path) -> None:
    """A -wal or -shm beside a journal.db that is missing or empty belongs to a journal that is
    gone: SQLite would read the old pages into the new file. They are kept, renamed, not deleted."""
    try:
        if path.stat().st_size > 0:
            return
    except FileNotFoundError:
        pass
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, side.with_name(f"{side.name}.orphan-{stamp}"))


class Journal:
    """The kiosk's writing handle on journal.db."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            private_dir(path.parent)
            self._writer = _lock_writer(path.parent / f"{path.name}.writer")
        except OSError as exc:
            raise translate(exc, path) from exc
        try:
            self._open()
        except BaseException:
            os.close(self._writer)
            raise

    def _open(self) -> None:
        _set_orphans_aside(self.path)
        self.conn = open_writer(self.path, MIGRATIONS, synchronous="FULL", check=True)
        self._file = _file_id(self.path)
        self.identity = identity(self.conn)

    def close(self) -> None:
        self.conn.close()
        os.close(self._writer)  # frees the lock

    def follow(self) -> bool:
        """Open the file now at the journal's path if it is not the one open (journal.db was
        deleted or replaced): a new journal when there is none. True when it changed."""
        if _file_id(self.path) == self._file:
            return False
        self.conn.close()
        self._open()
        return True

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
        reviews: str | None = None,
        code: str | None = None,
        code_hash: str | None = None,
    ) -> JournalEvent:
        """Write one event durably; when this returns, it survives a power cut. `code` (a
        redemption's, canonical) and `code_hash` (the scanned code's keyed hash) stay on the till.
        Raises LocalDatabaseError (DiskFull, DamagedFile, ...) when it could not be written."""
        event = JournalEvent(
            0,
            str(uuid.uuid4()),
            kind,
            voucher_id,
            at or datetime.now(UTC),
            cashier,
            reverts,
            reason,
            verdict,
            reviews,
            code,
            code_hash,
        )
        try:
            self.follow()
            return self._insert(event)
        except (sqlite3.Error, OSError) as exc:
            raise translate(exc, self.path, said("could not record the event")) from exc

    def _insert(self, event: JournalEvent) -> JournalEvent:
        names = COLUMNS[1:]
        values = [getattr(event, name) for name in names]
        values[names.index("at")] = event.at.isoformat()
        with write(self.conn) as c:
            cursor = c.execute(
                f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values
            )
        seq = cursor.lastrowid
        assert seq is not None  # an INSERT into a table with a rowid
        return replace(event, seq=seq)


def events_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[JournalEvent]:
    """Events with a sequence number above `seq`, oldest first (for the agent's push loop)."""
    rows = conn.execute(
        f"SELECT {selected(conn)} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
    )
    return [event_from_row(r) for r in rows]


def salvage_after(
    conn: sqlite3.Connection, seq: int, limit: int
) -> tuple[list[JournalEvent], list[int], int]:
    """From a damaged journal, what can still be read after `seq`: the events read one by one (up to
    `limit`), the sequence numbers that could not be read, and the highest sequence number the
    journal says it gave. Raises when not even that can be read."""
    top = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    top = top[0] if top else 0
    columns = selected(conn)
    found: list[JournalEvent] = []
    unreadable: list[int] = []
    for n in range(seq + 1, top + 1):
        if len(found) >= limit:
            break
        try:
            row = conn.execute(f"SELECT {columns} FROM events WHERE seq = ?", (n,)).fetchone()
            event = event_from_row(row) if row is not None else None
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
            if not isinstance(exc, sqlite3.DatabaseError) or is_damaged(exc):
                unreadable.append(n)
                continue
            raise
        if event is None:
            unreadable.append(n)  # a sequence number given out, its row gone with the damage
        else:
            found.append(event)
    return found, unreadable, top


def last_seq(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def voucher_events(conn: sqlite3.Connection, voucher_id: str, after: int = 0) -> list[JournalEvent]:
    """A voucher's redemptions and reverts at this till with a sequence number above `after`."""
    rows = conn.execute(
        f"SELECT {selected(conn)} FROM events WHERE voucher_id = ? AND seq > ? "
        "AND kind IN ('redeem', 'revert') ORDER BY seq",
        (voucher_id, after),
    )
    return [event_from_row(r) for r in rows]


def reviews(conn: sqlite3.Connection) -> dict[str, JournalEvent]:
    """This till's review events, by the event each one closes (the first review of each)."""
    if "reviews" not in {r[1] for r in conn.execute("PRAGMA table_info(events)")}:
        return {}  # a journal the kiosk has not migrated yet has none
    rows = conn.execute(f"SELECT {selected(conn)} FROM events WHERE kind = 'review' ORDER BY seq DESC")
    return {event.reviews: event for event in map(event_from_row, rows) if event.reviews is not None}
