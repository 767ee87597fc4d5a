"""A member as head office's staff see them (the Customer Details Page of seed 002): every voucher they
claimed, its status and its story in the ledger (where and when it was used, reverts, conflicts,
staff changes), and which status changes staff may make; and finding members by part of their address.

Members are the addresses their claims carry (case-folded, services/members.py); there is no table of
members, so a member exists here once they have claimed something.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql import ColumnElement

from central.db.schema import batch_types, batches, events, stores, vouchers
from central.services import devices
from central.services.ids import voucher_id
from vouchers.codes import format_code
from vouchers.errors import NotFound, StatusChangeRefused
from vouchers.status import Status, check_staff_change
from vouchers.wording import said


@dataclass(frozen=True)
class VoucherEvent:
    """One ledger event about a voucher, with store and till by name; `member` when the member's own
    MARK AS USED, `author` for a staff change."""

    id: str
    kind: str  # redeem, revert, refused, review, status
    at: datetime
    received_at: datetime
    store: str | None
    device: str | None
    outcome: str  # accepted, conflict, rejected
    outcome_reason: str | None
    winner_store: str | None
    winner_device: str | None
    winner_at: datetime | None
    reason: str | None
    verdict: str | None
    new_status: str | None
    cashier: str | None
    author: str | None
    member: bool
    store_id: str | None = None  # its time is shown in this store's zone
    winner_store_id: str | None = None


@dataclass(frozen=True)
class CustomerVoucher:
    """A claimed voucher with its story, newest event last; `staff_choices` are the statuses staff may
    set it to now (seed 002: pending → any other, used → unused), empty when none."""

    id: str
    code: str
    serial: int
    batch_id: str
    batch: str
    batch_state: str
    type: str
    value: str
    valid_until: date | None
    member_id: str | None
    claimed_at: datetime | None
    status: str | None  # None until claimed
    used_at: datetime | None
    used_store: str | None
    used_device: str | None
    used_by_member: bool
    events: tuple[VoucherEvent, ...]
    staff_choices: tuple[str, ...]
    used_store_id: str | None = None

    @property
    def anchor(self) -> str:
        return "voucher-" + self.id.replace(".", "-")

    @property
    def conflicts(self) -> int:
        return sum(e.outcome == "conflict" for e in self.events)


@dataclass(frozen=True)
class Customer:
    member_id: str
    vouchers: tuple[CustomerVoucher, ...]  # newest claim first

    def count(self, status: str) -> int:
        return sum(v.status == status for v in self.vouchers)


@dataclass(frozen=True)
class MemberMatch:
    member_id: str
    vouchers: int
    used: int
    last_claimed_at: datetime | None


@dataclass(frozen=True)
class MemberMatches:
    """Members whose address holds the text searched for, by address; `total` of them all."""

    members: tuple[MemberMatch, ...]
    total: int


def staff_choices(current: str | None) -> tuple[str, ...]:
    """The statuses staff may give a voucher that is `current` now (vouchers/status.py decides)."""
    out = []
    for s in Status:
        try:
            out.append(check_staff_change(current, s).value)
        except StatusChangeRefused:
            pass
    return tuple(out)


def _member_key(text: str) -> str:
    return text.strip().casefold()


def _voucher_query():
    return (
        select(
            vouchers,
            batches.c.identifier,
            batches.c.state,
            batches.c.valid_until,
            batch_types.c.name.label("type_name"),
            batch_types.c.value,
        )
        .join(batches, batches.c.id == vouchers.c.batch_id)
        .join(batch_types, batch_types.c.id == vouchers.c.type_id)
    )


def customer(conn: Connection, member_id: str) -> Customer:
    """Everything this member claimed; NotFound if they have claimed nothing."""
    member_id = _member_key(member_id)
    batch_ids = list(conn.execute(select(batches.c.id)).scalars())
    # batch_id IN (…) AND member_id = … reads the (batch_id, member_id) index, not every voucher
    rows = list(
        conn.execute(
            _voucher_query()
            .where(vouchers.c.batch_id.in_(batch_ids), vouchers.c.member_id == member_id)
            .order_by(vouchers.c.claimed_at.desc(), vouchers.c.batch_id)
        ).mappings()
    )
    if not rows:
        raise NotFound(said("No member '{member}' has claimed a voucher.", member=member_id))
    return Customer(member_id=member_id, vouchers=_stories(conn, rows))


def voucher_story(conn: Connection, batch_id: str, serial: int) -> CustomerVoucher:
    """One voucher, claimed or not, with its story."""
    rows = list(
        conn.execute(
            _voucher_query().where(vouchers.c.batch_id == batch_id, vouchers.c.serial == serial)
        ).mappings()
    )
    if not rows:
        raise NotFound(said("No voucher has this id."))
    return _stories(conn, rows)[0]


def _stories(conn: Connection, rows: list[RowMapping]) -> tuple[CustomerVoucher, ...]:
    ids = [voucher_id(r["batch_id"], r["serial"]) for r in rows]
    event_rows = list(
        conn.execute(
            select(events).where(events.c.voucher_id.in_(ids)).order_by(events.c.received_at, events.c.id)
        ).mappings()
    )
    store_names: dict[str, str] = {r.id: r.name for r in conn.execute(select(stores.c.id, stores.c.name))}
    device_ids = {r["used_device"] for r in rows} | {e["device_id"] for e in event_rows}
    device_ids |= {e["winner_device"] for e in event_rows}
    names = devices.device_names(conn, {d for d in device_ids if d})

    def store(store_id: str | None) -> str | None:
        return store_names.get(store_id, store_id) if store_id else None

    def device(device_id: str | None) -> str | None:
        return names.get(device_id, device_id) if device_id else None

    by_voucher: dict[str, list[VoucherEvent]] = {}
    for e in event_rows:
        by_voucher.setdefault(e["voucher_id"], []).append(
            VoucherEvent(
                id=e["id"],
                kind=e["kind"],
                at=e["at"],
                received_at=e["received_at"],
                store=store(e["store_id"]),
                device=device(e["device_id"]),
                outcome=e["outcome"],
                outcome_reason=e["outcome_reason"],
                winner_store=store(e["winner_store"]),
                winner_device=device(e["winner_device"]),
                winner_at=e["winner_at"],
                reason=e["reason"],
                verdict=e["verdict"],
                new_status=e["new_status"],
                cashier=e["cashier"],
                author=e["author"],
                member=e["member_id"] is not None,
                store_id=e["store_id"],
                winner_store_id=e["winner_store"],
            )
        )
    return tuple(
        CustomerVoucher(
            id=vid,
            code=format_code(r["code"]),
            serial=r["serial"],
            batch_id=r["batch_id"],
            batch=r["identifier"],
            batch_state=r["state"],
            type=r["type_name"],
            value=r["value"],
            valid_until=r["valid_until"],
            member_id=r["member_id"],
            claimed_at=r["claimed_at"],
            status=r["status"],
            used_at=r["used_at"],
            used_store=store(r["used_store"]),
            used_device=device(r["used_device"]),
            used_by_member=r["status"] == Status.USED
            and r["redeemed_by"] is not None
            and r["used_store"] is None,
            events=tuple(by_voucher.get(vid, [])),
            staff_choices=staff_choices(r["status"]),
            used_store_id=r["used_store"],
        )
        for vid, r in zip(ids, rows, strict=True)
    )


def find_members(conn: Connection, text: str, *, limit: int = 50, offset: int = 0) -> MemberMatches:
    """Members whose address contains `text` (any case), by address, `limit` from `offset`."""
    key = _member_key(text)
    where: list[ColumnElement[bool]] = [vouchers.c.member_id.is_not(None)]
    if key:
        where.append(vouchers.c.member_id.contains(key, autoescape=True))
    grouped = (
        select(
            vouchers.c.member_id,
            func.count().label("vouchers"),
            func.count().filter(vouchers.c.status == Status.USED.value).label("used"),
            func.max(vouchers.c.claimed_at).label("last_claimed_at"),
        )
        .where(*where)
        .group_by(vouchers.c.member_id)
    )
    total = conn.execute(select(func.count()).select_from(grouped.subquery())).scalar_one()
    rows = conn.execute(grouped.order_by(vouchers.c.member_id).limit(limit).offset(offset)).all()
    return MemberMatches(
        members=tuple(MemberMatch(r.member_id, r.vouchers, r.used, r.last_claimed_at) for r in rows),
        total=total,
    )
