"""The camera path: a video file made here (QR and Code 128 frames among empty ones) read through
the real capture worker of the real app; each voucher gives one verdict however many frames show it;
a dark-mode phone read from a folder of webcam-like frames; the fallback decoders on their own thread."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest
import zxingcpp
from support.kiosk_files import CODES, frame_with, journal, make_settings, qr, wait_until

from kiosk import camera, scanner
from kiosk.app import build_kiosk
from kiosk.camera import CameraChanged, CameraLost, CameraState, CodeFilter, FrameSource, scans, watch
from kiosk.messages import VerdictReady
from kiosk.scanner import Read
from kiosk.service import Decision
from kiosk.widgets.status import StatusLine
from vouchers.codes import format_code

pytestmark = pytest.mark.anyio


def code128(text: str) -> np.ndarray:
    return np.asarray(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128), scale=3
        )
    )


def write_video(path, frames) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()


async def test_video_frames_give_one_verdict_per_voucher(tmp_path):
    settings = make_settings(tmp_path)
    video = tmp_path / "till.avi"
    blank = frame_with(None)
    write_video(
        video,
        [blank] * 5
        + [frame_with(qr(format_code(CODES[0])))] * 10
        + [blank] * 5
        + [frame_with(code128(CODES[1]))] * 10
        + [blank] * 5,
    )
    settings = settings.model_copy(update={"camera": str(video), "file_fps": 60})
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        status = app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "end of the video" in str(status.render()), timeout=30)
        await wait_until(pilot, lambda: journal(settings) == ["redeem", "redeem"])
    events = sorted(_voucher_ids(settings))
    assert events == ["b.0", "b.1"]


def _voucher_ids(settings):
    import sqlite3

    conn = sqlite3.connect(settings.data_dir / "journal.db")
    try:
        return [r[0] for r in conn.execute("SELECT voucher_id FROM events")]
    finally:
        conn.close()


async def test_an_image_folder_goes_through_the_same_path(tmp_path):
    settings = make_settings(tmp_path)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(
        [frame_with(None), frame_with(qr(f"https://v.example/v/{CODES[0]}")), frame_with(None)]
    ):
        cv2.imwrite(str(folder / f"{i:03d}.png"), frame)
    app = build_kiosk(settings.model_copy(update={"camera": str(folder), "file_fps": 60}))
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: journal(settings) == ["redeem"], timeout=20)


async def test_the_preview_shows_the_camera_in_half_blocks(tmp_path):
    from kiosk.widgets.preview import CameraPreview, shrink

    settings = make_settings(tmp_path)
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "000.png"), frame_with(qr(CODES[0])))
    app = build_kiosk(settings.model_copy(update={"camera": str(folder), "preview": True}))
    async with app.run_test(size=(120, 40)) as pilot:
        preview = app.screen.query_one(CameraPreview)
        await wait_until(pilot, lambda: journal(settings) == ["redeem"], timeout=20)
        await wait_until(pilot, lambda: preview._picture is not None)
        lines = [preview.render_line(y) for y in range(preview.size.height)]
        cells = [seg for strip in lines for seg in strip if seg.text == "\u2580"]
        assert len(cells) >= preview.size.width * preview.size.height // 2
        greys = {seg.style.color.triplet.red for seg in cells} | {
            seg.style.bgcolor.triplet.red for seg in cells
        }
        assert min(greys) < 64 and max(greys) > 192  # the QR's dark modules and the light paper
    # the picture keeps its shape: a 640x480 frame in 40 columns x 10 rows (20 pixel rows) is letterboxed
    picture = shrink(frame_with(None), 40, 10)
    assert picture.shape == (20, 40, 3)
    assert picture[:, :2].max() == 0 and picture[:, 20].min() > 200


async def test_a_missing_camera_is_reported_on_screen(tmp_path):
    settings = make_settings(tmp_path)
    app = build_kiosk(settings.model_copy(update={"camera": str(tmp_path / "no-such-video.avi")}))
    async with app.run_test() as pilot:
        status = app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "CAMERA" in str(status.render()) and status.has_class("warning"))


def test_code_filter_trusts_check_characters_and_needs_two_frames_otherwise():
    now = [0.0]
    codes = CodeFilter(repeat_seconds=3, clock=lambda: now[0])

    def read(text):
        return Read("QRCode", text, "zxing")

    assert codes.feed([read(CODES[0])]) == [CODES[0]]  # a valid code: at once
    assert codes.feed([read(CODES[0])]) == []  # held in front of the camera: once
    assert codes.feed([read("4006381333931")]) == []  # an EAN: one frame is not enough
    assert codes.feed([read("4006381333931")]) == ["4006381333931"]
    now[0] += 5
    assert codes.feed([read(CODES[0])]) == [CODES[0]]  # shown again later: a new scan
    with pytest.raises(CameraLost):
        FrameSource("/nonexistent/video.avi")


async def test_a_dark_mode_phone_is_redeemed_from_a_frame_folder(tmp_path):
    """Light codes on a dark screen (a phone in dark mode), as the webcam sees them, through the app."""
    from support.till_frames import Look, Shot

    settings = make_settings(tmp_path)
    folder = tmp_path / "frames"
    folder.mkdir()
    shots = [
        Shot(Look(symbology=None, seed=1)),
        Shot(Look(symbology="QRCode", text=format_code(CODES[0]), surface="phone-dark", module=4.5, seed=2)),
        Shot(Look(symbology="Code128", text=CODES[1], surface="phone-dark", module=2.8, rotation=3, seed=3)),
    ]
    for i, shot in enumerate(shots):
        for j in range(2):
            cv2.imwrite(str(folder / f"{i}{j}.jpg"), shot.frame(j))
    app = build_kiosk(settings.model_copy(update={"camera": str(folder), "file_fps": 60}))
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: journal(settings) == ["redeem", "redeem"], timeout=20)
    assert sorted(_voucher_ids(settings)) == ["b.0", "b.1"]


class WaitsForTheReader:
    """A real decoder that starts only once the reader has taken `frames` more frames: were it
    run in the reader's thread, it would wait for ever (and fail after `timeout`)."""

    def __init__(self, decoder, moved_on: threading.Event, timeout: float = 20) -> None:
        self.decoder, self.name, self.moved_on, self.timeout = decoder, decoder.name, moved_on, timeout
        self.threads: list[str] = []

    def decode(self, gray):
        self.threads.append(threading.current_thread().name)
        assert self.moved_on.wait(self.timeout), "the reader waited for the fallback pass"
        return self.decoder.decode(gray)


