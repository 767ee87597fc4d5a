"""The verdict, coloured, its word in block letters (kiosk.bigtext) as large as the panel allows,
with the reason in a cashier's words beneath.

The word is drawn again at each size the panel takes; when it fits at no size (a small terminal,
a question with many lines to show) it is one bold line, as before block letters. `text` is what
the panel says in plain words (the word, then the lines beneath), for the tests.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

from kiosk import bigtext, wording
from kiosk.service import APPROVAL, CONFIRM, NOT_RECORDED, TILL_PROBLEM, Decision, layout_words
from vouchers.wording import N_
from words import Words

# TRANSLATORS: the verdict's word, in block letters on the till's screen (capitals; short)
HEADLINES = {"accepted": N_("ACCEPTED"), "refused": N_("REFUSED"), "attention": N_("CHECK")}
PROBLEMS = {NOT_RECORDED: N_("NOT RECORDED"), TILL_PROBLEM: N_("TILL PROBLEM")}  # nothing was redeemed
QUESTIONS = {  # an accepted voucher waiting for a step: headline, and what to press
    CONFIRM: (N_("MARK AS USED?"), N_("Enter: yes, mark it as used    Esc: no")),
    APPROVAL: (N_("MANAGER APPROVAL"), N_("Enter: manager PIN    Esc: cancel")),
}
IDLE = N_("Scan a voucher, or type its code and press Enter.")


def headline(decision: Decision, words: Words) -> tuple[str, str]:
    """The kind (accepted, refused, attention: the colour) and the word a decision is shown with."""
    kind = decision.kind
    word = words.gettext(HEADLINES[kind])
    if decision.problem:  # nothing was redeemed: what the till cannot do, never a verdict
        problem = PROBLEMS.get(decision.problem)
        word = words.gettext(problem) if problem else decision.problem.replace("_", " ")
    if decision.step:
        kind, word = "attention", words.gettext(QUESTIONS[decision.step][0])
    return kind, word


def value_words(decision: Decision, words: Words) -> str | None:
    """What the voucher is worth and its batch, or its batch alone when refused; None without a voucher."""
    voucher = decision.voucher
    if voucher is None:
        return None
    if decision.kind == "refused":  # a till problem is refused too
        return voucher.batch_identifier
    if voucher.min_purchase:
        return words.gettext(
            "{value}  (minimum purchase {minimum})  ·  {batch}",
            value=voucher.value,
            minimum=voucher.min_purchase,
            batch=voucher.batch_identifier,
        )
    return f"{voucher.value}  ·  {voucher.batch_identifier}"


def details(decision: Decision, words: Words) -> list[str]:
    """The lines beneath the word: the reason, what the voucher is worth, its code, what to press."""
    lines = [decision.reason]
    worth = value_words(decision, words)
    if worth is not None:
        lines.append(worth)
    if decision.code:
        lines.append(decision.code)
    layout = layout_words(words, decision)
    if layout:
        lines.append(layout)
    if decision.step:
        lines.append(words.gettext(QUESTIONS[decision.step][1]))
    return lines


class VerdictPanel(Widget):
    """Shows one decision until cleared; its CSS class is the verdict's kind (idle when cleared)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.words = wording.english()  # the till's, given by the screen (reword)
        self.decision: Decision | None = None  # shown, None when idle
        self.word: str | None = None  # the headline, None when idle
        self.lines: list[str] = [self.words.gettext(IDLE)]
        self.big = False  # the word was last drawn in block letters

    @property
    def text(self) -> str:
        return "\n".join(([self.word, ""] if self.word else []) + self.lines)

    def show(self, decision: Decision) -> None:
        self.decision = decision
        kind, self.word = headline(decision, self.words)
        self.lines = details(decision, self.words)
        self.set_classes(kind)
        self.refresh()

    def clear_verdict(self) -> None:
        self.decision = None
        self.word, self.lines = None, [self.words.gettext(IDLE)]
        self.set_classes("idle")
        self.refresh()

    def reword(self, words: Words) -> None:
        """The till's words changed (its language arrived with a snapshot): shown again in them."""
        self.words = words
        if self.decision is None:
            self.clear_verdict()
        else:
            self.show(self.decision)

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
