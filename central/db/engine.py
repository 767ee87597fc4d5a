"""The database handle: how transactions begin on SQLite and PostgreSQL.

Every write transaction is serialised by the database itself: on SQLite it begins with
BEGIN IMMEDIATE; on PostgreSQL it first locks the single change-counter row. That makes
change-sequence order equal to commit order (snapshot paging never skips a change) and
rules out deadlocks between ingesting tills, with several server processes as with one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, create_engine, event, select, text, update
from sqlalchemy.engine import Engine, make_url

from central.db.schema import change_counter


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine: Engine = self._make_engine(echo)
        # SQLite takes one writer at a time; queueing this process's writers here hands the lock
        # straight on, instead of each polling in SQLite's busy handler (sleeps of up to 100 ms).
        self._sqlite_writer = threading.Lock()

    def _make_engine(self, echo: bool) -> Engine:
        if not self.is_sqlite:
            return create_engine(self.url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True)
        engine = create_engine(
            self.url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            for pragma in (
                "journal_mode=WAL",
                "synchronous=FULL",
                "foreign_keys=ON",
                "busy_timeout=30000",
                "cache_size=-131072",  # 128 MiB: keeps the code index hot while generating
                "wal_autocheckpoint=10000",  # checkpoint every ~40 MiB of WAL, not every 4 MiB
            ):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            immediate = conn.get_execution_options().get("voucher_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without an exception."""
        with self._sqlite_writer if self.is_sqlite else nullcontext(), self.engine.connect() as conn:
            conn = conn.execution_options(voucher_write=True)
            with conn.begin():
                if not self.is_sqlite:
                    conn.execute(
                        select(change_counter.c.value).where(change_counter.c.id == 1).with_for_update()
                    )
                yield conn

    @contextmanager
    def counter(self) -> Iterator[Connection]:
        """A short write transaction that does not take the change counter (rate-limit counters):
        queued like any write on SQLite, but beside the other writes on PostgreSQL."""
        with self._sqlite_writer if self.is_sqlite else nullcontext(), self.engine.connect() as conn:
            conn = conn.execution_options(voucher_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction with one consistent view of the database."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def next_seq(conn: Connection, count: int = 1) -> int:
    """Reserve `count` change sequence numbers; returns the first one."""
    last = conn.execute(
        update(change_counter)
        .where(change_counter.c.id == 1)
        .values(value=change_counter.c.value + count)
        .returning(change_counter.c.value)
    ).scalar_one()
    return last - count + 1


def current_seq(conn: Connection) -> int:
    return conn.execute(text("SELECT value FROM change_counter WHERE id = 1")).scalar_one()
