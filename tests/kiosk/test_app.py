"""The real kiosk app driven by Pilot, on real replica and journal files."""

from __future__ import annotations

import pytest
from support.kiosk_files import CODES, journal, make_settings, wait_until

from kiosk.app import build_kiosk
from kiosk.settings import KioskSettings
from kiosk.widgets.status import StatusLine
from kiosk.widgets.verdict import VerdictPanel
from vouchers.codes import format_code

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path) -> KioskSettings:
    return make_settings(tmp_path)


async def scan(pilot, text: str) -> None:
    await pilot.click("#scan")
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")


async def test_wedge_scan_accepted_then_already_used(settings):
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, format_code(CODES[0]).lower())
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        text = panel.text
        assert "ACCEPTED" in text and "£5 off" in text and "minimum purchase £20" in text
        assert journal(settings) == ["redeem"]
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: panel.has_class("refused"))
        assert "already been used" in panel.text
        await wait_until(pilot, lambda: journal(settings) == ["redeem", "refused"])
        assert app.focused is app.screen.query_one("#scan")  # the scanner can type the next code at once


async def test_garbage_is_invalid_never_a_crash(settings):
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        panel = app.screen.query_one(VerdictPanel)
        for text in ["hello world", "'; DROP TABLE vouchers; --", "ÆØÅ ∑ 🙂"]:
            await scan(pilot, text)
            await wait_until(pilot, lambda: "not a voucher code" in panel.text)
            await pilot.press("escape")
        await scan(pilot, CODES[2])
        await wait_until(pilot, lambda: "never claimed" in panel.text)


async def test_status_line_shows_sync_state(settings):
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        status = app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "online" in str(status.render()))
        assert "synced just now" in str(status.render()) and "nothing pending" in str(status.render())
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: "1 pending" in str(status.render()), timeout=5)


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")


async def test_manager_view_behind_the_pin_counts_reverts_and_exports(settings):
    from textual.widgets import DataTable

    from kiosk.pin import save_pin
    from kiosk.screens.manager import ManagerScreen

    save_pin(settings.data_dir / "manager-pin", "2468")
    assert oct((settings.data_dir / "manager-pin").stat().st_mode)[-3:] == "600"
    assert "2468" not in (settings.data_dir / "manager-pin").read_text()
    app = build_kiosk(settings)
    async with app.run_test(size=(140, 50)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        await pilot.press("f2")
        await type_text(pilot, "1111")  # wrong: asked again
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt")
        await pilot.press("escape")  # given up
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ScanScreen")
        await pilot.press("f2")
        await type_text(pilot, "2468")
        await wait_until(pilot, lambda: isinstance(app.screen, ManagerScreen))
        counts = app.screen.query_one("#counts", DataTable)
        await wait_until(pilot, lambda: counts.row_count == 1)
        row = [str(c) for c in counts.get_row_at(0)]
        assert row[0] == "Spring Email" and row[3:6] == ["3", "2", "1"] and row[6] == "50.0%"
        assert row[8:10] == ["1", "1"] and "unsynced" in row[10]
        redemptions = app.screen.query_one("#redemptions", DataTable)
        await wait_until(pilot, lambda: redemptions.row_count == 1)
        redemptions.focus()
        await pilot.press("r")
        await type_text(pilot, "customer changed mind")
        await wait_until(pilot, lambda: journal(settings) == ["redeem", "revert"])
        await wait_until(
            pilot, lambda: [str(c) for c in redemptions.get_row_at(0)][-1] == "yes: customer changed mind"
        )
        await pilot.press("e")  # written by a worker
        folder = settings.data_dir / "exports"
        await wait_until(pilot, lambda: len(list(folder.glob("redemptions-*.csv"))) == 1, timeout=30)
        [row] = list(__import__("csv").DictReader(next(folder.glob("redemptions-*.csv")).open()))
        assert (row["voucher"], row["batch"], row["reverted"], row["synced"], row["revert_reason"]) == (
            format_code(CODES[0]),
            "Spring Email",
            "yes",
            "no",
            "customer changed mind",
        )
        await pilot.press("escape")
        await scan(pilot, CODES[0])  # reverted: the voucher can be used again
        await wait_until(pilot, lambda: panel.has_class("accepted") and journal(settings)[-1] == "redeem")


def test_wrong_pins_lock_the_manager_view(tmp_path):
    from kiosk.pin import MAX_ATTEMPTS, PinError, PinGate, save_pin

    now = [1000.0]
    save_pin(tmp_path / "pin", "9876")
    gate = PinGate(tmp_path / "pin", clock=lambda: now[0])
    for _ in range(MAX_ATTEMPTS - 1):
        assert gate.try_pin("0000") is False
    with pytest.raises(PinError, match="locked"):
        gate.try_pin("0000")
    with pytest.raises(PinError, match="try again"):
        gate.try_pin("9876")  # even the right PIN waits
    now[0] += 301
    assert gate.try_pin("9876") is True
    with pytest.raises(PinError, match="4 to 12 digits"):
        save_pin(tmp_path / "pin", "12")


async def test_linux_console_gets_ascii_frames(settings, monkeypatch):
    monkeypatch.setenv("TERM", "linux")
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.has_class("linux-console")
        assert app.screen.query_one("#scan").styles.border.top[0] == "ascii"


async def test_a_rebuilt_replica_is_reopened(settings):
    import shutil

    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        # the agent moves a corrupt replica aside and builds a new file
        path = settings.data_dir / "replica.db"
        shutil.move(path, settings.data_dir / "replica.db.corrupt-1")
        for side in ("replica.db-wal", "replica.db-shm"):
            (settings.data_dir / side).unlink(missing_ok=True)
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: "No snapshot yet" in panel.text)
        make_settings(settings.data_dir)  # the rebuilt replica
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: panel.has_class("accepted"))


