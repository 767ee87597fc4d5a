"""The manager's day in the real app (Pilot), on real replica and journal files: vouchers shown by
the code the customer holds, a voucher found by its code (typed or scanned) with its story at this
till, batch rows only for batches a till takes vouchers of, and the export in a worker, in the
store's local time, with the revert reason."""

from __future__ import annotations

import csv
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from support.kiosk_files import CODES, journal, make_settings, open_manager, scan, shown, wait_until
from textual import events
from textual.widgets import DataTable, Label

from kiosk.app import build_kiosk
from kiosk.pin import save_pin
from kiosk.screens.manager import ManagerScreen
from kiosk.screens.voucher import VoucherScreen
from localdb.journal import Journal
from localdb.replica import Replica
from vouchers.codes import format_code, new_code
from vouchers.layouts import BY_ID, typed_through

pytestmark = pytest.mark.anyio
PIN = "2468"


@pytest.fixture
def settings(tmp_path):
    settings = make_settings(tmp_path)
    save_pin(tmp_path / "manager-pin", PIN)
    return settings


def later_page(settings, *, timezone="Europe/London", batches=()) -> None:
    """As the agent applies the next snapshot page: the store's time zone, more batches."""
    replica = Replica(settings.replica_path)
    try:
        replica.apply_page(
            {
                "cursor": 5,
                "next_cursor": 6,
                "complete": True,
                "store": {"id": "s1", "timezone": timezone},
                "batches": list(batches),
                "types": [],
                "vouchers": [],
                "deleted": {},
            }
        )
    finally:
        replica.close()


def batch(batch_id: str, state: str, claims: str = "active") -> dict:
    return {
        "id": batch_id,
        "identifier": f"Batch {state} {claims}",
        "description": "",
        "state": state,
        "claims": claims,
        "valid_from": None,
        "valid_until": None,
        "stores": None,
    }


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")


def rows(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def find(pilot, text: str) -> VoucherScreen:
    """f, the code as typed or scanned, Enter; the voucher's card once it is shown."""
    await pilot.press("f")
    await type_text(pilot, text)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, VoucherScreen), timeout=15)
    return pilot.app.screen


