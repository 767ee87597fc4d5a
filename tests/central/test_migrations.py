"""The Alembic revisions build exactly the schema the code declares (central/db/schema.py), on
SQLite and PostgreSQL, and a database of an earlier revision keeps its ledger's problems."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from central.db.engine import Database
from central.db.migrate import upgrade
from central.db.schema import metadata


def test_the_migrations_build_the_declared_schema(database_url):
    db = Database(database_url)
    try:
        upgrade(db)
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        db.dispose()


def test_conflicts_recorded_before_revision_0006_become_problems_with_new_change_numbers(database_url):
    from alembic import command
    from sqlalchemy import text

    from central.db.migrate import alembic_config

    db = Database(database_url)
    try:
        config = alembic_config(db)
        with db.engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0005")
            conn.execute(text("UPDATE change_counter SET value = 41 WHERE id = 1"))
            for i, outcome in enumerate(("accepted", "conflict", "rejected")):
                conn.execute(
                    text(
                        "INSERT INTO events (id, kind, store_id, device_id, at, received_at, outcome, winner_store) "
                        "VALUES (:id, 'redeem', 's1', 'd1', :t, :t, :o, :w)"
                    ),
                    {
                        "id": f"e{i}",
                        "t": f"2026-01-0{i + 1} 10:00:00",
                        "o": outcome,
                        "w": "s2" if outcome == "conflict" else None,
                    },
                )
            conn.commit()
        upgrade(db)
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT event_id, store_id, winner_store, outcome, change_seq, reviewed_at "
                    "FROM problems ORDER BY change_seq"
                )
            ).all()
            counter = conn.execute(text("SELECT value FROM change_counter")).scalar_one()
        assert [tuple(r) for r in rows] == [
            ("e1", "s1", "s2", "conflict", 42, None),
            ("e2", "s1", None, "rejected", 43, None),
        ]
        assert counter == 43
    finally:
        db.dispose()


def test_revision_0007_folds_member_ids_reports_collisions_and_ends_unproven_sessions(database_url):
    from alembic import command
    from sqlalchemy import text

    from central.db.migrate import alembic_config

    db = Database(database_url)
    try:
        config = alembic_config(db)
        with db.engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0006")
            conn.execute(
                text(
                    "INSERT INTO batches (id, identifier, description, serial_start, serial_end, state, "
                    "claims, claim_token, total, claimed, redeemed, generated, created_at, updated_at, "
                    "change_seq) VALUES ('b1', 'B', '', 1, 9, 'redeemable', 'active', 't1', 3, 3, 0, 3, "
                    ":t, :t, 1)"
                ),
                {"t": "2026-01-01 10:00:00"},
            )
            for serial, member in ((1, "Ann@Example.com"), (2, "VICTIM@x.example"), (3, "victim@x.example")):
                conn.execute(
                    text(
                        "INSERT INTO vouchers (batch_id, serial, type_id, code, code_hash, member_id, "
                        "status, change_seq) VALUES ('b1', :s, 't', :c, 'h', :m, 'unused', 1)"
                    ),
                    {"s": serial, "c": f"CODE{serial}", "m": member},
                )
            conn.execute(
                text(
                    "INSERT INTO member_sessions (token_hash, member_id, csrf_token, created_at, expires_at) "
                    "VALUES ('h', 'anyone@example.com', 'c', :t, :t)"
                ),
                {"t": "2030-01-01 10:00:00"},
            )
            conn.commit()
        upgrade(db)
        with db.engine.connect() as conn:
            members = dict(conn.execute(text("SELECT serial, member_id FROM vouchers ORDER BY serial")).all())
            audit = conn.execute(text("SELECT actor, action, entity_id FROM audit_log")).all()
            sessions = conn.execute(text("SELECT count(*) FROM member_sessions")).scalar_one()
        assert members == {1: "ann@example.com", 2: "VICTIM@x.example", 3: "victim@x.example"}
        assert [tuple(r) for r in audit] == [("migration 0007", "member.fold-collision", "b1.2")]
        assert sessions == 0  # nothing had proven those addresses
    finally:
        db.dispose()
