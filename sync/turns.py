"""Whose turn it is to write replica.db: a short write goes before the pull loop's next page.

SQLite lets one connection at a time write a file. The pull loop applies a page in one
transaction (a tenth of a second, seconds for the indexes at the end of a first sync) and, with
the next page already downloaded, begins the next one at once; another writer waiting in
SQLite's busy handler (which sleeps between its tries) would lose that race page after page. So
every writer of replica.db takes a turn here first: a short write (the wipe of a revoked till,
the check and rebuild of a damaged replica) waits for the page being applied, never for more
than that one, and a page waits while any short write is waiting. A thread that has the turn
may take it again (a write inside a write). The push loop writes pushed.db, not replica.db, and
takes no turn at all (localdb/pushed.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Turns:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: int | None = None  # the thread whose turn it is
        self._depth = 0
        self._short_waiting = 0

    @contextmanager
    def page(self) -> Iterator[None]:
        """The pull loop's turn for one page (or one index): after every short write waiting."""
        with self._take(short=False):
            yield

    @contextmanager
    def short(self) -> Iterator[None]:
        """A short write's turn: next after the page being applied, if any."""
        with self._take(short=True):
            yield

    @contextmanager
    def _take(self, *, short: bool) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._owner != me:
                self._short_waiting += short
                try:
                    while self._owner is not None or (not short and self._short_waiting):
                        self._cond.wait()
                finally:
                    self._short_waiting -= short
                self._owner = me
            self._depth += 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if not self._depth:
                    self._owner = None
                    self._cond.notify_all()
