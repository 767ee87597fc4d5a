"""Which snapshot page the pull loop asks for next, fetched while the page before it is applied.

Two cursors (localdb/streams.py): the catch-up stream's and, while it catches up, the live
stream's from the server's head, asked every `live_seconds` so that a change made at head office
never waits behind a large batch. A catch-up page is fetched one ahead, while the one before it
is being applied; a live page only when it is due and nothing is fetched ahead, so pages are
always applied in the order they were fetched (which keeps every row at its newest version).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Page = dict[str, Any]


@dataclass(frozen=True)
class Request:
    cursor: int
    live: bool  # the live stream's page, not the catch-up's


class _Ahead:
    """A catch-up page on its way: fetched by the fetcher thread, taken by the pull loop."""

    def __init__(self, cursor: int) -> None:
        self.cursor = cursor
        self._done = threading.Event()
        self._page: Page | None = None
        self._error: BaseException | None = None

    def settle(self, fetch: Callable[[int], Page]) -> None:
        try:
            self._page = fetch(self.cursor)
        except BaseException as exc:  # noqa: BLE001 - handed to the pull loop, which reports it
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> Page:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._page is not None
        return self._page


class _Fetcher:
    """One daemon thread fetching the pages asked for ahead, in turn: one thread for all of them
    (a thread each would give each its own malloc arena, and the agent's memory would grow)."""

    def __init__(self, fetch: Callable[[int], Page]) -> None:
        self._fetch = fetch
        self._jobs: queue.SimpleQueue[_Ahead] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def ask(self, cursor: int) -> _Ahead:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
            self._thread.start()
        ahead = _Ahead(cursor)
        self._jobs.put(ahead)
        return ahead

    def _run(self) -> None:
        while True:
            self._jobs.get().settle(self._fetch)


class Pages:
    def __init__(self, fetch: Callable[[int], Page], *, live_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._fetcher = _Fetcher(fetch)
        self._live_seconds = live_seconds
        self._clock = clock
        self._ahead: _Ahead | None = None
        self._live_due = 0.0

    def next(self, cursor: int, live_cursor: int | None) -> tuple[Request, Page]:
        """The page to apply now, the replica being at `cursor` (and `live_cursor`); the catch-up
        page after it starts downloading before this returns, unless a live page is due first."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.cursor == cursor:
            request, page = Request(cursor, False), ahead.result()
        elif live_cursor is not None and self._clock() >= self._live_due:
            request, page = Request(live_cursor, True), self._fetch(live_cursor)
            # a live stream that has a lot to bring takes turns with the catch-up
            self._live_due = self._clock() + (0 if not page["complete"] else self._live_seconds)
        else:  # nothing fetched ahead, or for a cursor the replica is not at (the last page failed)
            request, page = Request(cursor, False), self._fetch(cursor)
        if not request.live and not page["complete"] and (live_cursor is None or self._clock() < self._live_due):
            self._ahead = self._fetcher.ask(page["next_cursor"])
        return request, page
