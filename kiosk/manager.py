"""What the store manager sees and does at the till: counts, problems, reverts, a voucher found by
its code, an export.

Counts come from the replica (the head office's figures as last synced) plus this till's
journal (its own redemptions, some not yet synced, which are marked as such); the queries are
localdb's (`localdb/till.py`), this module's is what the manager does with them. A voucher is
shown by the code the customer holds where this till redeemed it (the journal keeps that code),
else by its batch and serial number: the replica holds only the codes' keyed hashes.

Finding a voucher and the export read through read-only connections of their own (`reading`),
so a long read holds up neither a scan nor a revert, and the screen runs them in workers.
"""

from __future__ import annotations

import csv
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from kiosk import wording
from localdb import wording as store_words
from localdb.connect import open_reader
from localdb.errors import LocalDatabaseError
from localdb.journal import Journal, JournalEvent
from localdb.notices import LayoutNotice
from localdb.settings import StoreHostSettings
from localdb.till import BatchCounts, Outcome, Till, TillEvent, TillRedemption, TillVoucher, VoucherName
from vouchers import ids
from vouchers.codes import code_hash, format_code, normalise
from vouchers.csvsafe import safe_row
from vouchers.errors import InvalidCode
from vouchers.layouts import correct
from vouchers.lifecycle import CLAIMABLE, Claims, State
from vouchers.status import Status
from vouchers.verdict import Verdict, decide
from vouchers.wording import N_
from words import Words
from words import verdicts as verdict_words

__all__ = [
    "BatchCounts",
    "Exported",
    "Found",
    "ManagerView",
    "TillRedemption",
    "export",
    "find",
    "read_view",
    "revert",
    "write_csv",
]

# Said beside the export: the file need not leave the till for head office to have these (the
# ledger's store report, GET /stores/{id}/redemptions, and the per-day report of the dashboard).
HEAD_OFFICE_HAS_THEM = N_(
    "Head office gets each of these once synced: 'voucher-central store redemptions' lists them by till,"
    "\nthe dashboard's Reports count them per day. The export (e) is for this till's own records."
)


@dataclass(frozen=True)
class ManagerView:
    """Everything the manager view shows, read at once; `journal` says in words what became of
    this till's journals (or why nothing can be shown or recorded); `names` tells each voucher
    shown (by id) as people know it."""

    counts: tuple[BatchCounts, ...] = ()
    redemptions: tuple[TillRedemption, ...] = ()  # newest first
    problems: tuple[Outcome, ...] = ()
    tz: tzinfo = UTC  # the store's
    journal: tuple[str, ...] = ()
    scanner_layout: LayoutNotice | None = None
    names: Mapping[str, VoucherName] = field(default_factory=dict)
    words: Words = field(default_factory=wording.english)  # the till's, as of this read

    def voucher(self, voucher_id: str | None) -> str:
        return voucher_words(voucher_id, self.names.get(voucher_id) if voucher_id else None, self.words)


def read_view(
    till: Till, now: datetime, words: Words, scanner_layout: LayoutNotice | None = None
) -> ManagerView:
    """The manager view's data from the till's files, its words in `words`."""
    _, tz = till.store()
    redemptions = tuple(till.redemptions())
    problems = tuple(till.problems())
    shown = [r.event.voucher_id for r in redemptions] + [p.voucher_id for p in problems]
    return ManagerView(
        counts=tuple(till.batch_counts(now, tz)),
        redemptions=redemptions,
        problems=problems,
        tz=tz,
        journal=tuple(loss_words(words, loss) for loss in till.journal_losses()),
        scanner_layout=scanner_layout,
        names=till.voucher_names(v for v in shown if v),
        words=words,
    )


loss_words = store_words.loss
notice_words = store_words.notice
outcome_details = store_words.outcome_details


