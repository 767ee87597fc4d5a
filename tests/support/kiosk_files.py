"""Shared by the kiosk's app tests: a till's files with one redeemable batch, and waiting helpers."""

from __future__ import annotations

import asyncio
import sqlite3

import numpy as np
import segno

from kiosk.settings import KioskSettings
from localdb.identity import Identity, save
from localdb.replica import Replica
from vouchers.codes import code_hash, new_codes

KEY_HEX = "22" * 32
CODES = new_codes(3)


def make_settings(data_dir, codes: list[str] = CODES, *, locale: str | None = None) -> KioskSettings:
    """device.json and a replica with batch 'b' (vouchers b.0 and b.1 claimed, b.2 not); `locale`:
    the store's, as head office sends it in the snapshot (none: head office has not set one)."""
    save(data_dir / "device.json", Identity("http://x", "d1", "s1", "secret-token", KEY_HEX))
    replica = Replica(data_dir / "replica.db")
    key = bytes.fromhex(KEY_HEX)
    replica.apply_page(
        {
            "cursor": 0,
            "next_cursor": 5,
            "complete": True,
            "store": {"id": "s1", "timezone": "Europe/London", "locale": locale},
            "batches": [
                {
                    "id": "b",
                    "identifier": "Spring Email",
                    "description": "",
                    "state": "redeemable",
                    "claims": "active",
                    "valid_from": None,
                    "valid_until": None,
                    "stores": None,
                }
            ],
            "types": [
                {
                    "id": "t",
                    "batch_id": "b",
                    "name": "Std",
                    "value": "£5 off",
                    "min_purchase": "£20",
                    "initial_status": "unused",
                }
            ],
            "vouchers": [
                {
                    "id": f"b.{i}",
                    "batch_id": "b",
                    "type_id": "t",
                    "serial": i,
                    "code_hash": code_hash(c, key),
                    "claimed": i < 2,
                    "status": "unused" if i < 2 else None,
                    "used_at": None,
                    "used_store": None,
                }
                for i, c in enumerate(codes)
            ],
            "deleted": {},
        }
    )
    replica.close()
    return KioskSettings(data_dir=data_dir, bell=False, verdict_seconds=30)


async def wait_until(pilot, condition, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached"
        await pilot.pause(0.02)


def journal(settings) -> list[str]:
    conn = sqlite3.connect(settings.data_dir / "journal.db")
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY seq")]
    finally:
        conn.close()


def frame_with(symbol: np.ndarray | None, size=(480, 640)) -> np.ndarray:
    frame = np.full((*size, 3), 235, dtype=np.uint8)
    if symbol is not None:
        h, w = symbol.shape
        y, x = (size[0] - h) // 2, (size[1] - w) // 2
        frame[y : y + h, x : x + w] = symbol[:, :, None]
    return frame


def qr(text: str) -> np.ndarray:
    modules = np.array(list(segno.make_qr(text).matrix), dtype=np.uint8)
    modules = np.pad(modules, 4)
    return np.kron(1 - modules, np.ones((8, 8), dtype=np.uint8)) * 255


async def scan(pilot, text: str) -> None:
    """As a wedge scanner sends a code: one key a character into the scan field, then Enter."""
    await pilot.click("#scan")
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")


def shown(app) -> str:
    """The verdict panel's text: its word in plain letters, then the lines beneath."""
    from kiosk.widgets.verdict import VerdictPanel

    return app.screen.query_one(VerdictPanel).text


def status_line(app) -> str:
    from kiosk.widgets.status import StatusLine

    return str(app.screen.query_one(StatusLine).render())


async def open_manager(pilot, pin: str) -> None:
    """F2 and the manager PIN, then wait for the manager view."""
    from kiosk.screens.manager import ManagerScreen

    await pilot.press("f2")
    for key in pin:
        await pilot.press(key)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ManagerScreen))
