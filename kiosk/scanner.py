"""Barcode and QR decoding of images and camera frames, behind one small interface.

A `Decoder` turns a grayscale frame into `Read`s (format, text, which decoder). zxing-cpp is
the main one: it reads every symbology a voucher is printed in (QR, Code 128, DataMatrix,
PDF417, Aztec) plus EAN/UPC. zbar (pyzbar + libzbar0) reads the linear codes and QR only; a
`DecoderChain` runs it as a fallback pass when zxing-cpp found nothing, at most once per
`fallback_interval` seconds, so a camera worker at 30 fps does not pay for two decoders on
every empty frame (`["zxing-fast", "zxing", "zbar"]` also rate-limits zxing-cpp's slow
searches). Capture is not here: the camera worker hands frames to `DecoderChain.decode`.

Texts are kept exactly as decoded (GS, CR and other control characters included);
`vouchers.codes.normalise` makes a voucher code of them later.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import zxingcpp

from vouchers.errors import VoucherError

# Format names are zxing-cpp's BarcodeFormat names, whichever decoder read the symbol.
FORMATS = ("QRCode", "Code128", "EAN13", "EAN8", "UPCA", "UPCE", "DataMatrix", "PDF417", "Aztec")
DEFAULT_DECODERS = ("zxing", "zbar")


class ScannerError(VoucherError):
    slug = "scanner"
    title = "Scanner problem"


class UnreadableImage(ScannerError):
    slug = "unreadable-image"
    title = "Cannot read the image"

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        super().__init__(f"{path}: {reason}", path=self.path)


class UnknownDecoder(ScannerError):
    slug = "unknown-decoder"
    title = "No such barcode decoder"

    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is not a decoder; choose from {', '.join(DECODERS)}.", decoder=name)


class DecoderUnavailable(ScannerError):
    slug = "decoder-unavailable"
    title = "A barcode decoder cannot be loaded"


@dataclass(frozen=True)
class Read:
    """One symbol found in a frame."""

    format: str  # zxing-cpp's BarcodeFormat name: QRCode, Code128, EAN13, DataMatrix, ...
    text: str  # as decoded, control characters included
    decoder: str  # the name of the decoder that read it
    raw: bytes = field(default=b"", repr=False)  # the symbol's bytes, uninterpreted (binary payloads)


@runtime_checkable
class Decoder(Protocol):
    name: str

    def decode(self, gray: np.ndarray) -> list[Read]:
        """Every symbol found in an 8-bit grayscale image (2-D, C-contiguous)."""
        ...


def bytes_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class ZxingDecoder:
    """zxing-cpp. `try_harder` (rotated, inverted and downscaled searches; the Python package's
    default, zxing-cpp's "slow" mode) reads a few more hard images, at 2-4 times the cost per
    frame; without it the decoder is called "zxing-fast"."""
    _FORMATS = zxingcpp.BarcodeFormats([zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128,
                                        zxingcpp.BarcodeFormat.EANUPC, zxingcpp.BarcodeFormat.DataMatrix,
                                        zxingcpp.BarcodeFormat.PDF417, zxingcpp.BarcodeFormat.Aztec])

    def __init__(self, *, try_harder: bool = True) -> None:
        self.try_harder = try_harder
        self.name = "zxing" if try_harder else "zxing-fast"

    def decode(self, gray: np.ndarray) -> list[Read]:
        found = zxingcpp.read_barcodes(
            gray, formats=self._FORMATS, try_rotate=self.try_harder, try_invert=self.try_harder,
            try_downscale=self.try_harder,
            # Plain: the symbol's own text (GS1 keeps its GS separators); HRI would print "(01)..."
            text_mode=zxingcpp.TextMode.Plain,
        )
        reads = []
        for barcode in found:
            raw = barcode.bytes
            # zxing-cpp gives no text for a payload it cannot transcode (e.g. mixed ECIs)
            text = barcode.text or bytes_text(raw)
            reads.append(Read(barcode.format.name, text, self.name, raw))
        return reads


class ZbarDecoder:
    """zbar through pyzbar (needs libzbar0): QR and the linear codes; no DataMatrix or Aztec."""

    name = "zbar"
    _FORMAT_NAMES = {"QRCODE": "QRCode", "CODE128": "Code128", "EAN13": "EAN13", "EAN8": "EAN8",
                     "UPCA": "UPCA", "UPCE": "UPCE", "PDF417": "PDF417"}

    def __init__(self) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:  # pyzbar raises ImportError when libzbar.so is missing
            raise DecoderUnavailable(f"zbar: {exc} (scripts/setup installs libzbar0).") from exc
        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol[name] for name in self._FORMAT_NAMES]

    def decode(self, gray: np.ndarray) -> list[Read]:
        found = self._pyzbar.decode(gray, symbols=self._symbols)
        return [Read(self._FORMAT_NAMES.get(s.type, s.type), bytes_text(s.data), self.name, s.data) for s in found]


DECODERS: dict[str, Callable[[], Decoder]] = {
    "zxing": ZxingDecoder,
    "zxing-fast": lambda: ZxingDecoder(try_harder=False),
    "zbar": ZbarDecoder,
}


def make_decoders(names: Sequence[str]) -> list[Decoder]:
    """Decoders by name, in the given order (configuration: e.g. ["zxing", "zbar"])."""
    if not names:
        raise ScannerError("No decoder configured; name at least one of " + ", ".join(DECODERS) + ".")
    decoders = []
    for name in names:
        if name not in DECODERS:
            raise UnknownDecoder(name)
        decoders.append(DECODERS[name]())
    return decoders


def to_gray(frame: np.ndarray) -> np.ndarray:
    """An 8-bit single-channel copy of a BGR, BGRA or gray frame (transparent pixels become white)."""
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype != np.uint8:
        raise ScannerError(f"Frames must be 8- or 16-bit images, not {frame.dtype}.")
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if frame.ndim == 3 and frame.shape[2] == 4:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY).astype(np.uint16)
        alpha = frame[:, :, 3].astype(np.uint16)
        return ((gray * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    raise ScannerError(f"Frames must be gray, BGR or BGRA images, not of shape {frame.shape}.")


class DecoderChain:
    """Decoders in order of preference. A later decoder runs only when every earlier one found
    nothing in the frame, and that fallback pass runs at most once per `fallback_interval`
    seconds (0: on every frame). One chain per thread: it keeps the time of its last fallback."""

    def __init__(self, decoders: Sequence[Decoder], *, fallback_interval: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not decoders:
            raise ScannerError("A decoder chain needs at least one decoder.")
        if fallback_interval < 0:
            raise ScannerError(f"The fallback interval cannot be negative ({fallback_interval}).")
        self.decoders = list(decoders)
        self.fallback_interval = fallback_interval
        self._clock = clock
        self._last_fallback: float | None = None

    @classmethod
    def from_names(cls, names: Sequence[str] = DEFAULT_DECODERS, *, fallback_interval: float = 0.0) -> DecoderChain:
        return cls(make_decoders(names), fallback_interval=fallback_interval)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.decoders]

    def decode(self, frame: np.ndarray) -> list[Read]:
        """The symbols in a frame (BGR from a camera, or gray), from the first decoder that finds any."""
        gray = to_gray(frame)
        first, *fallbacks = self.decoders
        reads = first.decode(gray)
        if reads or not fallbacks:
            return reads
        now = self._clock()
        if self._last_fallback is not None and now - self._last_fallback < self.fallback_interval:
            return []
        try:
            for decoder in fallbacks:
                reads = decoder.decode(gray)
                if reads:
                    return reads
            return []
        finally:
            # the interval counts from the end of a pass: a slow pass cannot fill the reader's time
            self._last_fallback = self._clock()


def load_image(path: str | Path) -> np.ndarray:
    """An image file as OpenCV reads it (PNG, JPEG, WebP, ...), or UnreadableImage saying why."""
    path = Path(path)
    try:
        with path.open("rb") as f:  # OpenCV only says "None": find out what is wrong first
            empty = not f.read(1)
    except OSError as exc:
        raise UnreadableImage(path, exc.strerror or str(exc)) from exc
    if empty:
        raise UnreadableImage(path, "the file is empty")
    try:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise UnreadableImage(path, f"OpenCV cannot decode it ({exc.err})") from exc
    if image is None or image.size == 0:
        raise UnreadableImage(path, "not an image OpenCV can read (PNG, JPEG, WebP, TIFF, BMP, ...)")
    return image


def decode_file(path: str | Path, chain: DecoderChain) -> list[Read]:
    """Every symbol the chain finds in an image file."""
    return chain.decode(load_image(path))


def display_text(text: str) -> str:
    """`text` on one line: control and other unprintable characters escaped as Python does
    (\\r, \\n, \\t, \\x1d, \\u200b), backslashes doubled so that the escapes stay unambiguous."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return "".join(out)
