"""Voucher codes: generation, check character, normalising typed or scanned text, hashing.

A code is 13 Crockford base32 characters (65 random bits from `secrets`) followed by
Crockford's mod-37 check character. The generator only emits codes whose check is one of
the 32 ordinary symbols, so a printed code never carries `*~$=U` (awkward for keyboard-wedge
scanners on foreign layouts); that costs 0.2 bits, leaving 64.8 bits of randomness.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from enum import StrEnum

from vouchers.errors import InvalidCode
from vouchers.wording import N_

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
DATA_LENGTH = 13
CODE_LENGTH = DATA_LENGTH + 1
GROUPS = (4, 4, 4, 2)
MAX_INPUT = 512  # longer texts are refused before anything is done with them (a paste, a stuck scanner)


class Unreadable(StrEnum):
    """Why a text is not a voucher code (InvalidCode.reason)."""

    NO_TEXT = "no-text"
    NOTHING_READ = "nothing-read"
    TOO_LONG = "too-long"  # one wording, any length
    TOO_SHORT = "too-short"
    FOREIGN_CHARACTER = "foreign-character"
    CHECK_MISMATCH = "check-mismatch"


# Each reason's English, with the facts InvalidCode carries as placeholders; the front ends word
# them in their language from the catalogue (domain "verdicts", words/verdicts.py).
MESSAGES: dict[Unreadable, str] = {
    Unreadable.NO_TEXT: N_("The scan did not contain text."),
    Unreadable.NOTHING_READ: N_("Nothing was read."),
    Unreadable.TOO_LONG: N_("Too long to be a voucher code: a code has {expected} characters."),
    Unreadable.TOO_SHORT: N_("Too short: a voucher code has {expected} characters, this has {length}."),
    Unreadable.FOREIGN_CHARACTER: N_("'{character}' is not used in voucher codes."),
    Unreadable.CHECK_MISMATCH: N_("The check character does not match: a character was mistyped or misread."),
}
TOO_LONG = MESSAGES[Unreadable.TOO_LONG].format(expected=CODE_LENGTH)  # the English, as a till shows it


def unreadable(reason: Unreadable, **facts: object) -> InvalidCode:
    """The error for a text that is not a code, with its reason and facts."""
    return InvalidCode(reason.value, MESSAGES[reason], **facts)


_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]  # 10 bits -> two characters
_CHECK_VALUE = {ch: i for i, ch in enumerate(CHECK_SYMBOLS)}
# Crockford's decoding rules: letters people confuse with digits read as those digits.
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
# AIM symbology identifier a scanner may prefix ("]Q1", "]C0", "]d2"), and ECI escapes ("\000026").
_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_ECI_ESCAPE = re.compile(r"\\\d{6}")
_SEPARATORS = re.compile(r"[\s\-_.]+")


def _check_value(data: str) -> int:
    number = 0
    for ch in data:
        number = number * 32 + _VALUE[ch]
    return number % 37


def check_character(data: str) -> str:
    """Crockford's check symbol for canonical data characters."""
    return CHECK_SYMBOLS[_check_value(data)]


def new_code() -> str:
    """A fresh random code, canonical (no separators)."""
    return new_codes(1)[0]


def new_codes(count: int) -> list[str]:
    """`count` fresh random codes, drawing the randomness for all of them at once.

    Each code is 65 bits of 9 random bytes, spelt two characters (10 bits) at a time."""
    codes: list[str] = []
    pairs = _PAIRS
    while len(codes) < count:
        pool = secrets.token_bytes(9 * (count - len(codes) + 8))
        for start in range(0, len(pool), 9):
            n = int.from_bytes(pool[start : start + 9], "big") >> 7
            check = n % 37
            if check < 32:
                codes.append(
                    pairs[n >> 55]
                    + pairs[(n >> 45) & 1023]
                    + pairs[(n >> 35) & 1023]
                    + pairs[(n >> 25) & 1023]
                    + pairs[(n >> 15) & 1023]
                    + pairs[(n >> 5) & 1023]
                    + ALPHABET[n & 31]
                    + ALPHABET[check]
                )
                if len(codes) == count:
                    break
    return codes


def format_code(canonical: str) -> str:
    """The grouped form people read and type: ABCD-EFGH-JKMN-PQ."""
    parts, start = [], 0
    for size in GROUPS:
        parts.append(canonical[start : start + size])
        start += size
    return "-".join(parts)


def clean_scan(text: str) -> str:
    """Strip what scanners add around a code: control characters, AIM and ECI prefixes.
    Linear, and bounded: only the first MAX_INPUT characters are looked at."""
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT])
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = _AIM_PREFIX.sub("", text.strip())
    return _ECI_ESCAPE.sub("", text).strip()


def _last_path_segment(text: str) -> str:
    if "/" not in text:
        return text
    path = re.split(r"[?#]", text, maxsplit=1)[0]
    segments = [s for s in path.split("/") if s]
    return segments[-1] if segments else ""


def normalise(text: str) -> str:
    """Canonical code for typed or scanned text, or InvalidCode saying what is wrong. Linear in
    the text and bounded: a text longer than MAX_INPUT is refused at once, in the same words as
    any other text too long to be a code, whatever its length."""
    if not isinstance(text, str):
        raise unreadable(Unreadable.NO_TEXT)
    if len(text) > MAX_INPUT:
        raise unreadable(Unreadable.TOO_LONG, expected=CODE_LENGTH)
    candidate = _SEPARATORS.sub("", _last_path_segment(clean_scan(text))).upper().translate(_ALIASES)
    if not candidate:
        raise unreadable(Unreadable.NOTHING_READ)
    if len(candidate) > CODE_LENGTH:
        raise unreadable(Unreadable.TOO_LONG, expected=CODE_LENGTH)
    for ch in candidate[:DATA_LENGTH]:
        if ch not in _VALUE:
            raise unreadable(Unreadable.FOREIGN_CHARACTER, character=ch)
    if len(candidate) < CODE_LENGTH:
        raise unreadable(Unreadable.TOO_SHORT, expected=CODE_LENGTH, length=len(candidate))
    check = candidate[-1]
    if check not in _CHECK_VALUE:
        raise unreadable(Unreadable.FOREIGN_CHARACTER, character=check)
    if _CHECK_VALUE[check] != _check_value(candidate[:DATA_LENGTH]):
        raise unreadable(Unreadable.CHECK_MISMATCH)
    return candidate


def is_code(text: str) -> bool:
    try:
        normalise(text)
    except InvalidCode:
        return False
    return True


def code_hash(canonical: str, key: bytes) -> str:
    """Keyed hash of a canonical code, as snapshots carry it (docs/PROTOCOL.md)."""
    return hmac.digest(key, canonical.encode("ascii"), hashlib.sha256).hex()


def new_hash_key() -> str:
    """A fresh per-deployment code hash key, hex."""
    return secrets.token_hex(32)