def voucher_words(voucher_id: str | None, name: VoucherName | None = None, words: Words | None = None) -> str:
    """A voucher as people tell it: the code the customer holds (7K2M-9QH4-RTX3-A7) where this
    till redeemed it, else its batch and serial number ("Spring Email no. 1021")."""
    if not voucher_id:
        return ""
    if name is not None and name.code:
        return format_code(name.code)
    key = ids.try_parse(voucher_id)
    if key is None:
        return voucher_id  # not an id head office makes (a journal written by hand): as it is
    words = words or wording.english()
    if name is not None and name.batch_identifier:
        return words.gettext("{batch} no. {serial}", batch=name.batch_identifier, serial=key.serial)
    return words.gettext("batch {batch} no. {serial}", batch=key.batch_id, serial=key.serial)


def redemption_name(item: TillRedemption, words: Words | None = None) -> str:
    e = item.event
    if not e.voucher_id:
        return ""
    key = ids.try_parse(e.voucher_id)
    return voucher_words(
        e.voucher_id,
        VoucherName(e.voucher_id, e.code, item.batch_identifier, key.serial if key else None),
        words,
    )


def claims_words(counts: BatchCounts, words: Words | None = None) -> str:
    """The claims switch, where members can claim at all (vouchers/lifecycle.CLAIMABLE)."""
    words = words or wording.english()
    if State(counts.state) not in CLAIMABLE:
        return words.gettext("not open")
    return words.gettext("Open") if counts.claims == Claims.ACTIVE else words.gettext("Paused")


def revert(
    journal: Journal,
    redemption: TillRedemption,
    reason: str,
    words: Words | None = None,
    *,
    cashier: str | None = None,
) -> JournalEvent:
    """Undo a redemption made at this till: a new revert event, never an edit; `cashier`: who.
    ValueError in `words` (None: English) when it cannot be undone."""
    words = words or wording.english()
    if redemption.reverted:
        raise ValueError(words.gettext("This redemption has already been reverted."))
    if redemption.outcome in ("conflict", "rejected"):
        raise ValueError(
            words.gettext("Head office never counted this redemption; there is nothing to revert.")
        )
    if not reason.strip():
        raise ValueError(words.gettext("Give a reason for the revert."))
    return journal.append(
        "revert",
        redemption.event.voucher_id,
        reverts=redemption.event.id,
        reason=reason.strip(),
        cashier=cashier,
    )


@contextmanager
def reading(settings: StoreHostSettings) -> Iterator[Till]:
    """A Till on read-only connections of its own, closed after: the manager's long reads hold no
    lock of the kiosk's, and SQLite's readers never wait for its writer. LocalDatabaseError when
    the agent has not made the replica yet."""
    replica = open_reader(settings.replica_path)
    journal = None
    try:
        journal = open_reader(settings.journal_path) if settings.journal_path.exists() else None
        yield Till(replica, journal)
    finally:
        if journal is not None:
            journal.close()
        replica.close()


# --- a voucher found by its code ------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """A voucher looked up by its code: what the replica knows of it (`voucher` None: the till does
    not hold it), the verdict a scan would get now, and its story at this till."""

    code: str  # canonical
    voucher: TillVoucher | None
    verdict: Verdict
    history: tuple[TillEvent, ...]
    tz: tzinfo
    store_id: str | None
    layouts: tuple[str, ...] = ()  # the code was typed through these keyboard layouts, and corrected


def find(settings: StoreHostSettings, key: bytes, text: str, now: datetime, words: Words) -> Found:
    """The voucher whose code was typed or scanned (grouped or not, any case, a claim URL, or a
    scanner typing through the wrong keyboard layout, as at the till). ValueError in `words` when
    the text is no code, or when the till's files cannot be read."""
    try:
        with reading(settings) as till:
            code, layouts = _code_in(text, lambda c: till.lookup(code_hash(c, key)) is not None, words)
            hashed = code_hash(code, key)
            found = till.lookup(hashed)
            store_id, tz = till.store()
            complete = found is not None or till.snapshot_state()[0]
            verdict = decide(
                found.voucher if found else None,
                found.batch if found else None,
                store_id or "",
                now,
                tz,
                loading=not complete,
            )
            history = till.history(found.voucher.id if found else None, hashed)
    except (LocalDatabaseError, sqlite3.Error, OSError) as exc:
        raise ValueError(
            words.gettext(
                "The till's files cannot be read: {detail}",
                detail=store_words.file_problem(words, exc, settings.replica_path),
            )
        ) from exc
    return Found(code, found, verdict, tuple(history), tz, store_id, layouts)


