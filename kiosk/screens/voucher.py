"""One voucher found by its code in the manager view: what the till's voucher list knows of it and
its whole story at this till (kiosk/manager.py words both). Esc goes back."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label

from kiosk import manager


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
    BINDINGS = [("escape", "close", "Back to the manager view")]

    def __init__(self, found: manager.Found) -> None:
        super().__init__()
        self.found = found

    def compose(self) -> ComposeResult:
        with Vertical(id="card"):
            yield Label("What the till knows of this voucher", classes="heading")
            yield DataTable(id="facts", show_header=False, cursor_type="none")
            yield Label("Its story at this till (oldest first)", classes="heading")
            yield DataTable(id="history", cursor_type="row")
            yield Label("", id="none_here")
        yield Footer()

    def on_mount(self) -> None:
        facts = self.query_one("#facts", DataTable)
        facts.add_columns("What", "Value")
        for what, value in manager.facts(self.found):
            facts.add_row(what, value)
        history = self.query_one("#history", DataTable)
        history.add_columns("Time", "What", "Cashier", "Head office")
        rows = manager.story(self.found)
        for row in rows:
            history.add_row(*row)
        history.display = bool(rows)
        if not rows:
            self.query_one("#none_here", Label).update("Nothing: this till has never scanned this code.")
        history.focus()

    def action_close(self) -> None:
        self.dismiss(None)
