"""The verdict, large and coloured, with the reason in a cashier's words."""

from __future__ import annotations

from textual.widgets import Static

from kiosk.service import APPROVAL, CONFIRM, Decision

HEADLINES = {"accepted": "ACCEPTED", "refused": "REFUSED", "attention": "CHECK"}
QUESTIONS = {  # an accepted voucher waiting for a step: headline, and what to press
    CONFIRM: ("MARK AS USED?", "Enter: yes, mark it as used    Esc: no"),
    APPROVAL: ("MANAGER APPROVAL", "Enter: manager PIN    Esc: cancel"),
}


class VerdictPanel(Static):
    """Shows one decision until cleared; its CSS class is the verdict's kind."""

    def show(self, decision: Decision) -> None:
        kind = decision.kind
        headline, keys = HEADLINES[kind], None
        if decision.problem:  # nothing was redeemed: what the till cannot do, never a verdict
            headline = decision.problem.replace("_", " ")
        if decision.step:
            kind = "attention"
            headline, keys = QUESTIONS[decision.step]
        lines = [headline, "", decision.reason]
        voucher = decision.voucher
        if voucher is not None and kind != "refused":
            minimum = f"  (minimum purchase {voucher.min_purchase})" if voucher.min_purchase else ""
            lines += ["", f"{voucher.value}{minimum}", voucher.batch_identifier]
        elif voucher is not None:
            lines += ["", voucher.batch_identifier]
        if decision.code:
            lines += ["", decision.code]
        if decision.layout_words:
            lines += ["", decision.layout_words]
        if keys:
            lines += ["", keys]
        self.set_classes(kind)
        self.update("\n".join(lines))

    def clear_verdict(self) -> None:
        self.set_classes("idle")
        self.update("Scan a voucher, or type its code and press Enter.")
