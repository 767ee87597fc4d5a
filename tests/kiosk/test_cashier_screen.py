"""The cashier's screen (issue 18.4), the real app driven by Pilot on real till files: the shop and
the till named at the top, the verdict's word in block letters as large as fits (down to 80x24;
one bold line below that), the last scans under it once the verdict has gone, and no Ctrl+Q
unless the settings allow it."""

from __future__ import annotations

import itertools
import socket
from datetime import UTC, datetime, timedelta

import pytest
from support.kiosk_files import CODES, make_settings, scan, wait_until

from kiosk import bigtext
from kiosk.app import build_kiosk
from kiosk.widgets.recent import RecentScans
from kiosk.widgets.shop import ShopLine
from kiosk.widgets.verdict import VerdictPanel
from localdb.identity import Identity, save
from vouchers.codes import format_code

pytestmark = pytest.mark.anyio

JULY = datetime(2026, 7, 1, 9, 15, tzinfo=UTC)  # 10:15 in London (BST): the store's zone, not UTC


def stepping_clock(start: datetime = JULY, step: float = 37):
    times = (start + timedelta(seconds=step * i) for i in itertools.count())
    return lambda: next(times)


def block_rows(app) -> list[str]:
    """The rows of the panel made of block characters only: the word in block letters."""
    text = str(app.screen.query_one(VerdictPanel).render())
    return [
        r
        for r in text.split("\n")
        if r.strip() and set(r) <= {bigtext.FULL, bigtext.UPPER, bigtext.LOWER, " "}
    ]


def spelled(rows: list[str], word: str) -> tuple[int, int] | None:
    """The pixel size at which `rows` are `word` in the font, if they are."""
    return next((size for size in bigtext.SIZES if rows == bigtext.line(word, size)), None)


def recent_lines(app) -> list[str]:
    return str(app.screen.query_one(RecentScans).render()).split("\n")


def shop_line(app) -> str:
    return str(app.screen.query_one(ShopLine).render())


async def test_the_top_line_names_the_shop_and_the_till_from_the_setting(tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"till_name": "Counter 2"})
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: "Shop s1" in shop_line(app))  # the replica's store
        assert "Till Counter 2" in shop_line(app)


async def test_without_the_setting_the_till_is_the_host_and_the_shop_waits_for_the_replica(tmp_path):
    save(tmp_path / "device.json", Identity("http://x", "d1", "s1", "secret-token", "22" * 32))
    from kiosk.settings import KioskSettings

    app = build_kiosk(KioskSettings(data_dir=tmp_path, bell=False))  # enrolled, nothing pulled yet
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: "synced" in str(app.screen.query_one("#status").render()))
        assert shop_line(app) == f"Shop not known yet (no voucher list)  ·  Till {socket.gethostname()}"
        assert "secret-token" not in shop_line(app)
        make_settings(tmp_path)  # the agent's first pull
        app.screen.refresh_status()
        await wait_until(pilot, lambda: shop_line(app).startswith("Shop s1  ·  Till "))


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 50)])
async def test_each_word_in_block_letters_on_every_screen_from_80x24(tmp_path, size):
    settings = make_settings(tmp_path)
    app = build_kiosk(settings)
    async with app.run_test(size=size) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        heights = {}
        for code, word in ((CODES[0], "ACCEPTED"), (CODES[0], "REFUSED")):
            await scan(pilot, code)
            await wait_until(pilot, lambda word=word: panel.word == word)
            await pilot.pause()
            rows = block_rows(app)
            assert panel.big and spelled(rows, word) is not None, "\n".join(rows)
            heights[word] = len(rows)
        for name in ("replica.db", "replica.db-wal", "replica.db-shm"):  # no voucher list: CHECK
            (tmp_path / name).unlink(missing_ok=True)
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: panel.word == "CHECK")
        await pilot.pause()
        assert spelled(block_rows(app), "CHECK") is not None
        assert min(heights.values()) >= 5  # several rows tall, not a line
        assert heights["ACCEPTED"] >= (10 if size[1] >= 30 else 5)
        # the whole screen fits: the verdict's lines, the last scans, the input, the status, the keys
        assert "No snapshot yet" in panel.text and panel.region.height >= 5 + 3
        for selector in ("#shop", "#recent", "#scan", "#status", "Footer"):
            region = app.screen.query_one(selector).region
            assert region.height > 0 and region.bottom <= size[1], selector


async def test_a_terminal_too_small_shows_the_word_as_one_bold_line(tmp_path):
    app = build_kiosk(make_settings(tmp_path))
    async with app.run_test(size=(40, 16)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: panel.word == "ACCEPTED")
        await pilot.pause()
        drawn = str(panel.render())
        assert not panel.big and drawn.startswith("ACCEPTED\n") and not block_rows(app)
        assert not app.screen.query_one(RecentScans).display  # too short for the last scans as well


