"""The manager view: counts per batch, this till's redemptions (revert one), problems, a voucher
found by its code, an export. Every read of the files runs in a worker; the export too, so a big
journal never freezes the screen."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label

from kiosk import manager
from kiosk.dialogs.text_prompt import TextPrompt
from kiosk.manager import ManagerView, TillRedemption
from kiosk.screens.voucher import VoucherScreen
from localdb.notices import LayoutNotice
from localdb.till import Outcome

if TYPE_CHECKING:
    from kiosk.app import Kiosk, KioskApp


class ManagerScreen(Screen):
    BINDINGS = [
        ("escape", "app.pop_screen", "Back to scanning"),
        ("f", "find", "Find a voucher by its code"),
        ("r", "revert", "Revert selected redemption"),
        ("v", "review", "Mark selected problem reviewed"),
        ("e", "export", "Export CSV"),
        Binding("l", "layout_fixed", "Scanner layout fixed", show=False),  # offered beside the notice
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: tuple[TillRedemption, ...] = ()  # the redemptions table's rows, in order
        self.problems: tuple[Outcome, ...] = ()  # the problems table's rows, in order
        self.view = ManagerView()  # what is shown
        self.exporting = False  # an export is being written (in its worker)

    @property
    def kiosk(self) -> Kiosk:
        return cast("KioskApp", self.app).kiosk

    def compose(self) -> ComposeResult:
        yield Label(
            "Batches the till takes vouchers of (head office figures as last synced; this till's own "
            "redemptions)",
            classes="heading",
        )
        yield DataTable(id="counts", cursor_type="row")
        yield Label("This till's redemptions (newest first)", classes="heading")
        yield DataTable(id="redemptions", cursor_type="row")
        yield Label(manager.HEAD_OFFICE_HAS_THEM, id="head_office")
        yield Label(
            "Conflicts and rejections of this store, and conflicts it won (review each: v)", classes="heading"
        )
        yield DataTable(id="problems", cursor_type="row")
        journal = Label("", id="journal")  # what became of this till's journals, when anything did
        journal.display = False
        yield journal
        layout = Label("", id="scanner_layout")  # a scanner typing through the wrong keyboard layout
        layout.display = False
        yield layout
        yield Label("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#counts", DataTable).add_columns(
            "Batch",
            "State",
            "Claims",
            "Total",
            "Claimed",
            "Redeemed",
            "Rate",
            "Available",
            "Here today",
            "Here all time",
            "Not yet synced",
        )
        self.query_one("#redemptions", DataTable).add_columns(
            "Time", "Voucher", "Batch", "Synced", "Outcome", "Reverted"
        )
        self.query_one("#problems", DataTable).add_columns("#", "Voucher", "Outcome", "Details", "Review")
        self.load()

    @work(thread=True, exclusive=True, group="manager", name="load counts")
    def load(self) -> None:
        data = self.kiosk.manager_data(datetime.now(UTC))
        self.app.call_from_thread(self.show, data)

    def show(self, data: ManagerView) -> None:
        self.view = data
        self.items = data.redemptions
        journal = self.query_one("#journal", Label)
        journal.update("\n".join(f"Journal: {line}" for line in data.journal))
        journal.display = bool(data.journal)
        self.show_layout(data.scanner_layout)
        counts = self.query_one("#counts", DataTable)
        counts.clear()
        for c in data.counts:
            m = c.figures
            counts.add_row(
                c.identifier,
                c.state,
                manager.claims_words(c),
                m.total,
                m.claimed,
                m.redeemed,
                f"{m.redemption_rate}%",
                m.available,
                c.here_today,
                c.here_all_time,
                f"{c.here_unsynced} (unsynced)" if c.here_unsynced else "0",
            )
        table = self.query_one("#redemptions", DataTable)
        table.clear()
        tz = data.tz
        for item in self.items:
            reverted = ""
            if item.reverted:
                reason = item.revert.reason if item.revert is not None else None
                reverted = f"yes: {reason}" if reason else "yes"
            table.add_row(
                f"{item.event.at.astimezone(tz):%d %b %H:%M}",
                manager.redemption_name(item),
                item.batch_identifier or "?",
                "yes" if item.outcome else "not yet",
                item.outcome or "",
                reverted,
            )
        problems = self.query_one("#problems", DataTable)
        problems.clear()
        self.problems = data.problems
        for p in self.problems:
            outcome = "conflict won" if p.won else p.outcome
            review = f"reviewed by {p.reviewed_by}: {p.review_note}" if p.reviewed else "TO REVIEW"
            problems.add_row(
                f"#{p.seq}" if p.seq is not None else (p.device_id or ""),
                data.voucher(p.voucher_id),
                outcome,
                p.details(),
                review,
            )

    def show_layout(self, notice: LayoutNotice | None) -> None:
        label = self.query_one("#scanner_layout", Label)
        label.update(f"Notice: {notice.words(datetime.now(UTC))}." if notice else "")
        label.display = notice is not None

    def action_layout_fixed(self) -> None:
        try:
            dismissed = self.kiosk.dismiss_layout()
        except ValueError as exc:
            self.say(str(exc))
            return
        self.say(
            "Scanner notice closed; it comes back if a scan arrives through the wrong layout again."
            if dismissed
            else "No scanner notice to close."
        )
        self.load()

    def say(self, text: str) -> None:
        if self.is_attached:  # a worker may answer after the manager left the view
            self.query_one("#message", Label).update(text)

    def action_revert(self) -> None:
        table = self.query_one("#redemptions", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            self.say("Select one of this till's redemptions first.")
            return
        item = self.items[table.cursor_row]
        name = manager.redemption_name(item)

        def done(reason: str | None) -> None:
            if reason is None:
                return
            try:
                self.kiosk.revert(item, reason)
            except ValueError as exc:
                self.say(str(exc))
                return
            self.say(f"Reverted {name}; head office will be told.")
            self.load()

        self.app.push_screen(TextPrompt(f"Revert the redemption of {name}? Reason:"), done)

    def action_review(self) -> None:
        table = self.query_one("#problems", DataTable)
        found = self.problems
        if not found or table.cursor_row is None or table.cursor_row >= len(found):
            self.say("Select a conflict or rejection first (the last table).")
            return
        problem = found[table.cursor_row]
        if problem.reviewed:
            self.say(f"Already reviewed by {problem.reviewed_by}: {problem.review_note}")
            return
        named = self.view.voucher(problem.voucher_id) or "this event"

        def done(note: str | None) -> None:
            if not note:
                return
            try:
                self.kiosk.review(problem, note)
            except ValueError as exc:  # nothing can be recorded (a full disk, a damaged journal)
                self.say(str(exc))
                return
            self.say("Marked reviewed; head office and the other store will see it at the next sync.")
            self.load()

        self.app.push_screen(
            TextPrompt(f"Review the {problem.outcome} of {named}. Note (what was found, what was done):"),
            done,
        )

    # --- a voucher by its code ----------------------------------------------------------------

    def action_find(self) -> None:
        def done(text: str | None) -> None:
            if text and text.strip():
                self.say("Looking the voucher up…")
                self.find_voucher(text)

        self.app.push_screen(
            TextPrompt(
                "Find a voucher: type its code or scan it",
                note="Its story at this till and what the till's voucher list knows of it.",
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="find", name="find voucher", exit_on_error=False)
    def find_voucher(self, text: str) -> None:
        kiosk = self.kiosk
        try:
            found = manager.find(kiosk.settings, kiosk.key, text, datetime.now(UTC))
        except ValueError as exc:
            self.app.call_from_thread(self.say, str(exc))
            return
        self.app.call_from_thread(self.show_found, found)

    def show_found(self, found: manager.Found) -> None:
        self.say("")
        if self.is_attached and self.app.screen is self:
            self.app.push_screen(VoucherScreen(found))

    # --- the export ---------------------------------------------------------------------------

    def action_export(self) -> None:
        if self.exporting:
            self.say("The export is still being written; wait for it to finish.")
            return
        self.exporting = True
        self.say("Exporting this till's redemptions…")
        self.write_export()

    @work(thread=True, group="export", name="export", exit_on_error=False)
    def write_export(self) -> None:
        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self.say, f"Exporting: {done:,} of {total:,} redemptions…")

        words = "The export could not be finished."
        try:
            exported = self.kiosk.export(progress)
            words = f"Exported {exported.rows:,} redemptions to {exported.path}"
        except ValueError as exc:
            words = str(exc)
        finally:
            self.app.call_from_thread(self.exported, words)

    def exported(self, words: str) -> None:
        self.exporting = False
        self.say(words)
