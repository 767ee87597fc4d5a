"""The status line is read off the UI thread: while a scan holds the till's files (its journal
write and fsync), the screen keeps taking keys, one read at a time waits, and the line updates when
the scan is done. Its messages replace older ones of their kind still queued."""

from __future__ import annotations

import threading

import pytest
from support.kiosk_files import make_settings, status_line, wait_until

from kiosk.app import build_kiosk
from kiosk.camera import CameraChanged, CameraState
from kiosk.widgets.scan_input import ScanInput
from kiosk.widgets.status import StatusLine, StatusRead, TillStatus

pytestmark = pytest.mark.anyio


def status_reads(app) -> list:
    return [w for w in app.workers if w.name == "status read" and not w.is_finished]


class HeldFiles:
    """The kiosk's lock on the till's files, held by another thread, as a scan holds it through its
    journal write."""

    def __init__(self, kiosk) -> None:
        self._held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(kiosk,), daemon=True)

    def _hold(self, kiosk) -> None:
        with kiosk._lock:
            self._held.set()
            self._release.wait(60)

    def __enter__(self) -> HeldFiles:
        self._thread.start()
        assert self._held.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._thread.join(10)


async def test_the_screen_never_waits_for_the_status_line(tmp_path):
    settings = make_settings(tmp_path)
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        line = app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "synced" in status_line(app))
        with HeldFiles(app.kiosk):
            for _ in range(20):  # every scan and the timer ask for a fresh line meanwhile
                app.screen.refresh_status()
            await wait_until(pilot, lambda: len(status_reads(app)) == 1)
            await pilot.pause(0.1)  # a read finished before the hold has shown its line by now
            shown_before = line.status
            await pilot.click("#scan")
            await pilot.press("A", "B", "C")  # the UI thread takes keys while the read waits
            assert app.screen.query_one(ScanInput).value == "ABC"
            assert len(status_reads(app)) == 1  # one read waits; the others were folded into one more
            assert line.status is shown_before
        await wait_until(pilot, lambda: line.status is not shown_before)  # the scan done: read
        await wait_until(pilot, lambda: not status_reads(app))
        assert "synced" in status_line(app)


async def test_a_newer_status_replaces_an_older_one_still_queued(tmp_path):
    older, newer = StatusRead(TillStatus()), StatusRead(TillStatus(unreadable="gone"))
    assert older.can_replace(newer) and newer.can_replace(older)
    assert not older.can_replace(CameraChanged(CameraState.ON))

    settings = make_settings(tmp_path)
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        line = app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "synced" in status_line(app))
        line.post_message(StatusRead(TillStatus(unreadable="disk I/O error")))
        await wait_until(pilot, lambda: "TILL FILES UNREADABLE" in status_line(app))
        assert line.has_class("warning")
