"""PNG images: the claim URL as a print-ready QR code, and a voucher's code as a member's wallet shows it.

Drawn with segno (QR), zxing-cpp (the other symbologies) and Pillow (PNG), so head office needs
no camera library.
"""

from __future__ import annotations

import io

import segno
import zxingcpp
from PIL import Image

from vouchers.errors import FieldError, InvalidInput

MIN_QR_SIZE = 500
MAX_QR_SIZE = 4096
SYMBOLOGIES = {"qr", "code128", "datamatrix", "pdf417", "aztec"}
_ZXING = {
    "code128": zxingcpp.BarcodeFormat.Code128,
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "pdf417": zxingcpp.BarcodeFormat.PDF417,
    "aztec": zxingcpp.BarcodeFormat.Aztec,
}


def qr_png(text: str, size: int) -> bytes:
    """A full QR code (never Micro QR, which zbar cannot read), exactly `size` pixels square:
    whole-pixel modules, centred, with at least the standard four-module quiet zone."""
    if not MIN_QR_SIZE <= size <= MAX_QR_SIZE:
        raise InvalidInput(
            [FieldError("size", f"size must be between {MIN_QR_SIZE} and {MAX_QR_SIZE} pixels")]
        )
    rows = [bytes(0 if dark else 255 for dark in row) for row in segno.make_qr(text, error="m").matrix]
    modules = len(rows)
    scale = size // (modules + 8)
    symbol = Image.frombytes("L", (modules, modules), b"".join(rows)).resize(
        (modules * scale, modules * scale), Image.Resampling.NEAREST
    )
    image = Image.new("L", (size, size), 255)
    offset = (size - symbol.width) // 2
    image.paste(symbol, (offset, offset))
    return _png(image)


def barcode_png(text: str, symbology: str, with_text: bool = True) -> bytes:
    if symbology not in SYMBOLOGIES:
        raise InvalidInput([FieldError("symbology", f"must be one of {', '.join(sorted(SYMBOLOGIES))}")])
    if symbology == "qr":
        return qr_png(text, MIN_QR_SIZE)
    barcode = zxingcpp.create_barcode(text, _ZXING[symbology])
    drawn = zxingcpp.write_barcode_to_image(barcode, scale=4, add_hrt=with_text and symbology == "code128")
    height, width = drawn.shape
    pixels = memoryview(drawn).tobytes()  # type: ignore[arg-type]  # (zxingcpp's stubs leave out its buffer)
    return _png(Image.frombuffer("L", (width, height), pixels, "raw", "L", 0, 1))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
