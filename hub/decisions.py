"""The hub's decisions on its tills' events: head office's rules and words (central/services/ledger.py),
taken at once in the shop so that its tills see each other's redemptions.

    redeem    accepted (the voucher as the hub sees it is redeemable: vouchers.verdict.decide);
              `conflict` with the winner {store_id, device_id, at} when it was used already (the
              winner is null when head office's snapshot shows it used with no store: marked used
              by its member, or at head office); `rejected` with the verdict code otherwise
    revert    accepted when it undoes the redemption in effect; rejected UNKNOWN_REDEMPTION (no
              such redeem of this voucher in the hub's ledger) or NOT_REDEEMED (not the one in effect)
    refused   accepted: a record, it never changes a voucher
    review    accepted when the hub knows the problem (head office's, or its own conflict or
              rejection), else rejected UNKNOWN_PROBLEM
    any kind  rejected UNKNOWN_DEVICE when it names a device that is not a till of the store;
              an id the hub has seen gets `duplicate` with the first result (also as `first`)

Every event is kept, whatever its answer, and forwarded to head office, whose answer the hub records
beside its own (hub/views.py says what that changes). Each decision names what it changed for the
tills (a voucher, a problem), which takes a new number in the change feed.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from hub import views
from hub.records import HubDevice
from hub.schema import bump
from vouchers.lifecycle import State
from vouchers.verdict import BatchView, Verdict, decide
from vouchers.wire import Event, EventResult, Outcome, Winner


@dataclass
class _Decision:
    outcome: Outcome
    reason: str | None = None
    winner: Winner | None = None
    changed: list[tuple[str, str]] = field(default_factory=list)  # (kind, entity id) for the feed


@dataclass
class _Request:
    store_id: str
    tz: ZoneInfo
    reflected: int
    now: datetime
    batches: dict[str, BatchView | None] = field(default_factory=dict)


_INSERT = (
    "INSERT INTO ledger (id, kind, voucher_id, device_id, sender_id, target, at, event, received_at, outcome, "
    "result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def ingest(
    conn: sqlite3.Connection,
    store_id: str,
    tz: ZoneInfo,
    sender: HubDevice,
    events: Sequence[Event],
    now: datetime,
) -> list[EventResult]:
    """Decide and record each event, in order (each sees the ones before it); inside the caller's
    write transaction. One result per event."""
    req = _Request(store_id, tz, views.reflected_pull(conn), now)
    results = []
    for event in events:
        first = conn.execute("SELECT result FROM ledger WHERE id = ?", (str(event.id),)).fetchone()
        if first is not None:
            results.append(
                EventResult(
                    id=event.id,
                    outcome="duplicate",
                    server_time=now,
                    first=EventResult.from_wire(first["result"]),
                )
            )
            continue
        maker = _maker(conn, sender, event)
        decision = _decide(conn, req, maker, event)
        result = EventResult(
            id=event.id,
            outcome=decision.outcome,
            reason=decision.reason,
            winner=decision.winner,
            server_time=now,
        )
        forwarded = event.to_wire()
        forwarded["device_id"] = event.device_id or sender.id  # as it is forwarded: the till's
        target = event.reverts or event.reviews
        conn.execute(
            _INSERT,
            (
                str(event.id),
                event.kind,
                event.voucher_id,
                maker or sender.id,
                sender.id,
                None if target is None else str(target),
                event.at.isoformat(),
                json.dumps(forwarded),
                now.isoformat(),
                decision.outcome,
                json.dumps(result.to_wire()),
            ),
        )
        for kind, entity_id in decision.changed:
            bump(conn, kind, entity_id)
        results.append(result)
    return results


def _maker(conn: sqlite3.Connection, sender: HubDevice, event: Event) -> str | None:
    """The till that made the event: the sender, or the till of the store the event names (a till
    enrolled again pushing its old journal; revoked or not, as head office decides it), if that till
    enrolled no later than the sender (docs/PROTOCOL.md: head office takes the hub's word for it);
    None when the event names any other device."""
    if event.device_id is None or event.device_id == sender.id:
        return sender.id
    rows = {
        row["device_id"]: row
        for row in conn.execute(
            "SELECT device_id, role, enrolled_at FROM devices WHERE device_id IN (?, ?)",
            (event.device_id, sender.id),
        )
    }
    named, own = rows.get(event.device_id), rows.get(sender.id)
    if named is None or named["role"] != "till":
        return None
    later = (
        named["enrolled_at"] is not None
        and own is not None
        and own["enrolled_at"] is not None
        and datetime.fromisoformat(named["enrolled_at"]) > datetime.fromisoformat(own["enrolled_at"])
    )
    return None if later else event.device_id  # a till names only a till enrolled before it


def _decide(conn: sqlite3.Connection, req: _Request, maker: str | None, event: Event) -> _Decision:
    if maker is None:
        return _problem(event, "rejected", "UNKNOWN_DEVICE")
    if event.kind == "refused":
        return _Decision("accepted")
    if event.kind == "review":
        target = str(event.reviews)
        if views.known_problem(conn, target):
            return _Decision("accepted", changed=[("problem", target)])
        return _Decision("rejected", "UNKNOWN_PROBLEM")
    voucher = views.voucher(conn, event.voucher_id, req.store_id, req.reflected) if event.voucher_id else None
    if voucher is None:
        return _problem(event, "rejected", Verdict.UNKNOWN.value)
    if event.kind == "redeem":
        batch = _batch(conn, req, voucher.batch_id)
        if batch is None:
            return _problem(event, "rejected", Verdict.UNKNOWN.value)
        verdict = decide(voucher.view(), batch, req.store_id, event.at, req.tz)
        if verdict is Verdict.ACCEPTED:
            return _Decision("accepted", changed=[("voucher", voucher.id)])
        if verdict is Verdict.ALREADY_USED:
            winner = None
            if voucher.used_store is not None and voucher.used_at is not None:
                winner = Winner(
                    store_id=voucher.used_store, device_id=voucher.used_device, at=voucher.used_at
                )
            return _problem(event, "conflict", verdict.value, winner)
        return _problem(event, "rejected", verdict.value)
    target = conn.execute(
        "SELECT kind, voucher_id FROM ledger WHERE id = ?", (str(event.reverts),)
    ).fetchone()
    if target is None or target["kind"] != "redeem" or target["voucher_id"] != event.voucher_id:
        return _problem(event, "rejected", "UNKNOWN_REDEMPTION")
    if voucher.redeemed_by != str(event.reverts):
        return _problem(event, "rejected", "NOT_REDEEMED")
    return _Decision("accepted", changed=[("voucher", voucher.id)])


def _problem(event: Event, outcome: Outcome, reason: str, winner: Winner | None = None) -> _Decision:
    """A conflict or rejection: for a redemption or a revert also a problem the hub serves at once."""
    changed = [("problem", str(event.id))] if event.kind in ("redeem", "revert") else []
    return _Decision(outcome, reason, winner, changed)


def _batch(conn: sqlite3.Connection, req: _Request, batch_id: str) -> BatchView | None:
    if batch_id not in req.batches:
        row = conn.execute("SELECT wire FROM batches WHERE id = ?", (batch_id,)).fetchone()
        req.batches[batch_id] = None if row is None else batch_view(json.loads(row["wire"]))
    return req.batches[batch_id]


def batch_view(wire: dict) -> BatchView:
    return BatchView(
        id=wire["id"],
        state=State(wire["state"]),
        valid_from=date.fromisoformat(wire["valid_from"]) if wire.get("valid_from") else None,
        valid_until=date.fromisoformat(wire["valid_until"]) if wire.get("valid_until") else None,
        stores=None if wire.get("stores") is None else tuple(wire["stores"]),
    )
