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

from kiosk import keys, manager, wording
from kiosk.dialogs.text_prompt import TextPrompt
from kiosk.manager import ManagerView, TillRedemption
from kiosk.screens.voucher import VoucherScreen
from localdb.notices import LayoutNotice
from localdb.till import Outcome
from vouchers.wording import N_
from words import Words

if TYPE_CHECKING:
    from kiosk.app import Kiosk, KioskApp


HEADINGS = {
    "counts_heading": N_(
        "Batches the till takes vouchers of (head office figures as last synced; this till's own redemptions)"
    ),
    "redemptions_heading": N_("This till's redemptions (newest first)"),
    "head_office": manager.HEAD_OFFICE_HAS_THEM,
    "problems_heading": N_("Conflicts and rejections of this store, and conflicts it won (review each: v)"),
}
COLUMNS = {
    "counts": (
        N_("Batch"),
        N_("State"),
        N_("Claims"),
        N_("Total"),
        N_("Claimed"),
        N_("Redeemed"),
        N_("Rate"),
        N_("Available"),
        N_("Here today"),
        N_("Here all time"),
        N_("Not yet synced"),
    ),
    "redemptions": (N_("Time"), N_("Voucher"), N_("Batch"), N_("Synced"), N_("Outcome"), N_("Reverted")),
    "problems": ("#", N_("Voucher"), N_("Outcome"), N_("Details"), N_("Review")),
}


