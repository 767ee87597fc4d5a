"""Snapshot pages asked at the same moment are built once, and never from a read that began
before a request arrived (central/live.py SharedReads)."""

from __future__ import annotations

import asyncio

import pytest

from central.live import SharedReads

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_requests_woken_together_share_one_read_and_a_later_one_gets_its_own():
    shared, began, release, runs = SharedReads(), asyncio.Event(), asyncio.Event(), []

    async def read() -> dict:
        run = len(runs) + 1
        runs.append(run)
        began.set()
        await release.wait()
        return {"run": run}

    together = [asyncio.create_task(shared.read(("s1", 7, 100), read)) for _ in range(50)]
    await began.wait()  # the read has begun: a request now must not join it
    later = asyncio.create_task(shared.read(("s1", 7, 100), read))
    other_store = asyncio.create_task(shared.read(("s2", 7, 100), read))
    await asyncio.sleep(0.01)
    release.set()
    answers = await asyncio.gather(*together)
    assert runs == [1, 2, 3] and answers[0] == {"run": 1}
    assert len({id(a) for a in answers}) == 1  # one read, one page object, for all fifty
    assert {(await later)["run"], (await other_store)["run"]} == {2, 3}  # each its own read


async def test_a_failed_read_fails_every_request_that_joined_it():
    shared = SharedReads()

    async def read() -> dict:
        await asyncio.sleep(0.01)
        raise RuntimeError("the database is away")

    results = await asyncio.gather(
        *(shared.read(("s1", 0, 10), read) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
