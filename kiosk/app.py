"""The kiosk's composition root: build_kiosk(settings) opens the till's files and builds the app."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from textual.app import App
from textual.binding import Binding

from kiosk import manager, wording
from kiosk.pin import PinGate
from kiosk.screens.scan import ScanScreen
from kiosk.service import Decision, Redeemer, cannot_check, cannot_redeem, policy_for
from kiosk.settings import KioskSettings
from kiosk.widgets.status import TillStatus
from localdb import identity as identity_file
from localdb import notices
from localdb import wording as store_words
from localdb.connect import open_reader
from localdb.errors import DamagedFile, DiskFull, LocalDatabaseError
from localdb.journal import Journal
from localdb.till import Outcome, Till
from vouchers.verdict import Verdict
from vouchers.wording import N_, said
from words import Words
from words import verdicts as verdict_words


def no_snapshot(words: Words, verdicts: Words) -> Decision:
    """The agent has not made the voucher list yet: nothing can be decided."""
    return Decision(
        Verdict.LOADING,
        verdict_words.reason(verdicts, Verdict.LOADING)
        + " "
        + words.gettext("(No snapshot yet: is voucher-sync running?)"),
    )


class Kiosk:
    """The till's state for the app: its journal (written here), the agent's replica (read).

    A journal that cannot be opened (damaged, or a full disk when it must be made) does not stop
    the till: every scan is refused in words for the manager, and the journal is tried again at
    each scan, so the till works again once it is fixed (space freed, the damaged file moved aside).
    """

    def __init__(self, settings: KioskSettings, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))  # the time the screen gives its scans
        self.key = identity_file.code_hash_key(settings.identity_path)
        self.journal: Journal | None = None
        self.journal_problem: LocalDatabaseError | None = None
        self._open_journal()
        self._replica_path: Path = settings.replica_path
        self._replica: sqlite3.Connection | None = None
        self._replica_inode: int | None = None
        self._lock = threading.Lock()  # one scan at a time, from whichever worker thread
        self.pin = PinGate(settings.data_dir / "manager-pin")
        self.store_locale: str | None = None  # the store's, as the snapshot last said (Till.locale)
        self.tz: tzinfo = ZoneInfo("UTC")  # the store's time zone, likewise
        with self._lock:
            try:
                self._learn(self._till())  # the language and zone before the first screen is drawn
            except (sqlite3.Error, OSError, LocalDatabaseError):
                pass  # said by the first scan or status read

    def words(self, domain: str = wording.DOMAIN) -> Words:
        """The till's words (kiosk.wording.till_words): the setting `language`, else the store's
        locale as the till's files last said it, else English; times in the store's zone."""
        return wording.till_words(self.settings.language, self.store_locale, self.tz, domain)

    def _open_journal(self) -> Journal | None:
        """The journal, opened now if it could not be before; None (and why) when it cannot be."""
        if self.journal is None:
            try:
                self.journal = Journal(self.settings.journal_path)
                self.journal_problem = None
            except (DiskFull, DamagedFile) as exc:  # anything else (another kiosk running) stops the start
                self.journal_problem = exc
        else:
            try:
                self.journal.follow()  # journal.db deleted or replaced: write to the file there now
                self.journal_problem = None
            except LocalDatabaseError as exc:
                self.journal_problem = exc
        return self.journal if self.journal_problem is None else None

    def _till(self) -> Till | None:
        """The till's view; the replica is (re)opened when the agent has made it, or made it anew
        (a corrupt replica is moved aside and rebuilt: a new file)."""
        self._open_journal()
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
        journal = self.journal.conn if self.journal is not None and self.journal_problem is None else None
        if self._replica is None:
            return None
        return Till(self._replica, journal)

    def _learn(self, till: Till | None) -> None:
        """The store's locale and zone as the till's files say them now: read at each status read
        (every few seconds, and after each scan), so a locale head office sets or changes reaches
        the screen's next words; a scan's own words are the redeem use case's (Redeemer.words)."""
        if till is not None:
            _, self.tz, self.store_locale = till.shop()

    def _redeemer(self, till: Till) -> Redeemer:
        """The use case on the till and the journal; the journal's problem when it cannot be written."""
        journal = self.journal
        if journal is None or self.journal_problem is not None:
            raise self.journal_problem or LocalDatabaseError(said("the journal is not open"))
        settings = self.settings
        return Redeemer(
            till,
            journal,
            self.key,
            cashier=settings.cashier,
            policy=policy_for(settings.confirm, settings.stale_needs_approval, settings.stale_snapshot_hours),
            language=settings.language,
        )

    def scan(self, text: str, *, typed: bool = True) -> Decision:
        """A scan's verdict; an accepted voucher is written now, or waits for the configured step.
        `typed`: from the keyboard (a wedge scanner), which may type through the wrong layout."""
        return self._decide(lambda redeemer: redeemer.scan(text, typed=typed))

    def redeem(self, text: str, approved_by: str | None = None) -> Decision:
        """After the cashier's confirmation or a manager's approval: check again and write."""
        return self._decide(lambda redeemer: redeemer.redeem(text, approved_by=approved_by))

    def _decide(self, how: Callable[[Redeemer], Decision]) -> Decision:
        with self._lock:
            try:
                till = self._till()
                if self.journal_problem is not None:
                    return cannot_redeem(self.words(), self.journal_problem)
                if till is None:
                    return no_snapshot(self.words(), self.words(verdict_words.DOMAIN))
                return how(self._redeemer(till))
            except (sqlite3.Error, OSError, LocalDatabaseError) as exc:  # the files, in words, never a crash
                words = self.words()
                return cannot_check(
                    words,
                    words.gettext("the till's files cannot be read ({detail})", detail=self._problem(exc)),
                )

    def record_refusal(self, decision: Decision) -> bool:
        """Journal a refused scan; whether anything was written."""
        with self._lock:
            try:
                till = self._till()
                return (
                    till is not None
                    and self.journal_problem is None
                    and self._redeemer(till).record_refusal(decision) is not None
                )
            except (sqlite3.Error, OSError, LocalDatabaseError):
                return False  # only the record of a refusal is lost

    def record_layout(self, decision: Decision, text: str, *, from_scanner: bool = True) -> bool:
        """After a typed scan's verdict, note what it says of the scanner's keyboard layout; whether
        anything was written. `from_scanner`: typed faster than by hand."""
        with self._lock:
            try:
                till = self._till()
                return (
                    till is not None
                    and self.journal_problem is None
                    and bool(self._redeemer(till).record_layout(decision, text, from_scanner=from_scanner))
                )
            except (sqlite3.Error, OSError, LocalDatabaseError):
                return False

    def dismiss_layout(self) -> bool:
        """A manager says the scanner is set right; False when no notice stood. ValueError in words
        when it cannot be recorded."""
        with self._lock:
            try:
                return notices.dismiss(self._writable(), by=self.settings.cashier or "manager")
            except LocalDatabaseError as exc:
                raise ValueError(
                    self.words().gettext("Not recorded: {detail}", detail=self._problem(exc))
                ) from exc

    def _layout_notice(self) -> notices.LayoutNotice | None:
        journal = self.journal.conn if self.journal is not None and self.journal_problem is None else None
        return notices.current(journal)

    def status(self) -> TillStatus:
        """For the status line: the files' health, and what stops this till from redeeming."""
        with self._lock:
            try:
                till = self._till()
                self._learn(till)
                if till is None:
                    return TillStatus(journal_problem=self.journal_problem, words=self.words())
                return TillStatus(
                    till.health(), journal_problem=self.journal_problem, timezone=self.tz, words=self.words()
                )
            except (sqlite3.Error, OSError, LocalDatabaseError) as exc:
                return TillStatus(
                    journal_problem=self.journal_problem, unreadable=self._problem(exc), words=self.words()
                )

    # --- the manager view ---------------------------------------------------------------------

    def manager_data(self, now: datetime) -> manager.ManagerView:
        """The manager view's data; `journal` says, in words, what became of this till's journals."""
        with self._lock:
            try:
                till = self._till()
                self._learn(till)
                words = self.words()
                if self.journal_problem is not None:
                    said = words.gettext(
                        "Redemptions cannot be recorded: {detail}", detail=self._problem(self.journal_problem)
                    )
                    return manager.ManagerView(journal=(said,), words=words)
                if till is None:
                    return manager.ManagerView(words=words)
                return manager.read_view(till, now, words, self._layout_notice())
            except (sqlite3.Error, OSError, LocalDatabaseError) as exc:
                said = self.words().gettext(
                    "The till's files cannot be read: {detail}", detail=self._problem(exc)
                )
                return manager.ManagerView(journal=(said,), words=self.words())

    def _writable(self) -> Journal:
        """The journal, for a manager's revert or review; ValueError in words when it cannot be written."""
        journal = self._open_journal()
        if journal is None:
            raise ValueError(
                self.words().gettext(
                    "Nothing can be recorded: {detail}",
                    detail=self._problem(
                        self.journal_problem or LocalDatabaseError(said("the journal is not open"))
                    ),
                )
            )
        return journal

    def revert(self, item: manager.TillRedemption, reason: str) -> None:
        with self._lock:
            try:
                manager.revert(self._writable(), item, reason, self.words(), cashier=self.settings.cashier)
            except LocalDatabaseError as exc:
                raise ValueError(
                    self.words().gettext("The revert was not recorded: {detail}", detail=self._problem(exc))
                ) from exc

    def review(self, problem: Outcome, note: str) -> None:
        """A manager closes a conflict or rejection: a review event, pushed like any other."""
        with self._lock:
            try:
                self._writable().append(
                    "review",
                    problem.voucher_id,
                    reviews=problem.event_id,
                    reason=note.strip(),
                    cashier=self.settings.cashier,
                )
            except LocalDatabaseError as exc:
                raise ValueError(
                    self.words().gettext("The review was not recorded: {detail}", detail=self._problem(exc))
                ) from exc

    def export(self, progress: Callable[[int, int], None] | None = None) -> manager.Exported:
        """Every redemption of this till as CSV in data_dir/exports (kiosk/manager.py), read through
        connections of its own, so a big journal holds up no scan, revert or review. ValueError in
        words when it cannot be done."""
        folder = self.settings.data_dir / "exports"
        try:
            return manager.export(self.settings, folder, datetime.now(UTC), self.words(), progress)
        except OSError as exc:  # a full disk: said, not a crash
            raise ValueError(
                self.words().gettext("Not exported: {detail}", detail=self._problem(exc, folder))
            ) from exc

    def _problem(self, exc: BaseException, path: Path | None = None) -> str:
        """A problem with the till's files, in the till's words (localdb.wording.error); an error
        of SQLite or the system first put in words about `path` (the replica by default)."""
        return store_words.file_problem(self.words(), exc, path or self._replica_path)

    def close(self) -> None:
        """Close the files once no worker uses them: closing a SQLite connection that another thread
        is writing through can crash the process."""
        with self._lock:
            if self.journal is not None:
                self.journal.close()
            if self._replica is not None:
                self._replica.close()


class KioskApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Voucher kiosk"
    ENABLE_COMMAND_PALETTE = False  # a till offers its cashier nothing but scanning
    # Ctrl+Q only with the setting allow_quit (check_action); then offered in the footer
    BINDINGS = [Binding("ctrl+q", "quit", N_("Quit"), priority=True)]

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Quitting, and Textual's "press Ctrl+Q to quit" hint on Ctrl+C, only when the settings
        allow it: a till's screen is stopped by systemd, and quitting it would only restart it."""
        if action in ("quit", "help_quit"):
            return self.kiosk.settings.allow_quit
        return True

    def on_mount(self) -> None:
        # systemd stops the kiosk with SIGTERM: leave the tty as it was found
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit)
        if os.environ.get("TERM") == "linux":  # the Linux console: 16 colours, a font without box glyphs
            self.add_class("linux-console")
        self.push_screen(ScanScreen())
        self.started = True

    def on_unmount(self) -> None:
        self.kiosk.close()


def build_kiosk(settings: KioskSettings, clock: Callable[[], datetime] | None = None) -> KioskApp:
    """The app on the till's files; `clock` (now, aware) times the scans on screen."""
    return KioskApp(Kiosk(settings, clock))
