"""The scan screen: one input that keeps the focus (keyboard-wedge scanners type into it),
the verdict, and the status line."""

from __future__ import annotations

from datetime import timedelta

import time

from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input
from textual.worker import get_current_worker

from kiosk.camera import CameraLost, CodeFilter, FrameSource, scans
from kiosk.scanner import DecoderChain

from kiosk.dialogs.text_prompt import TextPrompt
from kiosk.messages import VerdictReady
from kiosk.pin import PinError
from kiosk.screens.manager import ManagerScreen
from kiosk.widgets.status import StatusLine
from kiosk.widgets.verdict import VerdictPanel


class ScanScreen(Screen):
    BINDINGS = [("escape", "clear", "Clear"), ("f2", "manager", "Manager")]

    def __init__(self) -> None:
        super().__init__()
        self._clear_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield VerdictPanel(id="verdict")
        yield Input(placeholder="Scan or type a voucher code, then Enter", id="scan")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerdictPanel).clear_verdict()
        self.refresh_status()
        self.set_interval(2.0, self.refresh_status)
        if self.app.kiosk.settings.camera:
            self.capture()

    @work(thread=True, group="camera", name="camera capture", exit_on_error=False)
    def capture(self) -> None:
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
                for text, _ in scans(source, chain, codes, lambda: worker.is_cancelled, pace):
                    self.post_message(VerdictReady(kiosk.redeem(text)))
                if not source.is_device:
                    kiosk.camera_status = "camera: end of the video"
                    self.app.call_from_thread(self.refresh_status)
                    return
            except CameraLost as exc:
                kiosk.camera_status = f"CAMERA: {exc.detail} Reconnecting..."
                self.app.call_from_thread(self.refresh_status)
            finally:
                source.close()

    def on_screen_resume(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#scan")
    def scanned(self, event: Input.Submitted) -> None:
        text = event.value
        event.input.clear()
        if text.strip():
            self.decide(text)

    @work(thread=True, group="scan", name="redeem")
    def decide(self, text: str) -> None:
        """Blocking: the journal write is committed before the verdict is shown."""
        self.post_message(VerdictReady(self.app.kiosk.redeem(text)))

    @on(VerdictReady)
    def show_verdict(self, message: VerdictReady) -> None:
        decision = message.decision
        self.query_one(VerdictPanel).show(decision)
        settings = self.app.kiosk.settings
        if settings.bell:
            self.app.bell()
            if decision.verdict.kind == "refused":
                self.set_timer(0.25, self.app.bell)
        if self._clear_timer is not None:
            self._clear_timer.stop()
        self._clear_timer = self.set_timer(settings.verdict_seconds, self.action_clear)
        self.query_one(Input).focus()
        self.record_refusal(decision)

    @work(thread=True, group="journal", name="record refusal")
    def record_refusal(self, decision) -> None:
        self.app.kiosk.record_refusal(decision)

    def action_clear(self) -> None:
        self.query_one(VerdictPanel).clear_verdict()
        self.query_one(Input).focus()

    def action_manager(self) -> None:
        def checked(pin: str | None) -> None:
            if pin is None:
                self.query_one(Input).focus()
                return
            try:
                ok = self.app.kiosk.pin.try_pin(pin)
            except PinError as exc:
                self.notify(exc.detail, severity="error")
                return
            if ok:
                self.app.push_screen(ManagerScreen())
            else:
                self.notify("Wrong PIN.", severity="error")

        self.app.push_screen(TextPrompt("Manager PIN:", password=True), checked)

    def refresh_status(self) -> None:
        settings = self.app.kiosk.settings
        self.query_one(StatusLine).show(
            self.app.kiosk.health(),
            stale_after=timedelta(hours=settings.stale_snapshot_hours),
            offline_after=timedelta(seconds=settings.offline_after_seconds),
            camera=self.app.kiosk.camera_status,
        )
