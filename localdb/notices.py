"""What the till noticed and tells its people until it is fixed: a USB scanner typing through
the wrong keyboard layout (vouchers/layouts.py).

The kiosk appends to the `notices` table of journal.db (journal migration 4, append-only,
never pushed): `raised` when a scan is first corrected (the cashier is told, once), `corrected`
for each later one, `correct` for a scan that arrived right although the noticed layout would
have changed it (the scanner, or the till, has been set right; a code typed by hand is not
counted: the kiosk tells them apart by their speed), and `fixed` once FIXED_AFTER of
those come in a row, or `dismissed` when a manager says it is fixed. The notice stands from
`raised` to `fixed` or `dismissed`; a scan corrected after that raises it again. The manager
view and `voucher-sync status` read `current()`, the kiosk through its own connection, the agent
read-only.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from localdb import wording
from localdb.connect import read, write
from localdb.errors import translate
from localdb.journal import Journal
from vouchers.layouts import BY_ID
from vouchers.wording import said

KIND = "scanner_layout"
FIXED_AFTER = 3  # scans in a row that arrive right, though the noticed layout would have changed them


@dataclass(frozen=True)
class LayoutNotice:
    """The scanner types through the wrong layout: which (ids of vouchers.layouts), since when."""

    layouts: tuple[str, ...]
    since: datetime  # the first scan corrected
    last: datetime  # the latest one
    corrected: int  # scans corrected since `since`, the first included
    correct_in_row: int  # scans that arrived right since the latest correction

    def words(self, now: datetime) -> str:
        """In English, for --json (localdb.wording words it for people)."""
        return wording.notice(wording.ENGLISH, self, now)

    def as_json(self) -> dict[str, object]:
        return {
            "layouts": list(self.layouts),
            "names": wording.layout_names(wording.ENGLISH, self.layouts),
            "since": self.since.isoformat(),
            "last": self.last.isoformat(),
            "corrected": self.corrected,
            "correct_in_row": self.correct_in_row,
            "fixed_after": FIXED_AFTER,
            "advice": wording.advice(wording.ENGLISH, self.layouts),
        }


def current(conn: sqlite3.Connection | None) -> LayoutNotice | None:
    """The notice standing in this journal, or None (none, or a journal from before notices)."""
    if (
        conn is None
        or conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notices'").fetchone()
        is None
    ):
        return None
    with read(conn) as r:
        ended = r.execute(
            "SELECT coalesce(max(seq), 0) FROM notices WHERE kind = ? AND event IN ('fixed', 'dismissed')",
            (KIND,),
        ).fetchone()[0]
        raised = r.execute(
            "SELECT seq, at FROM notices WHERE kind = ? AND event = 'raised' AND seq > ? "
            "ORDER BY seq DESC LIMIT 1",
            (KIND, ended),
        ).fetchone()
        if raised is None:
            return None
        seq, since = raised
        last_seq, last_at, detail, count = r.execute(
            "SELECT max(seq), at, detail, count(*) FROM notices WHERE kind = ? AND event IN ('raised', 'corrected') "
            "AND seq >= ?",
            (KIND, seq),
        ).fetchone()
        in_row = r.execute(
            "SELECT count(*) FROM notices WHERE kind = ? AND event = 'correct' AND seq > ?", (KIND, last_seq)
        ).fetchone()[0]
    return LayoutNotice(
        tuple((detail or "").split()),
        datetime.fromisoformat(since),
        datetime.fromisoformat(last_at),
        count,
        in_row,
    )


def record_scan(
    journal: Journal, text: str, corrected: tuple[str, ...] | None, *, now: datetime | None = None
) -> tuple[str, ...]:
    """After a scan typed into the till (not one the camera read): note its correction (the ids
    of the layouts that explain it), or, with `corrected` None, that it arrived right although
    the noticed layout would have changed it. The events written; LocalDatabaseError when they
    could not be."""
    notice = current(journal.conn)
    if corrected:
        if notice is None or not set(notice.layouts) & set(corrected):
            return _append(journal, now, [("raised", " ".join(corrected))])
        narrowed = [i for i in notice.layouts if i in corrected]  # a scan that tells German from Swiss
        return _append(journal, now, [("corrected", " ".join(narrowed))])
    if notice is None or not any(BY_ID[i].changes(text) for i in notice.layouts if i in BY_ID):
        return ()  # nothing noticed, or a scan that arrives the same through either layout: no evidence
    events: list[tuple[str, str | None]] = [("correct", None)]
    if notice.correct_in_row + 1 >= FIXED_AFTER:
        events.append(("fixed", None))
    return _append(journal, now, events)


def dismiss(journal: Journal, by: str | None = None, *, now: datetime | None = None) -> bool:
    """A manager says the scanner is set right: the notice ends. False when none stands."""
    if current(journal.conn) is None:
        return False
    _append(journal, now, [("dismissed", None)], by=by)
    return True


def _append(
    journal: Journal, now: datetime | None, events: list[tuple[str, str | None]], by: str | None = None
) -> tuple[str, ...]:
    at = (now or datetime.now(UTC)).isoformat()
    try:
        journal.follow()
        with write(journal.conn) as c:
            c.executemany(
                "INSERT INTO notices (at, kind, event, detail, by) VALUES (?, ?, ?, ?, ?)",
                [(at, KIND, event, detail, by) for event, detail in events],
            )
    except (sqlite3.Error, OSError) as exc:
        raise translate(exc, journal.path, said("could not record the scanner notice")) from exc
    return tuple(event for event, _ in events)
