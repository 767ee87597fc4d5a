"""E-mail addresses as identities: a member's id, a staff account's name. Validated, and compared
case-folded (`VICTIM@x` and `victim@x` are one person), so one address is one member everywhere."""

from __future__ import annotations

import re

from vouchers.errors import FieldError, InvalidInput
from vouchers.wording import said

MAX_LENGTH = 200
# local@domain: no spaces, no second @, a dot in the domain, no dot at either end of a label
_SHAPE = re.compile(r"^[^\s@]{1,64}@(?=.{1,190}$)[^\s@.]+(\.[^\s@.]+)+$")


def fold(address: str) -> str:
    """The form an address is stored and compared in: trimmed and case-folded."""
    return address.strip().casefold()


def is_email(address: str) -> bool:
    folded = fold(address)
    return len(folded) <= MAX_LENGTH and bool(_SHAPE.match(folded)) and not any(ord(c) < 32 for c in folded)


def check_email(address: str, field: str = "email") -> str:
    """The folded address, or InvalidInput naming `field` when it is not an e-mail address."""
    folded = fold(address)
    if not is_email(folded):
        shown = folded if len(folded) <= 60 else folded[:57] + "..."
        raise InvalidInput([FieldError(field, said("'{address}' is not an e-mail address.", address=shown))])
    return folded
