"""Group commit (central/db/batcher.py): writes of many threads share transactions, a failing one
takes back only its own rows, and no caller hears of its write before it is committed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, Integer, String, cast, insert, select, update

from central.db.batcher import WriteBatcher, defer_count
from central.db.engine import Database
from central.db.migrate import upgrade
from central.db.schema import meta


class Refused(Exception):
    pass


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def _keys(db: Database) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(select(meta.c.key).where(meta.c.key.like("k%"))).scalars())


def test_writes_from_many_threads_are_committed_and_a_refused_one_leaves_nothing(db):
    batcher = WriteBatcher(db, most=8)
    started = threading.Barrier(32)
    seen_committed: list[bool] = []

    def write(i: int) -> str:
        def work(conn: Connection) -> str:
            conn.execute(insert(meta).values(key=f"k{i}", value=str(i)))
            if i % 5 == 0:
                raise Refused(f"number {i} is refused")
            return f"k{i}"

        started.wait()
        try:
            key = batcher.run(work)
        except Refused:
            return "refused"
        seen_committed.append(key in _keys(db))  # answered only once it is in the database
        return key

    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(write, range(32)))
    assert answers == ["refused" if i % 5 == 0 else f"k{i}" for i in range(32)]
    assert _keys(db) == {f"k{i}" for i in range(32) if i % 5}
    assert seen_committed and all(seen_committed)


def test_a_write_the_database_refuses_raises_to_its_caller_and_the_batcher_goes_on(db):
    batcher = WriteBatcher(db)
    with db.write() as conn:
        conn.execute(insert(meta).values(key="k-taken", value="first"))

    def clash(conn: Connection) -> None:  # a savepoint catches this one: it raises to its caller
        conn.execute(insert(meta).values(key="k-taken", value="second"))

    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        batcher.run(clash)

    def after(conn: Connection) -> str:
        conn.execute(insert(meta).values(key="k-after", value="x"))
        return "done"

    assert batcher.run(after) == "done"
    assert _keys(db) == {"k-taken", "k-after"}


def test_deferred_counts_are_written_once_per_group_and_a_refused_write_takes_its_counts_back(db):
    """Counts that writes defer (a batch's claimed counter) reach the database once per group, in
    key order, and only for the writes that committed; outside a group the caller writes them."""
    batcher = WriteBatcher(db, most=16, workers=2)
    flushed: list[list[str]] = []

    def flush(conn: Connection, counts) -> None:
        flushed.append(list(counts))
        for key, n in counts.items():  # one atomic UPDATE each, as a batch's claimed counter
            total = cast(cast(meta.c.value, Integer) + n, String)
            conn.execute(update(meta).where(meta.c.key == key).values(value=total))

    with db.write() as conn:
        conn.execute(insert(meta), [{"key": "k-count-a", "value": "0"}, {"key": "k-count-b", "value": "0"}])

    started = threading.Barrier(48)

    def write(i: int) -> bool:
        def work(conn: Connection) -> None:
            assert defer_count(conn, flush, f"k-count-{'b' if i % 2 else 'a'}")
            if i % 3 == 0:
                raise Refused(f"number {i} is refused")

        started.wait()
        try:
            batcher.run(work)
        except Refused:
            return False
        return True

    with ThreadPoolExecutor(48) as pool:
        committed = list(pool.map(write, range(48)))
    with db.read() as conn:
        values = dict(
            conn.execute(select(meta.c.key, meta.c.value).where(meta.c.key.like("k-count-%"))).all()
        )
    assert values == {
        "k-count-a": str(sum(1 for i in range(48) if committed[i] and i % 2 == 0)),
        "k-count-b": str(sum(1 for i in range(48) if committed[i] and i % 2)),
    }
    assert committed.count(True) == 32
    assert len(flushed) < 32  # fewer flushes than writes: counts were grouped
    assert all(keys == sorted(keys) for keys in flushed)
    with db.write() as conn:  # no group on this connection: the caller writes its count itself
        assert not defer_count(conn, flush, "k-count-a")
