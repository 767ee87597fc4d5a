"""A member claims a voucher from a batch (seed 000): one per member, while claims are active."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, select, update

from central.db.batcher import defer_count
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
# Two statements a claim: the batch with the member's own voucher of it, if any; then one UPDATE
# that takes a free voucher (skipping those a claim beside it holds) and returns it.
_OWN_VOUCHER = vouchers.alias("own")
_BATCH = (
    select(
        batches.c.id,
        batches.c.state,
        batches.c.claims,
        batches.c.total,
        batches.c.claimed,
        _OWN_VOUCHER.c.code,
    )
    .select_from(
        batches.outerjoin(
            _OWN_VOUCHER,
            (_OWN_VOUCHER.c.batch_id == batches.c.id) & (_OWN_VOUCHER.c.member_id == bindparam("member")),
        )
    )
    .where(batches.c.claim_token == bindparam("token"))
)
_FREE = (
    select(vouchers.c.code)
    .where(vouchers.c.batch_id == bindparam("batch"), vouchers.c.member_id.is_(None))
    # in the order of ix_vouchers_batch_member, so that the planner reads that index: with a LIMIT
    # and no order, PostgreSQL took a whole-table scan, its statistics saying free vouchers are
    # everywhere when they sit after every claimed one (73 ms a claim at 100,000 claimed, not 4)
    .order_by(vouchers.c.member_id)
    .limit(1)
    .with_for_update(skip_locked=True)  # claims beside each other take different ones
    .scalar_subquery()
)
_INITIAL = (
    select(batch_types.c.initial_status).where(batch_types.c.id == vouchers.c.type_id).scalar_subquery()
)
_TAKE = (
    update(vouchers)
    # by its code, which one index holds: by (batch_id, serial), PostgreSQL took the voucher from
    # ix_vouchers_batch_member on batch_id alone, reading every voucher of the batch for each claim
    # (a new batch's statistics, until the next ANALYZE, give it one row; both indexes then cost
    # the same to the planner): 1.5 ms of its CPU a claim at 3,000 claimed, growing with them
    .where(vouchers.c.code == _FREE)
    .values(
        member_id=bindparam("member"),
        claimed_at=bindparam("at", type_=vouchers.c.claimed_at.type),
        status=_INITIAL,
        change_seq=bindparam("seq"),
    )
    .returning(vouchers.c.serial, vouchers.c.code, vouchers.c.status)
)
_COUNT = (
    update(batches)
    .where(batches.c.id == bindparam("batch"))
    .values(claimed=batches.c.claimed + bindparam("n"))
)


def _count(conn: Connection, counts: Mapping[str, int]) -> None:
    """Add each batch's claims to its `claimed` counter (once per group of claims, db/batcher.py)."""
    conn.execute(_COUNT, [{"batch": batch_id, "n": n} for batch_id, n in counts.items()])


def claim(conn: Connection, claim_token: str, member_id: str, *, show_code: bool = True) -> Claimed:
    """Give the member (a case-folded e-mail address) an unclaimed voucher, or raise ClaimRefused
    saying why not; `already-claimed` carries their code only when `show_code` (their own session)."""
    batch = conn.execute(_BATCH, {"token": claim_token, "member": member_id}).first()
    if batch is None:
        raise NotFound("This claim link is not valid. Check the link, or ask the shop for a new one.")
    existing = format_code(batch.code) if batch.code else None
    check_claim(batch.state, batch.claims, batch.total - batch.claimed, existing, show_code=show_code)
    voucher = conn.execute(
        _TAKE, {"batch": batch.id, "member": member_id, "at": utcnow(), "seq": next_seq(conn)}
    ).first()
    if voucher is None:  # counters and rows disagree only if generation was cut short
        check_claim(batch.state, batch.claims, 0, None)  # refuses: none is available
        raise AssertionError("check_claim let a claim through with no voucher available")
    if not defer_count(conn, _count, batch.id):
        _count(conn, {batch.id: 1})
    return Claimed(
        code=format_code(voucher.code),
        batch_id=batch.id,
        status=voucher.status,
        voucher_id=voucher_id(batch.id, voucher.serial),
    )