async def test_vouchers_go_by_their_code_and_are_found_typed_or_scanned(settings):
    unknown = new_code()  # well-formed, not in the till's voucher list
    later_page(
        settings,
        batches=[
            batch("c", "configuring"),
            batch("g", "generated"),
            batch("d", "distributed", "paused"),
            batch("l", "locked"),
            batch("v", "void"),
        ],
    )
    app = build_kiosk(settings)
    async with app.run_test(size=(150, 50)) as pilot:
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: "ACCEPTED" in shown(app))
        await scan(pilot, CODES[2])  # not claimed: refused
        await wait_until(pilot, lambda: "REFUSED" in shown(app) and format_code(CODES[2]) in shown(app))
        await scan(pilot, unknown)
        await wait_until(pilot, lambda: format_code(unknown) in shown(app))
        await wait_until(pilot, lambda: journal(settings) == ["redeem", "refused", "refused"])

        await open_manager(pilot, PIN)
        screen = app.screen
        counts = screen.query_one("#counts", DataTable)
        redemptions = screen.query_one("#redemptions", DataTable)
        await wait_until(pilot, lambda: counts.row_count == 3 and redemptions.row_count == 1)
        # only batches whose vouchers customers can hold; claims as members find them
        assert [(r[0], r[1], r[2]) for r in rows(counts)] == [
            ("Batch distributed paused", "distributed", "Paused"),
            ("Batch locked active", "locked", "Open"),
            ("Spring Email", "redeemable", "Open"),
        ]
        assert rows(redemptions)[0][1] == format_code(CODES[0])  # not b.0
        assert "Head office gets each of these once synced" in str(screen.query_one("#head_office").render())

        typed = " ".join(format_code(CODES[0]).lower().split("-"))  # as a manager types it off a phone
        card = await find(pilot, typed)
        facts = dict(rows(card.query_one("#facts", DataTable)))
        assert facts["Code"] == format_code(CODES[0]) and facts["Voucher"] == "Spring Email no. 0"
        assert facts["Status"].startswith("used at this shop on ") and "not yet synced" in facts["Status"]
        assert (facts["Batch"], facts["Claims"], facts["Type"], facts["Claimed"]) == (
            "Spring Email: redeemable",
            "open",
            "Std",
            "yes",
        )
        assert facts["Value"] == "£5 off (minimum purchase £20)" and facts["A scan now"] == "Already used"
        [story] = rows(card.query_one("#history", DataTable))
        assert story[1:] == ["Redeemed", "", "not yet synced"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)

        # scanned: a claim URL, and a scanner typing through a German keyboard
        card = await find(pilot, f"https://shop.example/claim/{CODES[2]}")
        facts = dict(rows(card.query_one("#facts", DataTable)))
        assert (facts["Code"], facts["Claimed"], facts["A scan now"]) == (
            format_code(CODES[2]),
            "no",
            "Not claimed",
        )
        assert [r[1] for r in rows(card.query_one("#history", DataTable))] == ["Refused: Not claimed"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        card = await find(pilot, typed_through(format_code(CODES[0]), BY_ID["de"]))
        facts = dict(rows(card.query_one("#facts", DataTable)))
        assert facts["Code"] == format_code(CODES[0]) and "German (QWERTZ)" in facts["Read"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)

        # a code the till does not hold: its refusal is found by the code's hash
        card = await find(pilot, unknown)
        facts = dict(rows(card.query_one("#facts", DataTable)))
        assert facts["A scan now"] == "Unknown" and "not in this till's voucher list" in facts["Voucher"]
        assert [r[1] for r in rows(card.query_one("#history", DataTable))] == ["Refused: Unknown"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)

        await pilot.press("f")
        await type_text(pilot, "not a code")
        message = screen.query_one("#message", Label)
        await wait_until(pilot, lambda: "Not a voucher code" in str(message.render()))
        assert app.screen is screen


def many_redemptions(settings, count: int, t0: datetime) -> None:
    """A big journal, written in one transaction (the kiosk's way, one fsync each, would take
    minutes): redemptions of b.0 … as if scanned here, every tenth from before codes were kept."""
    Journal(settings.journal_path).close()  # made and migrated as the kiosk makes it
    conn = sqlite3.connect(settings.journal_path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO events (id, kind, voucher_id, at, cashier, code) VALUES (?, 'redeem', ?, ?, 'jo', ?)",
            (
                (
                    f"00000000-0000-4000-8000-{n:012d}",
                    f"b.{n}",
                    (t0 + timedelta(seconds=n)).isoformat(),
                    None if n % 10 == 0 else CODES[0],
                )
                for n in range(count)
            ),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_the_export_of_a_big_journal_leaves_the_screen_answering(settings):
    later_page(settings, timezone="Asia/Kolkata")  # +05:30: local time cannot pass for UTC
    t0 = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    count = 50_000
    many_redemptions(settings, count, t0)
    app = build_kiosk(settings)
    async with app.run_test(size=(150, 50)) as pilot:
        await open_manager(pilot, PIN)
        screen = app.screen
        assert isinstance(screen, ManagerScreen)
        redemptions = screen.query_one("#redemptions", DataTable)
        await wait_until(pilot, lambda: redemptions.row_count == 200, timeout=60)
        assert rows(redemptions)[0][0] == "01 Dec 13:23"  # newest: t0 + 49,999 s, 05:30 ahead of UTC
        redemptions.focus()
        await pilot.press("r")  # revert the newest, with a reason
        await type_text(pilot, "customer changed mind")
        await wait_until(pilot, lambda: rows(redemptions)[0][-1] == "yes: customer changed mind", timeout=60)

        # Keys posted as a terminal sends them: Pilot's press() waits for the process to idle, which
        # it does not while the export works.
        app.post_message(events.Key("e", "e"))
        await wait_until(pilot, lambda: screen.exporting)
        app.post_message(events.Key("down", None))  # the screen answers a key while the export is written
        await wait_until(pilot, lambda: redemptions.cursor_row == 1)
        assert screen.exporting, "the export was over before the screen answered a key"
        message = screen.query_one("#message", Label)
        await wait_until(pilot, lambda: not screen.exporting, timeout=300)
        said = str(message.render())
    assert said.startswith(f"Exported {count:,} redemptions to "), said
    [path] = (settings.data_dir / "exports").glob("redemptions-*.csv")
    assert str(path) in said
    with path.open(newline="") as f:
        found = list(csv.DictReader(f))
    assert len(found) == count
    first, second, last = found[0], found[1], found[-1]
    assert (first["time"], first["time_zone"]) == ("2026-11-30T23:30:00+05:30", "Asia/Kolkata")
    assert (first["voucher"], first["voucher_id"], first["batch"]) == (
        "Spring Email no. 0",
        "b.0",
        "Spring Email",
    )
    assert second["voucher"] == format_code(CODES[0]) and second["cashier"] == "jo"
    assert (first["reverted"], first["revert_reason"]) == ("no", "")
    assert (last["reverted"], last["revert_reason"]) == ("yes", "customer changed mind")
    assert last["reverted_at"].endswith("+05:30")


async def test_a_wrong_pin_is_asked_for_again_and_never_lands_in_the_scan_field(settings):
    from kiosk.dialogs.text_prompt import TextPrompt

    app = build_kiosk(settings)
    async with app.run_test(size=(150, 50)) as pilot:
        await pilot.press("f2")
        await type_text(pilot, "9999")  # wrong
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt))  # asked again
        await type_text(pilot, PIN)
        await wait_until(pilot, lambda: isinstance(app.screen, ManagerScreen))
        assert journal(settings) == []  # neither PIN was taken for a scan