def _code_in(text: str, holds: Callable[[str], bool], words: Words) -> tuple[str, tuple[str, ...]]:
    try:
        code = normalise(text)
    except InvalidCode as exc:
        correction = correct(text, holds)
        if correction is None:
            why = verdict_words.unreadable(wording.in_domain(words, verdict_words.DOMAIN), exc)
            raise ValueError(words.gettext("Not a voucher code: {why}", why=why)) from None
        return correction.code, correction.ids
    if not holds(code) and (correction := correct(text, holds)) is not None:
        return correction.code, correction.ids
    return code, ()


def facts(found: Found, words: Words) -> list[tuple[str, str]]:
    """What the till knows of the voucher, as (what, value) lines for the manager."""
    lines = [(words.gettext("Code"), format_code(found.code))]
    if found.layouts:
        lines.append(
            (
                words.gettext("Read"),
                words.gettext(
                    "typed through a {layout} keyboard, and corrected",
                    layout=wording.layout_names(words, found.layouts),
                ),
            )
        )
    lines.append((words.gettext("A scan now"), wording.verdict(words, found.verdict)))
    v = found.voucher
    if v is None:
        why = (
            words.gettext("the voucher list is still loading: it may not be here yet")
            if found.verdict is Verdict.LOADING
            else words.gettext(
                "not in this till's voucher list: not known here, or never claimed by a customer"
            )
        )
        lines.append((words.gettext("Voucher"), why))
        return lines
    key = ids.try_parse(v.voucher.id)
    if v.batch.state not in CLAIMABLE:
        claims = words.gettext("not open")
    else:
        claims = words.gettext("open") if v.batch_claims == Claims.ACTIVE else words.gettext("paused")
    value = (
        words.gettext("{value} (minimum purchase {minimum})", value=v.value, minimum=v.min_purchase)
        if v.min_purchase
        else v.value
    )
    lines += [
        (
            words.gettext("Voucher"),
            words.gettext("{batch} no. {serial}", batch=v.batch_identifier, serial=key.serial)
            if key
            else v.voucher.id,
        ),
        (
            words.gettext("Batch"),
            words.gettext(
                "{batch}: {state}", batch=v.batch_identifier, state=wording.state(words, v.batch.state)
            ),
        ),
        (words.gettext("Claims"), claims),
        (words.gettext("Type"), v.type_name or "?"),
        (words.gettext("Value"), value),
        (words.gettext("Claimed"), words.gettext("yes") if v.voucher.claimed else words.gettext("no")),
        (words.gettext("Status"), _status(found, v, words)),
    ]
    if v.batch.valid_from or v.batch.valid_until:
        start = words.date(v.batch.valid_from) if v.batch.valid_from else "…"
        end = words.date(v.batch.valid_until) if v.batch.valid_until else "…"
        lines.append((words.gettext("Valid"), words.gettext("{start} to {end}", start=start, end=end)))
    return lines


def _status(found: Found, v: TillVoucher, words: Words) -> str:
    voucher = v.voucher
    if voucher.status is None:
        return words.gettext("none yet (not claimed)")
    if voucher.status is not Status.USED:
        return wording.status(words, voucher.status)
    when = wording.when(words, voucher.used_at)
    if voucher.used_store and voucher.used_store == found.store_id:
        said = words.gettext("used at this shop on {when}", when=when)
    elif voucher.used_store:
        said = words.gettext("used at shop {store} on {when}", store=voucher.used_store, when=when)
    else:
        said = words.gettext("used online by the customer (or at head office) on {when}", when=when)
    if v.redeemed_here is not None:
        said = words.gettext("{used} (this till; not yet synced)", used=said)
    return said


