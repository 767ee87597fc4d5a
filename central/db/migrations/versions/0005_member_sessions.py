"""Members' sessions for the claim page and My vouchers, and the member who marked a voucher
used as the actor of a ledger event.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(200), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_member_sessions")),
    )
    op.create_index(op.f("ix_member_sessions_member_id"), "member_sessions", ["member_id"], unique=False)
    op.create_index(op.f("ix_member_sessions_expires_at"), "member_sessions", ["expires_at"], unique=False)
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("member_id", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("member_id")
    op.drop_index(op.f("ix_member_sessions_expires_at"), table_name="member_sessions")
    op.drop_index(op.f("ix_member_sessions_member_id"), table_name="member_sessions")
    op.drop_table("member_sessions")
