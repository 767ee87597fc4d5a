"""Live changes: a snapshot request that waits until something changed after its cursor.

Each server process watches the change counter itself, so a change wakes its waiters whichever
process or program committed it (another server process on the same PostgreSQL, the CLI, a
generation job): one small query every `live_poll_seconds` from one thread while any request
waits, none while none does. A waiting request is a future on its own event loop, with no thread
or database connection of its own, so one process holds a whole fleet of idle tills. When the
server is told to stop, every waiting request answers at once (`release_all`), so a shutdown
never waits out a long poll.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class ChangeWatch:
    def __init__(self, read_head: Callable[[], int], interval: float) -> None:
        self._read_head = read_head
        self._interval = interval
        self._waiters: dict[asyncio.Future, int] = {}  # each waiting request: the cursor it waits past
        self._lock = threading.Lock()
        self._someone_waits = threading.Event()
        self._stopping = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None

    @property
    def waiting(self) -> int:
        """Requests waiting now."""
        return len(self._waiters)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="change-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release_all()
        self._stopping.set()
        self._someone_waits.set()
        if self._thread is not None:
            self._thread.join(timeout=self._interval + 10)

    def release_all(self) -> None:
        """The server is stopping: every waiting request answers now, and any that comes later
        at once (callable from any thread, or a signal handler)."""
        self._closing = True
        self._wake(lambda cursor: True)

    async def wait_beyond(self, cursor: int, timeout: float) -> bool:
        """True as soon as a change after `cursor` is committed; False after `timeout` seconds."""
        if self._closing:
            return True
        future = asyncio.get_running_loop().create_future()
        with self._lock:
            self._waiters[future] = cursor
        self._someone_waits.set()
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.pop(future, None)

    def _watch(self) -> None:
        failing = False
        while not self._stopping.is_set():
            if not self._waiters:
                self._someone_waits.clear()
                if not self._waiters:  # (one may have come between the look and the clear)
                    self._someone_waits.wait()
                continue
            try:
                head = self._read_head()
                failing = False
            except Exception as exc:  # noqa: BLE001 - the database is away: waiters time out, requests say why
                if not failing:
                    log.warning("live changes: cannot read the change counter (%s); retrying", exc)
                failing = True
                head = None
            if head is not None:
                self._wake(_below(head))
            self._stopping.wait(self._interval)

    def _wake(self, due: Callable[[int], bool]) -> None:
        with self._lock:
            woken = [future for future, cursor in self._waiters.items() if due(cursor)]
        for future in woken:
            try:
                future.get_loop().call_soon_threadsafe(_settle, future)
            except RuntimeError:  # its loop has closed: nobody waits on it any more
                pass


def _below(head: int) -> Callable[[int], bool]:
    """Whether a waiter's cursor is behind the change counter's head: it has changes to fetch."""
    return lambda cursor: cursor < head


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class SharedReads:
    """Identical reads asked at the same moment share one (a thousand tills of a store woken by
    one change ask for the same page). A request joins a read only while that read has not begun,
    so its answer still holds everything committed before the request arrived."""

    def __init__(self) -> None:
        self._pending: dict[tuple, asyncio.Future] = {}

    async def read(self, key: tuple, run: Callable[[], Awaitable[T]]) -> T:
        key = (id(asyncio.get_running_loop()), *key)
        joined = self._pending.get(key)
        if joined is not None:
            return await asyncio.shield(joined)
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        await asyncio.sleep(0)  # the requests woken with this one join now...
        del self._pending[key]  # ...and none after: the read begins
        try:
            result = await run()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # (retrieved: a read nobody joined raises only here)
            raise
        future.set_result(result)
        return result
