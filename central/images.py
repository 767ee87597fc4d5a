"""PNG images: the claim URL as a print-ready QR code, and a voucher's code as a member's wallet shows it."""

from __future__ import annotations

import cv2
import numpy as np
import segno
import zxingcpp

from vouchers.errors import InvalidInput, FieldError

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
        raise InvalidInput([FieldError("size", f"size must be between {MIN_QR_SIZE} and {MAX_QR_SIZE} pixels")])
    modules = np.array(list(segno.make_qr(text, error="m").matrix), dtype=np.uint8)
    scale = size // (len(modules) + 8)
    symbol = np.kron(1 - modules, np.ones((scale, scale), dtype=np.uint8)) * 255
    image = np.full((size, size), 255, dtype=np.uint8)
    offset = (size - symbol.shape[0]) // 2
    image[offset : offset + symbol.shape[0], offset : offset + symbol.shape[1]] = symbol
    return _png(image)


def _png(image: np.ndarray) -> bytes:
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()


def barcode_png(text: str, symbology: str, with_text: bool = True) -> bytes:
    if symbology not in SYMBOLOGIES:
        raise InvalidInput([FieldError("symbology", f"must be one of {', '.join(sorted(SYMBOLOGIES))}")])
    if symbology == "qr":
        return qr_png(text, MIN_QR_SIZE)
    barcode = zxingcpp.create_barcode(text, _ZXING[symbology])
    return _png(np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=4, add_hrt=with_text and symbology == "code128")))
