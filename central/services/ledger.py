"""The ledger: redemption events from tills, members' own MARK AS USED, and staff status changes.

The first redemption the server commits for a voucher wins; a later one is kept as a
conflict naming the winner; one the server would refuse is kept as rejected with the verdict.
An event id is the idempotency key, for ever: a repeat gets `duplicate` and the first result.
All of a request's events are decided in one write transaction that first locks the vouchers
they name (in key order; SQLite has one writer anyway), so two requests deciding the same voucher
run one after the other, in any number of server processes, and the others side by side
(db/engine.py).

Repeats are found by the insert itself (ON CONFLICT DO NOTHING): a request whose events are all
new, the usual case, reads no earlier event. When an id is already there, the request's
decisions are taken back to a savepoint and taken again knowing the first results.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.engine import RowMapping

from central.db.engine import next_seq, next_seqs
from central.db.schema import batches, devices, events, stores, utcnow, vouchers
from central.services import problems
from central.services.ids import split_voucher_id, voucher_id
from central.services.ledger_rows import (
    COLUMNS,
    AnyRow,
    EventRecord,
    LedgerRow,
    Result,
    bind_processors,
    event_record,
    insert_rows,
    new_row,
    result_of,
)
from vouchers import status as status_rules
from vouchers.codes import normalise
from vouchers.errors import Conflict, NotFound, StatusChangeRefused
from vouchers.lifecycle import State
from vouchers.status import Status
from vouchers.verdict import BatchView, Verdict, VoucherView, decide
from vouchers.wire import Event
from vouchers.wording import said
from words import verdicts as verdict_words


@dataclass(frozen=True)
class Device:
    """The device a request's token names: a till, or a shop's hub (which sends its tills' events)."""

    id: str
    store_id: str
    role: str = "till"  # till or hub (vouchers.wire.DeviceRole)


class VoucherRow(TypedDict):
    """The columns of a voucher the ledger decides with and changes."""

    batch_id: str
    serial: int
    member_id: str | None
    status: str | None
    used_at: datetime | None
    used_store: str | None
    used_device: str | None
    redeemed_by: str | None


@dataclass
class _Request:
    """What one request has read and changed so far, so events in it see each other."""

    vouchers: dict[tuple[str, int], VoucherRow] = field(default_factory=dict)
    batches: dict[str, BatchView | None] = field(default_factory=dict)
    seen: dict[str, AnyRow] = field(default_factory=dict)
    redeemed_delta: dict[str, int] = field(default_factory=dict)
    changed: dict[tuple[str, int], VoucherRow] = field(default_factory=dict)  # written once, at the end
    makers: dict[str, Device | None] = field(default_factory=dict)  # earlier devices named by events
    made: dict[str, LedgerRow] = field(default_factory=dict)  # this request's new rows, by id
    reviews: list[tuple[Device, LedgerRow]] = field(default_factory=list)  # of problems made above
    keys: dict[str, tuple[str, int] | None] = field(default_factory=dict)  # voucher ids, parsed once


def ingest(conn: Connection, device: Device, batch_events: list[Event]) -> list[Result]:
    """Decide and record each event, in order; returns one result per event."""
    now = utcnow()
    tz = ZoneInfo(conn.execute(select(stores.c.timezone).where(stores.c.id == device.store_id)).scalar_one())
    firsts: dict[str, AnyRow] = {}
    while True:
        req = _Request(seen=dict(firsts))
        _prefetch_vouchers(conn, req, batch_events)  # locks them until the end of the transaction
        with conn.begin_nested() as savepoint:
            results, new_rows = _decide_all(conn, req, device, batch_events, tz, now)
            if _insert_new(conn, new_rows):
                _write_changes(conn, req, new_rows)
                return results
            savepoint.rollback()  # some ids are there already (sent twice at once): again, knowing them
        ids = [r["id"] for r in new_rows]  # those there now were there before this request
        for row in conn.execute(select(events).where(events.c.id.in_(ids))).mappings():
            firsts[row["id"]] = row  # committed, so the next round finds every one of them


def _insert_new(conn: Connection, rows: list[LedgerRow]) -> bool:
    """Insert the request's new ledger rows, straight to the driver; False when an id was there
    already (that row is left alone). PostgreSQL takes them in one statement; SQLite runs one
    prepared statement for each (executemany: less work for it than one of 11,000 parameters)."""
    if not rows:
        return True
    cursor = conn.connection.cursor()
    try:
        if conn.dialect.name == "sqlite":
            cursor.executemany(_SQLITE_INSERT, insert_rows(conn.dialect, rows))
            return cursor.rowcount == len(rows)
        one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        sql = (
            f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES {', '.join([one] * len(rows))} "
            "ON CONFLICT (id) DO NOTHING RETURNING id"
        )
        cursor.execute(sql, [v for row in insert_rows(conn.dialect, rows) for v in row])
        return len(cursor.fetchall()) == len(rows)
    finally:
        cursor.close()


_SQLITE_INSERT = (
    f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (id) DO NOTHING"
)


def _decide_all(
    conn: Connection, req: _Request, device: Device, batch_events: list[Event], tz: ZoneInfo, now: datetime
) -> tuple[list[Result], list[LedgerRow]]:
    results: list[Result] = []
    new_rows: list[LedgerRow] = []
    for event in batch_events:
        event_id = str(event.id)
        maker = _maker(conn, req, device, event)
        first = req.seen.get(event_id)
        if first is not None:
            results.append(_repeat(first, maker, now))
            continue
        row = _decide(conn, req, maker, event, event_id, tz, now)
        req.seen[event_id] = req.made[event_id] = row
        new_rows.append(row)
        results.append(result_of(row))
    return results, new_rows


def _write_changes(conn: Connection, req: _Request, new_rows: list[LedgerRow]) -> None:
    """What the request's decisions change, written once: problems, vouchers, batch counters."""
    problems.record(conn, new_rows)
    for device, review in req.reviews:  # their problems are there now; the first review stands
        problems.review_from_till(conn, device.store_id, device.id, review)
    if req.changed:
        _update_vouchers(conn, list(req.changed.values()), next_seqs(conn, len(req.changed)))
    for batch_id, delta in sorted(req.redeemed_delta.items()):  # batch rows in key order (db/engine.py)
        if delta:
            conn.execute(
                update(batches).where(batches.c.id == batch_id).values(redeemed=batches.c.redeemed + delta)
            )


def _maker(conn: Connection, req: _Request, sender: Device, event: Event) -> Device:
    """The device that made the event: the sender, or the till of the sender's store the event names
    (docs/PROTOCOL.md, "A shop's hub"): for a hub, any till of its store, revoked or not (it forwards
    what its tills sent it); for a till, an earlier till of its store (enrolled again, it pushes
    what its old journal holds), never one enrolled after it. Revocation does not matter: what a
    till did at the counter before head office revoked it is decided like any other event. An
    event naming any other device is decided as the sender's, and rejected UNKNOWN_DEVICE by _decide."""
    if event.device_id is None or event.device_id == sender.id:
        return sender
    if event.device_id not in req.makers:
        row = conn.execute(
            select(devices.c.id, devices.c.store_id, devices.c.role, devices.c.enrolled_at).where(
                devices.c.id == event.device_id
            )
        ).first()
        maker = None
        if (
            row is not None
            and row.store_id == sender.store_id
            and row.role == "till"
            and (sender.role == "hub" or row.enrolled_at <= _enrolled_at(conn, sender))
        ):
            maker = Device(id=row.id, store_id=row.store_id)
        req.makers[event.device_id] = maker
    return req.makers[event.device_id] or sender


def _enrolled_at(conn: Connection, device: Device) -> datetime:
    return conn.execute(select(devices.c.enrolled_at).where(devices.c.id == device.id)).scalar_one()


def _repeat(first: AnyRow, device: Device, now: datetime) -> Result:
    if first["device_id"] != device.id and first["store_id"] != device.store_id:
        # another store's device chose the same id: refuse, keep the first (a device of the same
        # store sending it again is a till enrolled again: the same event)
        return {
            "id": first["id"],
            "outcome": "rejected",
            "reason": "ID_IN_USE",
            "winner": None,
            "server_time": now,
        }
    return {
        "id": first["id"],
        "outcome": "duplicate",
        "reason": None,
        "winner": None,
        "server_time": now,
        "first": result_of(first),
    }


def _prefetch_vouchers(conn: Connection, req: _Request, batch_events: list[Event]) -> None:
    """Every voucher the events name, by primary key, locked for the rest of the transaction
    (PostgreSQL; SQLite's writer is alone): one query per batch (a row-value IN list would make
    SQLite scan the whole table), straight to the driver, its rows as plain tuples."""
    by_batch: dict[str, set[int]] = {}
    for event in batch_events:
        if event.voucher_id and (key := _key(req, event.voucher_id)):
            by_batch.setdefault(key[0], set()).add(key[1])
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    used_at = _VOUCHER_COLUMNS.index("used_at")
    to_utc = vouchers.c.used_at.type.dialect_impl(conn.dialect).result_processor(
        conn.dialect, None
    )  # aware UTC, as SQLAlchemy reads it
    cursor = conn.connection.cursor()
    try:
        for batch_id, serials in sorted(by_batch.items()):  # in key order: see db/engine.py
            ordered = sorted(serials)
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                cursor.execute(
                    _PREFETCH_SQL.format(
                        marks=", ".join([mark] * len(chunk)), m=mark, lock="" if sqlite else " FOR UPDATE"
                    ),
                    (batch_id, *chunk),
                )
                for row in cursor.fetchall():
                    voucher = dict(zip(_VOUCHER_COLUMNS, row, strict=True))
                    if voucher["used_at"] is not None and to_utc is not None:
                        voucher["used_at"] = to_utc(row[used_at])
                    req.vouchers[(row[0], row[1])] = voucher  # type: ignore[assignment]
    finally:
        cursor.close()


_VOUCHER_COLUMNS = tuple(VoucherRow.__annotations__)  # the prefetch's columns, batch_id and serial first
_PREFETCH_SQL = (
    f"SELECT {', '.join(_VOUCHER_COLUMNS)} FROM vouchers WHERE batch_id = {{m}} AND serial IN ({{marks}}) "
    "ORDER BY serial{lock}"
)


def _key(req: _Request, vid: str) -> tuple[str, int] | None:
    if vid not in req.keys:
        req.keys[vid] = split_voucher_id(vid)
    return req.keys[vid]


def _batch(conn: Connection, req: _Request, batch_id: str) -> BatchView | None:
    if batch_id not in req.batches:
        row = conn.execute(select(batches).where(batches.c.id == batch_id)).mappings().first()
        req.batches[batch_id] = None if row is None else _batch_view(row)
    return req.batches[batch_id]


def _decide(
    conn: Connection,
    req: _Request,
    device: Device,
    event: Event,
    event_id: str,
    tz: ZoneInfo,
    now: datetime,
) -> LedgerRow:
    key = _key(req, event.voucher_id) if event.voucher_id else None
    voucher = req.vouchers.get(key) if key else None
    row = new_row(
        id=event_id,
        kind=event.kind,
        at=event.at,
        received_at=now,
        store_id=device.store_id,
        device_id=device.id,
        device_seq=event.device_seq,
        voucher_id=event.voucher_id,
        batch_id=voucher["batch_id"] if voucher else None,
        cashier=event.cashier,
        reverts=str(event.reverts) if event.reverts else None,
        reviews=str(event.reviews) if event.reviews else None,
        reason=event.reason,
        verdict=event.verdict.value if event.verdict else None,
    )
    if event.device_id is not None and event.device_id != device.id:  # _maker found no such device here
        return _rejected(row, "UNKNOWN_DEVICE")
    if event.kind == "refused":
        return row  # kept for the record; never changes a voucher
    if event.kind == "review":
        return _review(conn, req, device, row)
    if voucher is None:
        return _rejected(row, Verdict.UNKNOWN.value)
    if event.kind == "redeem":
        return _redeem(conn, req, device, event, voucher, row, tz)
    return _revert(conn, req, device, event, voucher, row)


def _review(conn: Connection, req: _Request, device: Device, row: LedgerRow) -> LedgerRow:
    """A till's review; one of a problem made earlier in the same request is decided here, by the
    same rule as problems.review_from_till, and closes its problem once the request's problems are
    recorded (_write_changes)."""
    target = req.made.get(row["reviews"] or "")
    if target is None:
        return problems.review_from_till(conn, device.store_id, device.id, row)
    if (
        target["outcome"] in problems.OUTCOMES
        and target["kind"] in ("redeem", "revert")
        and target["store_id"] is not None
        and device.store_id in (target["store_id"], target["winner_store"])
    ):
        req.reviews.append((device, row))
        return row
    return _rejected(row, "UNKNOWN_PROBLEM")


def _rejected(row: LedgerRow, reason: str) -> LedgerRow:
    row["outcome"], row["outcome_reason"] = "rejected", reason
    return row


_SET = ("status", "used_at", "used_store", "used_device", "redeemed_by", "change_seq")
_UPDATE_SQL = "UPDATE vouchers SET {} WHERE batch_id = {m} AND serial = {m}"


def _update_vouchers(conn: Connection, changed: list[VoucherRow], seqs: list[int]) -> None:
    """The request's changed vouchers, each with its new change number: one statement run for all
    of them, straight to the driver with plain tuples (as _insert_new)."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = _UPDATE_SQL.format(", ".join(f"{c} = {mark}" for c in _SET), m=mark)
    processors = bind_processors(conn.dialect, vouchers, _SET)
    params = []
    for v, seq in zip(changed, seqs, strict=True):
        values: list[Any] = [
            v["status"],
            v["used_at"],
            v["used_store"],
            v["used_device"],
            v["redeemed_by"],
            seq,
        ]
        for i, process in processors:
            if values[i] is not None:
                values[i] = process(values[i])
        params.append((*values, v["batch_id"], v["serial"]))
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(sql, params)
    finally:
        cursor.close()


def _redeem(
    conn: Connection,
    req: _Request,
    device: Device,
    event: Event,
    voucher: VoucherRow,
    row: LedgerRow,
    tz: ZoneInfo,
) -> LedgerRow:
    batch = _batch(conn, req, voucher["batch_id"])
    if batch is None:  # a voucher's batch is there while the voucher is (foreign key)
        return _rejected(row, Verdict.UNKNOWN.value)
    verdict = decide(_voucher_view(voucher), batch, device.store_id, event.at, tz)
    if verdict is Verdict.ACCEPTED:
        _use(req, voucher, Status.USED.value, event.at, device.store_id, device.id, row["id"])
        req.redeemed_delta[voucher["batch_id"]] = req.redeemed_delta.get(voucher["batch_id"], 0) + 1
        return row
    if verdict is Verdict.ALREADY_USED and voucher["redeemed_by"] is not None:
        row["outcome"], row["outcome_reason"] = "conflict", verdict.value
        row["winner_store"], row["winner_device"] = voucher["used_store"], voucher["used_device"]
        row["winner_at"] = voucher["used_at"]
        return row
    return _rejected(row, verdict.value)


def _revert(
    conn: Connection, req: _Request, device: Device, event: Event, voucher: VoucherRow, row: LedgerRow
) -> LedgerRow:
    target_id = str(event.reverts)
    target: AnyRow | None = req.seen.get(target_id)
    if target is None:
        target = conn.execute(select(events).where(events.c.id == target_id)).mappings().first()
    if target is None or target["kind"] != "redeem" or target["voucher_id"] != event.voucher_id:
        return _rejected(row, "UNKNOWN_REDEMPTION")
    if target["store_id"] != device.store_id:
        return _rejected(row, Verdict.WRONG_STORE.value)
    if voucher["redeemed_by"] != target_id:
        return _rejected(row, "NOT_REDEEMED")
    _use(req, voucher, Status.UNUSED.value, None, None, None, None)
    req.redeemed_delta[voucher["batch_id"]] = req.redeemed_delta.get(voucher["batch_id"], 0) - 1
    return row


def _use(
    req: _Request,
    voucher: VoucherRow,
    status: str,
    used_at: datetime | None,
    store: str | None,
    device: str | None,
    redeemed_by: str | None,
) -> None:
    """Change the voucher for the rest of this request; ingest writes it once at the end."""
    voucher["status"], voucher["used_at"], voucher["redeemed_by"] = status, used_at, redeemed_by
    voucher["used_store"], voucher["used_device"] = store, device
    req.changed[(voucher["batch_id"], voucher["serial"])] = voucher


def _set_voucher(conn: Connection, voucher: dict[str, Any], **values: Any) -> None:
    values["change_seq"] = next_seq(conn)
    conn.execute(
        update(vouchers)
        .where(vouchers.c.batch_id == voucher["batch_id"], vouchers.c.serial == voucher["serial"])
        .values(**values)
    )
    voucher.update(values)


_STATUSES = {s.value: s for s in Status}  # Status(value) costs microseconds a call; this is a lookup
_STATES = {s.value: s for s in State}


def _voucher_view(v: VoucherRow | RowMapping | dict[str, Any]) -> VoucherView:
    return VoucherView(
        id=voucher_id(v["batch_id"], v["serial"]),
        batch_id=v["batch_id"],
        claimed=v["member_id"] is not None,
        status=_STATUSES[v["status"]] if v["status"] else None,
        used_at=v["used_at"],
        used_store=v["used_store"],
    )


def _batch_view(b: RowMapping | dict[str, Any]) -> BatchView:
    return BatchView(
        id=b["id"],
        state=_STATES[b["state"]],
        valid_from=b["valid_from"],
        valid_until=b["valid_until"],
        stores=tuple(b["stores"]) if b["stores"] is not None else None,
    )


def voucher_by_code(conn: Connection, code_text: str, *, for_update: bool = False) -> dict[str, Any]:
    code = normalise(code_text)
    query = select(vouchers).where(vouchers.c.code == code)
    row = conn.execute(query.with_for_update() if for_update else query).mappings().first()
    if row is None:
        raise NotFound(said("No voucher has this code."))
    return dict(row)


def change_status(
    conn: Connection, code_text: str, new: Status, reason: str, author: str | None = None
) -> dict[str, Any]:
    """A staff change (pending → any; used → unused), recorded in the ledger as an event with its
    author (who at head office made it)."""
    voucher = voucher_by_code(conn, code_text, for_update=True)
    status_rules.check_staff_change(voucher["status"], new)
    now = utcnow()
    values: dict[str, Any] = {"status": new.value}
    if new is Status.UNUSED and voucher["status"] == Status.USED:
        values.update(used_at=None, used_store=None, used_device=None, redeemed_by=None)
        if voucher["redeemed_by"] is not None:
            conn.execute(
                update(batches)
                .where(batches.c.id == voucher["batch_id"])
                .values(redeemed=batches.c.redeemed - 1)
            )
    elif new is Status.USED:
        values.update(used_at=now)
    _set_voucher(conn, voucher, **values)
    row = new_row(
        id=str(uuid.uuid4()),
        kind="status",
        at=now,
        received_at=now,
        voucher_id=voucher_id(voucher["batch_id"], voucher["serial"]),
        batch_id=voucher["batch_id"],
        reason=reason,
        new_status=new.value,
        author=author,
    )
    conn.execute(insert(events).values(**row))
    return voucher


def history(conn: Connection, vid: str) -> list[EventRecord]:
    rows = conn.execute(
        select(events).where(events.c.voucher_id == vid).order_by(events.c.received_at)
    ).mappings()
    return [event_record(r) for r in rows]


event_dict = event_record  # the name the API and the dashboard use


class MarkUsedRefused(Conflict):
    """A member's MARK AS USED that the ledger refuses; `verdict` is the till's verdict code for it."""

    slug = "mark-used-refused"
    title = "This voucher cannot be marked as used"


def store_zones(conn: Connection, batch: RowMapping | dict[str, Any]) -> list[ZoneInfo]:
    """The time zones of the stores where the batch is valid (every store when it is not limited),
    or UTC when there is none: a member marking a voucher used has no till to say where they are."""
    query = select(stores.c.timezone).distinct()
    if batch["stores"] is not None:
        query = query.where(stores.c.id.in_(list(batch["stores"])))
    return [ZoneInfo(z) for z in sorted(conn.execute(query).scalars())] or [ZoneInfo("UTC")]


def member_verdict(
    voucher: RowMapping | dict[str, Any],
    batch: RowMapping | dict[str, Any],
    zones: list[ZoneInfo],
    now: datetime,
) -> Verdict:
    """The verdict a till would reach, for a member without one: the store limit does not apply, and
    the batch's dates hold when they hold in the time zone of any store where it is valid."""
    view = _batch_view(batch)
    view = BatchView(id=view.id, state=view.state, valid_from=view.valid_from, valid_until=view.valid_until)
    verdicts = [decide(_voucher_view(voucher), view, "", now, tz) for tz in zones]
    return Verdict.ACCEPTED if Verdict.ACCEPTED in verdicts else verdicts[0]


def member_redeem(conn: Connection, member_id: str, vid: str, event_id: str) -> EventRecord:
    """A member's own MARK AS USED (seed 002), recorded as a redemption like a till's: a `redeem`
    event with the member as the actor and no store or device, the voucher used (it reaches tills
    through the snapshot) and the batch's redeemed count up by one.

    Only an unused voucher of this member, in a redeemable batch within its dates, can be marked;
    otherwise MarkUsedRefused says why and nothing is written. `event_id` is the idempotency key:
    sending the same one again returns the first event instead of refusing."""
    key = split_voucher_id(vid)
    found = (  # locked first: the same form sent twice at once is decided once
        key
        and conn.execute(
            select(vouchers)
            .where(
                vouchers.c.batch_id == key[0], vouchers.c.serial == key[1], vouchers.c.member_id == member_id
            )
            .with_for_update()
        )
        .mappings()
        .first()
    )
    first = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
    if first is not None:
        if first["member_id"] != member_id or first["voucher_id"] != vid:
            raise MarkUsedRefused(
                said("This form was already used for something else. Reload the page and try again.")
            )
        return event_dict(first)
    if not found:
        raise NotFound(said("You have no voucher with this id."))
    voucher = dict(found)
    try:
        status_rules.check_member_mark_used(voucher["status"])
    except StatusChangeRefused as exc:
        raise MarkUsedRefused(exc.said or exc.detail, verdict=None) from None
    batch = conn.execute(select(batches).where(batches.c.id == voucher["batch_id"])).mappings().one()
    now = utcnow()
    verdict = member_verdict(voucher, batch, store_zones(conn, batch), now)
    if verdict is not Verdict.ACCEPTED:
        raise MarkUsedRefused(verdict_words.reason(verdict_words.english(), verdict), verdict=verdict.value)
    row = new_row(
        id=event_id,
        kind="redeem",
        at=now,
        received_at=now,
        voucher_id=vid,
        batch_id=voucher["batch_id"],
        member_id=member_id,
    )
    conn.execute(insert(events).values(**row))
    _set_voucher(
        conn,
        voucher,
        status=Status.USED.value,
        used_at=now,
        used_store=None,
        used_device=None,
        redeemed_by=event_id,
    )
    conn.execute(
        update(batches).where(batches.c.id == voucher["batch_id"]).values(redeemed=batches.c.redeemed + 1)
    )
    return event_dict(row)


def store_report(
    conn: Connection, store_id: str, start: datetime | None, end: datetime | None, batch_id: str | None
) -> dict[str, Any]:
    """Redemptions, reverts and conflicts at a store (including conflicts it won), by device time."""
    query = select(events).where(
        events.c.kind.in_(["redeem", "revert"]),
        or_(events.c.store_id == store_id, events.c.winner_store == store_id),
    )
    if start is not None:
        query = query.where(events.c.at >= start)
    if end is not None:
        query = query.where(events.c.at < end)
    if batch_id is not None:
        query = query.where(events.c.batch_id == batch_id)
    rows = [event_dict(r) for r in conn.execute(query.order_by(events.c.at, events.c.id)).mappings()]
    summary = {"accepted": 0, "conflict": 0, "rejected": 0, "reverted": 0, "conflicts_won": 0}
    for r in rows:
        if r["kind"] == "revert":
            summary["reverted"] += r["result"]["outcome"] == "accepted"
        elif r["store_id"] == store_id:
            summary[r["result"]["outcome"]] += 1
        else:  # another store's redemption that lost to one of this store's
            summary["conflicts_won"] += 1
    return {"store_id": store_id, "from": start, "to": end, "summary": summary, "events": rows}
