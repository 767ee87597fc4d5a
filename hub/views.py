"""What the hub sees: head office's rows overlaid with the tills' events head office does not
reflect yet. The hub decides from these views (hub/decisions.py) and serves them (hub/feed.py).

A voucher as the hub sees it = head office's row, then the ledger's redemptions and reverts for it
that count and are not reflected yet, in the order the hub received them (the idea of
localdb/till.overlay, for many tills' events instead of one journal's):

* an event *counts* while its outcome is accepted: head office's final answer when it gave one,
  else the hub's own. An event head office answered `rejected` no longer overlays, and one it
  answered `conflict` overlays what head office said instead, the winner's use (as
  localdb/till.overlay does), until a pull brings head office's row: head office's view is the
  truth, and a till of the shop must not get the voucher accepted meanwhile; a revert counts only
  while the redemption it undoes is the one in effect;
* an event is *reflected* once head office answered it and a snapshot pull that began after that
  answer ended complete: the ledger keeps the pull number handed out last when the answer came
  (`ho_pull`), and meta `reflected_pull` is the newest pull that ended complete, so an event is
  reflected when `ho_pull < reflected_pull`. (On PostgreSQL head office's head can lag a running
  write by a moment, docs/PROTOCOL.md; a pull that ends within that moment may leave the row a
  moment behind the answer.)

A snapshot voucher carries no redemption id nor till, so for a used voucher of this store the
hub finds which of its own ledger's redemptions it is (the one at the same instant).

A problem as the hub serves it: head office's (from its snapshot), or else the hub's own for an
event it answered `conflict` or `rejected` (same wire form), until head office's replaces it;
one head office then accepted is served as reviewed by head office, so no till keeps it open.
Either is served reviewed by the first review a till of the store sent the hub, until head
office's problem carries a review of its own.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.schema import meta_int
from vouchers.status import Status
from vouchers.verdict import VoucherView

# The outcome that stands for a ledger row: head office's final one, else the hub's own.
EFFECTIVE = "COALESCE(NULLIF(ho_outcome, 'duplicate'), outcome)"
UNREFLECTED = "(ho_pull IS NULL OR ho_pull >= :reflected)"
_OVERLAY = (
    "SELECT id, kind, target, at, device_id, ho_outcome, ho_result FROM ledger WHERE voucher_id = :voucher "
    f"AND kind IN ('redeem', 'revert') AND {UNREFLECTED} AND ({EFFECTIVE} = 'accepted' "
    "OR (kind = 'redeem' AND ho_outcome = 'conflict')) ORDER BY seq"
)
_REDEEMERS = (
    "SELECT id, at, device_id FROM ledger WHERE voucher_id = ? AND kind = 'redeem' "
    f"AND {EFFECTIVE} = 'accepted' ORDER BY seq DESC"
)
HEAD_OFFICE_ACCEPTED = "Head office accepted this event: there is nothing to review."


@dataclass(frozen=True)
class HubVoucher:
    """A voucher as the hub sees it. `redeemed_by` is the redemption in effect when the hub knows
    which one (its ledger's), `used_device` its till; both None otherwise."""

    id: str
    batch_id: str
    type_id: str
    serial: int
    code_hash: str
    claimed: bool
    status: str | None
    used_at: datetime | None
    used_store: str | None
    used_device: str | None
    redeemed_by: str | None

    def view(self) -> VoucherView:
        return VoucherView(
            id=self.id,
            batch_id=self.batch_id,
            claimed=self.claimed,
            status=Status(self.status) if self.status else None,
            used_at=self.used_at,
            used_store=self.used_store,
        )

    def wire(self) -> dict[str, Any]:
        """As a snapshot page carries it."""
        return {
            "id": self.id,
            "batch_id": self.batch_id,
            "type_id": self.type_id,
            "serial": self.serial,
            "code_hash": self.code_hash,
            "claimed": self.claimed,
            "status": self.status,
            "used_at": None if self.used_at is None else self.used_at.isoformat(),
            "used_store": self.used_store,
        }


def reflected_pull(conn: sqlite3.Connection) -> int:
    return meta_int(conn, "reflected_pull")


def voucher(conn: sqlite3.Connection, voucher_id: str, store_id: str, reflected: int) -> HubVoucher | None:
    """The voucher as the hub sees it; None when head office's snapshot does not hold it."""
    row = conn.execute("SELECT * FROM vouchers WHERE id = ?", (voucher_id,)).fetchone()
    if row is None:
        return None
    status, used_store = row["status"], row["used_store"]
    used_at = datetime.fromisoformat(row["used_at"]) if row["used_at"] else None
    used_device = redeemed_by = None
    if status == Status.USED and used_store == store_id and used_at is not None:
        for r in conn.execute(_REDEEMERS, (voucher_id,)):
            if datetime.fromisoformat(r["at"]) == used_at:
                redeemed_by, used_device = r["id"], r["device_id"]
                break
    for e in conn.execute(_OVERLAY, {"voucher": voucher_id, "reflected": reflected}):
        if e["ho_outcome"] == "conflict":  # head office says who used it: the winner
            winner = json.loads(e["ho_result"])["winner"] or {}
            status, used_store, used_device = (
                Status.USED.value,
                winner.get("store_id"),
                winner.get("device_id"),
            )
            used_at = datetime.fromisoformat(winner.get("at") or e["at"])
            redeemed_by = None
        elif e["kind"] == "redeem":
            status, used_at, used_store = Status.USED.value, datetime.fromisoformat(e["at"]), store_id
            used_device, redeemed_by = e["device_id"], e["id"]
        elif (
            e["target"] == redeemed_by
        ):  # a revert of the redemption in effect (else it waits for head office)
            status, used_at, used_store, used_device, redeemed_by = (
                Status.UNUSED.value,
                None,
                None,
                None,
                None,
            )
    return HubVoucher(
        id=row["id"],
        batch_id=row["batch_id"],
        type_id=row["type_id"],
        serial=row["serial"],
        code_hash=row["code_hash"],
        claimed=bool(row["claimed"]),
        status=status,
        used_at=used_at,
        used_store=used_store,
        used_device=used_device,
        redeemed_by=redeemed_by,
    )


def is_local_problem(row: sqlite3.Row) -> bool:
    """A ledger row the hub answered as a problem to review (as head office's problems.record)."""
    return row["outcome"] in ("conflict", "rejected") and row["kind"] in ("redeem", "revert")


def known_problem(conn: sqlite3.Connection, event_id: str) -> bool:
    """A problem the hub knows: head office's (every one it sends is of this store) or its own."""
    if conn.execute("SELECT 1 FROM problems WHERE event_id = ?", (event_id,)).fetchone():
        return True
    row = conn.execute("SELECT kind, outcome FROM ledger WHERE id = ?", (event_id,)).fetchone()
    return row is not None and is_local_problem(row)


def problem(conn: sqlite3.Connection, event_id: str, store_id: str) -> dict[str, Any] | None:
    """The problem as the hub serves it (docs/PROTOCOL.md's `problems`); None when there is none."""
    ho = conn.execute("SELECT wire FROM problems WHERE event_id = ?", (event_id,)).fetchone()
    if ho is not None:
        served: dict[str, Any] = json.loads(ho["wire"])
        if served.get("reviewed") is None:
            served["reviewed"] = _till_review(conn, event_id, store_id)
        return served
    row = conn.execute("SELECT * FROM ledger WHERE id = ?", (event_id,)).fetchone()
    if row is None or not is_local_problem(row):
        return None
    result = json.loads(row["result"])
    reviewed = _till_review(conn, event_id, store_id)
    if row["ho_outcome"] == "accepted":
        reviewed = {"at": row["ho_answered_at"], "by": "head office", "note": HEAD_OFFICE_ACCEPTED}
    return {
        "event_id": row["id"],
        "kind": row["kind"],
        "outcome": row["outcome"],
        "reason": result["reason"],
        "store_id": store_id,
        "device_id": row["device_id"],
        "voucher_id": row["voucher_id"],
        "at": row["at"],
        "winner": result["winner"],
        "reviewed": reviewed,
    }


def _till_review(conn: sqlite3.Connection, event_id: str, store_id: str) -> dict[str, Any] | None:
    """The first review a till sent the hub for this problem that stands (as head office's
    problems.review_from_till words it), or None."""
    row = conn.execute(
        "SELECT device_id, received_at, event FROM ledger WHERE target = ? AND kind = 'review' "
        f"AND {EFFECTIVE} = 'accepted' ORDER BY seq LIMIT 1",
        (event_id,),
    ).fetchone()
    if row is None:
        return None
    event = json.loads(row["event"])
    who = event.get("cashier") or "the manager"
    return {
        "at": row["received_at"],
        "by": f"{who} at store {store_id} (device {row['device_id']})",
        "note": event.get("reason") or "",
    }
