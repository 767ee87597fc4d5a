"""The central database, as of the newest migration (Alembic revisions in migrations/)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Deployment-wide values, such as the code hash key.
meta = Table(
    "meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text, nullable=False)
)

# The change cursor: one row, bumped inside every write transaction, so that change sequence
# order is commit order and a snapshot reader never skips a change.
change_counter = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)

stores = Table(
    "stores",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("locale", String(16)),  # its tills' language and formats (en, fr, de, es, or de_CH ...)
)

enrolment_codes = Table(
    "enrolment_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("store_id", String(64), ForeignKey("stores.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime),
    Column("device_id", String(64)),
    Column("role", String(16), nullable=False, server_default="till"),  # till or hub (migration 0010)
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("store_id", String(64), ForeignKey("stores.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("enrolled_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_heartbeat_at", UTCDateTime),
    Column("version", String(200)),
    Column("pending", Integer),
    Column("last_pull_at", UTCDateTime),
    Column("last_push_at", UTCDateTime),
    Column("snapshot_cursor", BigInteger),
    Column("clock_skew_seconds", Integer),
    Column("role", String(16), nullable=False, server_default="till"),  # till or hub (migration 0010)
)

batches = Table(
    "batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("identifier", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("serial_start", BigInteger, nullable=False),
    Column("serial_end", BigInteger, nullable=False),
    Column("valid_from", Date),
    Column("valid_until", Date),
    Column("stores", JSON),
    Column("channel", String(32)),
    Column("state", String(16), nullable=False),
    Column("claims", String(16), nullable=False),
    Column("claim_token", String(64), nullable=False, unique=True),
    Column("total", BigInteger, nullable=False, default=0),
    Column("claimed", BigInteger, nullable=False, default=0),
    Column("redeemed", BigInteger, nullable=False, default=0),
    Column("generated", BigInteger, nullable=False, default=0),
    Column("generation_next_serial", BigInteger),
    Column("generation_owner", String(64)),
    Column("generation_lease_until", UTCDateTime),
    Column("generation_error", Text),
    Column("validation_errors", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("change_seq", BigInteger, nullable=False, index=True),
)

batch_types = Table(
    "batch_types",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("batch_id", String(64), ForeignKey("batches.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("serial_start", BigInteger, nullable=False),
    Column("serial_end", BigInteger, nullable=False),
    Column("value", String(200), nullable=False),
    Column("min_purchase", String(200)),
    Column("initial_status", String(16), nullable=False),
    Column("change_seq", BigInteger, nullable=False, index=True),
)

# A voucher's id is "<batch id>.<serial>"; the row is keyed by (batch_id, serial).
vouchers = Table(
    "vouchers",
    metadata,
    Column("batch_id", String(64), ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
    Column("serial", BigInteger, primary_key=True, autoincrement=False),
    Column("type_id", String(64), nullable=False),
    Column("code", String(32), nullable=False, unique=True),
    Column("code_hash", String(64), nullable=False),
    Column("member_id", String(200)),
    Column("claimed_at", UTCDateTime),
    Column("status", String(16)),
    Column("used_at", UTCDateTime),
    Column("used_store", String(64)),
    Column("used_device", String(64)),
    Column("redeemed_by", String(64)),
    Column("change_seq", BigInteger, nullable=False),
    Index("ix_vouchers_batch_member", "batch_id", "member_id", unique=True),
    # the snapshot's vouchers: claimed ones only, in change order (services/snapshot.py); it replaced
    # the index of every voucher's change_seq, which nothing reads (migration 0011)
    Index(
        "ix_vouchers_claimed_change_seq",
        "change_seq",
        sqlite_where=text("member_id IS NOT NULL"),
        postgresql_where=text("member_id IS NOT NULL"),
    ),
)

# The ledger: every event a till pushed and every staff change, with its outcome, for ever.
events = Table(
    "events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("store_id", String(64), index=True),
    Column("device_id", String(64)),
    Column("device_seq", BigInteger),
    Column("voucher_id", String(200), index=True),
    Column("batch_id", String(64), index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("cashier", String(200)),
    Column("reverts", String(64)),
    Column("reason", Text),
    Column("verdict", String(32)),
    Column("new_status", String(16)),
    Column("outcome", String(16), nullable=False, index=True),  # the dashboard lists conflicts and rejections
    Column("outcome_reason", String(64)),
    Column("winner_store", String(64)),
    Column("winner_device", String(64)),
    Column("winner_at", UTCDateTime),
    Column("member_id", String(200)),  # a member's own MARK AS USED: the actor, with no store or device
    Column("reviews", String(64)),  # a review event: the problem (an event id) it closed
    Column("author", String(200)),  # a staff event: who at head office made it
)

# Every conflict and rejection of a till's event, until someone reviews it: the event's own store
# and, for a conflict, the store whose redemption won both see it (through their snapshots, by
# change_seq); a review by a store's manager or by head-office staff closes it, for both.
problems = Table(
    "problems",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("store_id", String(64), index=True),
    Column("winner_store", String(64), index=True),
    Column("outcome", String(16), nullable=False),
    Column("reviewed_at", UTCDateTime),
    Column("reviewed_by", String(200)),
    Column("review_note", Text),
    Column("review_event_id", String(64)),
    Column("change_seq", BigInteger, nullable=False, index=True),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("change_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("entity_id", String(200), nullable=False),
)

# Head-office staff who sign in to the dashboard; passwords as scrypt hashes with a per-user salt.
staff = Table(
    "staff",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("email", String(200), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_sign_in_at", UTCDateTime),
    Column("role", String(16), nullable=False, server_default="admin"),  # viewer, campaigns or admin
    Column(
        "disabled_at", UTCDateTime
    ),  # disabled: no sign-in, no session, no API token works (revision 0008)
)

# Personal API tokens of staff (the admin API and voucher-central's admin commands): shown once,
# stored hashed, with an expiry; revoked ones stay, so the audit log's names keep their meaning.
staff_tokens = Table(
    "staff_tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("staff_id", String(64), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

# Tokens head office issues to a shop's own web site, which claims on behalf of its customers.
integration_tokens = Table(
    "integration_tokens",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

# Dashboard sessions, kept on the server so that signing out (or removing the account) ends
# them at once, in every server process; the cookie holds a random token, stored here hashed.
staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(64), ForeignKey("staff.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# Members' sessions (the claim page and My vouchers), apart from staff sessions: a member is
# known by an e-mail address (the vouchers' member_id); the cookie holds a random token,
# stored here hashed, so signing out ends the session at once in every server process.
member_sessions = Table(
    "member_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("member_id", String(200), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)


# A member's sign-in waiting for its proof: the mail's one-time link and its code (both hashed),
# for the browser that asked (its sign-in cookie, hashed); usable once, until expires_at.
member_sign_ins = Table(
    "member_sign_ins",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("member_id", String(200), nullable=False),
    Column("link_hash", String(64), nullable=False, unique=True),
    Column("code_hash", String(64), nullable=False),
    Column("browser_hash", String(64), nullable=False, index=True),
    Column("next_page", String(300), nullable=False),
    Column("claim_token", String(100)),  # asked from a claim page: the claim completes when it is used (0008)
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("used_at", UTCDateTime),
    Column("failures", Integer, nullable=False),
)

# Rate-limit counters (fixed windows), in the database so every server process counts together.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(160), primary_key=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("hits", Integer, nullable=False),
)

# Every change at head office: who, when, from which address, what, before and after. Append-only:
# the database's triggers refuse UPDATE and DELETE (revision 0007), and no code path writes but INSERT.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(200), nullable=False, index=True),
    Column("actor_kind", String(16), nullable=False),  # staff, admin-token, integration, system
    Column("address", String(100)),
    Column("action", String(64), nullable=False),
    Column("entity_kind", String(16), nullable=False),
    Column("entity_id", String(200), index=True),
    Column("before", JSON),
    Column("after", JSON),
)


def utcnow() -> datetime:
    return datetime.now(UTC)