class ManagerScreen(Screen):
    BINDINGS = [
        ("escape", "app.pop_screen", N_("Back to scanning")),
        ("f", "find", N_("Find a voucher by its code")),
        ("r", "revert", N_("Revert selected redemption")),
        ("v", "review", N_("Mark selected problem reviewed")),
        ("e", "export", N_("Export CSV")),
        Binding("l", "layout_fixed", N_("Scanner layout fixed"), show=False),  # offered beside the notice
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: tuple[TillRedemption, ...] = ()  # the redemptions table's rows, in order
        self.problems: tuple[Outcome, ...] = ()  # the problems table's rows, in order
        self.view = ManagerView()  # what is shown
        self.exporting = False  # an export is being written (in its worker)
        self.words = wording.english()  # the till's, as of the last read

    @property
    def kiosk(self) -> Kiosk:
        return cast("KioskApp", self.app).kiosk

    def compose(self) -> ComposeResult:
        yield Label("", id="counts_heading", classes="heading")
        yield DataTable(id="counts", cursor_type="row")
        yield Label("", id="redemptions_heading", classes="heading")
        yield DataTable(id="redemptions", cursor_type="row")
        yield Label("", id="head_office")
        yield Label("", id="problems_heading", classes="heading")
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
        self.reword(self.kiosk.words())
        self.load()

    def reword(self, words: Words) -> None:
        """The headings, the columns and the keys in the till's words (its language may have
        arrived with a snapshot since the view was opened)."""
        self.words = words
        keys.reword(self, words)
        for label, text in HEADINGS.items():
            self.query_one(f"#{label}", Label).update(words.gettext(text))
        for table, columns in COLUMNS.items():
            found = self.query_one(f"#{table}", DataTable)
            found.clear(columns=True)
            found.add_columns(*(words.gettext(c) for c in columns))

    @work(thread=True, exclusive=True, group="manager", name="load counts")
    def load(self) -> None:
        data = self.kiosk.manager_data(datetime.now(UTC))
        self.app.call_from_thread(self.show, data)

    def show(self, data: ManagerView) -> None:
        if data.words != self.words:
            self.reword(data.words)
        words = self.words
        self.view = data
        self.items = data.redemptions
        journal = self.query_one("#journal", Label)
        journal.update("\n".join(words.gettext("Journal: {line}", line=line) for line in data.journal))
        journal.display = bool(data.journal)
        self.show_layout(data.scanner_layout)
        counts = self.query_one("#counts", DataTable)
        counts.clear()
        for c in data.counts:
            m = c.figures
            counts.add_row(
                c.identifier,
                wording.state(words, c.state),
                manager.claims_words(c, words),
                words.number(m.total),
                words.number(m.claimed),
                words.number(m.redeemed),
                words.gettext("{rate}%", rate=words.number(m.redemption_rate, decimals=1)),
                words.number(m.available),
                words.number(c.here_today),
                words.number(c.here_all_time),
                words.gettext("{n} (unsynced)", n=words.number(c.here_unsynced))
                if c.here_unsynced
                else words.number(0),
            )
        table = self.query_one("#redemptions", DataTable)
        table.clear()
        # TRANSLATORS: a CLDR pattern for when a redemption was made (dd day, MMM month, HH:mm)
        moment = words.pgettext("redemption's time", "dd MMM HH:mm")
        for item in self.items:
            reverted = ""
            if item.reverted:
                reason = item.revert.reason if item.revert is not None else None
                reverted = words.gettext("yes: {reason}", reason=reason) if reason else words.gettext("yes")
            table.add_row(
                words.datetime(item.event.at, format=moment),
                manager.redemption_name(item, words),
                item.batch_identifier or "?",
                words.gettext("yes") if item.outcome else words.gettext("not yet"),
                wording.outcome(words, item.outcome),
                reverted,
            )
        problems = self.query_one("#problems", DataTable)
        problems.clear()
        self.problems = data.problems
        for p in self.problems:
            outcome = words.gettext("conflict won") if p.won else wording.outcome(words, p.outcome)
            review = (
                words.gettext("reviewed by {who}: {note}", who=p.reviewed_by, note=p.review_note)
                if p.reviewed
                else words.gettext("TO REVIEW")
            )
            problems.add_row(
                f"#{p.seq}" if p.seq is not None else (p.device_id or ""),
                data.voucher(p.voucher_id),
                outcome,
                manager.outcome_details(words, p),
                review,
            )

    def show_layout(self, notice: LayoutNotice | None) -> None:
        label = self.query_one("#scanner_layout", Label)
        said = manager.notice_words(self.words, notice, datetime.now(UTC)) if notice else ""
        label.update(self.words.gettext("Notice: {notice}.", notice=said) if notice else "")
        label.display = notice is not None

    def action_layout_fixed(self) -> None:
        try:
            dismissed = self.kiosk.dismiss_layout()
        except ValueError as exc:
            self.say(str(exc))
            return
        self.say(
            self.words.gettext(
                "Scanner notice closed; it comes back if a scan arrives through the wrong layout again."
            )
            if dismissed
            else self.words.gettext("No scanner notice to close.")
        )
        self.load()

    def say(self, text: str) -> None:
        if self.is_attached:  # a worker may answer after the manager left the view
            self.query_one("#message", Label).update(text)

    def action_revert(self) -> None:
        table = self.query_one("#redemptions", DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            self.say(self.words.gettext("Select one of this till's redemptions first."))
            return
        item = self.items[table.cursor_row]
        words = self.words
        name = manager.redemption_name(item, words)

        def done(reason: str | None) -> None:
            if reason is None:
                return
            try:
                self.kiosk.revert(item, reason)
            except ValueError as exc:
                self.say(str(exc))
                return
            self.say(words.gettext("Reverted {voucher}; head office will be told.", voucher=name))
            self.load()

        question = words.gettext("Revert the redemption of {voucher}? Reason:", voucher=name)
        self.app.push_screen(TextPrompt(question, words), done)

    def action_review(self) -> None:
        table = self.query_one("#problems", DataTable)
        found = self.problems
        if not found or table.cursor_row is None or table.cursor_row >= len(found):
            self.say(self.words.gettext("Select a conflict or rejection first (the last table)."))
            return
        problem = found[table.cursor_row]
        words = self.words
        if problem.reviewed:
            self.say(
                words.gettext(
                    "Already reviewed by {who}: {note}", who=problem.reviewed_by, note=problem.review_note
                )
            )
            return

        def done(note: str | None) -> None:
            if not note:
                return
            try:
                self.kiosk.review(problem, note)
            except ValueError as exc:  # nothing can be recorded (a full disk, a damaged journal)
                self.say(str(exc))
                return
            self.say(
                words.gettext(
                    "Marked reviewed; head office and the other store will see it at the next sync."
                )
            )
            self.load()

        named = self.view.voucher(problem.voucher_id)
        if problem.outcome == "conflict":
            question = (
                words.gettext("Review the conflict of {voucher}.", voucher=named)
                if named
                else words.gettext("Review this conflict.")
            )
        else:
            question = (
                words.gettext("Review the rejection of {voucher}.", voucher=named)
                if named
                else words.gettext("Review this rejection.")
            )
        question += " " + words.gettext("Note (what was found, what was done):")
        self.app.push_screen(TextPrompt(question, words), done)

    # --- a voucher by its code ----------------------------------------------------------------

    def action_find(self) -> None:
        def done(text: str | None) -> None:
            if text and text.strip():
                self.say(words.gettext("Looking the voucher up…"))
                self.find_voucher(text)

        words = self.words
        self.app.push_screen(
            TextPrompt(
                words.gettext("Find a voucher: type its code or scan it"),
                words,
                note=words.gettext("Its story at this till and what the till's voucher list knows of it."),
            ),
            done,
        )

    @work(thread=True, exclusive=True, group="find", name="find voucher", exit_on_error=False)
    def find_voucher(self, text: str) -> None:
        kiosk = self.kiosk
        try:
            found = manager.find(kiosk.settings, kiosk.key, text, datetime.now(UTC), self.words)
        except ValueError as exc:
            self.app.call_from_thread(self.say, str(exc))
            return
        self.app.call_from_thread(self.show_found, found)

    def show_found(self, found: manager.Found) -> None:
        self.say("")
        if self.is_attached and self.app.screen is self:
            self.app.push_screen(VoucherScreen(found, self.words))

    # --- the export ---------------------------------------------------------------------------

    def action_export(self) -> None:
        if self.exporting:
            self.say(self.words.gettext("The export is still being written; wait for it to finish."))
            return
        self.exporting = True
        self.say(self.words.gettext("Exporting this till's redemptions…"))
        self.write_export()

    @work(thread=True, group="export", name="export", exit_on_error=False)
    def write_export(self) -> None:
        words = self.words

        def progress(done: int, total: int) -> None:
            said = words.ngettext(
                "Exporting: {done} of {n} redemption…",
                "Exporting: {done} of {n} redemptions…",
                total,
                done=words.number(done),
            )
            self.app.call_from_thread(self.say, said)

        said = words.gettext("The export could not be finished.")
        try:
            exported = self.kiosk.export(progress)
            said = words.ngettext(
                "Exported {n} redemption to {path}",
                "Exported {n} redemptions to {path}",
                exported.rows,
                path=exported.path,
            )
        except ValueError as exc:
            said = str(exc)
        finally:
            self.app.call_from_thread(self.exported, said)

    def exported(self, said: str) -> None:
        self.exporting = False
        self.say(said)
