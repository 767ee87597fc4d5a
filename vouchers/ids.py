"""A voucher's id, `batch.serial`: its batch's id, a dot, and its serial number in decimal.

Head office makes the ids, the snapshot carries them to the tills, and the journal and the ledger
name vouchers by them. Every room makes an id with `make` and reads one back with `parse` (or
`try_parse`, when a foreign text may be no id at all), so the format is written down once, here.
The serial is what follows the last dot; a batch id holds no dot (central's `new_id`), but one
that did would still come back whole.
"""

from __future__ import annotations

from typing import NamedTuple

from vouchers.errors import FieldError, InvalidInput
from vouchers.wording import said

MAX_SERIAL_DIGITS = 18  # a serial fits a signed 64-bit integer, as the databases store it


class VoucherId(NamedTuple):
    """An id read back: `make(*parse(text)) == text` for every id `parse` accepts."""

    batch_id: str
    serial: int

    def __str__(self) -> str:
        return make(self.batch_id, self.serial)


class MalformedVoucherId(InvalidInput):
    slug = "malformed-voucher-id"
    title = "Not a voucher id"

    def __init__(self, value: str) -> None:
        self.value = value
        shown = value if len(value) <= 60 else value[:60] + "..."
        super().__init__(
            [
                FieldError(
                    "voucher_id",
                    said(
                        "{value} is not a voucher id (a batch id, a dot, a serial number)", value=repr(shown)
                    ),
                )
            ]
        )


def make(batch_id: str, serial: int) -> str:
    """The id of the voucher with this serial number in this batch."""
    return f"{batch_id}.{serial}"


def try_parse(value: str) -> VoucherId | None:
    """The batch id and serial number of an id; None when the text is not one `make` could give
    (no dot, no batch id, a serial that is not plain decimal digits, or one written with a leading
    zero, a sign or more than 18 digits)."""
    batch_id, dot, serial = value.rpartition(".")
    if (
        not dot
        or not batch_id
        or not (serial.isascii() and serial.isdigit())
        or len(serial) > MAX_SERIAL_DIGITS
        or (serial != "0" and serial.startswith("0"))
    ):
        return None
    return VoucherId(batch_id, int(serial))


def parse(value: str) -> VoucherId:
    """The batch id and serial number of an id; MalformedVoucherId, in words, when it is not one."""
    found = try_parse(value)
    if found is None:
        raise MalformedVoucherId(value)
    return found


def batch_of(value: str) -> str:
    """The id of the batch a voucher id belongs to; MalformedVoucherId when it is not a voucher id."""
    return parse(value).batch_id
