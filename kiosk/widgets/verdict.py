"""The verdict, coloured, its word in block letters (kiosk.bigtext) as large as the panel allows,
with the reason in a cashier's words beneath.

The word is drawn again at each size the panel takes; when it fits at no size (a small terminal,
a question with many lines to show) it is one bold line, as before block letters. `text` is what
the panel says in plain words (the word, then the lines beneath), for the tests.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from kiosk import bigtext
from kiosk.service import APPROVAL, CONFIRM, Decision

HEADLINES = {"accepted": "ACCEPTED", "refused": "REFUSED", "attention": "CHECK"}
QUESTIONS = {  # an accepted voucher waiting for a step: headline, and what to press
    CONFIRM: ("MARK AS USED?", "Enter: yes, mark it as used    Esc: no"),
    APPROVAL: ("MANAGER APPROVAL", "Enter: manager PIN    Esc: cancel"),
}
IDLE = "Scan a voucher, or type its code and press Enter."


def headline(decision: Decision) -> tuple[str, str]:
    """The kind (accepted, refused, attention: the colour) and the word a decision is shown with."""
    kind = decision.kind
    word = HEADLINES[kind]
    if decision.problem:  # nothing was redeemed: what the till cannot do, never a verdict
        word = decision.problem.replace("_", " ")
    if decision.step:
        kind, word = "attention", QUESTIONS[decision.step][0]
    return kind, word


def details(decision: Decision) -> list[str]:
    """The lines beneath the word: the reason, what the voucher is worth, its code, what to press."""
    lines = [decision.reason]
    voucher = decision.voucher
    if voucher is not None and decision.kind != "refused":  # a till problem is refused too
        minimum = f"  (minimum purchase {voucher.min_purchase})" if voucher.min_purchase else ""
        lines.append(f"{voucher.value}{minimum}  ·  {voucher.batch_identifier}")
    elif voucher is not None:
        lines.append(voucher.batch_identifier)
    if decision.code:
        lines.append(decision.code)
    if decision.layout_words:
        lines.append(decision.layout_words)
    if decision.step:
        lines.append(QUESTIONS[decision.step][1])
    return lines


class VerdictPanel(Widget):
    """Shows one decision until cleared; its CSS class is the verdict's kind (idle when cleared)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.word: str | None = None  # the headline, None when idle
        self.lines: list[str] = [IDLE]
        self.big = False  # the word was last drawn in block letters

    @property
    def text(self) -> str:
        return "\n".join(([self.word, ""] if self.word else []) + self.lines)

    def show(self, decision: Decision) -> None:
        kind, self.word = headline(decision)
        self.lines = details(decision)
        self.set_classes(kind)
        self.refresh()

    def clear_verdict(self) -> None:
        self.word, self.lines = None, [IDLE]
        self.set_classes("idle")
        self.refresh()

    def render(self) -> Content:
        width, height = self.content_size
        below = Content("\n".join(self.lines))
        if self.word is None:
            self.big = False
            return below
        used = len(below.wrap(max(width, 1)))
        for gap in (1, 0):  # a blank row between the word and the lines beneath, if there is room
            drawn = bigtext.draw(self.word, width, height - used - gap) if width > 0 else None
            if drawn is not None:
                self.big = True
                return Content("\n".join([*drawn, *[""] * gap, *self.lines]))
        self.big = False
        return Content.assemble(Content.styled(self.word, "bold"), "\n\n", below)
