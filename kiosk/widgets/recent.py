"""The last scans, newest first, each with its time, its word and a few words why: a verdict that
has left the panel (after verdict_seconds, or Esc) can still be read here.

Codes are shown by their last characters only ("...MN-PQ", dots the Linux console's font has): the strip stays on screen for the next
customers to see, and the panel alone shows a whole code, while it is being decided. Times are in
the store's time zone once the till's files have said which (the status read), else UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from textual.content import Content
from textual.widgets import Static

from kiosk.service import NOT_RECORDED, Decision
from kiosk.widgets.verdict import headline
from vouchers.verdict import Verdict

SHORT = {  # a verdict in a few words, for one line of the strip
    Verdict.INVALID_CODE: "not a voucher code",
    Verdict.UNKNOWN: "no such voucher",
    Verdict.LOADING: "voucher list still loading",
    Verdict.BATCH_VOID: "promotion cancelled",
    Verdict.BATCH_LOCKED: "promotion on hold",
    Verdict.BATCH_NOT_REDEEMABLE: "promotion not started",
    Verdict.WRONG_STORE: "not valid in this shop",
    Verdict.NOT_YET_VALID: "not valid yet",
    Verdict.EXPIRED: "expired",
    Verdict.NOT_CLAIMED: "never claimed",
    Verdict.ALREADY_USED: "already used",
    Verdict.PENDING: "still being processed",
    Verdict.ISSUED_VALID: "valid, nothing to mark",
    Verdict.ACCEPTED: "give the discount",
}
COLOURS = {"accepted": "bold green", "refused": "bold red", "attention": "bold yellow"}
WORD_WIDTH = 12  # the longest word the strip shows: NOT RECORDED, TILL PROBLEM


def code_tail(code: str | None) -> str:
    """The last four characters of a grouped code, enough to tell two scans apart."""
    return "" if not code else "..." + code[-5:]


@dataclass(frozen=True)
class ScanRow:
    at: datetime
    kind: str  # accepted, refused, attention: the word's colour
    word: str
    what: str
    code: str  # the code's tail, or ""


def row_for(decision: Decision, at: datetime) -> ScanRow:
    kind, word = headline(decision)
    if decision.problem:
        what = "not recorded: no discount" if decision.problem == NOT_RECORDED else "cannot check vouchers"
    elif decision.verdict is None:
        what = ""
    else:
        what = SHORT[decision.verdict]
    voucher = decision.voucher
    if voucher is not None and decision.kind == "accepted" and not decision.problem:
        what = f"{voucher.value}  ·  {voucher.batch_identifier}"
    elif voucher is not None:
        what = f"{what}  ·  {voucher.batch_identifier}"
    return ScanRow(at, kind, word, what, code_tail(decision.code))


def cancelled_row(decision: Decision, at: datetime) -> ScanRow:
    """A question answered "no": nothing was marked used."""
    return ScanRow(at, "attention", "CANCELLED", "not marked as used", code_tail(decision.code))


class RecentScans(Static):
    """The last `size` scans, newest at the top; blank lines below until there are that many."""

    def __init__(self, size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.limit = size
        self.rows: list[ScanRow] = []
        self.tz: tzinfo = UTC

    def add(self, row: ScanRow) -> None:
        self.rows = [row, *self.rows][: self.limit]
        self.show()

    def set_timezone(self, tz: tzinfo) -> None:
        if tz != self.tz:
            self.tz = tz
            self.show()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        if not self.rows:
            self.update(Content.styled("No scans yet.", "dim"))
            return
        lines = [
            Content.assemble(
                f"{row.at.astimezone(self.tz):%H:%M:%S}  ",
                (f"{row.word:<{WORD_WIDTH}}", COLOURS[row.kind]),
                f"  {row.code:<8}  {row.what}",
            )
            for row in self.rows
        ]
        self.update(Content("\n").join(lines))
