"""Which schema revision a database is at, and whether this program's code expects that one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import cast

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from central.db.migrate import MIGRATIONS


@cache
def head() -> str:
    """The newest revision among this program's migrations."""
    # None only for a directory without migrations; the package always ships ours (tests/packaging)
    return cast(str, ScriptDirectory(str(MIGRATIONS)).get_current_head())


@cache
def known() -> frozenset[str]:
    return frozenset(r.revision for r in ScriptDirectory(str(MIGRATIONS)).walk_revisions())


def current(conn: Connection) -> str | None:
    """The revision the database says it is at; None when it was never migrated."""
    return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class SchemaState:
    revision: str | None
    head: str

    @property
    def at_head(self) -> bool:
        return self.revision == self.head

    def words(self) -> str:
        if self.at_head:
            return f"schema at revision {self.head}, the newest this server knows"
        if self.revision is None:
            return f"database not migrated yet: run 'voucher-central migrate' (this server needs {self.head})"
        if self.revision in known():
            return (
                f"schema at revision {self.revision}, older than {self.head} that this server needs: "
                "run 'voucher-central migrate'"
            )
        return (
            f"schema at revision {self.revision}, which this server does not know (a newer version "
            f"migrated it): upgrade this server (it knows up to {self.head})"
        )


def state(conn: Connection) -> SchemaState:
    return SchemaState(current(conn), head())
