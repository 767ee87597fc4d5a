"""Live changes: a snapshot request that waits until something changed after its cursor.

Each server process watches the change counter itself, so a change wakes its waiters whichever
process or program committed it (another server process on the same PostgreSQL, the CLI, a
generation job): one small query every `live_poll_seconds` while any request waits, none while
none does. A waiting request costs an asyncio task and no thread or database connection, so one
process holds a whole fleet of idle tills. When the server is told to stop, every waiting
request answers at once (`release_all`), so a shutdown never waits out a long poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)


class ChangeWatch:
    def __init__(self, read_head: Callable[[], int], interval: float) -> None:
        self._read_head = read_head
        self._interval = interval
        self._head: int | None = None
        self._changed: asyncio.Condition | None = None
        self._someone_waits: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self.waiting = 0  # requests waiting now

    def start(self) -> None:
        """On the server's event loop (its lifespan)."""
        self._changed = asyncio.Condition()
        self._someone_waits = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._watch(), name="change-watch")

    def release_all(self) -> None:
        """The server is stopping: every waiting request answers now (callable from any thread,
        or a signal handler)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._release()))

    async def _release(self) -> None:
        assert self._changed is not None
        self._closing = True
        async with self._changed:
            self._changed.notify_all()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def wait_beyond(self, cursor: int, timeout: float) -> bool:
        """True as soon as a change after `cursor` is committed; False after `timeout` seconds."""
        assert self._changed is not None and self._someone_waits is not None, "start() first"
        self.waiting += 1
        self._someone_waits.set()
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._beyond(cursor)), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def _beyond(self, cursor: int) -> bool:
        return self._closing or (self._head is not None and self._head > cursor)

    async def _watch(self) -> None:
        assert self._changed is not None and self._someone_waits is not None
        failing = False
        while True:
            if not self.waiting:
                self._someone_waits.clear()
                await self._someone_waits.wait()
            try:
                head = await run_in_threadpool(self._read_head)
                failing = False
            except Exception as exc:  # noqa: BLE001 - the database is away: waiters time out, requests say why
                if not failing:
                    log.warning("live changes: cannot read the change counter (%s); retrying", exc)
                failing = True
                head = None
            if head is not None and head != self._head:
                self._head = head
                async with self._changed:
                    self._changed.notify_all()
            await asyncio.sleep(self._interval)
