"""Which page the pull loop applies next: a catch-up page fetched ahead, a live page when due,
and always in the order they were fetched (the replica's exactness rests on it)."""

from __future__ import annotations

import threading

from sync.pages import Pages


class Head:
    """A stand-in for head office's pages (the network is the one port here): catch-up pages of
    10 changes up to 50, and a live stream from 100."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.lock = threading.Lock()

    def fetch(self, cursor: int) -> dict:
        with self.lock:
            self.asked.append(cursor)
        if cursor >= 100:
            return {"cursor": cursor, "next_cursor": cursor + 1, "complete": True}
        return {"cursor": cursor, "next_cursor": cursor + 10, "complete": cursor + 10 >= 50}


def test_the_next_catch_up_page_is_fetched_while_one_is_applied():
    head, now = Head(), [0.0]
    pages = Pages(head.fetch, live_seconds=5, clock=lambda: now[0])
    request, page = pages.next(0, None)
    assert (request.cursor, request.live, page["next_cursor"]) == (0, False, 10)
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
    assert (request.cursor, request.live, page["complete"]) == (100, True, True)
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
