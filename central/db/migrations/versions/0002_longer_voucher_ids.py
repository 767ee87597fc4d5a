"""Events and tombstones take voucher ids as long as the wire allows (200 characters).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.alter_column("voucher_id", type_=sa.String(200), existing_type=sa.String(100))
    with op.batch_alter_table("tombstones") as batch_op:
        batch_op.alter_column("entity_id", type_=sa.String(200), existing_type=sa.String(100))


def downgrade() -> None:
    with op.batch_alter_table("tombstones") as batch_op:
        batch_op.alter_column("entity_id", type_=sa.String(100), existing_type=sa.String(200))
    with op.batch_alter_table("events") as batch_op:
        batch_op.alter_column("voucher_id", type_=sa.String(100), existing_type=sa.String(200))
