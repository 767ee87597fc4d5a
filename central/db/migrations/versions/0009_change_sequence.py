"""PostgreSQL draws change numbers from a sequence, so writers no longer queue on the one
change_counter row (db/engine.py says how the snapshot stays exact). SQLite keeps the counter.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE SEQUENCE change_seq_gen AS bigint MINVALUE 0 START WITH 1")
    # go on from the counter: the next number drawn is one above every number given so far
    op.execute("SELECT setval('change_seq_gen', value, true) FROM change_counter WHERE id = 1")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("UPDATE change_counter SET value = (SELECT last_value FROM change_seq_gen) WHERE id = 1")
    op.execute("DROP SEQUENCE change_seq_gen")
