"""Claims made by the thousand straight in head office's database, for tests and benchmarks whose
tills must hold many vouchers: a till holds the claimed ones only (docs/DESIGN.md, "What a till
holds"), and claiming 100,000 one request at a time would take minutes.

Each voucher gets what a claim gives it (central/services/claims.py): a member of its own, the
time, its type's initial status, and a new change number drawn as every writer draws one
(central/db/engine.py), so every till hears of it through its cursor.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update

from central.db.engine import Database, next_seqs
from central.db.schema import batch_types, batches, utcnow, vouchers

_TAKE = (
    update(vouchers)
    .where(vouchers.c.batch_id == bindparam("b"), vouchers.c.serial == bindparam("s"))
    .values(
        member_id=bindparam("m"),
        claimed_at=bindparam("at", type_=vouchers.c.claimed_at.type),
        status=bindparam("initial"),
        change_seq=bindparam("seq"),
    )
)


def claim_in_database(database_url: str, batch_id: str, *, every: int = 1, limit: int | None = None) -> int:
    """Claim the batch's unclaimed vouchers whose serial is a multiple of `every` (at most `limit`,
    lowest serials first), in one transaction; returns how many."""
    db = Database(database_url)
    try:
        with db.write() as conn:
            query = (
                select(vouchers.c.serial, batch_types.c.initial_status)
                .join(batch_types, batch_types.c.id == vouchers.c.type_id)
                .where(vouchers.c.batch_id == batch_id, vouchers.c.member_id.is_(None))
                .order_by(vouchers.c.serial)
            )
            if every > 1:
                query = query.where(vouchers.c.serial % every == 0)
            if limit is not None:
                query = query.limit(limit)
            rows = conn.execute(query).all()
            if not rows:
                return 0
            now = utcnow()
            seqs = next_seqs(conn, len(rows))
            conn.execute(
                _TAKE,
                [
                    {
                        "b": batch_id,
                        "s": serial,
                        "m": f"bulk-{serial}@example.com",
                        "at": now,
                        "initial": st,
                        "seq": q,
                    }
                    for (serial, st), q in zip(rows, seqs, strict=True)
                ],
            )
            conn.execute(
                update(batches).where(batches.c.id == batch_id).values(claimed=batches.c.claimed + len(rows))
            )
            return len(rows)
    finally:
        db.dispose()
