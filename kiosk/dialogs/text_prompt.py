"""A modal that asks for one line of text (a PIN, a reason) and dismisses with it, or None."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from kiosk import keys
from vouchers.wording import N_
from words import Words


class TextPrompt(ModalScreen[str | None]):
    BINDINGS = [("escape", "cancel", N_("Cancel"))]

    def __init__(self, question: str, words: Words, *, password: bool = False, note: str = "") -> None:
        """`question` and `note` in the till's words already; `words` for the keys."""
        super().__init__()
        self.words = words
        self.question = question
        self.password = password
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Label(self.question)
            yield Input(password=self.password, id="answer")
            yield Label(self.note, id="note")

    def on_mount(self) -> None:
        keys.reword(self, self.words)
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def answered(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
