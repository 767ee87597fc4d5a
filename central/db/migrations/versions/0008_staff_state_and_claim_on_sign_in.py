"""Staff accounts can be disabled (and enabled again) from the dashboard; a member's sign-in asked
from a claim page remembers that claim, which completes when the mail's link or code is used.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("member_sign_ins") as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member_sign_ins") as batch_op:
        batch_op.drop_column("claim_token")
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_column("disabled_at")
