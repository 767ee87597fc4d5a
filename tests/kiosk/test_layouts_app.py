"""The real kiosk app driven by Pilot, on real replica and journal files: a scanner set to a US
keyboard typing into a German (QWERTZ) or French (AZERTY) till is redeemed and the cashier told
once; the manager view and `voucher-sync status` (a real process) show it until it is fixed;
a paste or a stuck scanner of any length answers at once, in one wording."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from support.kiosk_files import journal, make_settings, open_manager, scan, shown, status_line, wait_until
from textual import events
from textual.widgets import Label

from harness import BIN
from kiosk.app import build_kiosk
from kiosk.pin import save_pin
from kiosk.widgets.scan_input import CAPACITY, ScanInput
from kiosk.widgets.verdict import VerdictPanel
from localdb import notices
from localdb.connect import open_reader
from vouchers.codes import TOO_LONG, format_code, new_code
from vouchers.layouts import BY_ID, typed_through
from vouchers.verdict import Verdict

pytestmark = pytest.mark.anyio
DE, FR = BY_ID["de"], BY_ID["fr"]
NOTICE = "SCANNER ON THE WRONG KEYBOARD LAYOUT"


def moved_by_both(count: int) -> list[str]:
    """Codes both layouts move (a Y or Z for German, a digit for French)."""
    codes = []
    while len(codes) < count:
        code = new_code()
        if DE.changes(code) and FR.changes(code):
            codes.append(code)
    return codes


CODES = moved_by_both(5)  # 0 and 1 claimed, 2-4 not


async def wedge(pilot, code: str) -> None:
    """As a scanner types a code: all its keys at once, then Enter (far faster than by hand)."""
    assert code.isalnum()
    await pilot.click("#scan")
    for ch in code:
        pilot.app.post_message(events.Key(ch, ch))
    pilot.app.post_message(events.Key("enter", "\r"))


def notice_in(settings):
    reader = open_reader(settings.journal_path)
    try:
        return notices.current(reader)
    finally:
        reader.close()


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, CODES)


async def test_qwertz_scans_are_redeemed_the_cashier_told_once_and_the_notice_ends_by_itself(settings):
    app = build_kiosk(settings)
    async with app.run_test(size=(140, 40)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        typed = typed_through(format_code(CODES[0]), DE)
        assert "ß" in typed
        await scan(pilot, typed)
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        assert format_code(CODES[0]) in shown(app) and "£5 off" in shown(app)
        assert "German (QWERTZ)" in shown(app) and "keyboard country to Germany" in shown(app)
        assert journal(settings) == ["redeem"]
        await wait_until(pilot, lambda: NOTICE in status_line(app))
        await scan(pilot, typed_through(CODES[1], DE))
        await wait_until(pilot, lambda: format_code(CODES[1]) in shown(app))
        assert panel.has_class("accepted") and "Corrected" in shown(app)
        assert "keyboard country" not in shown(app)  # told once
        assert journal(settings) == ["redeem", "redeem"]
        for code in CODES[2:]:  # the scanner set right: codes with a Y or Z arrive as they are
            await wedge(pilot, code)
            await wait_until(pilot, lambda code=code: format_code(code) in shown(app))
            assert "never claimed" in shown(app) and "Corrected" not in shown(app)
        await wait_until(pilot, lambda: NOTICE not in status_line(app))
    assert journal(settings) == ["redeem", "redeem", "refused", "refused", "refused"]


async def test_azerty_scans_are_redeemed_and_the_manager_view_shows_it_until_marked_fixed(settings):
    save_pin(settings.data_dir / "manager-pin", "2468")
    app = build_kiosk(settings)
    async with app.run_test(size=(160, 50)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        typed = typed_through(CODES[0], FR)
        assert not any(ch.isdigit() for ch in typed)
        await scan(pilot, typed)
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        assert "French (AZERTY)" in shown(app) and "keyboard country to France" in shown(app)
        await wait_until(pilot, lambda: NOTICE in status_line(app))
        await pilot.press("escape")
        await open_manager(pilot, "2468")
        label = app.screen.query_one("#scanner_layout", Label)
        await wait_until(pilot, lambda: label.display and "French (AZERTY)" in str(label.render()))
        assert "1 scan corrected" in str(label.render()) and "France" in str(label.render())
        await pilot.press("l")
        await wait_until(pilot, lambda: not label.display)
        assert "closed" in str(app.screen.query_one("#message", Label).render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: NOTICE not in status_line(app))


def sync_status(data_dir, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHER_")}
    return subprocess.run(
        [str(BIN / "voucher-sync"), "status", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_voucher_sync_status_shows_the_notice_in_words_and_in_json(settings):
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        await scan(pilot, typed_through(format_code(CODES[0]), DE))
        await wait_until(pilot, lambda: NOTICE in status_line(app))
    text = sync_status(settings.data_dir)
    assert "Traceback" not in text.stderr and text.returncode == 1, text.stderr
    first = text.stdout.splitlines()[0]
    assert first.startswith("DEGRADED:") and "the barcode scanner types as a US keyboard" in first
    assert (
        "German (QWERTZ)" in first and "keyboard country to Germany" in first and "1 scan corrected" in first
    )
    report = json.loads(sync_status(settings.data_dir, "--json").stdout)
    assert report["scanner_layout"]["layouts"] == ["de"] and report["scanner_layout"]["corrected"] == 1
    assert [p for p in report["problems"] if p.startswith("the barcode scanner types as a US keyboard")]


async def test_a_paste_or_a_stuck_scanner_of_any_length_answers_at_once_in_one_wording(settings):
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        field = app.screen.query_one("#scan", ScanInput)
        panel = app.screen.query_one(VerdictPanel)
        reasons = []
        for length in (40, 10_000):
            await pilot.click("#scan")
            app.post_message(events.Paste("7" * length))  # as a terminal sends a paste: one event
            await wait_until(pilot, lambda length=length: len(field.value) == min(length, CAPACITY))
            await pilot.press("enter")
            await wait_until(pilot, lambda: panel.has_class("refused"))
            reasons.append(shown(app))
            await pilot.press("escape")
            await wait_until(pilot, lambda: panel.has_class("idle"))
        for _ in range(5_000):  # a stuck scanner on the Linux console: one key event a character
            app.post_message(events.Key("7", "7"))
        await pilot.press("enter")  # behind all of them
        await wait_until(pilot, lambda: panel.has_class("refused"), timeout=30)
        reasons.append(shown(app))
        assert field.value == "" and all(TOO_LONG in r for r in reasons) and len(set(reasons)) == 1
        await wait_until(pilot, lambda: journal(settings) == ["refused"] * 3)


async def test_camera_scans_are_never_corrected_and_a_mistype_stays_a_mistype(settings):
    app = build_kiosk(settings)
    async with app.run_test():
        kiosk = app.kiosk
        typed = typed_through(format_code(CODES[0]), DE)
        assert (
            kiosk.scan(typed, typed=False).verdict is Verdict.INVALID_CODE
        )  # the camera reads what is printed
        code = CODES[2]
        mistyped = next(
            m
            for m in (code[:3] + s + code[4:] for s in "0123456789ABCDEFGHJKMNPQRSTVWX")
            if m != code and all(typed_through(code, layout) != m for layout in BY_ID.values())
        )
        decision = kiosk.scan(mistyped)
        assert decision.verdict is Verdict.INVALID_CODE and decision.layout is None
        assert "mistyped or misread" in decision.reason
        decision = kiosk.scan(typed_through(code, DE))
        assert decision.verdict is Verdict.NOT_CLAIMED and decision.layout.ids == ("de", "ch")


def test_voucher_kiosk_redeem_corrects_a_code_typed_through_azerty_and_says_so(settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCHER_")}
    typed = typed_through(format_code(CODES[1]), FR)  # may begin with "-" (a 6): hence "--"
    result = subprocess.run(
        [str(BIN / "voucher-kiosk"), "redeem", "--data-dir", str(settings.data_dir), "--", typed],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stdout.startswith("ACCEPTED") and format_code(CODES[1]) in result.stdout
    assert "French (AZERTY)" in result.stdout and "keyboard country to France" in result.stdout
    assert journal(settings) == ["redeem"]


async def test_codes_typed_by_hand_on_the_tills_keyboard_do_not_end_the_notice(settings):
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        await scan(pilot, typed_through(CODES[0], DE))
        await wait_until(pilot, lambda: NOTICE in status_line(app))
        for code in CODES[2:]:
            await pilot.click("#scan")
            for ch in code:  # a person's pace, ten keys a second: the input, not a wait for anything
                await pilot.press(ch)
                await pilot.pause(0.1)
            await pilot.press("enter")
            await wait_until(pilot, lambda code=code: format_code(code) in shown(app))
        await wait_until(pilot, lambda: journal(settings) == ["redeem", "refused", "refused", "refused"])
        await wedge(pilot, CODES[2])  # then one from the scanner, set right: it counts
        await wait_until(pilot, lambda: (now := notice_in(settings)) is None or now.correct_in_row > 0)
        notice = notice_in(settings)
        assert notice is not None and notice.correct_in_row == 1 and NOTICE in status_line(app)


async def test_a_german_till_tells_the_cashier_and_the_manager_in_german(settings):
    """The notice in the till's words: a German shop's scanner left at US, as it comes out of the box."""
    save_pin(settings.data_dir / "manager-pin", "2468")
    app = build_kiosk(settings.model_copy(update={"language": "de"}))
    async with app.run_test(size=(160, 50)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, typed_through(format_code(CODES[0]), DE))
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        said = shown(app)
        assert "Der Scanner tippt wie eine US-Tastatur" in said and "Deutsch (QWERTZ)" in said
        assert "das Tastaturland auf Deutschland stellen" in said and "keyboard" not in said
        await wait_until(pilot, lambda: "SCANNER MIT FALSCHER TASTATURBELEGUNG (F2)" in status_line(app))
        await pilot.press("escape")
        await open_manager(pilot, "2468")
        label = app.screen.query_one("#scanner_layout", Label)
        await wait_until(pilot, lambda: label.display and "Deutsch (QWERTZ)" in str(label.render()))
        notice = str(label.render()).replace("\u00a0", " ")
        assert notice.startswith("Hinweis: Der Barcode-Scanner tippt wie eine US-Tastatur")
        assert "(1 Scan korrigiert, der erste gerade eben" in notice and "Taste l)" in notice
        await pilot.press("l")
        await wait_until(pilot, lambda: not label.display)
        assert "Scanner-Hinweis geschlossen" in str(app.screen.query_one("#message", Label).render())
