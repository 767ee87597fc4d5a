"""Barcode and QR decoding of images and camera frames: the till's one decoder chain.

A `Decoder` turns a grayscale frame into `Read`s (format, text, which decoder), and reads both
polarities: dark on light as printed, and light on dark for the symbologies head office prints
(`PRINTED`), as a phone in dark mode shows them, from the frame inverted by hand (zxing-cpp's own
invert option misses an inverted Code 128).

A `DecoderChain` is the till's: its first decoder reads every frame on the camera's reader
thread ("zxing-fast", about 9 ms of CPU a 1280×720 frame); the later ones are the fallback,
tried in order on a frame the first found nothing in, at most once per `fallback_interval`
("zxing", all of zxing-cpp's slow searches, then zbar, which reads some blurred retail barcodes
the others miss: 20-100 ms a frame each). `decode()` runs both in the caller's thread (`voucher-kiosk decode`:
what the camera reads of a frame held in front of it); the camera worker runs the fallback on a
thread of its own (`kiosk.camera.Fallback`), so that a slow pass never holds up the next frame.
`DEFAULT_DECODERS` is the one definition of that chain (the kiosk's `decoders` setting defaults
to it); bench/README.md (camera, decode) has the figures behind it.

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
from vouchers.wording import N_, Said, said

# Format names are zxing-cpp's BarcodeFormat names, whichever decoder read the symbol.
PRINTED = (
    "QRCode",
    "Code128",
    "DataMatrix",
    "PDF417",
    "Aztec",
)  # what head office prints: read either way round
RETAIL = (
    "EAN13",
    "EAN8",
    "UPCA",
    "UPCE",
)  # products' barcodes, dark on light; UPC texts in their EAN-13 form
FORMATS = PRINTED + RETAIL
# The till's chain: the reader's decoder, then the fallback (kiosk setting `decoders`, voucher-kiosk decode).
DEFAULT_DECODERS = ("zxing-fast", "zxing", "zbar")
THOROUGH_DECODERS = ("zxing-thorough",)  # added by `voucher-kiosk decode --thorough`: slow, for support


class ScannerError(VoucherError):
    slug = "scanner"
    title = "Scanner problem"


class UnreadableImage(ScannerError):
    slug = "unreadable-image"
    title = "Cannot read the image"

    def __init__(self, path: str | Path, reason: str, **facts: object) -> None:
        """`reason`: marked for the till's words (or the system's own), filled from `facts`."""
        self.path = str(path)
        self.reason = reason
        self.facts = facts
        super().__init__(said("{path}: {reason}", path=self.path, reason=Said(reason, facts)), path=self.path)


class UnknownDecoder(ScannerError):
    slug = "unknown-decoder"
    title = "No such barcode decoder"

    def __init__(self, name: str) -> None:
        super().__init__(
            said(
                "{name} is not a decoder; choose from {decoders}.",
                name=repr(name),
                decoders=", ".join(DECODERS),
            ),
            decoder=name,
        )


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
    inverted: bool = False  # read from the frame inverted by hand: light on dark


@runtime_checkable
class Decoder(Protocol):
    name: str

    def decode(self, gray: np.ndarray) -> list[Read]:
        """Every symbol found in an 8-bit grayscale image (2-D, C-contiguous)."""
        ...


def bytes_text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def negative(gray: np.ndarray) -> np.ndarray:
    """The frame inverted: a light code on a dark screen becomes a dark code on light."""
    return cv2.bitwise_not(gray)


_QUIET_KERNEL = np.ones((3, 3), np.uint8)
QUIET_RANGE = 24  # grey levels: zxing-cpp's binariser sees no edge in a block of less contrast either


def quieten(gray: np.ndarray) -> np.ndarray:
    """`gray` with the sensor noise smoothed away where there is nothing else (a 3×3 neighbourhood
    spanning fewer than QUIET_RANGE grey levels); every edge of more contrast stays as it was.
    zxing-cpp's local binariser turns that noise into specks which its 2-D detectors then chase:
    quietened, a flat frame with noise σ 5 costs them half the time, and zxing-fast takes a sixth
    less on the till frames of the tests, reading the same (bench/README.md: decode). A fixed
    limit, not one taken from the frame: a code held close fills it, and its edges are no noise.
    """
    spread = cv2.subtract(cv2.dilate(gray, _QUIET_KERNEL), cv2.erode(gray, _QUIET_KERNEL))
    flat = cv2.compare(spread, QUIET_RANGE, cv2.CMP_LT)  # type: ignore[call-overload]  # a scalar: OpenCV's stubs lack it
    out = gray.copy()
    cv2.copyTo(cv2.blur(gray, (3, 3)), flat, out)
    return out


def half_size(gray: np.ndarray) -> np.ndarray:
    """Half the width and height, each pixel the mean of four: a quarter of the work, half the noise."""
    return cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)


def _zxing_formats(names: Sequence[str]) -> zxingcpp.BarcodeFormats:
    return zxingcpp.BarcodeFormats([getattr(zxingcpp.BarcodeFormat, n) for n in names])


class ZxingDecoder:
    """zxing-cpp. `try_harder` (rotated, inverted and downscaled searches; the Python package's
    default, zxing-cpp's "slow" mode, about 20 ms of CPU a 1280×720 frame) reads a few more hard
    images, and then Code 128 on the inverted frame. Without it ("zxing-fast", the reader's
    decoder) the linear codes are read from the frame as it is and the 2-D ones from the frame
    quietened; then both inverted; then at half size both ways (a large code in a noisy or dim
    frame): about 9 ms of CPU a frame."""

    _ALL = _zxing_formats(("QRCode", "Code128", "EANUPC", "DataMatrix", "PDF417", "Aztec"))
    _PRINTED = _zxing_formats(PRINTED)
    _LINEAR = _zxing_formats(("Code128", "EANUPC"))  # read row by row: noise costs them little
    MATRIX = ("QRCode", "DataMatrix", "PDF417", "Aztec")  # read from the quietened frame
    _MATRIX = _zxing_formats(MATRIX)
    _CODE128 = _zxing_formats(("Code128",))

    def __init__(self, *, try_harder: bool = True) -> None:
        self.try_harder = try_harder
        self.name = "zxing" if try_harder else "zxing-fast"

    def decode(self, gray: np.ndarray) -> list[Read]:
        if self.try_harder:
            return self._read(gray, self._ALL) or self._read(negative(gray), self._CODE128, inverted=True)
        quiet = quieten(gray)
        reads = self._read(gray, self._LINEAR) + self._read(quiet, self._MATRIX)
        if reads:
            return reads
        reads = self._read(negative(gray), self._CODE128, inverted=True) + self._read(
            negative(quiet), self._MATRIX, inverted=True
        )
        if reads:
            return reads
        small = half_size(gray)
        return self._read(small, self._PRINTED) or self._read(negative(small), self._PRINTED, inverted=True)

    def _read(
        self,
        gray: np.ndarray,
        formats: zxingcpp.BarcodeFormats,
        *,
        inverted: bool = False,
        slow: bool | None = None,
    ) -> list[Read]:
        slow = self.try_harder if slow is None else slow
        found = zxingcpp.read_barcodes(
            gray,
            formats=formats,
            try_rotate=slow,
            try_invert=slow,
            try_downscale=slow,
            # Plain: the symbol's own text (GS1 keeps its GS separators); HRI would print "(01)..."
            text_mode=zxingcpp.TextMode.Plain,
        )
        reads = []
        for barcode in found:
            raw = barcode.bytes
            # zxing-cpp gives no text for a payload it cannot transcode (e.g. mixed ECIs)
            text = barcode.text or bytes_text(raw)
            reads.append(Read(barcode.format.name, text, self.name, raw, inverted))
        return reads


class ThoroughZxingDecoder(ZxingDecoder):
    """For support only ("zxing-thorough", `voucher-kiosk decode --thorough`): zxing-cpp's slow
    mode on the frame enlarged twice (codes of about a pixel a module) and turned by ±30° and
    ±60° (a Code 128 held askew, which no row of the frame crosses whole). Seconds a frame."""

    def __init__(self) -> None:
        super().__init__(try_harder=True)
        self.name = "zxing-thorough"

    def decode(self, gray: np.ndarray) -> list[Read]:
        h, w = gray.shape
        if max(h, w) <= 2048:
            big = cv2.resize(gray, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
            reads = self._read(big, self._ALL) or self._read(negative(big), self._CODE128, inverted=True)
            if reads:
                return reads
        for angle in (30, -30, 60, -60):
            turned = _turned(gray, angle)
            reads = self._read(turned, self._ALL) or self._read(
                negative(turned), self._CODE128, inverted=True
            )
            if reads:
                return reads
        return []


def _turned(gray: np.ndarray, angle: float) -> np.ndarray:
    """`gray` turned by `angle` degrees on a canvas large enough to keep all of it, the new
    corners filled with the frame's median grey."""
    h, w = gray.shape
    cos, sin = abs(np.cos(np.radians(angle))), abs(np.sin(np.radians(angle)))
    size = (int(w * cos + h * sin) + 1, int(w * sin + h * cos) + 1)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    matrix[:, 2] += (size[0] - w) / 2, (size[1] - h) / 2
    return cv2.warpAffine(
        gray,
        matrix,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=int(np.median(gray[::8, ::8])),
    )


class ZbarDecoder:
    """zbar through pyzbar (needs libzbar0): QR and the linear codes; no DataMatrix or Aztec.
    UPC-A and UPC-E are not enabled by name, so that zbar gives them in their EAN-13 form, as
    zxing-cpp does: one symbol, one text, whichever decoder read it."""

    name = "zbar"
    _FORMAT_NAMES = {
        "QRCODE": "QRCode",
        "CODE128": "Code128",
        "EAN13": "EAN13",
        "EAN8": "EAN8",
        "PDF417": "PDF417",
    }
    _INVERTED = ("QRCODE", "CODE128")  # of those, what head office prints

    def __init__(self) -> None:
        try:
            from pyzbar import pyzbar
        except ImportError as exc:  # pyzbar raises ImportError when libzbar.so is missing
            raise DecoderUnavailable(f"zbar: {exc} (scripts/setup installs libzbar0).") from exc
        self._pyzbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol[name] for name in self._FORMAT_NAMES]
        self._inverted_symbols = [pyzbar.ZBarSymbol[name] for name in self._INVERTED]

    def decode(self, gray: np.ndarray) -> list[Read]:
        return self._read(gray, self._symbols) or self._read(
            negative(gray), self._inverted_symbols, inverted=True
        )

    def _read(self, gray: np.ndarray, symbols: list, inverted: bool = False) -> list[Read]:
        found = self._pyzbar.decode(gray, symbols=symbols)
        return [
            Read(self._FORMAT_NAMES.get(s.type, s.type), bytes_text(s.data), self.name, s.data, inverted)
            for s in found
        ]


