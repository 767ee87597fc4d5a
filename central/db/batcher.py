"""Group commit: many small writes of this process committed in one transaction.

A claim writes a few rows and bumps its batch's `claimed` counter. Claims on one batch queue on
that counter's row lock, which PostgreSQL holds until the commit is on disk, so one batch takes at
most one claim per disk flush (about 60 a second here with fsync on), however many processes
serve it. `WriteBatcher.run` hands a write to one worker thread per process, which runs every write
waiting at that moment in one transaction, each under its own savepoint, and commits them with one
flush: a write that fails (a claim refused) rolls back to its savepoint alone and raises to its
caller, the others commit. A caller's answer waits for the commit, so nothing is acknowledged
before it is durable.

A counter every write of a group bumps (a batch's `claimed`) is written once, at the end of the
group's transaction (`defer_count`): a row lock taken at the start would make the groups of every
process and worker wait for each other's whole transaction; taken last, they run side by side and
queue only for the commit. On PostgreSQL several workers run groups at once (`workers`), so the
statements of one group are not waiting for the disk flush of the one before.

`run` blocks its thread until the commit; `run_async` is the same for a coroutine (an async
endpoint hands its write over and waits without holding a thread of the pool).
`group_memo` is a scratch dict for the group's transaction (what one write read that the next
may reuse, such as a rate-limit counter's row), gone when the group ends.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection

from central.db.engine import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

Flush = Callable[[Connection, Mapping[str, int]], None]
_COUNTS = "group_counts"  # Connection.info key: {flush: Counter} while a group runs on it
_MEMO = "group_memo"  # Connection.info key: the group's scratch dict (group_memo)


def defer_count(conn: Connection, flush: Flush, key: str, n: int = 1) -> bool:
    """Count `n` for `key`, written by `flush(conn, counts)` (keys in sorted order, so two groups
    never wait for each other's rows in turn) just before the group commits; False when `conn`
    runs no group: the caller writes it now."""
    counts = conn.info.get(_COUNTS)
    if counts is None:
        return False
    counts.setdefault(flush, Counter())[key] += n
    return True


def deferred(conn: Connection, flush: Flush, key: str) -> int:
    """What this group has counted for `key` and not yet written (0 outside a group)."""
    counts = conn.info.get(_COUNTS)
    return 0 if counts is None else counts.get(flush, Counter())[key]


def group_memo(conn: Connection) -> dict[Any, Any] | None:
    """The running group's scratch dict (None when `conn` runs no group): for values read in the
    group's transaction that later writes of the group may use instead of reading them again.
    Only values the group does not change itself belong here (its counts are deferred)."""
    memo: dict[Any, Any] | None = conn.info.get(_MEMO)
    return memo


class WriteBatcher:
    def __init__(self, db: Database, *, most: int = 64, workers: int | None = None) -> None:
        self.db = db
        self.most = most  # writes in one transaction at most
        # SQLite has one writer at a time: a second worker would only wait for the first
        self.workers = workers if workers is not None else (1 if db.is_sqlite else 3)
        self._pending: list[tuple[Callable[[Connection], Any], Future[Any]]] = []
        self._cv = threading.Condition()
        self._threads: list[threading.Thread] = []

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` in a write transaction shared with other writes; returns its result once
        committed, or raises what it raised (then nothing it wrote is kept)."""
        return self._submit(work).result()

    async def run_async(self, work: Callable[[Connection], T]) -> T:
        """`run` for a coroutine: waits for the commit without blocking the event loop."""
        return await asyncio.wrap_future(self._submit(work))

    def _submit(self, work: Callable[[Connection], T]) -> Future[T]:
        done: Future[T] = Future()
        with self._cv:
            self._pending.append((work, done))
            self._threads = [t for t in self._threads if t.is_alive()]
            if len(self._threads) < self.workers:
                worker = threading.Thread(target=self._loop, name="group-commit", daemon=True)
                self._threads.append(worker)
                worker.start()
            self._cv.notify()
        return done

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._pending:
                    self._cv.wait()
                round_, self._pending = self._pending[: self.most], self._pending[self.most :]
            self._commit(round_)

    def _commit(self, round_: list[tuple[Callable[[Connection], Any], Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            with self.db.write() as conn:
                counts: dict[Flush, Counter[str]] = {}
                conn.info[_COUNTS] = counts
                conn.info[_MEMO] = {}
                try:
                    for work, done in round_:
                        before = {flush: Counter(c) for flush, c in counts.items()}
                        savepoint = conn.begin_nested()
                        try:
                            result = work(conn)
                        except Exception as exc:  # noqa: BLE001 (handed to the caller, whose request answers it)
                            savepoint.rollback()
                            counts.clear()
                            counts.update(before)  # its counts go with its rows
                            outcomes.append((done, False, exc))
                        else:
                            savepoint.commit()
                            outcomes.append((done, True, result))
                finally:
                    del conn.info[_COUNTS], conn.info[_MEMO]
                for flush, c in counts.items():
                    flush(conn, {key: c[key] for key in sorted(c) if c[key]})
        except Exception as exc:  # noqa: BLE001 (the commit itself failed: every write of it is lost)
            log.warning("a group of %d writes could not be committed: %s", len(round_), exc)
            for _, done in round_:
                done.set_exception(exc)
            return
        for done, ok, value in outcomes:
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)
