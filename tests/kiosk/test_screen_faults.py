"""The real kiosk app (Pilot) on till files that went wrong: a full disk, a damaged journal, a
replaced journal, a damaged replica or one being rebuilt. It never shows ACCEPTED without the
write, never crashes, and says in words what the cashier and the manager must do."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from support.kiosk_files import CODES, journal, make_settings, scan, shown, status_line, wait_until
from textual.widgets import Label

from kiosk.app import build_kiosk
from kiosk.pin import save_pin
from kiosk.screens.manager import ManagerScreen
from kiosk.widgets.verdict import VerdictPanel
from localdb.errors import DiskFull
from localdb.replica import Replica
from vouchers.wire import Event, EventResult
from vouchers.wording import said

pytestmark = pytest.mark.anyio


async def test_a_full_disk_refuses_in_words_and_redeems_once_there_is_room(tmp_path):
    settings = make_settings(tmp_path)
    app = build_kiosk(settings)
    async with app.run_test(size=(140, 30)) as pilot:
        conn = app.kiosk.journal.conn
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "database or disk is full"
        with app.kiosk._lock, pytest.raises(DiskFull):  # (the status line reads the journal on a thread)
            for _ in range(500):  # the pages there are fill up
                app.kiosk.journal.append("refused", None, verdict="INVALID_CODE", cashier="x" * 150)
        with app.kiosk._lock, pytest.raises(DiskFull):
            for _ in range(500):  # and the room left on them, to the last event smaller than a redemption
                app.kiosk.journal.append("refused", None)
        before = journal(settings)
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "NOT RECORDED" in shown(app))
        assert (
            "Could not record the redemption: the disk is full — do not give the discount; call the manager"
            in " ".join(shown(app).split())
        )
        assert app.screen.query_one(VerdictPanel).has_class("refused") and "ACCEPTED" not in shown(app)
        assert journal(settings) == before
        conn.execute(f"PRAGMA max_page_count = {pages + 1000}")  # space again
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "ACCEPTED" in shown(app))
        assert journal(settings) == [*before, "redeem"]


async def test_a_damaged_journal_is_kept_and_every_scan_refused_until_the_manager_replaces_it(tmp_path):
    settings = make_settings(tmp_path)
    damaged = b"this is not a database " * 400
    (tmp_path / "journal.db").write_bytes(damaged)
    app = build_kiosk(settings)  # the till starts: it says what is wrong instead of stopping
    async with app.run_test(size=(160, 30)) as pilot:
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "TILL PROBLEM" in shown(app))
        words = " ".join(shown(app).split())
        assert "This till cannot record redemptions: its journal (journal.db) is damaged" in words
        assert "do not give the discount; call the manager" in words and "journal.db.damaged" in words
        await wait_until(
            pilot, lambda: "JOURNAL DAMAGED: CANNOT REDEEM, CALL THE MANAGER" in status_line(app)
        )
        assert (tmp_path / "journal.db").read_bytes() == damaged  # never rewritten
        (tmp_path / "journal.db").rename(tmp_path / "journal.db.damaged")  # the manager keeps it aside
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "ACCEPTED" in shown(app))  # a new journal, at once
        assert journal(settings) == ["redeem"]
        assert (tmp_path / "journal.db.damaged").read_bytes() == damaged


async def test_journal_deleted_under_the_running_till_the_next_redemption_is_in_the_new_one(tmp_path):
    settings = make_settings(tmp_path)
    app = build_kiosk(settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "ACCEPTED" in shown(app))
        first = app.kiosk.journal.identity
        replica = Replica(tmp_path / "replica.db")  # what the agent records once it pushed that event
        event = app.kiosk.journal.conn.execute("SELECT id, seq FROM events").fetchone()
        now = datetime.now(UTC)
        replica.pushed.record_outcomes(
            [Event(id=event[0], kind="redeem", voucher_id="b.0", at=now, device_seq=event[1])],
            [EventResult(id=event[0], outcome="accepted", server_time=now)],
            event[1],
            journal_id=first,
        )
        replica.close()
        with app.kiosk._lock:  # all three gone between two uses (the status line reads on a thread)
            for suffix in ("", "-wal", "-shm"):
                (tmp_path / f"journal.db{suffix}").unlink(missing_ok=True)
        app.screen.query_one(VerdictPanel).clear_verdict()  # the first ACCEPTED is not this scan's
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: "ACCEPTED" in shown(app))
        assert app.kiosk.journal.identity != first and journal(settings) == ["redeem"]  # in the file on disk
        await wait_until(
            pilot,
            lambda: "JOURNAL REPLACED: head office had 1 event from the old one" in status_line(app),
            timeout=5,
        )
        await scan(pilot, CODES[1])  # the new journal's redemption is overlaid: not twice
        await wait_until(pilot, lambda: "already been used" in shown(app))
        save_pin(tmp_path / "manager-pin", "2468")
        await pilot.press("f2")
        for key in "2468":
            await pilot.press(key)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ManagerScreen))
        said = app.screen.query_one("#journal", Label)
        await wait_until(pilot, lambda: said.display)
        assert (
            "Journal: journal.db was replaced: the journal before it is gone; head office had acknowledged 1 "
            "of its events; nothing it held was lost"
        ) in str(said.render())


async def test_a_damaged_voucher_list_or_one_being_rebuilt_is_not_decided_from(tmp_path):
    settings = make_settings(tmp_path)
    app = build_kiosk(settings)
    async with app.run_test(size=(160, 30)) as pilot:
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "ACCEPTED" in shown(app))
        path = tmp_path / "replica.db"
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        data = bytearray(path.read_bytes())
        data[4096:] = b"\xde\xad" * ((len(data) - 4096) // 2)  # garbled after the first page
        path.write_bytes(bytes(data))
        with app.kiosk._lock:  # not under a status read on its thread
            app.kiosk._replica.close()  # as a kiosk started after the damage opens it
            app.kiosk._replica = None
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: "TILL PROBLEM" in shown(app))
        assert "Vouchers cannot be checked" in " ".join(shown(app).split())
        await wait_until(pilot, lambda: "CANNOT CHECK VOUCHERS" in status_line(app))
        path.rename(tmp_path / "replica.db.corrupt-1")  # the agent moves it aside and starts again
        for suffix in ("-wal", "-shm"):
            (tmp_path / f"replica.db{suffix}").unlink(missing_ok=True)
        rebuilt = Replica(path)
        rebuilt.note_rebuilt(said("replica was corrupt (test); rebuilt from cursor 0"))
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: "being rebuilt" in " ".join(shown(app).split()))
        await wait_until(pilot, lambda: "VOUCHER LIST BEING REBUILT" in status_line(app))
        rebuilt.close()
        assert journal(settings) == ["redeem"]  # nothing decided from a damaged list
