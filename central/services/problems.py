"""Problems to review: the conflicts and rejections of tills' events, and the reviews that close them.

A conflict concerns two stores, the one whose redemption lost and the one whose redemption won,
so both see it: at head office, and at their tills through the snapshot (each change to a problem
takes a change number). A review by either store's manager (a `review` event from its till) or by
head-office staff (the dashboard, the admin API and CLI) closes it for both, with a note and its
author; the first review stands, later ones are kept in the ledger as events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, or_, select, update

from central.db.engine import next_seq, next_seqs
from central.db.schema import batches, events, problems, utcnow
from central.services import devices  # (devices imports the ledger, which imports this module)
from central.services.ledger_rows import LedgerRow
from vouchers.errors import Conflict, NotFound
from vouchers.wording import said

OUTCOMES = ("conflict", "rejected")


@dataclass(frozen=True)
class Winner:
    """The redemption that won a conflict: where, on which till, when (the till's time)."""

    store_id: str
    device_id: str | None
    at: datetime


@dataclass(frozen=True)
class Review:
    """The review that closed a problem: when, by whom, what they found."""

    at: datetime
    by: str
    note: str


@dataclass(frozen=True)
class Problem:
    """A conflict (`winner` says which redemption won) or a rejection of a till's event, for staff to
    review; `reviewed` once someone closed it. Names are None when unknown (a batch deleted since)."""

    event_id: str
    kind: str  # redeem or revert
    outcome: str  # conflict or rejected
    reason: str | None  # why: a verdict or a ledger reason code
    store_id: str
    device_id: str | None
    device_name: str | None
    device_seq: int | None
    voucher_id: str | None
    batch_id: str | None
    batch_identifier: str | None
    at: datetime  # the till's time of the event
    received_at: datetime
    cashier: str | None
    winner: Winner | None
    winner_device_name: str | None
    reviewed: Review | None


def record(conn: Connection, rows: list[LedgerRow]) -> None:
    """A problem for each redemption or revert from a till just kept as a conflict or rejected."""
    found = [
        r
        for r in rows
        if r["outcome"] in OUTCOMES and r["store_id"] is not None and r["kind"] in ("redeem", "revert")
    ]
    if not found:
        return
    seqs = next_seqs(conn, len(found))
    conn.execute(
        insert(problems),
        [
            {
                "event_id": r["id"],
                "store_id": r["store_id"],
                "winner_store": r["winner_store"],
                "outcome": r["outcome"],
                "change_seq": seq,
            }
            for r, seq in zip(found, seqs, strict=True)
        ],
    )


def _close(
    conn: Connection, event_id: str, *, by: str, note: str, review_event_id: str, at: datetime
) -> None:
    conn.execute(
        update(problems)
        .where(problems.c.event_id == event_id, problems.c.reviewed_at.is_(None))
        .values(
            reviewed_at=at,
            reviewed_by=by,
            review_note=note,
            review_event_id=review_event_id,
            change_seq=next_seq(conn),
        )
    )


def review_from_till(conn: Connection, store_id: str, device_id: str, row: LedgerRow) -> LedgerRow:
    """A till's review event (the ledger row so far): it closes a problem of its own store, a
    conflict its store won included; anything else is rejected as UNKNOWN_PROBLEM."""
    target = conn.execute(select(problems).where(problems.c.event_id == row["reviews"])).mappings().first()
    if target is None or store_id not in (target["store_id"], target["winner_store"]):
        row["outcome"], row["outcome_reason"] = "rejected", "UNKNOWN_PROBLEM"
        return row
    who = row["cashier"] or "the manager"
    _close(
        conn,
        target["event_id"],
        by=f"{who} at store {store_id} (device {device_id})",
        note=row["reason"] or "",
        review_event_id=row["id"],
        at=row["received_at"],
    )
    return row


def review(conn: Connection, event_id: str, *, by: str, note: str) -> Problem:
    """Head-office staff review a problem: a ledger event with its author, and the problem closed."""
    if not by.strip() or not note.strip():
        raise Conflict(said("A review needs who reviewed it and a note."), title="Review incomplete")
    target = conn.execute(select(problems).where(problems.c.event_id == event_id)).mappings().first()
    if target is None:
        raise NotFound(said("There is no conflict or rejection with event id '{event}'.", event=event_id))
    if target["reviewed_at"] is not None:
        raise Conflict(
            f"Already reviewed by {target['reviewed_by']} at {target['reviewed_at']:%Y-%m-%d %H:%M} UTC: "
            f"{target['review_note']}",
            title="Already reviewed",
        )
    now = utcnow()
    review_id = str(uuid.uuid4())
    reviewed = conn.execute(
        select(events.c.voucher_id, events.c.batch_id).where(events.c.id == event_id)
    ).one()
    conn.execute(
        insert(events).values(
            id=review_id,
            kind="review",
            reviews=event_id,
            voucher_id=reviewed.voucher_id,
            batch_id=reviewed.batch_id,
            reason=note.strip(),
            author=by.strip(),
            at=now,
            received_at=now,
            outcome="accepted",
        )
    )
    _close(conn, event_id, by=by.strip(), note=note.strip(), review_event_id=review_id, at=now)
    return listing(conn, event_id=event_id)[0]


_COLUMNS = (
    events.c.id,
    events.c.kind,
    events.c.store_id,
    events.c.device_id,
    events.c.device_seq,
    events.c.voucher_id,
    events.c.batch_id,
    events.c.at,
    events.c.received_at,
    events.c.cashier,
    events.c.outcome,
    events.c.outcome_reason,
    events.c.winner_store,
    events.c.winner_device,
    events.c.winner_at,
    problems.c.reviewed_at,
    problems.c.reviewed_by,
    problems.c.review_note,
    problems.c.change_seq,
)


def listing(
    conn: Connection,
    *,
    store_id: str | None = None,
    reviewed: bool | None = None,
    event_id: str | None = None,
    limit: int = 500,
) -> list[Problem]:
    """Problems newest first: a store's own and the conflicts it won; reviewed, open, or both."""
    query = select(*_COLUMNS).join(events, events.c.id == problems.c.event_id)
    if store_id is not None:
        query = query.where(or_(problems.c.store_id == store_id, problems.c.winner_store == store_id))
    if reviewed is not None:
        query = query.where(
            problems.c.reviewed_at.is_not(None) if reviewed else problems.c.reviewed_at.is_(None)
        )
    if event_id is not None:
        query = query.where(problems.c.event_id == event_id)
    rows = (
        conn.execute(query.order_by(events.c.received_at.desc(), events.c.id).limit(limit)).mappings().all()
    )
    batch_ids = sorted({r["batch_id"] for r in rows if r["batch_id"]})
    names = dict(
        conn.execute(select(batches.c.id, batches.c.identifier).where(batches.c.id.in_(batch_ids))).all()
    )
    tills = devices.device_names(conn, {d for r in rows for d in (r["device_id"], r["winner_device"]) if d})
    return [_problem(r, names, tills) for r in rows]


def _problem(r: RowMapping, names: dict[str, str], tills: dict[str, str]) -> Problem:
    winner = None
    if r["outcome"] == "conflict" and r["winner_store"] is not None:
        winner = Winner(store_id=r["winner_store"], device_id=r["winner_device"], at=r["winner_at"])
    reviewed = None
    if r["reviewed_at"] is not None:
        reviewed = Review(at=r["reviewed_at"], by=r["reviewed_by"], note=r["review_note"])
    return Problem(
        event_id=r["id"],
        kind=r["kind"],
        outcome=r["outcome"],
        reason=r["outcome_reason"],
        store_id=r["store_id"],
        device_id=r["device_id"],
        device_name=tills.get(r["device_id"]),
        device_seq=r["device_seq"],
        voucher_id=r["voucher_id"],
        batch_id=r["batch_id"],
        batch_identifier=names.get(r["batch_id"]),
        at=r["at"],
        received_at=r["received_at"],
        cashier=r["cashier"],
        winner=winner,
        winner_device_name=tills.get(r["winner_device"]) if r["winner_device"] else None,
        reviewed=reviewed,
    )


def snapshot_rows(
    conn: Connection, store_id: str, cursor: int, head: int, limit: int
) -> list[tuple[dict[str, Any], int]]:
    """A store's problems changed after the cursor, oldest change first: (the wire form, change_seq)."""
    query = (
        select(*_COLUMNS)
        .join(events, events.c.id == problems.c.event_id)
        .where(
            problems.c.change_seq > cursor,
            problems.c.change_seq <= head,
            or_(problems.c.store_id == store_id, problems.c.winner_store == store_id),
        )
        .order_by(problems.c.change_seq)
        .limit(limit + 1)
    )
    out = []
    for r in conn.execute(query).mappings():
        p = _problem(r, {}, {})
        w, seen = p.winner, p.reviewed
        out.append(
            (
                {
                    "event_id": p.event_id,
                    "kind": p.kind,
                    "outcome": p.outcome,
                    "reason": p.reason,
                    "store_id": p.store_id,
                    "device_id": p.device_id,
                    "voucher_id": p.voucher_id,
                    "at": _iso(p.at),
                    "winner": w and {"store_id": w.store_id, "device_id": w.device_id, "at": _iso(w.at)},
                    "reviewed": seen and {"at": _iso(seen.at), "by": seen.by, "note": seen.note},
                },
                r["change_seq"],
            )
        )
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
