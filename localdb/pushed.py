"""pushed.db, written by the sync agent's push side: head office's answer to each event
(`outcomes`), the push cursor of every journal (`journals`, localdb/journals.py) and the agent's
own state (`state`: the journal followed, the last push, the last error, the clock's skew).

It is a file of its own so that pushing never waits for pulling. SQLite lets one connection at
a time write a file, and the pull loop holds replica.db's lock for each page it applies, and for
the seconds a first sync's index build takes at its end; the push loop writes here instead. The
kiosk, `voucher-sync status` and the agent read replica.db with this file attached read-only
(`attach`), so their queries name `outcomes`, `journals` and `state` as if the two were one file.
Replicas made before this file existed hand their outcomes and cursors over once (replica
migration 5, `move_out`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from localdb import journals
from localdb.connect import Migration, now_iso, open_writer, write
from localdb.errors import LocalDatabaseError, is_damaged
from localdb.journal import JournalEvent
from vouchers.wire import Event, EventResult
from vouchers.wording import Said, said

log = logging.getLogger("voucher-sync")

FILE_NAME = "pushed.db"
SCHEMA = "pushed"  # the name it is attached under, read-only, beside replica.db
STATE_KEYS = (
    "journal_id",
    "last_push_at",
    "last_error",
    "last_error_words",  # the same kept with its facts (vouchers.wording.Said), for `status` to word
    "last_error_at",
    "clock_skew_seconds",
)

OUTCOMES = """
    CREATE TABLE outcomes (
        event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, voucher_id TEXT,
        outcome TEXT NOT NULL, reason TEXT, winner_store TEXT, winner_device TEXT, winner_at TEXT,
        server_time TEXT, recorded_at TEXT NOT NULL);
    CREATE INDEX outcomes_voucher ON outcomes (voucher_id);
    CREATE INDEX outcomes_seq ON outcomes (seq)
