"""The scan screen: the shop and the till at the top, one input that keeps the focus
(keyboard-wedge scanners type into it), the verdict in block letters, the camera preview if
configured, the last scans, and the status line.

A verdict that waits for a step (the cashier's "mark as used?", or a manager's approval when
the snapshot is stale) stays on screen until Enter (yes, or the PIN prompt) or Esc (no); a new
scan replaces it.

Nothing here waits on the till's files or the camera: scans, the journal's records and the
status line's reads run in thread workers, the camera in `kiosk.camera.watch` on one of its own,
and they answer by messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import Worker, get_current_worker

from kiosk import camera, keys, wording
from kiosk.dialogs.text_prompt import TextPrompt
from kiosk.messages import VerdictReady
from kiosk.pin import PinError
from kiosk.screens.manager import ManagerScreen
from kiosk.service import APPROVAL, Decision
from kiosk.widgets.preview import CameraPreview
from kiosk.widgets.recent import RecentScans, ScanRow, cancelled_row, row_for
from kiosk.widgets.scan_input import ScanInput
from kiosk.widgets.shop import ShopLine, till_name
from kiosk.widgets.status import StatusLine, StatusRead
from kiosk.widgets.verdict import VerdictPanel
from vouchers.wording import N_
from words import Words

if TYPE_CHECKING:
    from kiosk.app import Kiosk, KioskApp

STATUS_SECONDS = 2.0  # the status line is read again this often (and after each scan)
RECENT_MIN_HEIGHT = 20  # a shorter terminal leaves out the last scans, for the verdict's sake
PLACEHOLDER = N_("Scan or type a voucher code, then Enter")


class ScanScreen(Screen):
    BINDINGS = [("escape", "clear", N_("Clear / No")), ("f2", "manager", N_("Manager"))]

    def __init__(self) -> None:
        super().__init__()
        self._clear_timer: Timer | None = None
        self._pending: Decision | None = None  # accepted, waiting for confirmation or approval
        self._status_read: Worker[None] | None = None  # the status line's read under way, if any
        self._status_again = False  # asked for while it ran: read once more after it
        self.words = wording.english()  # the till's, as of the last status read (reword)

    @property
    def kiosk(self) -> Kiosk:
        return cast("KioskApp", self.app).kiosk

    def compose(self) -> ComposeResult:
        settings = self.kiosk.settings
        self.words = words = self.kiosk.words()
        yield ShopLine(till_name(settings.till_name), id="shop")
        with Horizontal(id="main"):
            yield VerdictPanel(id="verdict")
            if settings.preview and settings.camera:
                yield CameraPreview(id="preview")
        if settings.recent_scans:
            recent = RecentScans(settings.recent_scans, id="recent")
            recent.styles.height = settings.recent_scans + 1  # and its top border
            yield recent
        yield ScanInput(placeholder=words.gettext(PLACEHOLDER), id="scan")
        yield StatusLine(
            stale_after=timedelta(hours=settings.stale_snapshot_hours),
            offline_after=timedelta(seconds=settings.offline_after_seconds),
            id="status",
        )
        yield Footer()

    def on_mount(self) -> None:
        self._reword(self.words, force=True)
        self.query_one(VerdictPanel).clear_verdict()
        self._fit_recent()
        self.refresh_status()
        self.set_interval(STATUS_SECONDS, self.refresh_status)
        if self.kiosk.settings.camera:
            self.capture(self.query_one(StatusLine), self._previewer())

    @work(thread=True, group="camera", name="camera capture", exit_on_error=False)
    def capture(self, status: StatusLine, on_frame: Callable[[np.ndarray], None] | None) -> None:
        """The camera's scans, for as long as the app runs (kiosk.camera.watch); its state goes to
        the status line."""
        kiosk = self.kiosk
        camera.watch(
            kiosk.settings,
            scanned=lambda text: self.post_message(VerdictReady(kiosk.scan(text, typed=False))),
            report=status.post_message,
            stop=get_current_worker().cancelled_event,
            on_frame=on_frame,
        )

    def _previewer(self) -> Callable[[np.ndarray], None] | None:
        """For the camera worker: a few frames a second to the preview."""
        previews = self.query(CameraPreview)
        if not previews:
            return None
        preview = previews.first()
        interval = 1 / self.kiosk.settings.preview_fps
        last = 0.0

        def on_frame(frame: np.ndarray) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= interval:
                last = now
                self.app.call_from_thread(preview.show, frame)

        return on_frame

    def on_resize(self) -> None:
        self._fit_recent()

    def _fit_recent(self) -> None:
        for recent in self.query(RecentScans):
            recent.display = self.size.height >= RECENT_MIN_HEIGHT

    def on_status_read(self, message: StatusRead) -> None:
        """The status line's read (it has shown it): the shop's name and time zone."""
        message.stop()
        status = message.status
        self._reword(status.words)
        self.query_one(ShopLine).set_store(status.health.store_id, status.health.store_name)

    def _reword(self, words: Words, *, force: bool = False) -> None:
        """The screen in the till's words: its language (the store's locale may come with a
        snapshot while the till runs) and the store's time zone, from the last status read."""
        if words == self.words and not force:
            return
        self.words = words
        keys.reword(self, words)
        keys.reword(self.app, words)
        self.query_one(ScanInput).placeholder = words.gettext(PLACEHOLDER)
        self.query_one(ShopLine).reword(words)
        self.query_one(VerdictPanel).reword(words)
        for recent in self.query(RecentScans):
            recent.reword(words)

    def _recent(self, row_of: Callable[[Decision, datetime], ScanRow], decision: Decision) -> None:
        """The decision into the strip of last scans, timed now."""
        for recent in self.query(RecentScans):
            recent.add(row_of(decision, self.kiosk.clock()))

    def on_screen_resume(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#scan")
    def scanned(self, event: Input.Submitted) -> None:
        text = event.value
        from_scanner = isinstance(event.input, ScanInput) and event.input.from_scanner()
        event.input.clear()
        if text.strip():
            self.decide(text, from_scanner)
        elif self._pending is not None:
            self.action_yes()

    @work(thread=True, group="scan", name="scan")
    def decide(self, text: str, from_scanner: bool = True) -> None:
        """Blocking: an accepted voucher's journal write is committed before the verdict is shown;
        what the scan says of the scanner's keyboard layout is noted after it."""
        decision = self.kiosk.scan(text)
        self.post_message(VerdictReady(decision))
        if self.kiosk.record_layout(decision, text, from_scanner=from_scanner):
            self.app.call_from_thread(self.refresh_status)

    @work(thread=True, group="scan", name="redeem")
    def redeem(self, code: str, approved_by: str | None = None) -> None:
        """After "yes" or a manager's approval: checked again, then written."""
        self.post_message(VerdictReady(self.kiosk.redeem(code, approved_by)))

    @on(VerdictReady)
    def show_verdict(self, message: VerdictReady) -> None:
        decision = message.decision
        self._pending = decision if decision.step else None
        self.query_one(VerdictPanel).show(decision)
        if self._pending is None:  # a question is listed once answered
            self._recent(row_for, decision)
        settings = self.kiosk.settings
        if settings.bell:
            self.app.bell()
            if decision.kind == "refused":
                self.set_timer(0.25, self.app.bell)
        if self._clear_timer is not None:
            self._clear_timer.stop()
        if self._pending is None:  # a question stays until it is answered or another scan comes
            self._clear_timer = self.set_timer(settings.verdict_seconds, self.action_clear)
        self.query_one(Input).focus()
        self.refresh_status()
        self.record_refusal(decision)

    @work(thread=True, group="journal", name="record refusal")
    def record_refusal(self, decision: Decision) -> None:
        if self.kiosk.record_refusal(decision):
            self.app.call_from_thread(self.refresh_status)

    def action_clear(self) -> None:
        if self._pending is not None:
            self._recent(cancelled_row, self._pending)
            self._pending = None
            self.notify(self.words.gettext("Not marked as used."), title=self.words.gettext("Cancelled"))
        self.query_one(VerdictPanel).clear_verdict()
        self.query_one(Input).focus()

    def action_yes(self) -> None:
        """Enter on an empty input answers the question on screen."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if pending.step == APPROVAL:
            self._ask_pin(
                self.words.gettext("Manager PIN to approve this redemption:"),
                lambda: self.redeem(pending.code, "manager"),
                refused=lambda: setattr(self, "_pending", pending),
            )
        else:
            self.redeem(pending.code)

    def action_manager(self) -> None:
        self._ask_pin(self.words.gettext("Manager PIN:"), lambda: self.app.push_screen(ManagerScreen()))

    def _ask_pin(
        self, question: str, then: Callable[[], object], refused: Callable[[], object] = lambda: None
    ) -> None:
        """The PIN prompt; `then` runs on the right PIN, `refused` when none is given (Esc) or the
        PIN gate refuses to try (too many wrong ones); a wrong PIN is asked for again."""

        def checked(pin: str | None) -> None:
            self.query_one(Input).focus()
            if pin is None:
                refused()
                return
            try:
                ok = self.kiosk.pin.try_pin(pin)
            except PinError as exc:
                self.notify(exc.words(self.words), severity="error")
                refused()
                return
            if ok:
                then()
            else:  # asked again (Esc gives up), so the next digits typed never land in the scan field
                self.notify(self.words.gettext("Wrong PIN."), severity="error")
                self._ask_pin(question, then, refused)

        self.app.push_screen(TextPrompt(question, self.words, password=True), checked)

    def refresh_status(self) -> None:
        """Have the status line read again, in a worker: one read at a time, and one more after it
        when asked while it runs (a read waits for a scan's journal write; the screen never does)."""
        lines = self.query(StatusLine)
        if not self.is_attached or not lines:  # the app is stopping: a worker's last call comes late
            return
        if self._status_read is not None and not self._status_read.is_finished:
            self._status_again = True
            return
        self._status_again = False
        self._status_read = self._read_status(lines.first())

    @work(thread=True, group="status", name="status read")
    def _read_status(self, line: StatusLine) -> None:
        line.post_message(StatusRead(self.kiosk.status()))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._status_read and event.worker.is_finished and self._status_again:
            self.refresh_status()
