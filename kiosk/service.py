"""The redeem use case, outside any widget: normalise, look up, decide, journal, answer.

An ACCEPTED verdict is returned only after its redeem event is committed to journal.db; a
refused scan is journaled afterwards by `record_refusal`, so it never delays the verdict.

By configuration an ACCEPTED verdict may wait for a step before anything is written: the
cashier's "mark as used?" confirmation, or a manager's approval when the snapshot is older than
the limit. `scan` returns such a decision with its `step` set; `redeem` then checks again and
writes the redemption.

When the till cannot decide or record (a full disk, a damaged journal, a voucher list being
rebuilt after damage) the decision has no verdict but a `problem`, with words that tell the
cashier not to give the discount: nothing is ever shown ACCEPTED that is not written.

A typed text (a keyboard-wedge scanner's) that is not a code, or not one the till holds, is
tried through the other keyboard layouts (vouchers/layouts.py): when exactly one explains it as
a code the till holds, that code is decided, and the decision says which layout (`layout`) and
whether the cashier is to be told (`tell`: not yet noticed). `record_layout` notes it, after
the verdict, in journal.db's notices (localdb/notices.py).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from kiosk import wording
from localdb import notices
from localdb import wording as store_words
from localdb.errors import LocalDatabaseError, is_damaged, is_full
from localdb.journal import Journal, JournalEvent
from localdb.till import Till, TillVoucher
from vouchers.codes import code_hash, format_code, normalise
from vouchers.errors import InvalidCode
from vouchers.layouts import Correction, correct
from vouchers.verdict import Verdict, decide
from words import Words, ages
from words import verdicts as verdict_words


@dataclass(frozen=True)
class Decision:
    verdict: Verdict | None  # None: no verdict stands, for the till `problem` (nothing was redeemed)
    reason: str
    code: str | None = None  # grouped, as people read it
    voucher: TillVoucher | None = None
    event: JournalEvent | None = None  # the redeem event, when ACCEPTED and written
    step: str | None = None  # "confirm" or "approval": ACCEPTED, but nothing written until then
    problem: str | None = None  # NOT_RECORDED or TILL_PROBLEM, with `reason` in words for cashier and manager
    layout: Correction | None = None  # typed through the wrong keyboard layout, and corrected
    tell: bool = False  # with `layout`: not noticed before, so the cashier is told which setting to change

    @property
    def value(self) -> str | None:
        return self.voucher.value if self.voucher else None

    @property
    def kind(self) -> str:
        """accepted, refused or attention, as the screen colours it; a till problem is refused."""
        return "refused" if self.verdict is None else self.verdict.kind

    @property
    def label(self) -> str:
        """The verdict's code, or the problem's: what `voucher-kiosk redeem` prints first."""
        if self.problem is not None or self.verdict is None:
            return self.problem or TILL_PROBLEM
        return self.verdict.value


NOT_RECORDED = "NOT_RECORDED"  # accepted, but the journal could not be written: nothing was redeemed
TILL_PROBLEM = "TILL_PROBLEM"  # the till cannot decide: its journal or its voucher list cannot be used


def layout_words(words: Words, decision: Decision) -> str | None:
    """For the cashier: the whole notice the first time, a short mention after that."""
    if decision.layout is None:
        return None
    names = wording.layout_names(words, decision.layout.ids)
    if not decision.tell:
        return words.gettext("(Corrected: the scanner typed it through a {layout} keyboard.)", layout=names)
    return words.gettext(
        "The scanner types as a US keyboard, but this till's keyboard is {layout}: the code was "
        "corrected. Tell the manager: {advice}.",
        layout=names,
        advice=wording.advice(words, decision.layout.ids),
    )


def not_recorded(words: Words, error: LocalDatabaseError) -> Decision:
    """The redemption could not be written, so it was not made: said so, never as ACCEPTED."""
    if is_full(error):
        text = words.gettext(
            "Could not record the redemption: the disk is full — do not give the discount; call the manager."
        )
    elif is_damaged(error):
        text = words.gettext(
            "Could not record the redemption: the till's journal is damaged — do not give the discount; "
            "call the manager."
        )
    else:
        text = words.gettext(
            "Could not record the redemption: the till's journal cannot be written ({detail}) — do not "
            "give the discount; call the manager.",
            detail=store_words.error_detail(words, error),
        )
    return Decision(None, text, problem=NOT_RECORDED)


def cannot_redeem(words: Words, error: LocalDatabaseError) -> Decision:
    """No journal to write to (damaged, or the disk full when making one): nothing can be redeemed."""
    if is_damaged(error):
        why = words.gettext("its journal (journal.db) is damaged")
    elif is_full(error):
        why = words.gettext("the disk is full")
    else:
        why = words.gettext(
            "its journal cannot be opened ({detail})", detail=store_words.error_detail(words, error)
        )
    return Decision(
        None,
        words.gettext(
            "This till cannot record redemptions: {why} — do not give the discount; call the manager. "
            "(Manager: {detail})",
            why=why,
            detail=store_words.error_detail(words, error),
        ),
        problem=TILL_PROBLEM,
    )


def cannot_check(words: Words, why: str) -> Decision:
    """The voucher list cannot be decided from (damaged, or being rebuilt after damage); `why` worded."""
    return Decision(
        None,
        words.gettext(
            "Vouchers cannot be checked: {why} — do not give the discount; try again in a few minutes, "
            "or call the manager.",
            why=why,
        ),
        problem=TILL_PROBLEM,
    )


CONFIRM = "confirm"
APPROVAL = "approval"


@dataclass(frozen=True)
class Policy:
    """What an ACCEPTED scan must wait for, from the kiosk's settings."""

    confirm: bool = False  # the cashier confirms "mark as used?"
    approval_after: timedelta | None = None  # a snapshot older than this needs a manager's approval