async def test_mark_as_used_asks_first_when_configured(settings):
    app = build_kiosk(settings.model_copy(update={"confirm": True}))
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "MARK AS USED?" in panel.text)
        assert panel.has_class("attention") and "£5 off" in panel.text
        assert journal(settings) == []
        await pilot.press("escape")  # no
        await wait_until(pilot, lambda: panel.has_class("idle"))
        assert journal(settings) == []
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "MARK AS USED?" in panel.text)
        await pilot.press("enter")  # yes: Enter on the empty input
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        assert "ACCEPTED" in panel.text and journal(settings) == ["redeem"]
        await pilot.press("enter")  # nothing is pending any more: a second Enter writes nothing
        await pilot.pause(0.1)
        assert journal(settings) == ["redeem"]


async def test_a_stale_snapshot_needs_the_manager_pin(settings):
    from kiosk.pin import save_pin
    from localdb.replica import Replica

    save_pin(settings.data_dir / "manager-pin", "2468")
    replica = Replica(settings.data_dir / "replica.db")
    replica.set_health(last_pull_at="2026-01-01T09:00:00+00:00")
    replica.close()
    app = build_kiosk(settings.model_copy(update={"stale_needs_approval": True}))
    async with app.run_test(size=(100, 30)) as pilot:
        panel = app.screen.query_one(VerdictPanel)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "MANAGER APPROVAL" in panel.text)
        assert "days old" in panel.text and journal(settings) == []
        await pilot.press("enter")  # asks for the PIN
        await type_text(pilot, "1111")  # wrong: asked again, until given up
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ScanScreen")
        assert journal(settings) == [] and "MANAGER APPROVAL" in panel.text  # still waiting
        await pilot.press("enter")
        await type_text(pilot, "2468")
        await wait_until(pilot, lambda: panel.has_class("accepted"))
        assert journal(settings) == ["redeem"]
        conn = __import__("sqlite3").connect(settings.data_dir / "journal.db")
        assert conn.execute("SELECT cashier FROM events").fetchone()[0] == "cashier, approved by manager"
        conn.close()


async def test_the_status_line_names_problems_to_review_and_the_manager_closes_one(settings):
    """A conflict the store won (from the snapshot): the status line says there is one to review;
    in the manager view 'v' asks for a note and writes a review event; then nothing is open."""
    from textual.widgets import DataTable

    from kiosk.pin import save_pin
    from kiosk.screens.manager import ManagerScreen
    from localdb.replica import Replica

    replica = Replica(settings.data_dir / "replica.db")
    replica.apply_page(
        {
            "cursor": 5,
            "next_cursor": 6,
            "complete": True,
            "store": {"id": "s1", "timezone": "Europe/London"},
            "batches": [],
            "types": [],
            "vouchers": [],
            "deleted": {},
            "problems": [
                {
                    "event_id": "e-lost",
                    "kind": "redeem",
                    "outcome": "conflict",
                    "reason": "ALREADY_USED",
                    "store_id": "s2",
                    "device_id": "d2",
                    "voucher_id": "b.0",
                    "at": "2026-11-30T10:00:00+00:00",
                    "winner": {"store_id": "s1", "device_id": "d1", "at": "2026-11-30T09:00:00+00:00"},
                    "reviewed": None,
                }
            ],
        }
    )
    replica.close()
    save_pin(settings.data_dir / "manager-pin", "2468")
    app = build_kiosk(settings)
    async with app.run_test(size=(140, 50)) as pilot:
        status = app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "1 CONFLICT OR REJECTION TO REVIEW (F2)" in str(status.render()))
        await pilot.press("f2")
        await type_text(pilot, "2468")
        await wait_until(pilot, lambda: isinstance(app.screen, ManagerScreen))
        problems = app.screen.query_one("#problems", DataTable)
        await wait_until(pilot, lambda: problems.row_count == 1)
        row = [str(c) for c in problems.get_row_at(0)]
        assert row[2] == "conflict won" and "store s2" in row[3] and row[4] == "TO REVIEW"
        problems.focus()
        await pilot.press("v")
        await type_text(pilot, "called s2, all fine")
        await wait_until(pilot, lambda: journal(settings) == ["review"])
        await wait_until(pilot, lambda: [str(c) for c in problems.get_row_at(0)][4].startswith("reviewed by"))
        await pilot.press("escape")
        await wait_until(pilot, lambda: "TO REVIEW" not in str(app.screen.query_one(StatusLine).render()))
