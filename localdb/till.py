"""What the till knows: a voucher's state = the replica, overlaid with this till's own journal
events that the replica does not reflect yet. The kiosk decides from it; `voucher-sync status`
and the manager view read health, pending events and problems from it, and the manager view its
counts per batch, this till's redemptions (all of them, a page at a time, for its export), the
names people know its vouchers by, and one voucher's story at this till: every query on the
till's files is here, and returns records, not rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from localdb import journal, journals, streams, wording
from localdb.connect import has_table, read
from localdb.pushed import attach
from localdb.replica import all_meta, snapshot_complete
from vouchers import ids
from vouchers.lifecycle import CLAIMABLE, State
from vouchers.metrics import Metrics, metrics
from vouchers.status import Status
from vouchers.verdict import BatchView, VoucherView

if TYPE_CHECKING:
    from localdb.health import Health


@dataclass(frozen=True)
class TillVoucher:
    voucher: VoucherView
    batch: BatchView
    batch_identifier: str
    type_name: str
    value: str
    min_purchase: str | None
    redeemed_here: journal.JournalEvent | None  # this till's redemption in effect, if any (to revert)
    batch_claims: str = "active"  # the batch's claims switch (active or paused)


@dataclass(frozen=True)
class Outcome:
    """A conflict or rejection for the store's manager: one of this till's events (`seq` set), one
    of another till's of this store, or a conflict this store's redemption won (`won`), as the
    snapshot brings them; `reviewed_*` once someone closed it (here, at the other store, at head
    office), or once this till's own review event is written."""

    event_id: str
    seq: int | None
    kind: str
    voucher_id: str | None
    outcome: str
    reason: str | None
    winner_store: str | None
    winner_device: str | None
    winner_at: str | None
    server_time: str | None
    store_id: str | None = None  # whose event it is (None: this till's, not yet in the snapshot)
    device_id: str | None = None
    at: str | None = None
    won: bool = False  # a conflict this store won: another store's redemption came second
    reviewed_at: str | None = None
    reviewed_by: str | None = None
    review_note: str | None = None

    @property
    def reviewed(self) -> bool:
        return self.reviewed_at is not None

    def details(self) -> str:
        """In English, for --json: who won a conflict, or why the server rejected the event."""
        return wording.outcome_details(wording.ENGLISH, self)


@dataclass(frozen=True)
class BatchCounts:
    """One batch in the manager view: head office's card figures as last synced, with this till's
    redemptions the snapshot does not reflect yet counted in, and this till's own redemptions."""

    batch_id: str
    identifier: str
    state: str
    claims: str
    figures: Metrics
    here_today: int  # in the store's time zone
    here_all_time: int
    here_unsynced: int  # not acknowledged by head office yet


@dataclass(frozen=True)
class TillRedemption:
    """One of this till's redeem events, with what head office said of it (`outcome` None: not
    synced yet) and whether a later revert event undid it (`revert`: that event, with its reason).
    `event.code` is the code scanned (None in a journal from before migration 5)."""

    event: journal.JournalEvent
    batch_identifier: str | None  # None: its batch is not in the snapshot (deleted, or not pulled yet)
    outcome: str | None
    reason: str | None
    reverted: bool
    revert: journal.JournalEvent | None = None


@dataclass(frozen=True)
class VoucherName:
    """How people tell a voucher at this till: the code the customer holds when it was redeemed
    here (the journal keeps it), else its batch's identifier and its serial number."""

    voucher_id: str
    code: str | None  # canonical
    batch_identifier: str | None  # None: its batch is not in the snapshot
    serial: int | None  # None: the id is not `batch.serial`


@dataclass(frozen=True)
class TillEvent:
    """One of this till's journal events about a voucher, with head office's answer to it
    (`outcome` None: not synced yet, or never pushed)."""

    event: journal.JournalEvent
    outcome: str | None
    reason: str | None


# The batches a till acts on: those whose vouchers customers can hold (claimed from a distributed,
# redeemable or locked batch). One configuring, generating or void has nothing for the till.
AT_THE_TILL = CLAIMABLE
PAGE = 500  # ids in one `IN (...)` query