"""

MIGRATIONS: list[Migration] = [
    (1, f"CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT);\n{OUTCOMES};\n{journals.TABLE}"),
]


def spread(values: Mapping[str, str | Said | int | None]) -> dict[str, str | int | None]:
    """Health values to write: a message kept with its facts as its English under its key and
    itself under KEY_words (a plain text clears KEY_words, so the two never disagree)."""
    out: dict[str, str | int | None] = {}
    for key, value in values.items():
        if isinstance(value, Said):
            out[key], out[f"{key}_words"] = value.english()[:500], value.to_json()[:4000]
        else:
            out[key] = value
            if key in WORDED and f"{key}_words" not in values:
                out[f"{key}_words"] = None
    return out


WORDED = ("last_error", "stopped")  # the health values kept with their facts too


def path_beside(replica_path: Path) -> Path:
    return replica_path.with_name(FILE_NAME)


class Pushed:
    """The agent's writing handle on pushed.db: one connection, shared by its loops under the
    agent's lock; no write here ever waits for replica.db."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = open_writer(path, MIGRATIONS, synchronous="NORMAL", check=True)

    def close(self) -> None:
        self.conn.close()

    def state(self) -> dict[str, str | None]:
        return {row[0]: row[1] for row in self.conn.execute("SELECT key, value FROM state")}

    def set_state(self, **values: str | Said | int | None) -> None:
        written = spread(values)
        unknown = set(written) - set(STATE_KEYS)
        if unknown:
            raise KeyError(f"not keys of pushed.db's state: {sorted(unknown)}")
        with write(self.conn) as c:
            c.executemany(
                "INSERT OR REPLACE INTO state VALUES (?, ?)",
                [(k, None if v is None else str(v)) for k, v in written.items()],
            )

    def push_cursor(self) -> int:
        """The sequence number up to which every event of the journal pushed from has an outcome."""
        return journals.push_cursor(self.conn)

    def push_mark(self) -> tuple[str | None, int]:
        """The journal pushed from and its push cursor, for mark_reflected after a pull."""
        jid = journals.followed(self.conn) or journals.LEGACY
        return jid, journals.push_cursor(self.conn, jid)

    def follow_journal(
        self, jid: str, top: int, event_id_at: Callable[[int], str | None]
    ) -> tuple[int, journals.JournalLoss | None]:
        """Push from journal `jid` (see localdb/journals.py); its push cursor, and a loss found now.
        Writes only when something changed (a new journal, a loss, events beyond the last seen)."""
        return journals.follow(self.conn, jid, top, event_id_at, self._has_outcome)

    def _has_outcome(self, event_id: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM outcomes WHERE event_id = ?", (event_id,)).fetchone() is not None
        )

    def record_outcomes(
        self,
        events: Sequence[Event],
        results: Sequence[EventResult],
        last_seq: int,
        *,
        journal_id: str | None = None,
        unreadable: int = 0,
        malformed: Sequence[tuple[JournalEvent, str]] = (),
    ) -> None:
        """Store each event's result (a duplicate's first answer, when it carries one: the answer we
        lost) and move the push cursor of journal `journal_id` (the one followed when None) past
        them, in one transaction. `unreadable` sequence numbers up to `last_seq` were skipped,
        unreadable in a damaged journal; `malformed` are events of the journal that the protocol
        cannot carry, each with why: recorded as rejected, never sent."""
        now = now_iso()
        rows: list[tuple[str | int | None, ...]] = []
        for event, result in zip(events, results, strict=True):
            final = result.final
            winner = final.winner
            rows.append(
                (
                    str(event.id),
                    event.device_seq,
                    event.kind,
                    event.voucher_id,
                    final.outcome,
                    final.reason,
                    None if winner is None else winner.store_id,
                    None if winner is None else winner.device_id,
                    None if winner is None else winner.at.isoformat(),
                    final.server_time.isoformat(),
                    now,
                )
            )
        for bad, why in malformed:
            reason = f"MALFORMED: {why}"[:200]
            rows.append(
                (bad.id, bad.seq, bad.kind, bad.voucher_id, "rejected", reason, None, None, None, None, now)
            )
        anchors = [str(e.id) for e in events if e.device_seq == last_seq]
        anchors += [bad.id for bad, _ in malformed if bad.seq == last_seq]
        with write(self.conn) as c:
            c.executemany("INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            jid = journals.followed(c) if journal_id is None else journal_id
            anchor = anchors[0] if anchors else None
            journals.record_push(c, jid if jid is not None else journals.LEGACY, last_seq, anchor, unreadable)
            c.execute("INSERT OR REPLACE INTO state VALUES ('last_push_at', ?)", (now,))

    def mark_reflected(self, mark: tuple[str | None, int] | int) -> None:
        """After a pull that began at `mark` (push_mark: the journal pushed from and its cursor)
        and then reached `complete`, the snapshot reflects those events: the till stops overlaying
        them. A bare cursor is taken as the current journal's."""
        jid, push_cursor = mark if isinstance(mark, tuple) else (journals.followed(self.conn), mark)
        with write(self.conn) as c:
            journals.mark_reflected(c, journals.LEGACY if jid is None else jid, push_cursor)

    def forget_reflected(self) -> None:
        """The snapshot was wiped: it reflects none of the events any more."""
        with write(self.conn) as c:
            journals.forget_reflected(c)


def open_pushed(replica_path: Path, *, thorough: bool = False) -> Pushed:
    """pushed.db beside replica.db, checked (quick_check; integrity_check too when `thorough`,
    after a run that did not stop cleanly); a damaged one is moved aside (kept) and started
    afresh: every journal is then pushed from its start again, and head office answers each event
    it has already seen with `duplicate` and its first answer, so nothing counts twice."""
    path = path_beside(replica_path)
    try:
        pushed = Pushed(path)
        found = [r[0] for r in pushed.conn.execute("PRAGMA integrity_check(5)")] if thorough else ["ok"]
        if found == ["ok"]:
            return pushed
        pushed.close()
        reason = "; ".join(found)
    except LocalDatabaseError as exc:
        if not is_damaged(exc):
            raise
        reason = str(exc)
    aside = move_aside(path)
    log.error(
        "%s is damaged (%s): moved to %s; the journal is pushed again from its start",
        path,
        reason,
        aside.name,
    )
    pushed = Pushed(path)
    pushed.set_state(
        last_error=said("pushed.db was damaged ({cause}); started afresh", cause=reason[:200]),
        last_error_at=now_iso(),
    )
    return pushed


def move_aside(path: Path) -> Path:
    """A damaged file and its -wal and -shm renamed `NAME.corrupt-TIME` (kept, never deleted)."""
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside


def attach(conn: sqlite3.Connection) -> bool:
    """Attach pushed.db read-only to a connection on replica.db (once it exists; the agent makes
    it); True when it is attached. A replica of the old layout keeps its own tables meanwhile."""
    if attached(conn):
        return True
    main = conn.execute("PRAGMA database_list").fetchone()[2]
    path = path_beside(Path(main)) if main else None
    if path is None or not path.exists() or conn.in_transaction:
        return False
    try:
        conn.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (f"file:{path}?mode=ro",))
    except sqlite3.Error:  # not readable now (being made, or a damaged replica.db: the next read says so)
        return False
    return True


def attached(conn: sqlite3.Connection) -> bool:
    return any(row[1] == SCHEMA for row in conn.execute("PRAGMA database_list"))


def move_out(conn: sqlite3.Connection) -> str:
    """Replica migration 5: hand the outcomes, the journals' cursors and the push state of a
    replica made before pushed.db over to it (attached writable for this one transaction), and
    drop them from replica.db. Idempotent: a crash between the two files' commits is run again."""
    main = Path(conn.execute("PRAGMA database_list").fetchone()[2])
    conn.execute("ATTACH DATABASE ? AS moving", (str(path_beside(main)),))
    keys = ", ".join(f"'{k}'" for k in STATE_KEYS)
    return f"""
        INSERT OR IGNORE INTO moving.outcomes SELECT * FROM main.outcomes;
        INSERT OR IGNORE INTO moving.journals SELECT * FROM main.journals;
        INSERT OR IGNORE INTO moving.state SELECT key, value FROM main.meta WHERE key IN ({keys});
        DELETE FROM main.meta WHERE key IN ({keys}, 'push_cursor', 'reflected_push_cursor');
        DROP TABLE main.outcomes;
        DROP TABLE main.journals
    """


def detach_moving(conn: sqlite3.Connection) -> None:
    if any(row[1] == "moving" for row in conn.execute("PRAGMA database_list")):
        conn.execute("DETACH DATABASE moving")
