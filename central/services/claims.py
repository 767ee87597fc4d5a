"""A member claims a voucher from a batch (seed 000): one per member, while claims are active."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from central.db.engine import next_seq
from central.db.schema import batch_types, batches, utcnow, vouchers
from central.services.ids import voucher_id
from vouchers.claims import check_claim
from vouchers.codes import format_code
from vouchers.errors import NotFound


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


def claim(conn: Connection, claim_token: str, member_id: str, *, show_code: bool = True) -> dict:
    """Give the member (a case-folded e-mail address) an unclaimed voucher, or raise ClaimRefused
    saying why not; `already-claimed` carries their code only when `show_code` (their own session)."""
    batch = batch_by_token(conn, claim_token)
    existing = members_code(conn, batch["id"], member_id)
    check_claim(
        batch["state"], batch["claims"], batch["total"] - batch["claimed"], existing, show_code=show_code
    )
    voucher = conn.execute(
        select(vouchers.c.serial, vouchers.c.code, batch_types.c.initial_status)
        .join(batch_types, batch_types.c.id == vouchers.c.type_id)
        .where(vouchers.c.batch_id == batch["id"], vouchers.c.member_id.is_(None))
        .limit(1)
        .with_for_update(skip_locked=True, of=vouchers)  # claims beside each other take different ones
    ).first()
    if voucher is None:  # counters and rows disagree only if generation was cut short
        check_claim(batch["state"], batch["claims"], 0, None)
    conn.execute(
        update(vouchers)
        .where(vouchers.c.batch_id == batch["id"], vouchers.c.serial == voucher.serial)
        .values(
            member_id=member_id,
            claimed_at=utcnow(),
            status=voucher.initial_status,
            change_seq=next_seq(conn),
        )
    )
    conn.execute(update(batches).where(batches.c.id == batch["id"]).values(claimed=batches.c.claimed + 1))
    return {
        "code": format_code(voucher.code),
        "batch_id": batch["id"],
        "status": voucher.initial_status,
        "voucher_id": voucher_id(batch["id"], voucher.serial),
    }
