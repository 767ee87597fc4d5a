"""Members: an e-mail sign-in with sessions kept on the server, their claimed vouchers (My
vouchers), and their own MARK AS USED (seed 002).

A member is known by the e-mail address they sign in with (proven by a mailed link or code,
services/member_sign_in.py), case-folded: it is the `member_id` their claims carry. Member
sessions are apart from staff sessions (their own table and cookie), so one never opens the
other's pages. As for staff, the cookie carries a random token whose hash keys the
session, so signing out ends it at once in every server process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, insert, select

from central.db.schema import batch_types, batches, member_sessions, stores, utcnow, vouchers
from central.services import ledger
from central.services.ids import new_token, token_hash, voucher_id
from central.services.ledger_rows import EventRecord
from vouchers import ids
from vouchers.codes import format_code
from vouchers.errors import NotFound
from vouchers.status import Status
from vouchers.verdict import Verdict


@dataclass(frozen=True)
class MemberSession:
    """A signed-in member, as a member page sees them."""

    member_id: str
    csrf_token: str
    expires_at: datetime


def start_session(conn: Connection, member_id: str, *, days: int) -> tuple[str, MemberSession]:
    """A new session for this member: the cookie's token and the session. Only for an address
    just proven by its sign-in mail (services/member_sign_in.py)."""
    now = utcnow()
    conn.execute(delete(member_sessions).where(member_sessions.c.expires_at < now))
    token, csrf = new_token(), new_token(24)
    expires = now + timedelta(days=days)
    conn.execute(
        insert(member_sessions).values(
            token_hash=token_hash(token),
            member_id=member_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    return token, MemberSession(member_id=member_id, csrf_token=csrf, expires_at=expires)


def session_for(conn: Connection, token: str) -> MemberSession | None:
    """The live member session this cookie token stands for, if any."""
    row = conn.execute(
        select(member_sessions.c.member_id, member_sessions.c.csrf_token, member_sessions.c.expires_at).where(
            member_sessions.c.token_hash == token_hash(token)
        )
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return MemberSession(member_id=row.member_id, csrf_token=row.csrf_token, expires_at=row.expires_at)


def sign_out(conn: Connection, token: str) -> None:
    conn.execute(delete(member_sessions).where(member_sessions.c.token_hash == token_hash(token)))


def _query(member_id: str):
    return (
        select(
            vouchers,
            batches.c.identifier,
            batches.c.description,
            batches.c.state,
            batches.c.stores,
            batches.c.valid_from,
            batches.c.valid_until,
            batch_types.c.name.label("type_name"),
            batch_types.c.value,
            batch_types.c.min_purchase,
            stores.c.name.label("store_name"),
        )
        .join(batches, batches.c.id == vouchers.c.batch_id)
        .join(batch_types, batch_types.c.id == vouchers.c.type_id)
        .outerjoin(stores, stores.c.id == vouchers.c.used_store)
        .where(vouchers.c.member_id == member_id)
    )


def anchor(vid: str) -> str:
    """The voucher's element id on a page."""
    return "voucher-" + vid.replace(".", "-")


@dataclass(frozen=True)
class MemberVoucher:
    """One voucher as My vouchers shows it, with whether MARK AS USED is offered and, if not, why
    (`refusal`: the verdict a till would give, which the page words in the member's language; also
    for a used voucher of a void batch). `status` is seed 002's status, worded by the page too."""

    id: str
    serial: int
    anchor: str
    code: str
    batch_id: str
    batch: str
    description: str
    type: str
    value: str
    min_purchase: str | None
    valid_from: date | None
    valid_until: date | None
    claimed_at: datetime | None
    status: str
    used_at: datetime | None
    used_where: str | None
    used_by_member: bool
    can_mark: bool
    refusal: Verdict | None


def _card(conn: Connection, row: Any, now: datetime, zones: dict[str, list[ZoneInfo]]) -> MemberVoucher:
    """One voucher as My vouchers shows it, with whether MARK AS USED is offered and why not."""
    v = row._mapping
    status = Status(v["status"])
    can_mark, refusal = False, None
    if status is Status.UNUSED:
        if v["batch_id"] not in zones:
            zones[v["batch_id"]] = ledger.store_zones(conn, v)
        batch = {
            "id": v["batch_id"],
            "state": v["state"],
            "valid_from": v["valid_from"],
            "valid_until": v["valid_until"],
            "stores": v["stores"],
        }
        verdict = ledger.member_verdict(dict(v), batch, zones[v["batch_id"]], now)
        can_mark = verdict is Verdict.ACCEPTED
        refusal = None if can_mark else verdict
    elif v["state"] == "void":
        refusal = Verdict.BATCH_VOID
    vid = voucher_id(v["batch_id"], v["serial"])
    return MemberVoucher(
        id=vid,
        serial=v["serial"],
        anchor=anchor(vid),
        code=format_code(v["code"]),
        batch_id=v["batch_id"],
        batch=v["identifier"],
        description=v["description"],
        type=v["type_name"],
        value=v["value"],
        min_purchase=v["min_purchase"],
        valid_from=v["valid_from"],
        valid_until=v["valid_until"],
        claimed_at=v["claimed_at"],
        status=status.value,
        used_at=v["used_at"],
        used_where=v["store_name"] or v["used_store"],
        used_by_member=status is Status.USED and v["redeemed_by"] is not None and v["used_store"] is None,
        can_mark=can_mark,
        refusal=refusal,
    )


def wallet(conn: Connection, member_id: str) -> list[MemberVoucher]:
    """Every voucher this member claimed, newest claim first."""
    now, zones = utcnow(), dict[str, list[ZoneInfo]]()
    rows = conn.execute(_query(member_id).order_by(vouchers.c.claimed_at.desc(), vouchers.c.batch_id))
    return [_card(conn, r, now, zones) for r in rows]


def voucher(conn: Connection, member_id: str, vid: str) -> MemberVoucher:
    """One of this member's vouchers, by id; NotFound for any other (another member's included)."""
    key = ids.try_parse(vid)
    row = None
    if key is not None:
        row = conn.execute(
            _query(member_id).where(vouchers.c.batch_id == key.batch_id, vouchers.c.serial == key.serial)
        ).first()
    if row is None:
        raise NotFound("You have no voucher with this id.")
    return _card(conn, row, utcnow(), {})


def voucher_in_batch(conn: Connection, member_id: str, batch_id: str) -> MemberVoucher | None:
    """The voucher this member claimed from this batch, if any (one claim per member per batch)."""
    row = conn.execute(_query(member_id).where(vouchers.c.batch_id == batch_id)).first()
    return _card(conn, row, utcnow(), {}) if row is not None else None


def raw_code(conn: Connection, member_id: str, vid: str) -> str:
    """The canonical code of one of this member's vouchers, for its barcode images."""
    voucher(conn, member_id, vid)
    batch_id, serial = ids.parse(vid)
    return conn.execute(
        select(vouchers.c.code).where(vouchers.c.batch_id == batch_id, vouchers.c.serial == serial)
    ).scalar_one()


def new_event_id() -> str:
    """The idempotency key a MARK AS USED form carries, so that sending it twice counts once."""
    return str(uuid.uuid4())


def mark_used(conn: Connection, member_id: str, vid: str, event_id: str) -> EventRecord:
    """The member's MARK AS USED: a redemption in the ledger (see ledger.member_redeem)."""
    try:
        event_id = str(uuid.UUID(event_id))
    except ValueError:
        event_id = new_event_id()
    return ledger.member_redeem(conn, member_id, vid, event_id)
