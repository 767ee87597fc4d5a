"""The scan field: what a keyboard-wedge scanner (or a cashier) types into, capped.

It takes at most `CAPACITY` characters (one more than `vouchers.codes.MAX_INPUT`): a paste or a
stuck scanner of any length keeps its first `CAPACITY`, every key after that is dropped at once
and without a bell, so the field never grows, Enter gives its verdict at once, and the verdict
says "too long" in the one wording `normalise` has for anything longer than a code.

It also times its text, from the first character into the empty field: a scanner types a code
far faster than a person can (`from_scanner`), which tells the scanner-layout notice
(localdb/notices.py) a scan from a code typed by hand on the till's own keyboard.
"""

from __future__ import annotations

import time

from textual.widgets import Input

from vouchers.codes import MAX_INPUT

CAPACITY = MAX_INPUT + 1  # one more than a code may be: so that "too long" can still be told
SCANNER_CHARS_PER_SECOND = 20  # no one types a code this fast by hand; a USB scanner types 50 to 1,000


class ScanInput(Input):
    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=CAPACITY, **kwargs)
        self._started: float | None = None  # when the first character of the text came

    def replace(self, text: str, start: int, end: int) -> None:
        """Textual refuses a whole insertion that would pass `max_length`; this one keeps what fits."""
        value = self.value
        start, end = sorted((max(0, start), min(len(value), end)))
        text = text[: max(0, CAPACITY - (len(value) - (end - start)))]
        if not value and text:
            self._started = time.monotonic()
        if text or start != end:
            super().replace(text, start, end)

    def restricted(self) -> None:
        """No bell for each key of a stuck scanner once the field is full."""

    def from_scanner(self) -> bool:
        """Whether the text now in the field came faster than anyone types by hand."""
        if self._started is None or not self.value:
            return False
        return time.monotonic() - self._started <= len(self.value) / SCANNER_CHARS_PER_SECOND
