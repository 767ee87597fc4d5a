"""Camera frames into codes: OpenCV capture from a device index, a device path, a video file or
a folder of images (the last two stand in for a webcam), decoded and filtered.

The reader (the thread that runs `scans()`) decodes every frame with the chain's first decoder;
the chain's fallback decoders run on a `Fallback` thread of their own, on the newest frame the
reader found nothing in, and their reads join the reader's on a later frame: a 70 ms zbar pass
never holds up the next frame.

A read whose text is a well-formed voucher code (its check character agrees) is trusted at once;
any other text must be read in two consecutive frames. The same text seen again within a few
seconds is ignored, so a voucher held in front of the camera is redeemed once.

`watch()` is the camera's whole life at the till, run by the scan screen's "camera capture"
worker: it opens the camera, turns its frames into scans, reopens it when it is lost (unplugged,
or not there yet) and says what it is doing by a `CameraChanged` message, which a newer one
replaces in the queue of a busy screen.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
from textual.message import Message

from kiosk import wording
from kiosk.scanner import DecoderChain, Read, ScannerError, to_gray
from kiosk.settings import KioskSettings
from vouchers.codes import is_code
from vouchers.wording import N_, Said
from words import Words

RETRY_SECONDS = 2.0  # how often a camera that cannot be opened is tried again

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


class CameraLost(ScannerError):
    """The camera cannot be read: `message` (marked for the till's words) about `camera`."""

    slug = "camera-lost"
    title = "Camera not available"

    def __init__(self, message: str, camera: str) -> None:
        super().__init__(Said(message, {"camera": camera}))
        self.message = message
        self.camera = camera


class FrameSource:
    """One OpenCV capture: read() gives the next frame, None at the end of a file, CameraLost
    when a device stops answering."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.is_device = spec.isdigit() or spec.startswith("/dev/")
        self._images: Iterator[Path] | None = None
        self._capture: cv2.VideoCapture | None = None
        path = Path(spec)
        if path.is_dir():
            self._images = iter(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
            return
        if not self.is_device and not path.exists():
            raise CameraLost(N_("{camera}: no such camera, video file or folder."), spec)
        self._capture = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
        if not self._capture.isOpened():
            raise CameraLost(
                N_("{camera}: cannot be opened (unplugged, or in use by another program?)."), spec
            )
        if self.is_device:  # the newest frame, not one queued while the last was decoded
            self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def read(self) -> np.ndarray | None:
        if self._images is not None:
            for path in self._images:
                frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if frame is not None:
                    return frame
            return None
        if self._capture is None:  # a folder of images has none
            return None
        ok, frame = self._capture.read()
        if ok:
            return frame
        if self.is_device:
            raise CameraLost(N_("{camera} stopped sending frames."), self.spec)
        return None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()


class CodeFilter:
    """Decides which reads become scans: check-character codes at once, other text when two
    consecutive frames agree, nothing seen again within `repeat_seconds`."""

    def __init__(self, repeat_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.repeat_seconds = repeat_seconds
        self.clock = clock
        self._previous_frame: set[str] = set()
        self._last_seen: dict[str, float] = {}

    def feed(self, reads: list[Read]) -> list[str]:
        now = self.clock()
        texts = {r.text for r in reads if r.text.strip()}
        out = []
        for text in sorted(texts):
            trusted = is_code(text) or text in self._previous_frame
            last = self._last_seen.get(text)
            if trusted and (last is None or now - last > self.repeat_seconds):
                out.append(text)
            if trusted:
                self._last_seen[text] = now
        self._previous_frame = texts
        self._last_seen = {t: s for t, s in self._last_seen.items() if now - s <= self.repeat_seconds}
        return out


class Fallback:
    """The chain's fallback decoders on a thread of their own ("camera fallback"), at a lower CPU
    priority than the reader where the system allows it (Linux). `offer()` hands over a frame the
    reader found nothing in: it is taken when no pass is running and the chain's interval has
    passed, else dropped (the next frame is as good). `take()` gives the reads found since the last
    call; `drain()` waits for a pass under way first (the end of a video)."""

    def __init__(self, chain: DecoderChain) -> None:
        self.chain = chain
        self._cv = threading.Condition()
        self._frame: np.ndarray | None = None
        self._busy = False
        self._closing = False
        self._reads: list[Read] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="camera fallback", daemon=True)
        self._thread.start()

    def offer(self, gray: np.ndarray) -> bool:
        """Hand a grayscale frame over if a pass may start now; whether it was taken."""
        with self._cv:
            if self._busy or not self.chain.fallback_due():
                return False
            self._frame, self._busy = gray, True
            self._cv.notify_all()
            return True

    def take(self) -> list[Read]:
        with self._cv:
            if self._error is not None:
                raise self._error
            reads, self._reads = self._reads, []
            return reads

    def drain(self, timeout: float = 30.0) -> list[Read]:
        with self._cv:
            self._cv.wait_for(lambda: not self._busy or self._closing, timeout)
        return self.take()

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join()

    def _run(self) -> None:
        try:  # on Linux a thread is a task with a nice value of its own: give way to the reader
            os.setpriority(
                os.PRIO_PROCESS, threading.get_native_id(), min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)
            )
        except (AttributeError, OSError):
            pass
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._frame is not None or self._closing)
                if self._closing:
                    return
                gray, self._frame = self._frame, None
            if gray is None:  # never: it waited for a frame (for mypy)
                continue
            try:
                reads, error = self.chain.fall_back(gray), None
            except Exception as exc:  # noqa: BLE001 (handed to the reader, whose worker reports it)
                reads, error = [], exc
            with self._cv:
                self._reads += reads
                self._error = self._error or error
                self._busy = False
                self._cv.notify_all()


def scans(
    source: FrameSource,
    chain: DecoderChain,
    codes: CodeFilter,
    stop: Callable[[], bool],
    min_frame_seconds: float = 0.0,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> Iterator[tuple[str, float]]:
    """(text, frame time) for each new scan, until the source ends or `stop()` is true;
    `on_frame` sees every frame first (the preview). The chain's first decoder reads each frame
    here; its fallback runs on a `Fallback` thread for as long as this runs."""
    fallback = Fallback(chain) if chain.fallbacks else None
    try:
        while not stop():
            started = time.monotonic()
            frame = source.read()
            if frame is None:
                if fallback is not None:  # what the fallback still finds in the video's last frames
                    for text in codes.feed(fallback.drain()):
                        yield text, started
                return
            if on_frame is not None:
                on_frame(frame)
            gray = to_gray(frame)
            reads = chain.read(gray)
            if fallback is not None:
                if not reads:
                    fallback.offer(gray)
                reads += fallback.take()
            for text in codes.feed(reads):
                yield text, started
            spare = min_frame_seconds - (time.monotonic() - started)
            if spare > 0:
                time.sleep(spare)
    finally:
        if fallback is not None:
            fallback.close()


class CameraState(Enum):
    """What the camera is doing, as the status line says it."""

    ON = "on"  # frames are being read
    UNAVAILABLE = "unavailable"  # it cannot be opened; tried again every RETRY_SECONDS
    LOST = "lost"  # it stopped sending frames; being reopened
    ENDED = "ended"  # a video file or image folder was read to its end


@dataclass
class CameraChanged(Message):
    """The camera's state, posted by `watch()` from its worker; only the newest one in a queue
    counts, so a busy screen is never behind on the camera."""

    state: CameraState
    detail: str | None = None  # what went wrong, in English words, when it is not ON or ENDED
    lost: CameraLost | None = None  # the same, to be worded in the till's language

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CameraChanged)

    @property
    def warning(self) -> bool:
        """The cashier should know: the camera reads nothing until it is back."""
        return self.state in (CameraState.UNAVAILABLE, CameraState.LOST)

    def words(self, words: Words | None = None) -> str:
        """For the status line, in the till's `words` (None: English)."""
        words = words or wording.english()
        if self.state is CameraState.ON:
            return words.gettext("camera on")
        if self.state is CameraState.ENDED:
            return words.gettext("camera: end of the video")
        if self.lost is not None:
            detail = words.gettext(self.lost.message, camera=self.lost.camera)
        else:
            detail = self.detail or words.gettext("not available.")
        if self.state is CameraState.LOST:
            return words.gettext("CAMERA: {detail} Reconnecting...", detail=detail)
        return words.gettext("CAMERA: {detail}", detail=detail)


def watch(
    settings: KioskSettings,
    scanned: Callable[[str], object],
    report: Callable[[CameraChanged], object],
    stop: threading.Event,
    on_frame: Callable[[np.ndarray], None] | None = None,
    retry_seconds: float = RETRY_SECONDS,
) -> None:
    """The configured camera's scans to `scanned`, one call each, until `stop` is set or a video
    file or folder ends; a camera that cannot be opened is tried again every RETRY_SECONDS, one that
    stops sending frames is reopened at once. Every change of state goes to `report`."""
    camera = settings.camera
    if camera is None:
        raise ValueError("No camera configured.")
    chain = DecoderChain.from_names(settings.decoders, fallback_interval=1 / settings.fallback_fps)
    codes = CodeFilter(settings.repeat_seconds)
    while not stop.is_set():
        try:
            source = FrameSource(camera)
        except CameraLost as exc:
            report(CameraChanged(CameraState.UNAVAILABLE, exc.detail, exc))
            stop.wait(retry_seconds)  # for it to be plugged back in
            continue
        report(CameraChanged(CameraState.ON))
        pace = 0 if source.is_device else 1 / settings.file_fps
        try:
            for text, _ in scans(source, chain, codes, stop.is_set, pace, on_frame):
                scanned(text)
            if not source.is_device:  # a file or folder read to its end, or the app stopping
                if not stop.is_set():
                    report(CameraChanged(CameraState.ENDED))
                return
        except CameraLost as exc:
            report(CameraChanged(CameraState.LOST, exc.detail, exc))
        finally:
            source.close()
