"""Which snapshot page the pull loop asks for next, fetched while the page before it is applied.

Two cursors (localdb/streams.py): the catch-up stream's and, while it catches up, the live
stream's from the server's head, asked every `live_seconds` so that a change made at head office
never waits behind a large batch. A catch-up page is fetched one ahead, while the one before it
is being applied; a live page only when it is due and nothing is fetched ahead, so pages are
always applied in the order they were fetched (which keeps every row at its newest version).

Once caught up, the next page is asked with `wait` (docs/PROTOCOL.md): the server answers as
soon as anything changes, so a claim or a lock at head office reaches the till within a second
instead of a pull interval. That request runs on the fetcher thread and the pull loop waits for
it, or for the agent to stop: a SIGTERM never waits out a long poll.

Waits are asked at most one every `wait_gap_seconds`: every redemption anywhere in the chain is a
change for every till (a used voucher must be refused at every shop), so a till that asked again
at once after each change would, in a busy fleet, ask as often as the fleet redeems; one gap
later, a till brings every change of that second in one page.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vouchers.wire import SnapshotPage

Page = SnapshotPage
Fetch = Callable[[int, float | None], Page]  # (cursor, wait) -> page


@dataclass(frozen=True)
class Request:
    cursor: int
    live: bool  # the live stream's page, not the catch-up's


class Stopped(Exception):
    """The agent stopped while the pull loop waited for a page."""


class _Ahead:
    """A page on its way: fetched by the fetcher thread, taken by the pull loop."""

    def __init__(self, cursor: int, wait: float | None = None) -> None:
        self.cursor = cursor
        self.wait = wait
        self._done = threading.Event()
        self._page: Page | None = None
        self._error: BaseException | None = None

    def settle(self, fetch: Fetch) -> None:
        try:
            self._page = fetch(self.cursor, self.wait)
        except BaseException as exc:  # noqa: BLE001 - handed to the pull loop, which reports it
            self._error = exc
        finally:
            self._done.set()

    def result(self, stop: threading.Event | None = None) -> Page:
        """The page; Stopped if `stop` is set first (the page, when it comes, is dropped)."""
        while not self._done.wait(0.2 if stop is not None else None):
            if stop is not None and stop.is_set():
                raise Stopped()
        if self._error is not None:
            raise self._error
        assert self._page is not None
        return self._page


class _Fetcher:
    """One daemon thread fetching the pages asked for ahead, in turn: one thread for all of them
    (a thread each would give each its own malloc arena, and the agent's memory would grow)."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self._jobs: queue.SimpleQueue[_Ahead] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def ask(self, cursor: int, wait: float | None = None) -> _Ahead:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prefetch", daemon=True)
            self._thread.start()
        ahead = _Ahead(cursor, wait)
        self._jobs.put(ahead)
        return ahead

    def _run(self) -> None:
        while True:
            self._jobs.get().settle(self._fetch)


class Pages:
    def __init__(
        self,
        fetch: Fetch,
        *,
        live_seconds: float,
        wait_seconds: float = 0,
        wait_gap_seconds: float = 0,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._fetcher = _Fetcher(fetch)
        self._live_seconds = live_seconds
        self._wait_seconds = wait_seconds  # 0: never ask the server to wait
        self._wait_gap = wait_gap_seconds
        self._last_wait: float | None = None  # when the last wait was asked (time.monotonic)
        self._stop = stop or threading.Event()
        self._clock = clock
        self._ahead: _Ahead | None = None
        self._live_due = 0.0
        self._caught_up = False  # the last catch-up page said complete
        self._server_waits: bool | None = (
            None  # whether the server honoured `wait` last time (None: not asked)
        )

    def next(self, cursor: int, live_cursor: int | None) -> tuple[Request, Page]:
        """The page to apply now, the replica being at `cursor` (and `live_cursor`); the catch-up
        page after it starts downloading before this returns, unless a live page is due first.
        Caught up, the server is asked to wait for a change (Stopped if the agent stops first)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.cursor == cursor:
            request, page = Request(cursor, False), ahead.result()
        elif live_cursor is not None and self._clock() >= self._live_due:
            request, page = Request(live_cursor, True), self._fetch(live_cursor, None)
            # a live stream that has a lot to bring takes turns with the catch-up
            self._live_due = self._clock() + (0 if not page.complete else self._live_seconds)
        elif self._caught_up and live_cursor is None and self._wait_seconds > 0:
            request = Request(cursor, False)
            self._keep_gap()
            page = self._fetcher.ask(cursor, self._wait_seconds).result(self._stop)
            self._server_waits = page.wait is not None
        else:  # nothing fetched ahead, or for a cursor the replica is not at (the last page failed)
            request, page = Request(cursor, False), self._fetch(cursor, None)
        if not request.live:
            self._caught_up = page.complete
        if not request.live and not page.complete and (live_cursor is None or self._clock() < self._live_due):
            self._ahead = self._fetcher.ask(page.next_cursor)
        return request, page

    def _keep_gap(self) -> None:
        """Wait until `wait_gap_seconds` after the last wait was asked (Stopped if the agent stops)."""
        now = time.monotonic()
        if self._last_wait is not None:
            delay = self._last_wait + self._wait_gap - now
            if delay > 0:
                if self._stop.wait(delay):
                    raise Stopped()
                now = time.monotonic()
        self._last_wait = now

    def waits_next(self) -> bool:
        """The next page will be asked with `wait` of a server that waits (or has not said yet):
        the pull loop asks for it at once instead of pausing."""
        return self._caught_up and self._wait_seconds > 0 and self._server_waits is not False