def test_the_fallback_reads_on_its_own_thread_while_the_reader_goes_on(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    datamatrix = np.asarray(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(format_code(CODES[0]), zxingcpp.BarcodeFormat.DataMatrix), scale=6
        )
    )
    cv2.imwrite(str(folder / "00.png"), frame_with(datamatrix))  # zbar has no DataMatrix reader
    for i in range(1, 12):
        cv2.imwrite(str(folder / f"{i:02d}.png"), frame_with(None))
    moved_on, taken = threading.Event(), []

    def on_frame(frame) -> None:
        taken.append(frame)
        if len(taken) == 6:  # the first frame and five more
            moved_on.set()

    fallback = WaitsForTheReader(scanner.ZxingDecoder(), moved_on)
    chain = scanner.DecoderChain([scanner.ZbarDecoder(), fallback], fallback_interval=0.0)
    got = list(scans(FrameSource(str(folder)), chain, CodeFilter(3), lambda: False, on_frame=on_frame))
    assert [text for text, _ in got] == [format_code(CODES[0])]
    assert fallback.threads[0] == "camera fallback"
    assert len(taken) >= 6 and threading.current_thread().name not in fallback.threads


def _watching(settings, stop, retry_seconds=camera.RETRY_SECONDS):
    """watch() on a thread of its own, as the capture worker runs it; what it reported and scanned."""
    reports, scanned = [], []
    thread = threading.Thread(
        target=watch,
        args=(settings, scanned.append, reports.append, stop),
        kwargs={"retry_seconds": retry_seconds},
        daemon=True,
    )
    thread.start()
    return thread, reports, scanned


def _poll(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_a_camera_that_is_not_there_yet_is_tried_again_until_it_comes(tmp_path):
    folder = tmp_path / "frames"
    settings = make_settings(tmp_path).model_copy(update={"camera": str(folder), "file_fps": 60})
    stop = threading.Event()
    thread, reports, scanned = _watching(settings, stop, retry_seconds=0.05)
    try:
        _poll(lambda: len(reports) >= 2)  # tried more than once while there is nothing there
        first = reports[0]
        assert first.state is CameraState.UNAVAILABLE and first.warning
        assert first.words() == f"CAMERA: {folder}: no such camera, video file or folder."
        ready = tmp_path / "ready"
        ready.mkdir()
        cv2.imwrite(str(ready / "000.png"), frame_with(qr(CODES[0])))
        ready.rename(folder)  # plugged in, all at once: a folder holding one code
        thread.join(20)
        assert not thread.is_alive()
    finally:
        stop.set()
    states = [r.state for r in reports]
    assert states[-2:] == [CameraState.ON, CameraState.ENDED]
    assert set(states[:-2]) == {CameraState.UNAVAILABLE}
    assert scanned == [CODES[0]]
    assert [r.words() for r in reports[-2:]] == ["camera on", "camera: end of the video"]
    assert not any(r.warning for r in reports[-2:])


def test_stopping_the_watch_ends_its_wait_for_a_camera_at_once(tmp_path):
    settings = make_settings(tmp_path).model_copy(update={"camera": str(tmp_path / "none")})
    stop = threading.Event()
    thread, reports, _ = _watching(settings, stop)
    _poll(lambda: reports)
    started = time.monotonic()
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert time.monotonic() - started < camera.RETRY_SECONDS  # not a sleep: the wait ends when told


def test_a_lost_camera_says_it_reconnects():
    lost = CameraChanged(CameraState.LOST, "/dev/video0 stopped sending frames.")
    assert lost.warning and lost.words() == "CAMERA: /dev/video0 stopped sending frames. Reconnecting..."
    # a newer camera state replaces an older one still queued; nothing else does
    assert lost.can_replace(CameraChanged(CameraState.ON))
    assert not lost.can_replace(VerdictReady(Decision(None, "")))


async def test_the_camera_state_reaches_the_status_line_by_message(tmp_path):
    settings = make_settings(tmp_path)
    app = build_kiosk(settings)
    async with app.run_test() as pilot:
        status = app.screen.query_one(StatusLine)
        await wait_until(pilot, lambda: "synced" in str(status.render()) or "never" in str(status.render()))
        assert "camera" not in str(status.render())  # none configured
        status.post_message(CameraChanged(CameraState.UNAVAILABLE, "/dev/video0: cannot be opened."))
        await wait_until(pilot, lambda: "CAMERA: /dev/video0: cannot be opened." in str(status.render()))
        assert status.has_class("warning")
        status.post_message(CameraChanged(CameraState.ON))
        await wait_until(pilot, lambda: str(status.render()).endswith("camera on"))
