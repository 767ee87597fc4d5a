"""Who is who (issue 13): staff roles and personal API tokens, integration tokens for shops' own
web sites, members' pending sign-ins (a one-time link and code sent by mail), rate-limit counters
shared by every server process, and the audit log of every change at head office (append-only:
triggers refuse UPDATE and DELETE). Existing member ids are case-folded; ids that would collide
with another of the same batch stay as they were and are reported in the audit log. Every member
session of before ends: nothing proved its address.

Revision ID: 0007
Revises: 0006
"""

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

AUDIT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite: the rowid, in insertion order


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="admin"))
    op.create_table(
        "staff_tokens",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"], name=op.f("fk_staff_tokens_staff_id_staff"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_tokens_token_hash")),
    )
    op.create_index(op.f("ix_staff_tokens_staff_id"), "staff_tokens", ["staff_id"], unique=False)
    op.create_table(
        "integration_tokens",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_integration_tokens_token_hash")),
    )
    op.create_table(
        "member_sign_ins",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(200), nullable=False),
        sa.Column("link_hash", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("next_page", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_sign_ins")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_member_sign_ins_link_hash")),
    )
    op.create_index(op.f("ix_member_sign_ins_browser_hash"), "member_sign_ins", ["browser_hash"], unique=False)
    op.create_index(op.f("ix_member_sign_ins_expires_at"), "member_sign_ins", ["expires_at"], unique=False)
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", AUDIT_ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("address", sa.String(100), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity_kind", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(200), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_actor"), "audit_log", ["actor"], unique=False)
    op.create_index(op.f("ix_audit_log_entity_id"), "audit_log", ["entity_id"], unique=False)
    _append_only()
    _fold_member_ids()
    op.execute("DELETE FROM member_sessions")
    # the per-address lockout of revision 0004 is gone: a stranger could lock an account with it
    # (central/limits.py slows failures per account and client address instead)
    op.drop_table("sign_in_throttle")


def _append_only() -> None:
    """Nothing in the audit log is ever changed or deleted: the database refuses it."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                       "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
        return
    op.execute("CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$")
    op.execute("CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
    op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()")


def _fold_member_ids() -> None:
    """Member ids compared case-folded from now on: fold the stored ones, except where two of one
    batch fold alike (one member claimed twice under two spellings), which are reported."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT batch_id, serial, member_id FROM vouchers WHERE member_id IS NOT NULL")).all()
    taken = {(r.batch_id, r.member_id.strip().casefold()) for r in rows if r.member_id == r.member_id.strip().casefold()}
    changes, collisions = [], []
    for r in rows:
        folded = r.member_id.strip().casefold()
        if folded == r.member_id:
            continue
        if (r.batch_id, folded) in taken:
            collisions.append(r)
            continue
        taken.add((r.batch_id, folded))
        changes.append({"b": r.batch_id, "s": r.serial, "m": folded})
    if changes:
        conn.execute(sa.text("UPDATE vouchers SET member_id = :m WHERE batch_id = :b AND serial = :s"), changes)
    for old in sorted({r.member_id for r in conn.execute(sa.text(
            "SELECT DISTINCT member_id FROM events WHERE member_id IS NOT NULL")).all()}):
        if old != old.strip().casefold():
            conn.execute(sa.text("UPDATE events SET member_id = :new WHERE member_id = :old"),
                         {"new": old.strip().casefold(), "old": old})
    audit = sa.table("audit_log", sa.column("at"), sa.column("actor"), sa.column("actor_kind"), sa.column("action"),
                     sa.column("entity_kind"), sa.column("entity_id"), sa.column("before", sa.JSON),
                     sa.column("after", sa.JSON))
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as UTC, as UTCDateTime does
    for r in collisions:
        log.warning("member id %r of voucher %s.%s not case-folded: the batch has a claim of %r already",
                    r.member_id, r.batch_id, r.serial, r.member_id.strip().casefold())
        conn.execute(sa.insert(audit).values(
            at=now, actor="migration 0007", actor_kind="system", action="member.fold-collision", entity_kind="voucher",
            entity_id=f"{r.batch_id}.{r.serial}", before={"member_id": r.member_id},
            after={"member_id": r.member_id, "collides_with": r.member_id.strip().casefold()}))


def downgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_throttle")),
    )
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_no_change ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index(op.f("ix_audit_log_entity_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("rate_limits")
    op.drop_index(op.f("ix_member_sign_ins_expires_at"), table_name="member_sign_ins")
    op.drop_index(op.f("ix_member_sign_ins_browser_hash"), table_name="member_sign_ins")
    op.drop_table("member_sign_ins")
    op.drop_table("integration_tokens")
    op.drop_index(op.f("ix_staff_tokens_staff_id"), table_name="staff_tokens")
    op.drop_table("staff_tokens")
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_column("role")
