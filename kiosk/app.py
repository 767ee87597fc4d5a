"""The kiosk's composition root: build_kiosk(settings) opens the till's files and builds the app."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App

from kiosk import manager
from kiosk.pin import PinGate
from kiosk.screens.scan import ScanScreen
from kiosk.service import Decision, Redeemer, policy_for
from kiosk.settings import KioskSettings
from localdb.connect import open_reader
from localdb.journal import Journal
from localdb.till import Till
from sync import identity as identity_file
from vouchers.verdict import REASONS, Verdict


NO_SNAPSHOT = Decision(Verdict.UNKNOWN, REASONS[Verdict.UNKNOWN] + " (No snapshot yet: is voucher-sync running?)")


class Kiosk:
    """The till's state for the app: its journal (written here), the agent's replica (read)."""

    def __init__(self, settings: KioskSettings) -> None:
        self.settings = settings
        self.key = bytes.fromhex(identity_file.load(settings.identity_path).code_hash_key)
        self.journal = Journal(settings.journal_path)
        self._replica_path: Path = settings.replica_path
        self._replica = None
        self._replica_inode: int | None = None
        self._lock = threading.Lock()  # one scan at a time, from whichever worker thread
        self.pin = PinGate(settings.data_dir / "manager-pin")
        self.camera_status: str | None = None

    def _till(self) -> Till | None:
        """The till's view; the replica is (re)opened when the agent has made it, or made it anew
        (a corrupt replica is moved aside and rebuilt: a new file)."""
        try:
            inode = self._replica_path.stat().st_ino
        except FileNotFoundError:
            inode = None
        if self._replica is not None and inode != self._replica_inode:
            self._replica.close()
            self._replica = None
        if self._replica is None and inode is not None:
            self._replica = open_reader(self._replica_path)
            self._replica_inode = inode
        return Till(self._replica, self.journal.conn) if self._replica is not None else None

    def _redeemer(self, till: Till) -> Redeemer:
        settings = self.settings
        return Redeemer(till, self.journal, self.key, cashier=settings.cashier,
                        policy=policy_for(settings.confirm, settings.stale_needs_approval, settings.stale_snapshot_hours))

    def scan(self, text: str) -> Decision:
        """A scan's verdict; an accepted voucher is written now, or waits for the configured step."""
        with self._lock:
            till = self._till()
            if till is None:
                return NO_SNAPSHOT
            return self._redeemer(till).scan(text)

    def redeem(self, text: str, approved_by: str | None = None) -> Decision:
        """After the cashier's confirmation or a manager's approval: check again and write."""
        with self._lock:
            till = self._till()
            if till is None:
                return NO_SNAPSHOT
            return self._redeemer(till).redeem(text, approved_by=approved_by)

    def record_refusal(self, decision: Decision) -> bool:
        """Journal a refused scan; whether anything was written."""
        with self._lock:
            till = self._till()
            return till is not None and self._redeemer(till).record_refusal(decision) is not None

    def health(self) -> dict[str, Any]:
        with self._lock:
            till = self._till()
            return till.health() if till is not None else {"pending": 0}

    # --- the manager view ---------------------------------------------------------------------

    def manager_data(self, now) -> dict[str, Any]:
        with self._lock:
            till = self._till()
            if till is None:
                return {"counts": [], "redemptions": [], "problems": [], "tz": UTC}
            _, tz = till.store()
            return {
                "counts": manager.batch_counts(till.replica, self.journal.conn, now, tz),
                "redemptions": manager.redemptions(till.replica, self.journal.conn),
                "problems": till.problems(),
                "tz": tz,
            }

    def revert(self, item: manager.TillRedemption, reason: str) -> None:
        with self._lock:
            manager.revert(self.journal, item, reason)

    def export(self) -> Path:
        data = self.manager_data(datetime.now(UTC))
        name = f"redemptions-{datetime.now(UTC):%Y%m%d-%H%M%S}.csv"
        return manager.export_csv(self.settings.data_dir / "exports" / name, data["redemptions"], data["tz"])

    def close(self) -> None:
        self.journal.close()
        if self._replica is not None:
            self._replica.close()


class KioskApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Voucher kiosk"
    ENABLE_COMMAND_PALETTE = False  # a till offers its cashier nothing but scanning

    def __init__(self, kiosk: Kiosk) -> None:
        super().__init__()
        self.kiosk = kiosk
        self.error: BaseException | None = None  # what stopped the app, for kiosk.crash to report
        self.started = False  # the scan screen was shown

    def _handle_exception(self, error: Exception) -> None:
        """Textual's hook for an unhandled error (it stops the app with return code 1): keep the
        error for the command to report in words and in the journal, instead of Textual's
        traceback on the cashier's screen."""
        if self.error is None:
            self.error = error
        super()._handle_exception(error)
        self._exit_renderables.clear()

    def on_mount(self) -> None:
        # systemd stops the kiosk with SIGTERM: leave the tty as it was found
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
        if os.environ.get("TERM") == "linux":  # the Linux console: 16 colours, a font without box glyphs
            self.add_class("linux-console")
        self.push_screen(ScanScreen())
        self.started = True

    def on_unmount(self) -> None:
        self.kiosk.close()


def build_kiosk(settings: KioskSettings) -> KioskApp:
    return KioskApp(Kiosk(settings))
