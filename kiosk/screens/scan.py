"""The scan screen: one input that keeps the focus (keyboard-wedge scanners type into it),
the verdict, the camera preview if configured, and the status line.

A verdict that waits for a step (the cashier's "mark as used?", or a manager's approval when
the snapshot is stale) stays on screen until Enter (yes, or the PIN prompt) or Esc (no); a new
scan replaces it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import get_current_worker

from kiosk.camera import CameraLost, CodeFilter, FrameSource, scans
from kiosk.dialogs.text_prompt import TextPrompt
from kiosk.messages import VerdictReady
from kiosk.pin import PinError
from kiosk.scanner import DecoderChain
from kiosk.screens.manager import ManagerScreen
from kiosk.service import APPROVAL, Decision
from kiosk.widgets.preview import CameraPreview
from kiosk.widgets.scan_input import ScanInput
from kiosk.widgets.status import StatusLine
from kiosk.widgets.verdict import VerdictPanel


class ScanScreen(Screen):
    BINDINGS = [("escape", "clear", "Clear / No"), ("f2", "manager", "Manager")]

    def __init__(self) -> None:
        super().__init__()
        self._clear_timer: Timer | None = None
        self._pending: Decision | None = None  # accepted, waiting for confirmation or approval

    def compose(self) -> ComposeResult:
        settings = self.app.kiosk.settings
        with Horizontal(id="main"):
            yield VerdictPanel(id="verdict")
            if settings.preview and settings.camera:
                yield CameraPreview(id="preview")
        yield ScanInput(placeholder="Scan or type a voucher code, then Enter", id="scan")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerdictPanel).clear_verdict()
        self.refresh_status()
        self.set_interval(2.0, self.refresh_status)
        if self.app.kiosk.settings.camera:
            self.capture(self._previewer())

    @work(thread=True, group="camera", name="camera capture", exit_on_error=False)
    def capture(self, on_frame: Callable | None) -> None:
        """Frames to scans, for as long as the app runs; a lost camera is reopened when it returns."""
        kiosk = self.app.kiosk
        settings = kiosk.settings
        worker = get_current_worker()
        chain = DecoderChain.from_names(settings.decoders, fallback_interval=1 / settings.fallback_fps)
        codes = CodeFilter(settings.repeat_seconds)
        while not worker.is_cancelled:
            try:
                source = FrameSource(settings.camera)
            except CameraLost as exc:
                kiosk.camera_status = f"CAMERA: {exc.detail}"
                self.app.call_from_thread(self.refresh_status)
                time.sleep(2)  # wait for it to be plugged back in
                continue
            kiosk.camera_status = "camera on"
            self.app.call_from_thread(self.refresh_status)
            pace = 0 if source.is_device else 1 / settings.file_fps
            try:
                for text, _ in scans(source, chain, codes, lambda: worker.is_cancelled, pace, on_frame):
                    self.post_message(VerdictReady(kiosk.scan(text, typed=False)))
                if not source.is_device:
                    kiosk.camera_status = "camera: end of the video"
                    self.app.call_from_thread(self.refresh_status)
                    return
            except CameraLost as exc:
                kiosk.camera_status = f"CAMERA: {exc.detail} Reconnecting..."
                self.app.call_from_thread(self.refresh_status)
            finally:
                source.close()

    def _previewer(self) -> Callable | None:
        """For the camera worker: a few frames a second to the preview."""
        previews = self.query(CameraPreview)
        if not previews:
            return None
        preview = previews.first()
        interval = 1 / self.app.kiosk.settings.preview_fps
        last = 0.0

        def on_frame(frame) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= interval:
                last = now
                self.app.call_from_thread(preview.show, frame)

        return on_frame

    def on_screen_resume(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#scan")
    def scanned(self, event: Input.Submitted) -> None:
        text = event.value
        from_scanner = event.input.from_scanner()
        event.input.clear()
        if text.strip():
            self.decide(text, from_scanner)
        elif self._pending is not None:
            self.action_yes()

    @work(thread=True, group="scan", name="scan")
    def decide(self, text: str, from_scanner: bool = True) -> None:
        """Blocking: an accepted voucher's journal write is committed before the verdict is shown;
        what the scan says of the scanner's keyboard layout is noted after it."""
        decision = self.app.kiosk.scan(text)
        self.post_message(VerdictReady(decision))
        if self.app.kiosk.record_layout(decision, text, from_scanner=from_scanner):
            self.app.call_from_thread(self.refresh_status)

    @work(thread=True, group="scan", name="redeem")
    def redeem(self, code: str, approved_by: str | None = None) -> None:
        """After "yes" or a manager's approval: checked again, then written."""
        self.post_message(VerdictReady(self.app.kiosk.redeem(code, approved_by)))

    @on(VerdictReady)
    def show_verdict(self, message: VerdictReady) -> None:
        decision = message.decision
        self._pending = decision if decision.step else None
        self.query_one(VerdictPanel).show(decision)
        settings = self.app.kiosk.settings
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
    def record_refusal(self, decision) -> None:
        if self.app.kiosk.record_refusal(decision):
            self.app.call_from_thread(self.refresh_status)

    def action_clear(self) -> None:
        if self._pending is not None:
            self._pending = None
            self.notify("Not marked as used.", title="Cancelled")
        self.query_one(VerdictPanel).clear_verdict()
        self.query_one(Input).focus()

    def action_yes(self) -> None:
        """Enter on an empty input answers the question on screen."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        if pending.step == APPROVAL:
            self._ask_pin(
                "Manager PIN to approve this redemption:",
                lambda: self.redeem(pending.code, "manager"),
                refused=lambda: setattr(self, "_pending", pending),
            )
        else:
            self.redeem(pending.code)

    def action_manager(self) -> None:
        self._ask_pin("Manager PIN:", lambda: self.app.push_screen(ManagerScreen()))

    def _ask_pin(
        self, question: str, then: Callable[[], object], refused: Callable[[], object] = lambda: None
    ) -> None:
        """The PIN prompt; `then` runs on the right PIN, `refused` on a wrong one or none."""

        def checked(pin: str | None) -> None:
            self.query_one(Input).focus()
            if pin is None:
                refused()
                return
            try:
                ok = self.app.kiosk.pin.try_pin(pin)
            except PinError as exc:
                self.notify(exc.detail, severity="error")
                refused()
                return
            if ok:
                then()
            else:
                self.notify("Wrong PIN.", severity="error")
                refused()

        self.app.push_screen(TextPrompt(question, password=True), checked)

    def refresh_status(self) -> None:
        settings = self.app.kiosk.settings
        self.query_one(StatusLine).show(
            self.app.kiosk.health(),
            stale_after=timedelta(hours=settings.stale_snapshot_hours),
            offline_after=timedelta(seconds=settings.offline_after_seconds),
            camera=self.app.kiosk.camera_status,
        )