DECODERS: dict[str, Callable[[], Decoder]] = {
    "zxing": ZxingDecoder,
    "zxing-fast": lambda: ZxingDecoder(try_harder=False),
    "zbar": ZbarDecoder,
    "zxing-thorough": ThoroughZxingDecoder,
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
    """The till's decoders in order: the first reads every frame; the later ones, tried in order
    until one finds something, are the fallback for a frame the first found nothing in, at most
    once per `fallback_interval` seconds (0: every frame), counted from the end of one fallback
    pass to the start of the next. One chain per camera: it keeps the time of its last fallback."""

    def __init__(
        self,
        decoders: Sequence[Decoder],
        *,
        fallback_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not decoders:
            raise ScannerError("A decoder chain needs at least one decoder.")
        if fallback_interval < 0:
            raise ScannerError(f"The fallback interval cannot be negative ({fallback_interval}).")
        self.decoders = list(decoders)
        self.fallback_interval = fallback_interval
        self._clock = clock
        self._last_fallback: float | None = None

    @classmethod
    def from_names(
        cls, names: Sequence[str] = DEFAULT_DECODERS, *, fallback_interval: float = 0.0
    ) -> DecoderChain:
        return cls(make_decoders(names), fallback_interval=fallback_interval)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.decoders]

    @property
    def fallbacks(self) -> list[Decoder]:
        return self.decoders[1:]

    def read(self, gray: np.ndarray) -> list[Read]:
        """The first decoder's reads of a grayscale frame: the camera's reader thread's part."""
        return self.decoders[0].decode(gray)

    def fallback_due(self) -> bool:
        """Whether a fallback pass may start now (there are fallbacks, and the interval has passed)."""
        if not self.fallbacks:
            return False
        return self._last_fallback is None or self._clock() - self._last_fallback >= self.fallback_interval

    def fall_back(self, gray: np.ndarray) -> list[Read]:
        """One fallback pass: the later decoders in order, until one finds something; the interval
        counts from its end, so that a slow pass cannot fill the time between frames."""
        try:
            for decoder in self.fallbacks:
                reads = decoder.decode(gray)
                if reads:
                    return reads
            return []
        finally:
            self._last_fallback = self._clock()

    def decode(self, frame: np.ndarray) -> list[Read]:
        """The symbols in a frame (BGR from a camera, or gray): the first decoder's, or when it
        found none and the interval allows, the fallback's; all in the caller's thread."""
        gray = to_gray(frame)
        reads = self.read(gray)
        if reads or not self.fallback_due():
            return reads
        return self.fall_back(gray)


def load_image(path: str | Path) -> np.ndarray:
    """An image file as OpenCV reads it (PNG, JPEG, WebP, ...), or UnreadableImage saying why."""
    path = Path(path)
    try:
        with path.open("rb") as f:  # OpenCV only says "None": find out what is wrong first
            empty = not f.read(1)
    except OSError as exc:
        raise UnreadableImage(path, exc.strerror or str(exc)) from exc
    if empty:
        raise UnreadableImage(path, N_("the file is empty"))
    try:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise UnreadableImage(path, N_("OpenCV cannot decode it ({error})"), error=exc.err) from exc
    if image is None or image.size == 0:
        raise UnreadableImage(path, N_("not an image OpenCV can read (PNG, JPEG, WebP, TIFF, BMP, ...)"))
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
            out.append(
                f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
            )
    return "".join(out)