def story(found: Found, words: Words) -> list[tuple[str, str, str, str]]:
    """The voucher's story at this till, oldest first: (when, what, cashier, head office)."""
    rows = []
    for item in found.history:
        e = item.event
        if e.kind == "redeem":
            what = words.gettext("Redeemed")
        elif e.kind == "revert":
            what = (
                words.gettext("Redemption reverted: {reason}", reason=e.reason)
                if e.reason
                else words.gettext("Redemption reverted")
            )
        elif e.kind == "refused":
            what = words.gettext("Refused: {verdict}", verdict=wording.verdict(words, e.verdict))
        elif e.kind == "review":
            what = (
                words.gettext("Problem reviewed: {note}", note=e.reason)
                if e.reason
                else words.gettext("Problem reviewed")
            )
        else:
            what = e.kind
        answer = wording.outcome(words, item.outcome) if item.outcome else words.gettext("not yet synced")
        if item.reason:
            answer = f"{answer} ({item.reason})"
        rows.append((wording.when(words, e.at), what, e.cashier or "", answer))
    return rows


# --- the export ------------------------------------------------------------------------------

COLUMNS = [
    "time",
    "time_zone",
    "voucher",
    "voucher_id",
    "batch",
    "cashier",
    "synced",
    "outcome",
    "head_office_reason",
    "reverted",
    "reverted_at",
    "revert_reason",
    "reverted_by",
]


@dataclass(frozen=True)
class Exported:
    path: Path
    rows: int


def export(
    settings: StoreHostSettings,
    folder: Path,
    now: datetime,
    words: Words,
    progress: Callable[[int, int], None] | None = None,
) -> Exported:
    """Every one of this till's redemptions as a CSV file in `folder`, named and written in the
    store's time zone; `progress(done, total)` after each page. ValueError in words when the till's
    files cannot be read; OSError when the file cannot be written."""
    try:
        with reading(settings) as till:
            _, tz = till.store()
            path = folder / f"redemptions-{now.astimezone(tz):%Y%m%d-%H%M%S}.csv"
            rows = write_csv(path, till.all_redemptions(), tz, till.redemption_count(), progress)
    except (LocalDatabaseError, sqlite3.Error) as exc:
        raise ValueError(
            words.gettext(
                "Not exported: the till's files cannot be read ({detail})",
                detail=store_words.file_problem(words, exc, settings.replica_path),
            )
        ) from exc
    return Exported(path, rows)


def write_csv(
    path: Path,
    pages: Iterable[Sequence[TillRedemption]],
    tz: tzinfo,
    total: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """The redemptions as CSV, times in `tz` with their offset, formula-like cells as text; written
    beside the path and renamed at the end, so a half-written file never has its name. The rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    zone = str(tz)
    done = 0
    try:
        with open(part, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            for page in pages:
                for item in page:
                    writer.writerow(safe_row(_row(item, tz, zone)))
                done += len(page)
                if progress is not None:
                    progress(done, max(total, done))
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return done


def _row(item: TillRedemption, tz: tzinfo, zone: str) -> list[str]:
    e, r = item.event, item.revert
    return [
        e.at.astimezone(tz).isoformat(timespec="seconds"),
        zone,
        redemption_name(item),
        e.voucher_id or "",
        item.batch_identifier or "",
        e.cashier or "",
        "yes" if item.outcome else "no",
        item.outcome or "",
        item.reason or "",
        "yes" if item.reverted else "no",
        r.at.astimezone(tz).isoformat(timespec="seconds") if r else "",
        (r.reason or "") if r else "",
        (r.cashier or "") if r else "",
    ]
