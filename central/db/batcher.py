"""Group commit: many small writes of this process committed in one transaction.

A claim writes a few rows and bumps its batch's `claimed` counter. Claims on one batch queue on
that counter's row lock, which PostgreSQL holds until the commit is on disk, so one batch takes at
most one claim per disk flush (about 60 a second here with fsync on), however many processes
serve it. `WriteBatcher.run` hands a write to one worker thread per process, which runs every write
waiting at that moment in one transaction, each under its own savepoint, and commits them with one
flush: a write that fails (a claim refused) rolls back to its savepoint alone and raises to its
caller, the others commit. A caller's answer waits for the commit, so nothing is acknowledged
before it is durable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection

from central.db.engine import Database

log = logging.getLogger(__name__)

T = TypeVar("T")


class WriteBatcher:
    def __init__(self, db: Database, *, most: int = 64) -> None:
        self.db = db
        self.most = most  # writes in one transaction at most
        self._pending: list[tuple[Callable[[Connection], Any], Future[Any]]] = []
        self._cv = threading.Condition()
        self._worker: threading.Thread | None = None

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work(conn)` in a write transaction shared with other writes; returns its result once
        committed, or raises what it raised (then nothing it wrote is kept)."""
        done: Future[T] = Future()
        with self._cv:
            self._pending.append((work, done))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._loop, name="group-commit", daemon=True)
                self._worker.start()
            self._cv.notify()
        return done.result()

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
                for work, done in round_:
                    savepoint = conn.begin_nested()
                    try:
                        result = work(conn)
                    except Exception as exc:  # noqa: BLE001 (handed to the caller, whose request answers it)
                        savepoint.rollback()
                        outcomes.append((done, False, exc))
                    else:
                        savepoint.commit()
                        outcomes.append((done, True, result))
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
