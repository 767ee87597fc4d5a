"""Which page the pull loop applies next: a catch-up page fetched ahead, a live page when due,
and always in the order they were fetched (the replica's exactness rests on it)."""

from __future__ import annotations

import threading
import time

import pytest

from sync.pages import Pages, Stopped
from vouchers.wire import SnapshotPage


def answer(cursor: int, next_cursor: int, complete: bool, **extra: float) -> SnapshotPage:
    """An empty page, as head office answers it."""
    return SnapshotPage.from_wire(
        {
            "cursor": cursor,
            "next_cursor": next_cursor,
            "complete": complete,
            "store": {"id": "s1", "timezone": "UTC"},
            "batches": [],
            "types": [],
            "vouchers": [],
            "deleted": {},
            **extra,
        }
    )


class Head:
    """A stand-in for head office's pages (the network is the one port here): catch-up pages of
    10 changes up to 50, and a live stream from 100."""

    def __init__(self, waits: bool = True) -> None:
        self.asked: list[int] = []
        self.waited: list[tuple[int, float]] = []
        self.waits = waits  # a server with live changes: it echoes `wait`
        self.lock = threading.Lock()
        self.hold = threading.Event()  # a waiting request answers once this is set
        self.hold.set()

    def fetch(self, cursor: int, wait: float | None) -> SnapshotPage:
        with self.lock:
            self.asked.append(cursor)
            if wait is not None:
                self.waited.append((cursor, wait))
        if wait is not None:
            self.hold.wait(30)
            return answer(cursor, cursor, True, wait=wait) if self.waits else answer(cursor, cursor, True)
        if cursor >= 100:
            return answer(cursor, cursor + 1, True)
        return answer(cursor, cursor + 10, cursor + 10 >= 50)


def test_the_next_catch_up_page_is_fetched_while_one_is_applied():
    head, now = Head(), [0.0]
    pages = Pages(head.fetch, live_seconds=5, clock=lambda: now[0])
    request, page = pages.next(0, None)
    assert (request.cursor, request.live, page.next_cursor) == (0, False, 10)
    request, page = pages.next(10, None)  # the replica applied the first: the one asked ahead is it
    assert request.cursor == 10 and head.asked[:2] == [0, 10]
    request, page = pages.next(20, None)
    assert request.cursor == 20 and head.asked.count(20) == 1


def test_a_live_page_comes_after_the_page_fetched_before_it():
    head, now = Head(), [0.0]
    pages = Pages(head.fetch, live_seconds=5, clock=lambda: now[0])
    pages.next(0, None)  # a catch-up begins; the page from 10 is on its way
    request, _ = pages.next(10, 100)  # the live stream is due, but the page fetched first goes first
    assert (request.cursor, request.live) == (10, False)
    request, page = pages.next(20, 100)  # nothing was fetched ahead of the live page
    assert (request.cursor, request.live, page.complete) == (100, True, True)
    request, _ = pages.next(20, 101)  # not due again for 5 s: the catch-up goes on
    assert (request.cursor, request.live) == (20, False)
    now[0] = 6.0
    request, _ = pages.next(30, 101)
    assert not request.live  # fetched ahead before the live stream fell due: first
    assert pages.next(40, 101)[0].live
    fetched = [c for c in head.asked if c < 100]
    assert fetched == sorted(fetched)  # each stream in order, each page fetched once


def test_a_page_fetched_ahead_for_another_cursor_is_dropped():
    head, now = Head(), [0.0]
    pages = Pages(head.fetch, live_seconds=5, clock=lambda: now[0])
    pages.next(0, None)  # the page from 10 is asked ahead; applying this one fails, say
    request, _ = pages.next(0, None)  # the replica is still at 0: that page is asked again
    assert request.cursor == 0 and head.asked.count(0) == 2


def test_caught_up_the_next_page_waits_at_the_server_and_stop_does_not_wait_it_out():
    head, stop = Head(), threading.Event()
    pages = Pages(head.fetch, live_seconds=5, wait_seconds=25, stop=stop)
    for cursor in (0, 10, 20, 30, 40):
        assert not pages.waits_next()
        pages.next(cursor, None)
    assert pages.waits_next()  # complete: ask again at once, the server answers when something changes
    request, page = pages.next(50, None)
    assert head.waited == [(50, 25)] and page.wait == 25 and pages.waits_next()
    head.hold.clear()  # the server holds the next one: the agent stops meanwhile
    stop.set()
    with pytest.raises(Stopped):
        pages.next(50, None)
    head.hold.set()


def test_a_server_that_does_not_wait_is_asked_every_interval():
    head = Head(waits=False)
    pages = Pages(head.fetch, live_seconds=5, wait_seconds=25)
    for cursor in (0, 10, 20, 30, 40):
        pages.next(cursor, None)
    assert pages.waits_next()  # not known yet
    pages.next(50, None)  # it answered at once, without `wait`: the pull loop pauses its interval
    assert not pages.waits_next()


def test_no_waiting_while_catching_up_or_when_switched_off():
    head = Head()
    pages = Pages(head.fetch, live_seconds=5, wait_seconds=0)
    for cursor in (0, 10, 20, 30, 40, 50):
        pages.next(cursor, None)
    assert head.waited == [] and not pages.waits_next()


def test_waits_are_asked_at_most_one_every_gap_and_stop_ends_the_gap():
    head, stop = Head(), threading.Event()
    pages = Pages(head.fetch, live_seconds=5, wait_seconds=25, wait_gap_seconds=0.3, stop=stop)
    for cursor in (0, 10, 20, 30, 40):
        pages.next(cursor, None)
    asked = []
    for _ in range(3):  # each wait answers at once (a change each time)
        pages.next(50, None)
        asked.append(time.monotonic())
    assert len(head.waited) == 3
    assert asked[1] - asked[0] >= 0.29 and asked[2] - asked[1] >= 0.29
    # a long gap: the agent stops meanwhile, and the next page is not asked at all
    pages = Pages(head.fetch, live_seconds=5, wait_seconds=25, wait_gap_seconds=60, stop=stop)
    for cursor in (0, 10, 20, 30, 40):
        pages.next(cursor, None)
    pages.next(50, None)
    stop.set()
    started = time.monotonic()
    with pytest.raises(Stopped):
        pages.next(50, None)
    assert time.monotonic() - started < 30 and len(head.waited) == 4
