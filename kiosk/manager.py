"""What the store manager sees and does at the till: counts, problems, reverts, an export.

Counts come from the replica (the head office's figures as last synced) plus this till's
journal (its own redemptions, some not yet synced, which are marked as such); the queries are
localdb's (`localdb/till.py`), this module's is what the manager does with them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path

from localdb.journal import Journal, JournalEvent
from localdb.notices import LayoutNotice
from localdb.till import BatchCounts, Outcome, TillRedemption
from vouchers.csvsafe import safe_row

__all__ = ["BatchCounts", "ManagerView", "TillRedemption", "export_csv", "revert"]


@dataclass(frozen=True)
class ManagerView:
    """Everything the manager view shows, read at once; `journal` says in words what became of
    this till's journals (or why nothing can be shown or recorded)."""

    counts: tuple[BatchCounts, ...] = ()
    redemptions: tuple[TillRedemption, ...] = ()  # newest first
    problems: tuple[Outcome, ...] = ()
    tz: tzinfo = UTC  # the store's
    journal: tuple[str, ...] = ()
    scanner_layout: LayoutNotice | None = None


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


def export_csv(path: Path, items: Sequence[TillRedemption], tz: tzinfo) -> Path:
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
