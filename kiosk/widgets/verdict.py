"""The verdict, large and coloured, with the reason in a cashier's words."""

from __future__ import annotations

from textual.widgets import Static

from kiosk.service import Decision

HEADLINES = {"accepted": "ACCEPTED", "refused": "REFUSED", "attention": "CHECK"}


class VerdictPanel(Static):
    """Shows one decision until cleared; its CSS class is the verdict's kind."""

    def show(self, decision: Decision) -> None:
        kind = decision.verdict.kind
        lines = [HEADLINES[kind], "", decision.reason]
        voucher = decision.voucher
        if voucher is not None and kind != "refused":
            minimum = f"  (minimum purchase {voucher.min_purchase})" if voucher.min_purchase else ""
            lines += ["", f"{voucher.value}{minimum}", voucher.batch_identifier]
        elif voucher is not None:
            lines += ["", voucher.batch_identifier]
        if decision.code:
            lines += ["", decision.code]
        self.set_classes(kind)
        self.update("\n".join(lines))

    def clear_verdict(self) -> None:
        self.set_classes("idle")
        self.update("Scan a voucher, or type its code and press Enter.")
