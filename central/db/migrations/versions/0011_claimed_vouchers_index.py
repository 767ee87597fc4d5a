"""A till's snapshot holds only claimed vouchers (docs/DESIGN.md, "What a till holds"): an index of
the claimed ones in change order, so a first sync reads them and nothing else, in place of the index
of every voucher's change number (only the snapshot read it: dropping it spares generation and the
disk an entry per voucher); and a guard that keeps a claim from being taken back without the till
hearing of it.

The guard: no path gives a voucher back (claims are for good, seed 000), and the snapshot relies
on it, since an unclaimed voucher is never sent. An UPDATE that sets a claimed voucher's member_id
back to NULL is refused by the database; a release, if one is ever built, must drop this trigger
and write a `voucher` tombstone (services/snapshot.py) in the same transaction. (An SQLite
migration that rebuilds the vouchers table with batch_alter_table must create it again.)

On PostgreSQL the index is built while writes to vouchers wait: minutes on a table of 100,000,000.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CLAIMED = "member_id IS NOT NULL"
REFUSAL = "a claim is never taken back: a release must send the tills a voucher tombstone (migration 0011)"


def upgrade() -> None:
    op.drop_index("ix_vouchers_change_seq", table_name="vouchers")
    op.create_index(
        "ix_vouchers_claimed_change_seq",
        "vouchers",
        ["change_seq"],
        sqlite_where=sa.text(CLAIMED),
        postgresql_where=sa.text(CLAIMED),
    )
    when = "OLD.member_id IS NOT NULL AND NEW.member_id IS NULL"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER vouchers_claim_stays BEFORE UPDATE OF member_id ON vouchers WHEN {when} "
            f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )
        return
    op.execute(
        "CREATE FUNCTION vouchers_claim_stays() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER vouchers_claim_stays BEFORE UPDATE OF member_id ON vouchers FOR EACH ROW "
        f"WHEN ({when}) EXECUTE FUNCTION vouchers_claim_stays()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER vouchers_claim_stays")
    else:
        op.execute("DROP TRIGGER vouchers_claim_stays ON vouchers")
        op.execute("DROP FUNCTION vouchers_claim_stays()")
    op.drop_index("ix_vouchers_claimed_change_seq", table_name="vouchers")
    op.create_index("ix_vouchers_change_seq", "vouchers", ["change_seq"])
