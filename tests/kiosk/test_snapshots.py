"""SVG snapshots of the kiosk's main screens (pytest-textual-snapshot), on real till files.

The codes, the till's name and the clock that times the last scans are fixed so the pictures are
the same every run, and the agent's last pull is made "just now" right before each picture,
however slow the machine. After a deliberate change to the
screens: `.venv/bin/pytest tests/kiosk/test_snapshots.py --snapshot-update`, then look at the
SVG files in __snapshots__/ before committing them.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import cv2
import pytest
from support.kiosk_files import frame_with, journal, make_settings, qr, wait_until

from kiosk.app import build_kiosk
from kiosk.pin import save_pin
from kiosk.widgets.shop import ShopLine
from kiosk.widgets.status import StatusLine
from kiosk.widgets.verdict import VerdictPanel
from localdb.replica import Replica

CODES = ["7K2M9QH4RTX3A7", "4HBN6WZP0C8EJ8", "9ZXR2F6HW4N8BX"]  # fixed, with their check characters
SIZE = (100, 30)
SMALL = (80, 24)  # the smallest terminal the cashier's screen is made for
CLOCK_START = datetime(2026, 12, 2, 10, 15, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path):
    settings = make_settings(tmp_path, CODES)
    save_pin(tmp_path / "manager-pin", "2468")
    return settings.model_copy(update={"till_name": "counter-2"})  # not this machine's host name


def kiosk_app(settings):
    """The app with a clock that goes 37 s on at each scan shown, from 10:15 (London) on."""
    times = (CLOCK_START + timedelta(seconds=37 * i) for i in itertools.count())
    return build_kiosk(settings, clock=lambda: next(times))


async def synced_just_now(pilot, also: str = "") -> None:
    """As the agent records each pull: the status line says "synced just now" (and `also`), however
    long the machine took to get here."""
    replica = Replica(pilot.app.kiosk.settings.replica_path)
    try:
        replica.set_health(last_pull_at=datetime.now(UTC).isoformat())
    finally:
        replica.close()
    pilot.app.screen.refresh_status()
    status = pilot.app.screen.query_one(StatusLine)
    await wait_until(
        pilot, lambda: "synced just now" in str(status.render()) and also in str(status.render())
    )
    await wait_until(pilot, lambda: pilot.app.screen.query_one(ShopLine).store_id == "s1")


def scanned(text: str, until: str, pending: str = "1 pending"):
    """Type a code; the picture is taken once the verdict and the status line's count are shown."""

    async def run_before(pilot) -> None:
        panel = pilot.app.screen.query_one(VerdictPanel)
        status = pilot.app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "synced" in str(status.render()))
        await pilot.click("#scan")
        await pilot.press(*[c if c != "-" else "minus" for c in text], "enter")
        await wait_until(pilot, lambda: until in panel.text and pending in str(status.render()))
        await synced_just_now(pilot, pending)
        pilot.app.screen.query_one("#scan").cursor_blink = False  # a steady cursor, in every picture
        await pilot.pause()

    return run_before


def test_idle(settings, snap_compare):
    async def ready(pilot) -> None:
        await synced_just_now(pilot)
        pilot.app.screen.query_one("#scan").cursor_blink = False  # nothing was typed: the cursor would blink
        await pilot.pause()

    assert snap_compare(kiosk_app(settings), terminal_size=SIZE, run_before=ready)


def test_accepted(settings, snap_compare):
    assert snap_compare(kiosk_app(settings), terminal_size=SIZE, run_before=scanned(CODES[0], "ACCEPTED"))
    assert journal(settings) == ["redeem"]


def test_refused_never_claimed(settings, snap_compare):
    assert snap_compare(kiosk_app(settings), terminal_size=SIZE, run_before=scanned(CODES[2], "REFUSED"))


def test_mark_as_used_question(settings, snap_compare):
    app = kiosk_app(settings.model_copy(update={"confirm": True}))
    assert snap_compare(
        app, terminal_size=SIZE, run_before=scanned(CODES[1], "MARK AS USED?", "nothing pending")
    )


def test_linux_console(settings, snap_compare, monkeypatch):
    monkeypatch.setenv("TERM", "linux")
    assert snap_compare(kiosk_app(settings), terminal_size=SIZE, run_before=scanned(CODES[0], "ACCEPTED"))


def test_manager_view(settings, snap_compare):
    async def open_manager(pilot) -> None:
        await pilot.press("f2", "2", "4", "6", "8", "enter")
        await wait_until(pilot, lambda: pilot.app.screen.__class__.__name__ == "ManagerScreen")
        counts = pilot.app.screen.query_one("#counts")
        await wait_until(pilot, lambda: counts.row_count == 1)

    assert snap_compare(kiosk_app(settings), terminal_size=(140, 30), run_before=open_manager)


def test_camera_preview_beside_the_verdict(settings, snap_compare, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "000.png"), frame_with(qr(CODES[0])))
    app = kiosk_app(settings.model_copy(update={"camera": str(folder), "preview": True}))

    async def seen(pilot) -> None:
        status = pilot.app.screen.query_one(StatusLine)
        await wait_until(
            pilot,
            lambda: "end of the video" in str(status.render()) and journal(settings) == ["redeem"],
            timeout=20,
        )
        await wait_until(pilot, lambda: pilot.app.screen.query_one("#preview")._picture is not None)
        await wait_until(pilot, lambda: "ACCEPTED" in pilot.app.screen.query_one(VerdictPanel).text)
        await synced_just_now(pilot, "end of the video")
        pilot.app.screen.query_one("#scan").cursor_blink = False  # nothing was typed: the cursor would blink
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=seen)


def test_accepted_on_80x24(settings, snap_compare):
    """The smallest terminal: the word in block letters still, the last scans, input, status, keys."""
    assert snap_compare(kiosk_app(settings), terminal_size=SMALL, run_before=scanned(CODES[0], "ACCEPTED"))


def test_last_scans_after_the_verdict_cleared(settings, snap_compare):
    async def three_scans_then_esc(pilot) -> None:
        panel = pilot.app.screen.query_one(VerdictPanel)
        await wait_until(pilot, lambda: "synced" in str(pilot.app.screen.query_one(StatusLine).render()))
        await pilot.click("#scan")
        for code, until in ((CODES[0], "ACCEPTED"), (CODES[0], "REFUSED"), ("HELLO", "not a voucher")):
            await pilot.press(*code, "enter")
            await wait_until(pilot, lambda until=until: until in panel.text)
        await pilot.press("escape")
        await wait_until(pilot, lambda: panel.has_class("idle"))
        await synced_just_now(pilot, "3 pending")  # the redemption and the two refusals
        pilot.app.screen.query_one("#scan").cursor_blink = False  # nothing was typed: the cursor would blink
        await pilot.pause()

    assert snap_compare(kiosk_app(settings), terminal_size=SIZE, run_before=three_scans_then_esc)
