"""What the store manager sees and does at the till: counts, problems, reverts, an export.

Counts come from the replica (the head office's figures as last synced) plus this till's
journal (its own redemptions, some not yet synced, which are marked as such).
"""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from localdb import journals
from localdb.connect import read
from localdb.journal import Journal, JournalEvent, event_from_row, selected
from vouchers.csvsafe import safe_row
from vouchers.metrics import Metrics, metrics


@dataclass(frozen=True)
class BatchCounts:
    batch_id: str
    identifier: str
    state: str
    claims: str
    figures: Metrics
    here_today: int
    here_all_time: int
    here_unsynced: int


@dataclass(frozen=True)
class TillRedemption:
    event: JournalEvent
    batch_identifier: str | None
    outcome: str | None  # None: not synced yet
    reason: str | None
    reverted: bool


def batch_counts(
    replica: sqlite3.Connection, journal: sqlite3.Connection, today: datetime, tz: tzinfo
) -> list[BatchCounts]:
    """One row per batch: the seed's card figures, and this till's redemptions (today, ever, unsynced)."""
    with read(replica) as r:
        rows = r.execute(
            "SELECT b.id, b.identifier, b.state, b.claims, count(v.id), coalesce(sum(v.claimed), 0), "
            "coalesce(sum(v.status = 'used' AND v.used_store IS NOT NULL), 0) "
            "FROM batches b LEFT JOIN vouchers v ON v.batch_id = b.id GROUP BY b.id ORDER BY b.identifier"
        ).fetchall()
        cursor = journals.cursor_for(r, journal)  # this journal's: a new one's events are all unsynced
        push_cursor, reflected = cursor.push_cursor, cursor.reflected
    mine = _effective_redemptions(journal)
    day = today.astimezone(tz).date()
    out = []
    for batch_id, identifier, state, claims, total, claimed, redeemed in rows:
        events = [e for e in mine if e.voucher_id and e.voucher_id.rpartition(".")[0] == batch_id]
        unreflected = sum(1 for e in events if e.seq > reflected)
        out.append(
            BatchCounts(
                batch_id,
                identifier,
                state,
                claims,
                metrics(total, claimed, redeemed + unreflected),
                here_today=sum(1 for e in events if e.at.astimezone(tz).date() == day),
                here_all_time=len(events),
                here_unsynced=sum(1 for e in events if e.seq > push_cursor),
            )
        )
    return out


def _effective_redemptions(journal: sqlite3.Connection) -> list[JournalEvent]:
    """This till's redeem events not undone by a later revert."""
    rows = journal.execute(
        f"SELECT {selected(journal)} FROM events WHERE kind = 'redeem' AND id NOT IN "
        "(SELECT reverts FROM events WHERE kind = 'revert' AND reverts IS NOT NULL) ORDER BY seq"
    )
    return [event_from_row(r) for r in rows]


def redemptions(
    replica: sqlite3.Connection, journal: sqlite3.Connection, limit: int = 200
) -> list[TillRedemption]:
    """This till's latest redemptions, newest first, with what the server said of each."""
    reverted = {r[0] for r in journal.execute("SELECT reverts FROM events WHERE kind = 'revert'")}
    events = [
        event_from_row(r)
        for r in journal.execute(
            f"SELECT {selected(journal)} FROM events WHERE kind = 'redeem' ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
    ]
    out = []
    with read(replica) as r:
        for e in events:
            outcome = r.execute("SELECT outcome, reason FROM outcomes WHERE event_id = ?", (e.id,)).fetchone()
            batch = r.execute(
                "SELECT identifier FROM batches WHERE id = ?", (e.voucher_id.rpartition(".")[0],)
            ).fetchone()
            out.append(
                TillRedemption(
                    e,
                    batch[0] if batch else None,
                    outcome[0] if outcome else None,
                    outcome[1] if outcome else None,
                    e.id in reverted,
                )
            )
    return out


def revert(journal: Journal, redemption: TillRedemption, reason: str) -> JournalEvent:
    """Undo a redemption made at this till: a new revert event, never an edit."""
    if redemption.reverted:
        raise ValueError("This redemption has already been reverted.")
    if redemption.outcome in ("conflict", "rejected"):
        raise ValueError("Head office never counted this redemption; there is nothing to revert.")
    if not reason.strip():
        raise ValueError("Give a reason for the revert.")
    return journal.append(
        "revert", redemption.event.voucher_id, reverts=redemption.event.id, reason=reason.strip()
    )


def export_csv(path: Path, items: list[TillRedemption], tz: tzinfo) -> Path:
    """The till's redemptions as CSV, for the manager's records (formula-like cells as text)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time", "voucher", "batch", "cashier", "synced", "outcome", "reason", "reverted"])
        for item in items:
            e = item.event
            writer.writerow(
                safe_row(
                    [
                        e.at.astimezone(tz).isoformat(),
                        e.voucher_id,
                        item.batch_identifier or "",
                        e.cashier or "",
                        "yes" if item.outcome else "no",
                        item.outcome or "",
                        item.reason or "",
                        "yes" if item.reverted else "no",
                    ]
                )
            )
    return path
