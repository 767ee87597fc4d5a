"""Which journal the agent pushes, and what became of the ones before: push cursors per journal.

A journal's sequence numbers mean something only inside that journal, so the push cursor is
kept per journal identity (replica migration 2, table `journals`) with its anchor, the id of the
event at the cursor. The agent follows the journal now at journal.db:

* an identity it has not seen is a new journal, pushed from its start (event ids make that
  safe: head office answers `duplicate` for any it has seen); the journal before is recorded
  as lost (`replaced`), with how many of its events head office had acknowledged;
* a journal whose event at the cursor is no longer the anchor went back to an older copy
  (`rewound`): its cursor goes back to what the copy still holds that head office answered;
* the journal of a replica from before identities (id '') is adopted by the first identity
  whose event at its cursor is its anchor: the same file, migrated by the kiosk.

The till (localdb.till) reads its cursors here too, so that with a new journal it overlays the
new journal's events, not the old one's sequence numbers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from localdb import journal, wording
from localdb.connect import has_table, now_iso

LEGACY = ""  # the journal of a replica from before identities

TABLE = """
    CREATE TABLE journals (
        id TEXT PRIMARY KEY, push_cursor INTEGER NOT NULL DEFAULT 0, push_anchor TEXT,
        reflected_cursor INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL DEFAULT 0,
        unreadable INTEGER NOT NULL DEFAULT 0, first_seen_at TEXT NOT NULL,
        lost_at TEXT, lost_how TEXT, lost_acknowledged INTEGER, lost_unsent INTEGER, lost_held INTEGER)
"""

# Replica migration 2, as it was written (pushed.db, localdb/pushed.py, now holds the table).
MIGRATION = (
    TABLE
    + """;
    INSERT INTO journals (id, push_cursor, push_anchor, reflected_cursor, last_seq, first_seen_at)
        SELECT '', CAST(m.value AS INTEGER),
               (SELECT o.event_id FROM outcomes o WHERE o.seq = CAST(m.value AS INTEGER)
                ORDER BY o.recorded_at DESC LIMIT 1),
               coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'reflected_push_cursor'), 0),
               CAST(m.value AS INTEGER), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')
        FROM meta m WHERE m.key = 'push_cursor' AND CAST(m.value AS INTEGER) > 0;
    INSERT OR REPLACE INTO meta (key, value) SELECT 'journal_id', '' FROM journals WHERE id = ''
