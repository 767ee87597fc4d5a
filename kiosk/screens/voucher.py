"""One voucher found by its code in the manager view: what the till's voucher list knows of it and
its whole story at this till (kiosk/manager.py words both). Esc goes back."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label

from kiosk import keys, manager
from vouchers.wording import N_
from words import Words


class VoucherScreen(ModalScreen[None]):
    # Its own styles (app.tcss is the cashier's screens'), unscoped for the Linux console's frame.
    SCOPED_CSS = False
    DEFAULT_CSS = """
    VoucherScreen {
        align: center middle;
    }
    VoucherScreen #card {
        width: 110;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: heavy $accent;
        background: $surface;
    }
    VoucherScreen .heading {
        text-style: bold;
        margin: 1 0 0 0;
    }
    VoucherScreen DataTable {
        height: auto;
        max-height: 14;
    }
    App.linux-console VoucherScreen #card {
        border: ascii $accent;
    }
    """
    BINDINGS = [("escape", "close", N_("Back to the manager view"))]

    def __init__(self, found: manager.Found, words: Words) -> None:
        super().__init__()
        self.found = found
        self.words = words  # the manager view's

    def compose(self) -> ComposeResult:
        words = self.words
        with Vertical(id="card"):
            yield Label(words.gettext("What the till knows of this voucher"), classes="heading")
            yield DataTable(id="facts", show_header=False, cursor_type="none")
            yield Label(words.gettext("Its story at this till (oldest first)"), classes="heading")
            yield DataTable(id="history", cursor_type="row")
            yield Label("", id="none_here")
        yield Footer()

    def on_mount(self) -> None:
        words = self.words
        keys.reword(self, words)
        facts = self.query_one("#facts", DataTable)
        facts.add_columns(words.gettext("What"), words.gettext("Value"))
        for what, value in manager.facts(self.found, words):
            facts.add_row(what, value)
        history = self.query_one("#history", DataTable)
        history.add_columns(
            words.gettext("Time"),
            words.gettext("What"),
            words.gettext("Cashier"),
            words.gettext("Head office"),
        )
        rows = manager.story(self.found, words)
        for row in rows:
            history.add_row(*row)
        history.display = bool(rows)
        if not rows:
            self.query_one("#none_here", Label).update(
                words.gettext("Nothing: this till has never scanned this code.")
            )
        history.focus()

    def action_close(self) -> None:
        self.dismiss(None)
