"""Camera frames into codes: OpenCV capture from a device index, a device path, a video file or
a folder of images (the last two stand in for a webcam), decoded and filtered.

A read whose text is a well-formed voucher code (its check character agrees) is trusted at once;
any other text must be read in two consecutive frames. The same text seen again within a few
seconds is ignored, so a voucher held in front of the camera is redeemed once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from kiosk.scanner import DecoderChain, Read, ScannerError
from vouchers.codes import is_code

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


class CameraLost(ScannerError):
    slug = "camera-lost"
    title = "Camera not available"


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
            raise CameraLost(f"{spec}: no such camera, video file or folder.")
        self._capture = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
        if not self._capture.isOpened():
            raise CameraLost(f"{spec}: cannot be opened (unplugged, or in use by another program?).")
        if self.is_device:  # the newest frame, not one queued while the last was decoded
            self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def read(self) -> np.ndarray | None:
        if self._images is not None:
            for path in self._images:
                frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if frame is not None:
                    return frame
            return None
        ok, frame = self._capture.read()
        if ok:
            return frame
        if self.is_device:
            raise CameraLost(f"{self.spec} stopped sending frames.")
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


def scans(source: FrameSource, chain: DecoderChain, codes: CodeFilter, stop: Callable[[], bool],
          min_frame_seconds: float = 0.0,
          on_frame: Callable[[np.ndarray], None] | None = None) -> Iterator[tuple[str, float]]:
    """(text, frame time) for each new scan, until the source ends or `stop()` is true;
    `on_frame` sees every frame first (the preview)."""
    while not stop():
        started = time.monotonic()
        frame = source.read()
        if frame is None:
            return
        if on_frame is not None:
            on_frame(frame)
        for text in codes.feed(chain.decode(frame)):
            yield text, started
        spare = min_frame_seconds - (time.monotonic() - started)
        if spare > 0:
            time.sleep(spare)
