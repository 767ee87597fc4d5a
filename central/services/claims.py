"""A member claims a voucher from a batch (seed 000): one per member, while claims are active."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update

from central.db.engine import next_seq
from central.db.schema import batch_types, batches, utcnow, vouchers
from central.services.ids import voucher_id
from vouchers.claims import check_claim
from vouchers.codes import format_code
from vouchers.errors import NotFound


@dataclass(frozen=True)
class Claimed:
    """A voucher just claimed: its code (formatted), its batch, its status from its type's
    initial_status (seed 002), and its id."""

    code: str
    batch_id: str
    status: str
    voucher_id: str


def batch_by_token(conn: Connection, claim_token: str):
    row = conn.execute(select(batches).where(batches.c.claim_token == claim_token)).mappings().first()
    if row is None:
        raise NotFound("This claim link is not valid. Check the link, or ask the shop for a new one.")
    return row


def members_code(conn: Connection, batch_id: str, member_id: str) -> str | None:
    code = conn.execute(
        select(vouchers.c.code).where(vouchers.c.batch_id == batch_id, vouchers.c.member_id == member_id)
    ).scalar_one_or_none()
    return format_code(code) if code else None


# The claim's statements, built once: a claim is small, so building and caching its SQL each time
# would cost more than running it (claims come by the thousand a second after a campaign mail).
_BATCH = select(batches.c.id, batches.c.state, batches.c.claims, batches.c.total, batches.c.claimed).where(
    batches.c.claim_token == bindparam("token")
)
_OWN = select(vouchers.c.code).where(
    vouchers.c.batch_id == bindparam("batch"), vouchers.c.member_id == bindparam("member")
)
_FREE = (
    select(vouchers.c.serial, vouchers.c.code, batch_types.c.initial_status)
    .join(batch_types, batch_types.c.id == vouchers.c.type_id)
    .where(vouchers.c.batch_id == bindparam("batch"), vouchers.c.member_id.is_(None))
    .limit(1)
    .with_for_update(skip_locked=True, of=vouchers)  # claims beside each other take different ones
)
_TAKE = (
    update(vouchers)
    .where(vouchers.c.batch_id == bindparam("batch"), vouchers.c.serial == bindparam("k_serial"))
    .values(
        member_id=bindparam("member"),
        claimed_at=bindparam("at", type_=vouchers.c.claimed_at.type),
        status=bindparam("initial"),
        change_seq=bindparam("seq"),
    )
)
_COUNT = update(batches).where(batches.c.id == bindparam("batch")).values(claimed=batches.c.claimed + 1)


def claim(conn: Connection, claim_token: str, member_id: str, *, show_code: bool = True) -> Claimed:
    """Give the member (a case-folded e-mail address) an unclaimed voucher, or raise ClaimRefused
    saying why not; `already-claimed` carries their code only when `show_code` (their own session)."""
    batch = conn.execute(_BATCH, {"token": claim_token}).first()
    if batch is None:
        raise NotFound("This claim link is not valid. Check the link, or ask the shop for a new one.")
    own = conn.execute(_OWN, {"batch": batch.id, "member": member_id}).scalar_one_or_none()
    existing = format_code(own) if own else None
    check_claim(batch.state, batch.claims, batch.total - batch.claimed, existing, show_code=show_code)
    voucher = conn.execute(_FREE, {"batch": batch.id}).first()
    if voucher is None:  # counters and rows disagree only if generation was cut short
        check_claim(batch.state, batch.claims, 0, None)  # refuses: none is available
        raise AssertionError("check_claim let a claim through with no voucher available")
    conn.execute(
        _TAKE,
        {
            "batch": batch.id,
            "k_serial": voucher.serial,
            "member": member_id,
            "at": utcnow(),
            "initial": voucher.initial_status,
            "seq": next_seq(conn),
        },
    )
    conn.execute(_COUNT, {"batch": batch.id})
    return Claimed(
        code=format_code(voucher.code),
        batch_id=batch.id,
        status=voucher.initial_status,
        voucher_id=voucher_id(batch.id, voucher.serial),
    )
