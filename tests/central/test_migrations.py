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
                conn.execute(text(
                    "INSERT INTO events (id, kind, store_id, device_id, at, received_at, outcome, winner_store) "
                    "VALUES (:id, 'redeem', 's1', 'd1', :t, :t, :o, :w)"),
                    {"id": f"e{i}", "t": f"2026-01-0{i + 1} 10:00:00", "o": outcome,
                     "w": "s2" if outcome == "conflict" else None})
            conn.commit()
        upgrade(db)
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT event_id, store_id, winner_store, outcome, change_seq, reviewed_at "
                                     "FROM problems ORDER BY change_seq")).all()
            counter = conn.execute(text("SELECT value FROM change_counter")).scalar_one()
        assert [tuple(r) for r in rows] == [("e1", "s1", "s2", "conflict", 42, None), ("e2", "s1", None, "rejected", 43, None)]
        assert counter == 43
    finally:
        db.dispose()
