"""Problems to review: every conflict and rejection of a till's event, seen by both stores of a
conflict, with the review that closes it; `reviews` on a ledger event names the problem a review
event closed, and `author` the person at head office who made a staff event.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "problems",
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("store_id", sa.String(64), nullable=True),
        sa.Column("winner_store", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("review_event_id", sa.String(64), nullable=True),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_problems")),
    )
    op.create_index(op.f("ix_problems_change_seq"), "problems", ["change_seq"], unique=False)
    op.create_index(op.f("ix_problems_store_id"), "problems", ["store_id"], unique=False)
    op.create_index(op.f("ix_problems_winner_store"), "problems", ["winner_store"], unique=False)
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("reviews", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("author", sa.String(200), nullable=True))

    # the conflicts and rejections recorded before this revision, each with a change number
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT id, store_id, winner_store, outcome FROM events WHERE outcome IN ('conflict', 'rejected') "
        "AND store_id IS NOT NULL ORDER BY received_at, id")).all()
    if rows:
        last = conn.execute(sa.text("SELECT value FROM change_counter WHERE id = 1")).scalar_one()
        conn.execute(sa.text("UPDATE change_counter SET value = :v WHERE id = 1"), {"v": last + len(rows)})
        conn.execute(sa.text(
            "INSERT INTO problems (event_id, store_id, winner_store, outcome, change_seq) VALUES (:e, :s, :w, :o, :c)"),
            [{"e": r.id, "s": r.store_id, "w": r.winner_store, "o": r.outcome, "c": last + 1 + i}
             for i, r in enumerate(rows)])


def downgrade() -> None:
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("author")
        batch_op.drop_column("reviews")
    op.drop_index(op.f("ix_problems_winner_store"), table_name="problems")
    op.drop_index(op.f("ix_problems_store_id"), table_name="problems")
    op.drop_index(op.f("ix_problems_change_seq"), table_name="problems")
    op.drop_table("problems")
