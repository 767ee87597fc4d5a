"""The database handle: how transactions begin on SQLite and PostgreSQL, and the change cursor.

Every change a till must hear of carries a change sequence number, and a snapshot reader pages
through them in order. The guarantee: paging never skips a change. Each database keeps it its
own way:

* SQLite has one writer at a time (BEGIN IMMEDIATE, queued in this process on a lock). The
  number comes from the one-row change_counter, bumped inside the writer's transaction, so
  sequence order is commit order and every number up to the counter is committed.
* PostgreSQL writes in parallel, in any number of processes: no lock is common to every write.
  Numbers come from the sequence change_seq_gen, which never waits, so a writer that drew a
  smaller number may commit after one that drew a larger. Before its first draw a writer takes
  a shared transaction-level advisory lock whose key is below any number it can draw (the
  sequence's last value); PostgreSQL drops it only after the commit is visible, or the rollback
  done. The *head*, the number up to which every change is final, is then the sequence's last
  value, or just below the smallest such key still held, whichever is lower (`head`). Readers
  serve changes up to the head only, and read it before their snapshot begins.

Writers that touch the same rows take row locks (SELECT ... FOR UPDATE) in a fixed order: the
vouchers a request names in (batch, serial) order, then their batches' counters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import Connection, bindparam, create_engine, event, text, update
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
        """A write transaction, committed when the block ends without an exception: the only one at
        a time on SQLite, beside the others on PostgreSQL (see the module's words)."""
        with self._sqlite_writer if self.is_sqlite else nullcontext(), self.engine.connect() as conn:
            conn = conn.execution_options(voucher_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def counter(self) -> Iterator[Connection]:
        """A short write that changes nothing a till hears of and need not outlive a crash (rate-limit
        counters, a token's last use): on PostgreSQL its commit does not wait for the disk, so a
        counter every request of an address touches holds its row lock for microseconds, not for a
        flush. A crash may forget its last few counts, which only relaxes a limit for a moment."""
        with self.write() as conn:
            if not self.is_sqlite:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction with one consistent view of the database."""
        with self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def head(self) -> int:
        """The change number up to which every change is committed (or rolled back) for good."""
        if self.is_sqlite:
            with self.read() as conn:
                return current_seq(conn)
        with self.engine.connect() as conn:
            head = _pg_head(conn)
            conn.rollback()
            return head

    @contextmanager
    def read_at_head(self) -> Iterator[tuple[Connection, int]]:
        """A read transaction and the head it may serve changes up to: on PostgreSQL the head is
        read before the transaction's snapshot begins, so every change up to it is in view."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn, current_seq(conn)
            return
        head = self.head()
        with self.read() as conn:
            yield conn, head

    def dispose(self) -> None:
        self.engine.dispose()


CHANGE_SEQUENCE = "change_seq_gen"  # PostgreSQL only (migration 0009)

# The key of the advisory lock a PostgreSQL writer holds: the sequence's last value less one, so
# below any number nextval can give it (last_value itself, when the sequence is not yet called).
_PG_DRAW = text(f"SELECT pg_advisory_xact_lock_shared(last_value - 1) FROM {CHANGE_SEQUENCE}")
_PG_LOCKED = "change_seq_locked"  # Connection.info: the transaction that holds its writer's key
_PG_NEXT = text(f"SELECT nextval('{CHANGE_SEQUENCE}') FROM generate_series(1, :n)")
_PG_LAST = text(f"SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {CHANGE_SEQUENCE}")
# Writers' keys only: migrations lock with the two-key form (objsubid 2), see db/migrate.py.
_PG_LOWEST_KEY = text(
    "SELECT min((classid::bigint << 32) | objid::bigint) FROM pg_locks "
    "WHERE locktype = 'advisory' AND objsubid = 1 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def _pg_head(conn: Connection) -> int:
    last = conn.execute(_PG_LAST).scalar_one()  # first: a writer holding a number up to it ...
    lowest = conn.execute(_PG_LOWEST_KEY).scalar()  # ... holds its key now, or has committed
    return last if lowest is None else min(last, lowest)


_SQLITE_DRAW = (
    update(change_counter)
    .where(change_counter.c.id == 1)
    .values(value=change_counter.c.value + bindparam("n"))
    .returning(change_counter.c.value)
)


def next_seqs(conn: Connection, count: int) -> list[int]:
    """Draw `count` change sequence numbers, in increasing order (contiguous on SQLite only)."""
    if count <= 0:
        return []
    if conn.dialect.name == "sqlite":
        last = conn.execute(_SQLITE_DRAW, {"n": count}).scalar_one()
        return list(range(last - count + 1, last + 1))
    transaction = conn.get_transaction()
    if conn.info.get(_PG_LOCKED) is not transaction:  # once per transaction: its key is below every
        conn.execute(_PG_DRAW)  # number the transaction draws after it
        conn.info[_PG_LOCKED] = transaction
    return sorted(conn.execute(_PG_NEXT, {"n": count}).scalars())


def next_seq(conn: Connection) -> int:
    """Draw one change sequence number."""
    return next_seqs(conn, 1)[0]


def current_seq(conn: Connection) -> int:
    """The head, read inside a transaction: exact on SQLite, whose writers run one at a time;
    on PostgreSQL use Database.head or read_at_head, which read it before the snapshot."""
    if conn.dialect.name == "sqlite":
        return conn.execute(text("SELECT value FROM change_counter WHERE id = 1")).scalar_one()
    return _pg_head(conn)
