"""PNG images: the claim URL as a print-ready QR code, and a voucher's code as a member's wallet shows it."""

from __future__ import annotations

import io
import math

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
    """A full QR code (never Micro QR, which zbar cannot read) at least `size` pixels wide."""
    if not MIN_QR_SIZE <= size <= MAX_QR_SIZE:
        raise InvalidInput([FieldError("size", f"size must be between {MIN_QR_SIZE} and {MAX_QR_SIZE} pixels")])
    qr = segno.make_qr(text, error="m")
    border = 4
    scale = math.ceil(size / (qr.symbol_size(scale=1, border=border)[0]))
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def barcode_png(text: str, symbology: str, with_text: bool = True) -> bytes:
    if symbology not in SYMBOLOGIES:
        raise InvalidInput([FieldError("symbology", f"must be one of {', '.join(sorted(SYMBOLOGIES))}")])
    if symbology == "qr":
        return qr_png(text, MIN_QR_SIZE)
    barcode = zxingcpp.create_barcode(text, _ZXING[symbology])
    image = np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=4, add_hrt=with_text and symbology == "code128"))
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()