async def test_the_strip_keeps_the_last_scans_newest_first_in_store_time_without_whole_codes(tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"recent_scans": 3})
    app = build_kiosk(settings, clock=stepping_clock())
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        assert recent_lines(app) == ["No scans yet."]
        await wait_until(pilot, lambda: "Shop s1" in shop_line(app))  # the store's time zone is known
        for code, what in (
            (CODES[0], "£5 off"),
            (CODES[0], "already been used"),
            ("hello", "not a voucher code"),
            (CODES[2], "never claimed"),
        ):
            await scan(pilot, code)
            await wait_until(pilot, lambda what=what: what in panel.text)
        await pilot.press("escape")  # the verdict goes; the strip stays
        await wait_until(pilot, lambda: panel.has_class("idle"))
        lines = recent_lines(app)
        assert len(lines) == 3  # the oldest of the four has left the strip
        assert lines[0].startswith("10:16:51  REFUSED") and "never claimed  ·  Spring Email" in lines[0]
        assert lines[1].startswith("10:16:14  REFUSED") and "not a voucher code" in lines[1]
        assert lines[2].startswith("10:15:37  REFUSED") and "already used  ·  Spring Email" in lines[2]
        strip = "\n".join(lines)
        for code in (CODES[0], CODES[2]):
            grouped = format_code(code)
            assert grouped not in strip and code not in strip and "..." + grouped[-5:] in strip
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: recent_lines(app)[0].startswith("10:17:28  ACCEPTED"))
        assert "£5 off  ·  Spring Email" in recent_lines(app)[0]


async def test_a_question_answered_no_is_listed_as_cancelled(tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"confirm": True})
    app = build_kiosk(settings, clock=stepping_clock())
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: panel.word == "MARK AS USED?")
        assert recent_lines(app) == ["No scans yet."]  # a question is listed once it is answered
        await pilot.press("escape")
        await wait_until(pilot, lambda: "CANCELLED" in recent_lines(app)[0])
        assert "not marked as used" in recent_lines(app)[0]
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: panel.word == "MARK AS USED?")
        await pilot.press("enter")  # yes
        await wait_until(pilot, lambda: "ACCEPTED" in recent_lines(app)[0])
        assert len(recent_lines(app)) == 2


def footer_keys(app) -> dict[str, str]:
    return {key.key: key.description for key in app.screen.query("FooterKey")}


async def test_a_cashier_is_offered_no_quit_and_ctrl_q_does_nothing(tmp_path):
    app = build_kiosk(make_settings(tmp_path))
    async with app.run_test() as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await wait_until(pilot, lambda: bool(footer_keys(app)))
        assert footer_keys(app) == {"escape": "Clear / No", "f2": "Manager"}  # all a cashier is offered
        await pilot.press("ctrl+q", "ctrl+c")  # nor a "press Ctrl+Q to quit" hint
        await scan(pilot, CODES[0])  # keys are taken in order: these two came before it
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        assert app.return_code is None and not app.screen.query("Toast")
        assert app.check_action("quit", ()) is False


async def test_with_allow_quit_ctrl_q_is_offered_and_quits(tmp_path):
    app = build_kiosk(make_settings(tmp_path).model_copy(update={"allow_quit": True}))
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: "ctrl+q" in footer_keys(app))
        assert footer_keys(app)["ctrl+q"] == "Quit"
        assert app.return_code is None
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: app.return_code == 0)


async def test_no_strip_when_the_setting_says_none(tmp_path):
    app = build_kiosk(make_settings(tmp_path).model_copy(update={"recent_scans": 0}))
    async with app.run_test() as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        assert not app.screen.query(RecentScans)


async def test_the_wrong_layout_notice_leaves_room_for_the_word_on_80x24(tmp_path):
    """The longest verdict a cashier sees: a code corrected from a QWERTZ scanner, told in four lines."""
    from vouchers.codes import new_code
    from vouchers.layouts import BY_ID, typed_through

    german = BY_ID["de"]
    codes = []
    while len(codes) < 3:
        code = new_code()
        if german.changes(code):
            codes.append(code)
    app = build_kiosk(make_settings(tmp_path, codes))
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, typed_through(format_code(codes[0]), german))
        await wait_until(pilot, lambda: "keyboard country to Germany" in panel.text)
        rows = block_rows(app)
        assert panel.big and spelled(rows, "ACCEPTED") is not None and len(rows) >= 3
