"""A device is a till or a shop's hub (docs/PROTOCOL.md, "A shop's hub"): the hub may read its
store's device list and submit its tills' events, so an enrolment code says which one it makes.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as table:
        table.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="till"))
    with op.batch_alter_table("enrolment_codes") as table:
        table.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="till"))


def downgrade() -> None:
    with op.batch_alter_table("enrolment_codes") as table:
        table.drop_column("role")
    with op.batch_alter_table("devices") as table:
        table.drop_column("role")
