"""The last scans, newest first, each with its time, its word and a few words why: a verdict that
has left the panel (after verdict_seconds, or Esc) can still be read here.

Codes are shown by their last characters only ("...MN-PQ", dots the Linux console's font has): the strip stays on screen for the next
customers to see, and the panel alone shows a whole code, while it is being decided. Times are in
the store's time zone once the till's files have said which (the status read), else UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.content import Content
from textual.widgets import Static

from kiosk import wording
from kiosk.service import NOT_RECORDED, Decision
from kiosk.widgets.verdict import headline
from vouchers.verdict import Verdict
from vouchers.wording import N_
from words import Words

SHORT = {  # a verdict in a few words, for one line of the strip
    Verdict.INVALID_CODE: N_("not a voucher code"),
    Verdict.UNKNOWN: N_("no such voucher"),
    Verdict.LOADING: N_("voucher list still loading"),
    Verdict.BATCH_VOID: N_("promotion cancelled"),
    Verdict.BATCH_LOCKED: N_("promotion on hold"),
    Verdict.BATCH_NOT_REDEEMABLE: N_("promotion not started"),
    Verdict.WRONG_STORE: N_("not valid in this shop"),
    Verdict.NOT_YET_VALID: N_("not valid yet"),
    Verdict.EXPIRED: N_("expired"),
    Verdict.NOT_CLAIMED: N_("never claimed"),
    Verdict.ALREADY_USED: N_("already used"),
    Verdict.PENDING: N_("still being processed"),
    Verdict.ISSUED_VALID: N_("valid, nothing to mark"),
    Verdict.ACCEPTED: N_("give the discount"),
}
COLOURS = {"accepted": "bold green", "refused": "bold red", "attention": "bold yellow"}
WORD_WIDTH = 12  # the longest word the strip shows: NOT RECORDED, TILL PROBLEM (longer ones are not cut)
# TRANSLATORS: in the strip of last scans, a question answered "no" (short, capitals)
CANCELLED = N_("CANCELLED")


def code_tail(code: str | None) -> str:
    """The last four characters of a grouped code, enough to tell two scans apart."""
    return "" if not code else "..." + code[-5:]


@dataclass(frozen=True)
class ScanRow:
    """One scan of the strip: its decision, worded when shown (in the till's words then)."""

    at: datetime
    decision: Decision
    cancelled: bool = False  # a question answered "no": nothing was marked used

    @property
    def code(self) -> str:  # the code's tail, or ""
        return code_tail(self.decision.code)

    def worded(self, words: Words) -> tuple[str, str, str]:
        """The kind (the word's colour), the word, and a few words why."""
        decision = self.decision
        if self.cancelled:
            return "attention", words.gettext(CANCELLED), words.gettext("not marked as used")
        kind, word = headline(decision, words)
        if decision.problem:
            what = (
                words.gettext("not recorded: no discount")
                if decision.problem == NOT_RECORDED
                else words.gettext("cannot check vouchers")
            )
        elif decision.verdict is None:
            what = ""
        else:
            what = words.gettext(SHORT[decision.verdict])
        voucher = decision.voucher
        if voucher is not None and decision.kind == "accepted" and not decision.problem:
            what = f"{voucher.value}  ·  {voucher.batch_identifier}"
        elif voucher is not None:
            what = f"{what}  ·  {voucher.batch_identifier}"
        return kind, word, what


def row_for(decision: Decision, at: datetime) -> ScanRow:
    return ScanRow(at, decision)


def cancelled_row(decision: Decision, at: datetime) -> ScanRow:
    """A question answered "no": nothing was marked used."""
    return ScanRow(at, decision, cancelled=True)


class RecentScans(Static):
    """The last `size` scans, newest at the top; blank lines below until there are that many."""

    def __init__(self, size: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.limit = size
        self.rows: list[ScanRow] = []
        self.words = wording.english()  # the till's, given by the screen; its zone times the scans

    def add(self, row: ScanRow) -> None:
        self.rows = [row, *self.rows][: self.limit]
        self.show()

    def reword(self, words: Words) -> None:
        """The till's words or the store's time zone changed: the strip again in them."""
        if words != self.words:
            self.words = words
            self.border_title = words.gettext("Last scans")
            self.show()

    def on_mount(self) -> None:
        self.border_title = self.words.gettext("Last scans")
        self.show()

    def show(self) -> None:
        words = self.words
        if not self.rows:
            self.update(Content.styled(words.gettext("No scans yet."), "dim"))
            return
        lines = []
        for row in self.rows:
            kind, word, what = row.worded(words)
            lines.append(
                Content.assemble(
                    f"{wording.clock(words, row.at)}  ",
                    (f"{word:<{WORD_WIDTH}}", COLOURS[kind]),
                    f"  {row.code:<8}  {what}",
                )
            )
        self.update(Content("\n").join(lines))
