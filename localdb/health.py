"""Is this till healthy? One judgement of replica.db and journal.db, with its reasons in words.

`voucher-sync status` prints it as text or as JSON and turns it into its exit status (0 healthy,
1 degraded), so a person and a monitoring script read the same verdict from the same place.
Files that cannot be read at all are not a verdict but a LocalDatabaseError (exit status 2).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from localdb import journal, journals
from localdb.connect import has_table, open_reader
from localdb.connect import read as read_snapshot
from localdb.errors import UNREADABLE, LocalDatabaseError, translate
from localdb.journals import JournalLoss
from localdb.notices import LayoutNotice
from localdb.notices import current as layout_notice
from localdb.replica import all_meta
from localdb.till import Outcome, Till
from vouchers.ages import duration
from vouchers.wording import N_, Said, said


@dataclass(frozen=True)
class Limits:
    offline: timedelta  # no successful pull for longer than this: offline
    stale: timedelta  # the last successful pull older than this: a stale snapshot


@dataclass(frozen=True)
class Health:
    """The till's sync health as its files hold it: what the kiosk's status line, `voucher-sync
    status` and the agent's heartbeat read (`read`). Times are aware datetimes, None when it never
    happened. `problems`, every reason the till is degraded in words, is `assess`'s judgement (empty
    from `read`: the status line words its own)."""

    store_id: str | None = None
    store_name: str | None = None  # as head office names it (None from an older head office)
    cursor: int = 0  # the snapshot's
    push_cursor: int = 0  # every event of the journal open now up to this one has its answer
    pending: int = 0  # events of the journal open now that head office has not acknowledged
    snapshot_complete: bool = False
    snapshot_progress: int | None = None  # how far an incomplete snapshot has loaded, in % (None: unknown)
    last_pull_at: datetime | None = None
    last_push_at: datetime | None = None
    last_error: str | None = None
    last_error_said: Said | None = None  # the same kept with its facts, for `status` to word
    last_error_at: datetime | None = None
    clock_skew_seconds: int | None = None  # this device's clock minus head office's
    stopped: str | None = None  # why the agent stopped (revoked)
    stopped_said: Said | None = None
    rebuilding: str | None = None  # why the voucher list is not to be decided from (a rebuilt replica)
    conflicts: tuple[Outcome, ...] = ()  # not reviewed yet, the conflicts this store won included
    rejections: tuple[Outcome, ...] = ()  # not reviewed yet
    journal_seq: int | None = None  # the journal's highest sequence number; None without journal.db
    journal_id: str | None = None  # the identity of journal.db ('' before identities); None without one
    journal_losses: tuple[JournalLoss, ...] = ()  # journals pushed from that are gone or went back
    recent_losses: tuple[JournalLoss, ...] = ()  # of those, the ones found within REPORTED_FOR of reading
    scanner_layout: LayoutNotice | None = None  # the scanner types through the wrong keyboard layout
    problems: tuple[str, ...] = ()  # why the till is degraded, in words (assess); empty when healthy

    @property
    def unreviewed(self) -> int:
        return len(self.conflicts) + len(self.rejections)

    @property
    def degraded(self) -> bool:
        return bool(self.problems)

    @property
    def status(self) -> str:
        return "degraded" if self.degraded else "healthy"

    def as_json(self) -> dict[str, object]:
        """`status --json`. These files hold no token and no code hash key, so neither can leak here."""
        return {
            "status": self.status,
            "problems": list(self.problems),
            "store_id": self.store_id,
            "store_name": self.store_name,
            "cursor": self.cursor,
            "snapshot_complete": self.snapshot_complete,
            "snapshot_progress": self.snapshot_progress,
            "pending": self.pending,
            "push_cursor": self.push_cursor,
            "journal_seq": self.journal_seq,
            "last_pull_at": _iso(self.last_pull_at),
            "last_push_at": _iso(self.last_push_at),
            "last_error": self.last_error,
            "last_error_at": _iso(self.last_error_at),
            "clock_skew_seconds": self.clock_skew_seconds,
            "stopped": self.stopped,
            "conflicts": [_outcome_json(o) for o in self.conflicts],
            "rejections": [_outcome_json(o) for o in self.rejections],
            "journal_id": self.journal_id,
            "journal_losses": [{**asdict(loss), "words": loss.words()} for loss in self.journal_losses],
            "scanner_layout": self.scanner_layout.as_json() if self.scanner_layout else None,
        }


def read(till: Till, now: datetime | None = None) -> Health:
    """The health the till's files hold, through the kiosk's or the agent's Till (the journal's
    part only when it has one). LocalDatabaseError, in words, when a time in them is not one."""
    now = now or datetime.now(UTC)
    meta = all_meta(till.replica) if has_table(till.replica, "meta") else {}
    complete, progress = till.snapshot_state(meta)
    outcomes = unreviewed(till) if meta else []
    seq, jid = None, None
    if till.journal is not None:
        ready = has_table(till.journal, "events")  # else the kiosk is creating it: no events yet
        seq = journal.last_seq(till.journal) if ready else 0
        jid = journals.journal_identity(till.journal) if ready else None
    losses = tuple(till.journal_losses())
    skew = meta.get("clock_skew_seconds")
    return Health(
        store_id=meta.get("store_id"),
        store_name=meta.get("store_name"),
        cursor=int(meta.get("cursor") or 0),
        push_cursor=journals.cursor_for(till.replica, till.journal).push_cursor if meta else 0,
        pending=till.pending(),
        snapshot_complete=complete,
        snapshot_progress=progress,
        last_pull_at=_time(meta, "last_pull_at"),
        last_push_at=_time(meta, "last_push_at"),
        last_error=meta.get("last_error"),
        last_error_said=Said.from_json(meta.get("last_error_words")),
        last_error_at=_time(meta, "last_error_at"),
        clock_skew_seconds=None if skew is None else int(float(skew)),
        stopped=meta.get("stopped") or None,
        stopped_said=Said.from_json(meta.get("stopped_words")) if meta.get("stopped") else None,
        rebuilding=till.rebuilding(),
        conflicts=tuple(o for o in outcomes if o.outcome == "conflict"),
        rejections=tuple(o for o in outcomes if o.outcome == "rejected"),
        journal_seq=seq,
        journal_id=jid,
        journal_losses=losses,
        recent_losses=tuple(loss for loss in losses if loss.recent(now)),
        scanner_layout=layout_notice(till.journal),
    )


def _time(meta: dict[str, str | None], key: str) -> datetime | None:
    value = meta.get(key)
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise LocalDatabaseError(
            said(
                "the till's files are damaged: {key} {value} is not a time with its zone",
                key=key,
                value=repr(value),
            ),
            title=UNREADABLE,
        )
    return when


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def unreviewed(till: Till) -> list[Outcome]:
    """The conflicts and rejections nobody has reviewed yet (here, at the other store of a
    conflict, or at head office), the conflicts this store won included."""
    return [o for o in till.problems() if not o.reviewed]


def examine(replica_path: Path, journal_path: Path, limits: Limits, now: datetime) -> Health:
    """Open both files read-only and judge them; LocalDatabaseError, in words, when they cannot be read."""
    data_dir = replica_path.parent
    conns: list[sqlite3.Connection] = []
    try:
        if not data_dir.is_dir():
            raise LocalDatabaseError(
                said("the data directory {path} does not exist (is data_dir right?)", path=str(data_dir)),
                title=N_("No till files"),
            )
        if not replica_path.exists():
            raise LocalDatabaseError(
                said("no replica at {path} yet: has 'voucher-sync run' started?", path=str(replica_path)),
                title=N_("No till files"),
            )
        with _reading(replica_path):
            conns.append(open_reader(replica_path))
        if journal_path.exists():
            with _reading(journal_path):
                conns.append(open_reader(journal_path))
        till = Till(conns[0], conns[1] if len(conns) > 1 else None)
        return assess(till, limits, now, names=(str(replica_path), str(journal_path)))
    except OSError as exc:  # e.g. a directory this user may not read
        raise translate(exc, data_dir) from exc
    finally:
        for conn in conns:
            conn.close()


def assess(
    till: Till, limits: Limits, now: datetime, *, names: tuple[str, str] = ("replica.db", "journal.db")
) -> Health:
    """The judgement, from open connections, each read in one snapshot of the replica: the replica
    alone first, then with the journal, so that an error names the file it met. A damaged journal
    is found first, so that it is named whichever read would meet it."""
    if till.journal is not None:
        with _reading(names[1]):
            damage = [r[0] for r in till.journal.execute("PRAGMA quick_check(5)")]
            if damage != ["ok"]:
                raise sqlite3.DatabaseError(f"database disk image is malformed ({'; '.join(damage)[:200]})")
    with _reading(names[0]), read_snapshot(till.replica):
        facts = read(Till(till.replica, None), now)
    if till.journal is not None:  # read again with the journal: its cursors, pending events, reviews
        with _reading(names[1]), read_snapshot(till.replica):
            facts = read(till, now)
    return replace(facts, problems=tuple(_problems(facts, limits, now)))


def _problems(h: Health, limits: Limits, now: datetime) -> list[str]:
    out = []
    if h.stopped:
        out.append(f"the agent stopped: {h.stopped}")
    if h.last_pull_at is None:
        out.append("never pulled a snapshot from head office")
    else:
        age = now - h.last_pull_at
        if age > limits.offline:
            out.append(f"offline: no successful pull for {duration(age)} (limit {duration(limits.offline)})")
        if age > limits.stale:
            out.append(
                f"stale snapshot: last pulled {duration(age)} ago (stale after {duration(limits.stale)})"
            )
        if not h.snapshot_complete:
            loading = (
                "" if h.snapshot_progress is None else f" (voucher list loading: {h.snapshot_progress} %)"
            )
            out.append(
                f"incomplete snapshot: the last page pulled said more was to come{loading}"
                if h.cursor
                else "no snapshot: it was wiped or has not been pulled since"
            )
    if h.conflicts:
        out.append(f"{len(h.conflicts)} conflict(s) to review")
    if h.rejections:
        out.append(f"{len(h.rejections)} rejection(s) to review")
    out.extend(
        loss.words() for loss in h.journal_losses if loss.recent(now)
    )  # older ones: listed, not degraded
    if h.scanner_layout:
        out.append(h.scanner_layout.words(now))
    return out


def _outcome_json(o: Outcome) -> dict[str, object]:
    return {**asdict(o), "details": o.details()}


@contextmanager
def _reading(name: str | Path) -> Iterator[None]:
    """Any error reading a file becomes one LocalDatabaseError naming the file."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, Path(name)) from exc
    except ValueError as exc:
        raise LocalDatabaseError(
            said("{path}: {cause}", path=str(name), cause=str(exc)), title=UNREADABLE
        ) from exc
