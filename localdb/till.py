"""What the till knows: a voucher's state = the replica, overlaid with this till's own journal
events that the replica does not reflect yet. The kiosk decides from it; `voucher-sync status`
and the manager view read health, pending events and problems from it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from localdb import journal
from localdb.connect import read
from localdb.replica import HEALTH_KEYS, all_meta
from vouchers.lifecycle import State
from vouchers.status import Status
from vouchers.verdict import BatchView, VoucherView


@dataclass(frozen=True)
class TillVoucher:
    voucher: VoucherView
    batch: BatchView
    batch_identifier: str
    type_name: str
    value: str
    min_purchase: str | None
    redeemed_here: journal.JournalEvent | None  # this till's redemption in effect, if any (to revert)


@dataclass(frozen=True)
class Outcome:
    event_id: str
    seq: int
    kind: str
    voucher_id: str | None
    outcome: str
    reason: str | None
    winner_store: str | None
    winner_device: str | None
    winner_at: str | None
    server_time: str | None

    def details(self) -> str:
        """In words, for the manager: who won a conflict, or why the server rejected the event."""
        if self.outcome != "conflict":
            return self.reason or ""
        if self.winner_store is None:  # marked used online by its member, or at head office
            return f"already used elsewhere (online or at head office) at {self.winner_at or '?'}"
        device = f" (device {self.winner_device})" if self.winner_device else ""
        return f"already used at store {self.winner_store}{device} at {self.winner_at}"


class Till:
    """Reads replica.db and journal.db together; opened by the kiosk and by the agent alike."""

    def __init__(self, replica: sqlite3.Connection, journal_conn: sqlite3.Connection | None) -> None:
        self.replica = replica
        self.journal = journal_conn

    def store(self) -> tuple[str | None, ZoneInfo]:
        meta = all_meta(self.replica) if _initialised(self.replica) else {}
        return meta.get("store_id"), ZoneInfo(meta.get("store_timezone") or "UTC")

    def lookup(self, code_hash: str) -> TillVoucher | None:
        """The voucher with this code hash as the till sees it; None if the snapshot lacks it
        (or the agent has not made the replica yet)."""
        with read(self.replica) as r:
            if not _initialised(r):
                return None
            row = r.execute(
                "SELECT v.id, v.batch_id, v.claimed, v.status, v.used_at, v.used_store, b.state, b.valid_from, "
                "b.valid_until, b.stores, b.identifier, t.name, t.value, t.min_purchase "
                "FROM vouchers v JOIN batches b ON b.id = v.batch_id LEFT JOIN types t ON t.id = v.type_id "
                "WHERE v.code_hash = ?",
                (code_hash,),
            ).fetchone()
            if row is None:
                return None
            outcomes = self._outcomes_for(r, row["id"])
            meta = all_meta(r)
        reflected = int(meta.get("reflected_push_cursor") or 0)
        local = journal.voucher_events(self.journal, row["id"], after=reflected) if self.journal is not None else []
        voucher, redeemed_here = overlay(row, local, outcomes, meta.get("store_id"))
        batch = BatchView(
            id=row["batch_id"],
            state=State(row["state"]),
            valid_from=date.fromisoformat(row["valid_from"]) if row["valid_from"] else None,
            valid_until=date.fromisoformat(row["valid_until"]) if row["valid_until"] else None,
            stores=None if row["stores"] is None else tuple(json.loads(row["stores"])),
        )
        return TillVoucher(voucher, batch, row["identifier"], row["name"] or "", row["value"] or "",
                           row["min_purchase"], redeemed_here)

    @staticmethod
    def _outcomes_for(conn: sqlite3.Connection, voucher_id: str) -> dict[str, sqlite3.Row]:
        rows = conn.execute(
            "SELECT event_id, outcome, winner_store, winner_at FROM outcomes WHERE voucher_id = ?", (voucher_id,)
        )
        return {r["event_id"]: r for r in rows}

    def health(self) -> dict[str, Any]:
        meta = all_meta(self.replica) if _initialised(self.replica) else {}
        out: dict[str, Any] = {k: meta.get(k) for k in HEALTH_KEYS}
        out["cursor"] = int(meta.get("cursor") or 0)
        out["push_cursor"] = int(meta.get("push_cursor") or 0)
        out["pending"] = self.pending()
        out["store_id"] = meta.get("store_id")
        return out

    def pending(self) -> int:
        """Journal events not yet acknowledged by the server."""
        if self.journal is None:
            return 0
        push_cursor = int(all_meta(self.replica).get("push_cursor") or 0) if _initialised(self.replica) else 0
        return self.journal.execute("SELECT count(*) FROM events WHERE seq > ?", (push_cursor,)).fetchone()[0]

    def problems(self, limit: int = 500) -> list[Outcome]:
        """Conflicts and rejections the server reported, newest first, for the manager to review."""
        if not _initialised(self.replica):
            return []
        rows = self.replica.execute(
            "SELECT event_id, seq, kind, voucher_id, outcome, reason, winner_store, winner_device, winner_at, "
            "server_time FROM outcomes WHERE outcome IN ('conflict', 'rejected') ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [Outcome(*r) for r in rows]


def _initialised(conn: sqlite3.Connection) -> bool:
    """False while the agent is still creating replica.db (the file exists, its tables not yet)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outcomes'").fetchone() is not None


def overlay(
    row: sqlite3.Row, local: list[journal.JournalEvent], outcomes: dict[str, sqlite3.Row], store_id: str | None
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
        if event.kind == "redeem" and outcome == "conflict":
            status, used_store, redeemed_here = Status.USED, result["winner_store"], None
            used_at = datetime.fromisoformat(result["winner_at"]) if result["winner_at"] else event.at
        elif event.kind == "redeem":
            status, used_at, used_store, redeemed_here = Status.USED, event.at, store_id, event
        elif event.kind == "revert" and (
            (redeemed_here is not None and redeemed_here.id == event.reverts)
            or (redeemed_here is None and status is Status.USED and used_store == store_id)  # reflected already
        ):
            status, used_at, used_store, redeemed_here = Status.UNUSED, None, None, None
    view = VoucherView(
        id=row["id"], batch_id=row["batch_id"], claimed=bool(row["claimed"]), status=status, used_at=used_at,
        used_store=used_store,
    )
    return view, redeemed_here