class Till:
    """Reads replica.db and journal.db together; opened by the kiosk and by the agent alike."""

    def __init__(self, replica: sqlite3.Connection, journal_conn: sqlite3.Connection | None) -> None:
        self.replica = replica
        self.journal = journal_conn
        self._initialised = False
        attach(replica)  # pushed.db, once the agent has made it (tried again by _ready)

    def _ready(self) -> bool:
        """The agent has made the files' tables (looked up until they are, then not again: a
        scan asks several times, and a replaced file is opened anew, with a new Till)."""
        self._initialised = self._initialised or _initialised(self.replica)
        return self._initialised

    def store(self) -> tuple[str | None, ZoneInfo]:
        store_id, tz, _ = self.shop()
        return store_id, tz

    def locale(self) -> str | None:
        """The store's locale as head office set it (None before the first snapshot, or unset)."""
        return self.shop()[2]

    def shop(self) -> tuple[str | None, ZoneInfo, str | None]:
        """The store's id, time zone and locale, in one read of the replica's meta."""
        meta = all_meta(self.replica) if self._ready() else {}
        return (
            meta.get("store_id"),
            ZoneInfo(meta.get("store_timezone") or "UTC"),
            meta.get("store_locale") or None,
        )

    def lookup(self, code_hash: str) -> TillVoucher | None:
        """The voucher with this code hash as the till sees it; None if the snapshot lacks it
        (or the agent has not made the replica yet)."""
        attach(self.replica)
        with read(self.replica) as r:
            if not self._ready():
                return None
            row = r.execute(
                "SELECT v.id, v.batch_id, v.claimed, v.status, v.used_at, v.used_store, b.state, b.valid_from, "
                "b.valid_until, b.stores, b.identifier, b.claims, t.name, t.value, t.min_purchase "
                "FROM vouchers v JOIN batches b ON b.id = v.batch_id LEFT JOIN types t ON t.id = v.type_id "
                "WHERE v.code_hash = ?",
                (code_hash,),
            ).fetchone()
            if row is None:
                return None
            outcomes = self._outcomes_for(r, row["id"])
            meta = all_meta(r)
            reflected = journals.cursor_for(r, self.journal).reflected  # of this journal, not of one before
        local = (
            journal.voucher_events(self.journal, row["id"], after=reflected)
            if self.journal is not None
            else []
        )
        voucher, redeemed_here = overlay(row, local, outcomes, meta.get("store_id"))
        batch = BatchView(
            id=row["batch_id"],
            state=State(row["state"]),
            valid_from=date.fromisoformat(row["valid_from"]) if row["valid_from"] else None,
            valid_until=date.fromisoformat(row["valid_until"]) if row["valid_until"] else None,
            stores=None if row["stores"] is None else tuple(json.loads(row["stores"])),
        )
        return TillVoucher(
            voucher,
            batch,
            row["identifier"],
            row["name"] or "",
            row["value"] or "",
            row["min_purchase"],
            redeemed_here,
            row["claims"],
        )

    @staticmethod
    def _outcomes_for(conn: sqlite3.Connection, voucher_id: str) -> dict[str, sqlite3.Row]:
        rows = conn.execute(
            "SELECT event_id, outcome, winner_store, winner_at FROM outcomes WHERE voucher_id = ?",
            (voucher_id,),
        )
        return {r["event_id"]: r for r in rows}

    def health(self) -> Health:
        """The sync health these files hold (localdb/health.py, which reads it through a Till)."""
        from localdb.health import read  # here: localdb.health imports this module

        return read(self)

    def last_pull_at(self) -> datetime | None:
        """When the agent last pulled from head office (how old the snapshot is); None before it did."""
        value = all_meta(self.replica).get("last_pull_at") if self._ready() else None
        return datetime.fromisoformat(value) if value else None

    def pending(self) -> int:
        """Journal events not yet acknowledged by the server."""
        if self.journal is None or not has_table(self.journal, "events"):
            return 0  # no journal, or the kiosk is still creating it
        push_cursor = journals.cursor_for(self.replica, self.journal).push_cursor if self._ready() else 0
        return self.journal.execute("SELECT count(*) FROM events WHERE seq > ?", (push_cursor,)).fetchone()[0]

    def snapshot_state(self, meta: dict[str, str | None] | None = None) -> tuple[bool, int | None]:
        """Whether the voucher list is complete, and how far its loading is in % (None: unknown);
        until complete, a voucher the till does not hold may still exist (localdb/streams.py)."""
        if meta is None:
            meta = all_meta(self.replica) if self._ready() else {}
        return snapshot_complete(meta), streams.progress(meta)

    def rebuilding(self) -> str | None:
        """Why the voucher list is not to be decided from: the agent is rebuilding a damaged replica
        (from cursor 0, until its snapshot is complete again); None when it may be."""
        meta = all_meta(self.replica) if self._ready() else {}
        if meta.get("rebuilt_at") and meta.get("snapshot_complete") != "1":
            return meta.get("rebuilt_reason") or "the replica was damaged"
        return None

    def journal_losses(self) -> list[journals.JournalLoss]:
        """Journals this till pushed from that are gone (deleted, emptied, replaced) or went back to
        an older copy, newest first, with how many events head office had acknowledged from each."""
        return journals.losses(self.replica, self.journal) if self._ready() else []

    def problems(self, limit: int = 500) -> list[Outcome]:
        """Conflicts and rejections for the manager, each with its review: this till's own, newest
        first (from its pushes' results), then the rest of the store's and the conflicts the store
        won, newest first (from the snapshot)."""
        if not self._ready():
            return []
        own = [
            Outcome(*r)
            for r in self.replica.execute(
                "SELECT event_id, seq, kind, voucher_id, outcome, reason, winner_store, winner_device, winner_at, "
                "server_time FROM outcomes WHERE outcome IN ('conflict', 'rejected') AND kind IN ('redeem', 'revert') "
                "ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
        ]
        store_id = all_meta(self.replica).get("store_id")
        shared = {}
        if has_table(self.replica, "problems"):
            shared = {
                r["event_id"]: r
                for r in self.replica.execute(
                    "SELECT * FROM problems ORDER BY at DESC, event_id LIMIT ?", (limit,)
                )
            }
        mine = journal.reviews(self.journal) if self.journal is not None else {}
        out = []
        for o in own:
            row = shared.pop(o.event_id, None)
            out.append(
                _reviewed(
                    replace(o, store_id=row["store_id"], device_id=row["device_id"], at=row["at"])
                    if row is not None
                    else o,
                    row,
                    mine,
                )
            )
        for row in shared.values():
            out.append(
                _reviewed(
                    Outcome(
                        row["event_id"],
                        None,
                        row["kind"],
                        row["voucher_id"],
                        row["outcome"],
                        row["reason"],
                        row["winner_store"],
                        row["winner_device"],
                        row["winner_at"],
                        None,
                        row["store_id"],
                        row["device_id"],
                        row["at"],
                        won=row["store_id"] != store_id,
                    ),
                    row,
                    mine,
                )
            )
        return out[:limit]

    # --- the manager view ---------------------------------------------------------------------

    def batch_counts(self, today: datetime, tz: tzinfo) -> list[BatchCounts]:
        """One row per batch the till acts on (AT_THE_TILL), by identifier: the seed's card figures,
        and this till's redemptions (in effect: not reverted) today, ever and not yet synced."""
        if not self._ready():
            return []
        states = ", ".join(f"'{s.value}'" for s in sorted(AT_THE_TILL))
        with read(self.replica) as r:
            rows = r.execute(
                "SELECT b.id, b.identifier, b.state, b.claims, count(v.id), coalesce(sum(v.claimed), 0), "
                "coalesce(sum(v.status = 'used' AND v.used_store IS NOT NULL), 0) "
                f"FROM batches b LEFT JOIN vouchers v ON v.batch_id = b.id WHERE b.state IN ({states}) "
                "GROUP BY b.id ORDER BY b.identifier"
            ).fetchall()
            # the cursors of the journal open now: a new journal's events are all unsynced
            cursor = journals.cursor_for(r, self.journal)
        by_batch: dict[str, list[journal.JournalEvent]] = {}
        for event in self._redemptions_in_effect():
            key = ids.try_parse(event.voucher_id) if event.voucher_id else None
            if key is not None:
                by_batch.setdefault(key.batch_id, []).append(event)
        day = today.astimezone(tz).date()
        out = []
        for batch_id, identifier, state, claims, total, claimed, redeemed in rows:
            events = by_batch.get(batch_id, [])
            unreflected = sum(1 for e in events if e.seq > cursor.reflected)
            out.append(
                BatchCounts(
                    batch_id,
                    identifier,
                    state,
                    claims,
                    metrics(total, claimed, redeemed + unreflected),
                    here_today=sum(1 for e in events if e.at.astimezone(tz).date() == day),
                    here_all_time=len(events),
                    here_unsynced=sum(1 for e in events if e.seq > cursor.push_cursor),
                )
            )
        return out

    def _redemptions_in_effect(self) -> list[journal.JournalEvent]:
        """This till's redeem events not undone by a later revert."""
        if self.journal is None or not has_table(self.journal, "events"):
            return []
        rows = self.journal.execute(
            f"SELECT {journal.selected(self.journal)} FROM events WHERE kind = 'redeem' AND id NOT IN "
            "(SELECT reverts FROM events WHERE kind = 'revert' AND reverts IS NOT NULL) ORDER BY seq"
        )
        return [journal.event_from_row(r) for r in rows]

    def redemptions(self, limit: int = 200) -> list[TillRedemption]:
        """This till's latest redemptions, newest first, with what head office said of each."""
        if self.journal is None or not has_table(self.journal, "events"):
            return []
        conn = self.journal
        events = [
            journal.event_from_row(r)
            for r in conn.execute(
                f"SELECT {journal.selected(conn)} FROM events WHERE kind = 'redeem' ORDER BY seq DESC LIMIT ?",
                (limit,),
            )
        ]
        return self._redemptions(events, self._reverts(), self._batch_names())

    def redemption_count(self) -> int:
        if self.journal is None or not has_table(self.journal, "events"):
            return 0
        return self.journal.execute("SELECT count(*) FROM events WHERE kind = 'redeem'").fetchone()[0]

    def all_redemptions(self, page: int = 2000) -> Iterator[list[TillRedemption]]:
        """Every one of this till's redemptions, oldest first, `page` at a time (the export: a big
        journal is never held whole in memory, and no read lasts long)."""
        if self.journal is None or not has_table(self.journal, "events"):
            return
        conn = self.journal
        reverts, names = self._reverts(), self._batch_names()
        after = 0
        while True:
            events = [
                journal.event_from_row(r)
                for r in conn.execute(
                    f"SELECT {journal.selected(conn)} FROM events WHERE kind = 'redeem' AND seq > ? "
                    "ORDER BY seq LIMIT ?",
                    (after, page),
                )
            ]
            if not events:
                return
            yield self._redemptions(events, reverts, names)
            after = events[-1].seq

    def _reverts(self) -> dict[str, journal.JournalEvent]:
        """This till's revert events, by the redemption each undoes (the first revert of each)."""
        assert self.journal is not None
        rows = self.journal.execute(
            f"SELECT {journal.selected(self.journal)} FROM events WHERE kind = 'revert' ORDER BY seq DESC"
        )
        return {e.reverts: e for e in map(journal.event_from_row, rows) if e.reverts is not None}

    def _batch_names(self) -> dict[str, str]:
        if not self._ready():
            return {}
        return dict(self.replica.execute("SELECT id, identifier FROM batches").fetchall())

    def _answers(self, event_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """Head office's outcome (and reason) of each of these events it answered."""
        if not self._ready():
            return {}
        out: dict[str, tuple[str, str | None]] = {}
        for start in range(0, len(event_ids), PAGE):
            chunk = event_ids[start : start + PAGE]
            rows = self.replica.execute(
                f"SELECT event_id, outcome, reason FROM outcomes WHERE event_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r[0]: (r[1], r[2]) for r in rows})
        return out

    def _redemptions(
        self,
        events: list[journal.JournalEvent],
        reverts: dict[str, journal.JournalEvent],
        names: dict[str, str],
    ) -> list[TillRedemption]:
        answers = self._answers([e.id for e in events])
        out = []
        for e in events:
            key = ids.try_parse(e.voucher_id) if e.voucher_id else None
            outcome, reason = answers.get(e.id, (None, None))
            revert = reverts.get(e.id)
            out.append(
                TillRedemption(
                    e, names.get(key.batch_id) if key else None, outcome, reason, revert is not None, revert
                )
            )
        return out

    def voucher_names(self, voucher_ids: Iterable[str]) -> dict[str, VoucherName]:
        """How people tell each of these vouchers: its code where this till redeemed it, else its
        batch and serial number."""
        wanted = sorted(set(voucher_ids))
        codes: dict[str, str] = {}
        if self.journal is not None and has_table(self.journal, "events") and _has_codes(self.journal):
            for start in range(0, len(wanted), PAGE):
                chunk = wanted[start : start + PAGE]
                rows = self.journal.execute(
                    f"SELECT voucher_id, code FROM events WHERE voucher_id IN ({', '.join('?' * len(chunk))}) "
                    "AND code IS NOT NULL",
                    chunk,
                )
                codes.update({r[0]: r[1] for r in rows})
        names = self._batch_names()
        out: dict[str, VoucherName] = {}
        for voucher_id in wanted:
            key = ids.try_parse(voucher_id)
            out[voucher_id] = VoucherName(
                voucher_id,
                codes.get(voucher_id),
                names.get(key.batch_id) if key else None,
                key.serial if key else None,
            )
        return out

    def history(self, voucher_id: str | None, code_hash: str | None) -> list[TillEvent]:
        """A voucher's story at this till, oldest first: every journal event naming it (redeemed,
        reverted, refused, reviewed), or, when the replica does not hold it, every one whose scan had
        its code (by the code's keyed hash), each with head office's answer."""
        conn = self.journal
        if conn is None or not has_table(conn, "events"):
            return []
        where, args = [], []
        if voucher_id is not None:
            where.append("voucher_id = ?")
            args.append(voucher_id)
        if code_hash is not None and _has_codes(conn):
            where.append("code_hash = ?")
            args.append(code_hash)
        if not where:
            return []
        events = [
            journal.event_from_row(r)
            for r in conn.execute(
                f"SELECT {journal.selected(conn)} FROM events WHERE {' OR '.join(where)} ORDER BY seq", args
            )
        ]
        answers = self._answers([e.id for e in events])
        return [TillEvent(e, *answers.get(e.id, (None, None))) for e in events]


def _has_codes(conn: sqlite3.Connection) -> bool:
    """The journal has migration 5's columns (one from an older kiosk has not)."""
    return "code_hash" in {r[1] for r in conn.execute("PRAGMA table_info(events)")}


def _reviewed(o: Outcome, row: sqlite3.Row | None, mine: dict[str, journal.JournalEvent]) -> Outcome:
    """The problem with its review: the snapshot's (whoever made it), else this till's own review
    event not yet in the snapshot."""
    if row is not None and row["reviewed_at"]:
        return replace(
            o, reviewed_at=row["reviewed_at"], reviewed_by=row["reviewed_by"], review_note=row["review_note"]
        )
    event = mine.get(o.event_id)
    if event is not None:
        return replace(
            o,
            reviewed_at=event.at.isoformat(),
            reviewed_by=event.cashier or "the manager at this till",
            review_note=event.reason,
        )
    return o


def _initialised(conn: sqlite3.Connection) -> bool:
    """False while the agent is still creating replica.db and pushed.db (the files exist, their
    tables not yet). Attaches pushed.db once it is there (not inside a read: next time)."""
    attach(conn)
    return has_table(conn, "outcomes") and has_table(conn, "problems")


def overlay(
    row: sqlite3.Row,
    local: list[journal.JournalEvent],
    outcomes: dict[str, sqlite3.Row],
    store_id: str | None,
) -> tuple[VoucherView, journal.JournalEvent | None]:
    """The voucher as this till sees it. `local` are this till's redemptions and reverts that the
    replica does not reflect yet; they count unless the server rejected them, and a conflict
    means the winner used it."""
    status = Status(row["status"]) if row["status"] else None
    used_at = datetime.fromisoformat(row["used_at"]) if row["used_at"] else None
    used_store = row["used_store"]
    redeemed_here = None
    for event in local:
        result = outcomes.get(event.id)
        outcome = result["outcome"] if result is not None else None
        if outcome == "rejected":
            continue
        if event.kind == "redeem" and result is not None and outcome == "conflict":
            status, used_store, redeemed_here = Status.USED, result["winner_store"], None
            used_at = datetime.fromisoformat(result["winner_at"]) if result["winner_at"] else event.at
        elif event.kind == "redeem":
            status, used_at, used_store, redeemed_here = Status.USED, event.at, store_id, event
        elif event.kind == "revert" and (
            (redeemed_here is not None and redeemed_here.id == event.reverts)
            or (
                redeemed_here is None and status is Status.USED and used_store == store_id
            )  # reflected already
        ):
            status, used_at, used_store, redeemed_here = Status.UNUSED, None, None, None
    view = VoucherView(
        id=row["id"],
        batch_id=row["batch_id"],
        claimed=bool(row["claimed"]),
        status=status,
        used_at=used_at,
        used_store=used_store,
    )
    return view, redeemed_here
