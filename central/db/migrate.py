"""Versioned schema migrations (Alembic), run by the server before it serves."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from central.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# The two-key form (objsubid 2): one-key advisory locks are the change writers' (db/engine.py).
_PG_MIGRATION_LOCK = (7429, 13001)


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.url.render_as_string(hide_password=False))
    return config


def upgrade(db: Database) -> None:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    config = alembic_config(db)
    with db.engine.connect() as conn:
        if not db.is_sqlite:
            conn.execute(
                text("SELECT pg_advisory_lock(:a, :b)"), dict(zip("ab", _PG_MIGRATION_LOCK, strict=True))
            )
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if not db.is_sqlite:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:a, :b)"),
                    dict(zip("ab", _PG_MIGRATION_LOCK, strict=True)),
                )
                conn.commit()