def policy_for(confirm: bool, stale_needs_approval: bool, stale_snapshot_hours: float) -> Policy:
    """The policy the kiosk's settings ask for; the screen and `voucher-kiosk redeem` share it."""
    approval_after = timedelta(hours=stale_snapshot_hours) if stale_needs_approval else None
    return Policy(confirm=confirm, approval_after=approval_after)


class Redeemer:
    def __init__(
        self,
        till: Till,
        journal: Journal,
        hash_key: bytes,
        *,
        cashier: str | None = None,
        policy: Policy = Policy(),
        language: str | None = None,
    ) -> None:
        self.till = till
        self.language = language  # the setting; None: the store's locale, else English (kiosk.wording)
        self.journal = journal
        self.hash_key = hash_key
        self.cashier = cashier
        self.policy = policy

    def words(self, domain: str = wording.DOMAIN) -> Words:
        """The till's words of `domain` (kiosk.wording.till_words), times in the store's zone; the
        setting's (else English, in UTC) when the replica cannot be read: a scan says why itself."""
        try:
            _, tz, locale = self.till.shop()
        except (sqlite3.Error, LocalDatabaseError):
            return wording.till_words(self.language, None, UTC, domain)
        return wording.till_words(self.language, locale, tz, domain)

    def scan(self, text: str, now: datetime | None = None, *, typed: bool = True) -> Decision:
        """The verdict on a scan, with the policy's step before an accepted voucher is written.
        `typed`: it came through the keyboard (a wedge scanner, the cashier), not the camera."""
        now = now or datetime.now(UTC)
        decision = self.check(text, now, typed=typed)
        if decision.verdict is not Verdict.ACCEPTED or decision.problem:
            return decision
        age = self.snapshot_age(now)
        if self.policy.approval_after is not None and (age is None or age > self.policy.approval_after):
            words = self.words()
            if age is None:
                reason = words.gettext(
                    "Valid voucher, but the voucher list has never been synced: a manager must approve "
                    "this redemption."
                )
            else:
                reason = words.gettext(
                    "Valid voucher, but the voucher list is {age} old: a manager must approve this "
                    "redemption.",
                    age=ages.duration(words, age),
                )
            return replace(decision, step=APPROVAL, reason=reason)
        if self.policy.confirm:
            return replace(
                decision, step=CONFIRM, reason=self.words().gettext("Valid voucher. Mark it as used?")
            )
        return self._write(decision, now)

    def redeem(self, text: str, now: datetime | None = None, *, approved_by: str | None = None) -> Decision:
        """The verdict on a scanned or typed text; an accepted voucher is marked used durably first.
        After a confirmation or an approval the voucher is checked again, so nothing is redeemed twice."""
        now = now or datetime.now(UTC)
        decision = self.check(text, now)
        if decision.verdict is not Verdict.ACCEPTED or decision.problem:
            return decision
        return self._write(decision, now, approved_by)

    def _write(self, decision: Decision, now: datetime, approved_by: str | None = None) -> Decision:
        cashier = self.cashier
        if approved_by:
            cashier = f"{cashier or 'cashier'}, approved by {approved_by}"
        if decision.voucher is None:  # never: an accepted voucher is one the till holds
            raise ValueError(f"nothing to redeem: {decision.reason}")
        try:
            code = normalise(decision.code) if decision.code else None  # kept on the till, never pushed
            event = self.journal.append(
                "redeem",
                decision.voucher.voucher.id,
                at=now,
                cashier=cashier,
                code=code,
                code_hash=code_hash(code, self.hash_key) if code else None,
            )
        except LocalDatabaseError as exc:
            return replace(not_recorded(self.words(), exc), code=decision.code, voucher=decision.voucher)
        return replace(decision, event=event)

    def snapshot_age(self, now: datetime) -> timedelta | None:
        last_pull = self.till.last_pull_at()
        return now - last_pull if last_pull else None

    def check(self, text: str, now: datetime | None = None, *, typed: bool = True) -> Decision:
        """The verdict on a text, nothing written; a till problem when the files cannot be decided from.
        A typed text that is no code the till holds may be one typed through the wrong layout."""
        now = now or datetime.now(UTC)
        code: str | None = None
        try:
            code = normalise(text)
        except InvalidCode as exc:
            words = self.words(verdict_words.DOMAIN)
            invalid = Decision(Verdict.INVALID_CODE, verdict_words.invalid_code(words, exc))
        try:
            if self.till.rebuilding():
                if code is None:
                    return invalid
                words = self.words()
                rebuilt = words.gettext("the voucher list is being rebuilt after damage")
                return replace(cannot_check(words, rebuilt), code=format_code(code))
            decision = self._decide(code, now) if code is not None else invalid
            if typed and decision.voucher is None and (correction := correct(text, self._holds)) is not None:
                noticed = notices.current(self.till.journal)
                told = noticed is not None and bool(set(noticed.layouts) & set(correction.ids))
                return replace(self._decide(correction.code, now), layout=correction, tell=not told)
            return decision
        except sqlite3.DatabaseError as exc:
            words = self.words()
            damaged = (
                words.gettext("the voucher list or the journal is damaged, and the sync agent rebuilds it")
                if is_damaged(exc)
                else words.gettext("the voucher list or the journal is unreadable ({detail})", detail=exc)
            )
            return replace(
                cannot_check(words, damaged),
                code=format_code(code) if code else None,
            )

    def _holds(self, code: str) -> bool:
        return self.till.lookup(code_hash(code, self.hash_key)) is not None

    def _decide(self, code: str, now: datetime) -> Decision:
        found = self.till.lookup(code_hash(code, self.hash_key))
        store_id, tz, locale = self.till.shop()
        complete, progress = (True, 100) if found else self.till.snapshot_state()
        verdict = decide(
            found.voucher if found else None,
            found.batch if found else None,
            store_id or "",
            now,
            tz,
            loading=not complete,
        )
        words = wording.till_words(self.language, locale, tz, verdict_words.DOMAIN)
        reason = verdict_words.reason(words, verdict, progress=progress)
        if verdict is Verdict.ALREADY_USED and found is not None and found.voucher.used_at:
            used = verdict_words.used(words, found.voucher.used_at, found.voucher.used_store, store_id)
            reason = f"{reason} {used}"
        return Decision(verdict, reason, format_code(code), found)

    def record_layout(self, decision: Decision, text: str, *, from_scanner: bool = True) -> tuple[str, ...]:
        """After a typed scan's verdict: note its correction, or that it arrived right although the
        noticed layout would have changed it (localdb/notices.py): only when `from_scanner` (typed
        faster than by hand), since a code typed by hand on the till's keyboard proves nothing of
        the scanner. The notices written."""
        if decision.problem or (
            decision.layout is None and (decision.verdict is Verdict.INVALID_CODE or not from_scanner)
        ):
            return ()
        try:
            return notices.record_scan(self.journal, text, decision.layout.ids if decision.layout else None)
        except LocalDatabaseError:
            return ()  # like a refusal's record: a full disk loses only the notice

    def record_refusal(self, decision: Decision) -> JournalEvent | None:
        """Keep a refused scan for the head office's record (never changes a voucher)."""
        if decision.verdict in (Verdict.ACCEPTED, Verdict.LOADING, None):
            return None  # a till problem, or a list still loading, decided nothing about the voucher
        voucher_id = decision.voucher.voucher.id if decision.voucher else None
        try:
            return self.journal.append(
                "refused",
                voucher_id,
                cashier=self.cashier,
                verdict=decision.verdict.value,
                code_hash=code_hash(normalise(decision.code), self.hash_key) if decision.code else None,
            )
        except LocalDatabaseError:
            return None  # the record of a refusal waits for no one: a full disk loses only the record