"""
)

REPORTED_FOR = timedelta(hours=24)  # a lost journal degrades the till this long after it was found


@dataclass(frozen=True)
class JournalCursor:
    journal_id: str
    push_cursor: int  # every event up to this sequence number has head office's answer
    reflected: int  # the snapshot reflects this journal's events up to this sequence number


@dataclass(frozen=True)
class JournalLoss:
    """A journal the agent had pushed from that is no longer at journal.db, or went back."""

    journal_id: str
    how: str  # missing (no journal.db now), replaced (another journal now), rewound (an older copy)
    at: str | None  # when the agent found it; None: not noticed by the agent yet
    acknowledged: int  # its events head office had acknowledged
    unsent: int  # events the agent had seen in it that never reached head office
    held: int | None = None  # rewound: how many of the acknowledged ones the older copy holds

    def words(self) -> str:
        """In English, for the log and --json (localdb.wording words it for people)."""
        return wording.loss(wording.ENGLISH, self)

    def recent(self, now: datetime) -> bool:
        return self.at is None or now - datetime.fromisoformat(self.at) < REPORTED_FOR


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    """pushed.db's state (a replica of the old layout, before the agent moved it: its meta)."""
    table = "state" if has_table(conn, "state") else "meta"
    row = conn.execute(f"SELECT value FROM {table} WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _event_id_at(conn: sqlite3.Connection | None, seq: int) -> str | None:
    if conn is None or seq <= 0:
        return None
    row = conn.execute("SELECT id FROM events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else row[0]


def _anchored(row: sqlite3.Row, event_id_at: Callable[[int], str | None]) -> bool:
    """The journal still holds the event at the row's cursor (a cursor of 0, or a legacy row whose
    anchor was not known, is taken as it is)."""
    if row["push_cursor"] <= 0 or row["push_anchor"] is None:
        return True
    return event_id_at(row["push_cursor"]) == row["push_anchor"]


def journal_identity(journal_conn: sqlite3.Connection) -> str:
    return journal.identity(journal_conn) or LEGACY


# --- the till's side (read-only) ------------------------------------------------------------


def cursor_for(replica: sqlite3.Connection, journal_conn: sqlite3.Connection | None) -> JournalCursor:
    """The push and reflected cursors of the journal open now. A journal the agent has not seen
    has none (all its events pending and overlaid); one that went back to an older copy has none
    until the agent has found what it still holds."""
    if journal_conn is None or not has_table(journal_conn, "events"):
        return JournalCursor(LEGACY, 0, 0)
    jid = journal_identity(journal_conn)
    if not has_table(replica, "journals"):  # a replica from before identities, not migrated yet
        if jid != LEGACY:
            return JournalCursor(jid, 0, 0)
        return JournalCursor(
            jid, int(_meta(replica, "push_cursor") or 0), int(_meta(replica, "reflected_push_cursor") or 0)
        )
    row = replica.execute("SELECT * FROM journals WHERE id = ?", (jid,)).fetchone()
    if row is None and jid != LEGACY:
        row = replica.execute("SELECT * FROM journals WHERE id = ?", (LEGACY,)).fetchone()
        if row is not None and (row["push_anchor"] is None or row["lost_at"] is not None):
            row = None  # the legacy journal is adopted by its anchor only
    if row is None or not _anchored(row, lambda seq: _event_id_at(journal_conn, seq)):
        return JournalCursor(jid, 0, 0)
    return JournalCursor(jid, row["push_cursor"], min(row["reflected_cursor"], row["push_cursor"]))


def losses(replica: sqlite3.Connection, journal_conn: sqlite3.Connection | None) -> list[JournalLoss]:
    """Journals the agent had pushed from that are gone or went back, newest first: those the
    agent recorded, and the one it has not noticed yet (journal.db missing or replaced while it
    was stopped)."""
    if not has_table(replica, "journals"):
        return []
    out = []
    followed = _meta(replica, "journal_id")
    row = (
        None
        if followed is None
        else replica.execute("SELECT * FROM journals WHERE id = ?", (followed,)).fetchone()
    )
    if row is not None and row["push_cursor"] > 0:
        unsent = max(0, row["last_seq"] - row["push_cursor"])
        if journal_conn is None:
            out.append(JournalLoss(row["id"], "missing", None, row["push_cursor"], unsent))
        elif has_table(journal_conn, "events"):
            jid = journal_identity(journal_conn)
            adopted = (
                followed == LEGACY
                and jid != LEGACY
                and row["push_anchor"] is not None
                and _event_id_at(journal_conn, row["push_cursor"]) == row["push_anchor"]
            )
            if jid != followed and not adopted:
                out.append(JournalLoss(row["id"], "replaced", None, row["push_cursor"], unsent))
            elif not _anchored(row, lambda seq: _event_id_at(journal_conn, seq)):
                out.append(
                    JournalLoss(
                        row["id"],
                        "rewound",
                        None,
                        row["push_cursor"],
                        unsent,
                        held=journal.last_seq(journal_conn),
                    )
                )
    for r in replica.execute("SELECT * FROM journals WHERE lost_at IS NOT NULL ORDER BY lost_at DESC"):
        out.append(
            JournalLoss(
                r["id"],
                r["lost_how"],
                r["lost_at"],
                r["lost_acknowledged"] or 0,
                r["lost_unsent"] or 0,
                r["lost_held"],
            )
        )
    return out


# --- the agent's side (writes, inside its transactions) --------------------------------------


def follow(
    c: sqlite3.Connection,
    jid: str,
    top: int,
    event_id_at: Callable[[int], str | None],
    has_outcome: Callable[[str], bool],
) -> tuple[int, JournalLoss | None]:
    """In the agent's write transaction: make `jid` (whose highest sequence number is `top`) the
    journal pushed from, recording a loss when it is not the one before or went back; returns its
    push cursor and the loss found now, if any."""
    now = now_iso()
    followed = _meta(c, "journal_id")
    row = c.execute("SELECT * FROM journals WHERE id = ?", (jid,)).fetchone()
    loss = None
    if row is None:
        legacy = c.execute("SELECT * FROM journals WHERE id = ? AND lost_at IS NULL", (LEGACY,)).fetchone()
        if (
            legacy is not None
            and jid != LEGACY
            and legacy["push_anchor"] is not None
            and event_id_at(legacy["push_cursor"]) == legacy["push_anchor"]
        ):
            c.execute("UPDATE journals SET id = ? WHERE id = ?", (jid, LEGACY))  # the same file, now named
            followed = None if followed == LEGACY else followed  # nothing lost: follow it under its name
        else:
            c.execute("INSERT INTO journals (id, first_seen_at) VALUES (?, ?)", (jid, now))
        row = c.execute("SELECT * FROM journals WHERE id = ?", (jid,)).fetchone()
    if followed is not None and followed != jid:
        before = c.execute("SELECT * FROM journals WHERE id = ? AND lost_at IS NULL", (followed,)).fetchone()
        if before is not None and (before["push_cursor"] > 0 or before["last_seq"] > 0):
            unsent = max(0, before["last_seq"] - before["push_cursor"])
            c.execute(
                "UPDATE journals SET lost_at = ?, lost_how = 'replaced', lost_acknowledged = ?, "
                "lost_unsent = ? WHERE id = ?",
                (now, before["push_cursor"], unsent, followed),
            )
            loss = JournalLoss(followed, "replaced", now, before["push_cursor"], unsent)
        c.execute(
            "UPDATE journals SET lost_at = NULL, lost_how = NULL WHERE id = ? AND lost_how = 'replaced'",
            (jid,),
        )  # a journal that comes back (restored) is followed again
    if followed != jid:
        c.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('journal_id', ?)", (jid,))
    cursor = row["push_cursor"]
    if not _anchored(row, event_id_at):
        held = _pushed_prefix(min(top, cursor), event_id_at, has_outcome)
        unsent = max(0, row["last_seq"] - cursor)
        c.execute(
            "UPDATE journals SET push_cursor = ?, push_anchor = ?, reflected_cursor = min(reflected_cursor, ?), "
            "last_seq = ?, lost_at = ?, lost_how = 'rewound', lost_acknowledged = ?, lost_unsent = ?, "
            "lost_held = ? WHERE id = ?",
            (held, event_id_at(held), held, top, now, cursor, unsent, held, jid),
        )
        loss = JournalLoss(jid, "rewound", now, cursor, unsent, held)
        cursor = held
    elif top > row["last_seq"]:
        c.execute("UPDATE journals SET last_seq = ? WHERE id = ?", (top, jid))
    return cursor, loss


def _pushed_prefix(
    upper: int, event_id_at: Callable[[int], str | None], has_outcome: Callable[[str], bool]
) -> int:
    """The longest start of an older copy that head office has answered: a copy holds the first
    events of the journal as they were, so "has an outcome" holds up to some point, then not."""
    low, high = 0, upper
    while low < high:
        mid = (low + high + 1) // 2
        event_id = event_id_at(mid)
        if event_id is not None and has_outcome(event_id):
            low = mid
        else:
            high = mid - 1
    return low


def followed(c: sqlite3.Connection) -> str | None:
    return _meta(c, "journal_id")


def push_cursor(c: sqlite3.Connection, jid: str | None = None) -> int:
    jid = (followed(c) or LEGACY) if jid is None else jid
    row = c.execute("SELECT push_cursor FROM journals WHERE id = ?", (jid,)).fetchone()
    return row[0] if row else 0


def record_push(
    c: sqlite3.Connection, jid: str, last_seq: int, anchor: str | None, unreadable: int = 0
) -> None:
    """Events up to `last_seq` of journal `jid` have their answers (`unreadable` of them could
    not be read from a damaged journal and never will)."""
    c.execute("INSERT OR IGNORE INTO journals (id, first_seen_at) VALUES (?, ?)", (jid, now_iso()))
    c.execute(
        "INSERT OR IGNORE INTO state (key, value) VALUES ('journal_id', ?)", (jid,)
    )  # followed from now
    c.execute(
        "UPDATE journals SET push_cursor = ?, push_anchor = ?, last_seq = max(last_seq, ?), "
        "unreadable = unreadable + ? WHERE id = ?",
        (last_seq, anchor, last_seq, unreadable, jid),
    )


def mark_reflected(c: sqlite3.Connection, jid: str, cursor: int) -> None:
    c.execute("UPDATE journals SET reflected_cursor = max(reflected_cursor, ?) WHERE id = ?", (cursor, jid))


def forget_reflected(c: sqlite3.Connection) -> None:
    if has_table(c, "journals"):
        c.execute("UPDATE journals SET reflected_cursor = 0")
