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

from localdb import notices
from localdb.errors import LocalDatabaseError, is_damaged, is_full
from localdb.journal import Journal, JournalEvent
from localdb.till import Till, TillVoucher
from vouchers import ages
from vouchers.codes import code_hash, format_code, normalise
from vouchers.errors import InvalidCode
from vouchers.layouts import Correction, advice, correct, layout_names
from vouchers.verdict import Verdict, decide
from words import verdicts as verdict_words
from words import words_for


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
    def layout_words(self) -> str | None:
        """For the cashier: the whole notice the first time, a short mention after that."""
        if self.layout is None:
            return None
        names = layout_names(self.layout.ids)
        if not self.tell:
            return f"(Corrected: the scanner typed it through a {names} keyboard.)"
        return (
            f"The scanner types as a US keyboard, but this till's keyboard is {names}: the code "
            f"was corrected. Tell the manager: {advice(self.layout.ids)}."
        )

    @property
    def label(self) -> str:
        """The verdict's code, or the problem's: what `voucher-kiosk redeem` prints first."""
        if self.problem is not None or self.verdict is None:
            return self.problem or TILL_PROBLEM
        return self.verdict.value


NOT_RECORDED = "NOT_RECORDED"  # accepted, but the journal could not be written: nothing was redeemed
TILL_PROBLEM = "TILL_PROBLEM"  # the till cannot decide: its journal or its voucher list cannot be used
DONT = "do not give the discount; call the manager"


def not_recorded(error: LocalDatabaseError) -> Decision:
    """The redemption could not be written, so it was not made: said so, never as ACCEPTED."""
    if is_full(error):
        why = "the disk is full"
    elif is_damaged(error):
        why = "the till's journal is damaged"
    else:
        why = f"the till's journal cannot be written ({error.detail})"
    return Decision(None, f"Could not record the redemption: {why} — {DONT}.", problem=NOT_RECORDED)


def cannot_redeem(error: LocalDatabaseError) -> Decision:
    """No journal to write to (damaged, or the disk full when making one): nothing can be redeemed."""
    why = (
        "its journal (journal.db) is damaged"
        if is_damaged(error)
        else "the disk is full"
        if is_full(error)
        else f"its journal cannot be opened ({error.detail})"
    )
    return Decision(
        None,
        f"This till cannot record redemptions: {why} — {DONT}. (Manager: {error.detail})",
        problem=TILL_PROBLEM,
    )


def cannot_check(why: str) -> Decision:
    """The voucher list cannot be decided from (damaged, or being rebuilt after damage)."""
    return Decision(
        None,
        f"Vouchers cannot be checked: {why} — do not give the discount; try again in a few "
        "minutes, or call the manager.",
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
        self.language = language  # the verdicts' words (words/verdicts.py); None: English
        self.journal = journal
        self.hash_key = hash_key
        self.cashier = cashier
        self.policy = policy

    def scan(self, text: str, now: datetime | None = None, *, typed: bool = True) -> Decision:
        """The verdict on a scan, with the policy's step before an accepted voucher is written.
        `typed`: it came through the keyboard (a wedge scanner, the cashier), not the camera."""
        now = now or datetime.now(UTC)
        decision = self.check(text, now, typed=typed)
        if decision.verdict is not Verdict.ACCEPTED or decision.problem:
            return decision
        age = self.snapshot_age(now)
        if self.policy.approval_after is not None and (age is None or age > self.policy.approval_after):
            old = "has never been synced" if age is None else f"is {ages.duration(age)} old"
            return replace(
                decision,
                step=APPROVAL,
                reason=f"Valid voucher, but the voucher list {old}: a manager must approve this redemption.",
            )
        if self.policy.confirm:
            return replace(decision, step=CONFIRM, reason="Valid voucher. Mark it as used?")
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
            return replace(not_recorded(exc), code=decision.code, voucher=decision.voucher)
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
            words = words_for(self.language, verdict_words.DOMAIN)
            invalid = Decision(Verdict.INVALID_CODE, verdict_words.invalid_code(words, exc))
        try:
            if self.till.rebuilding():
                if code is None:
                    return invalid
                return replace(
                    cannot_check("the voucher list is being rebuilt after damage"), code=format_code(code)
                )
            decision = self._decide(code, now) if code is not None else invalid
            if typed and decision.voucher is None and (correction := correct(text, self._holds)) is not None:
                noticed = notices.current(self.till.journal)
                told = noticed is not None and bool(set(noticed.layouts) & set(correction.ids))
                return replace(self._decide(correction.code, now), layout=correction, tell=not told)
            return decision
        except sqlite3.DatabaseError as exc:
            damaged = "damaged, and the sync agent rebuilds it" if is_damaged(exc) else f"unreadable ({exc})"
            return replace(
                cannot_check(f"the voucher list or the journal is {damaged}"),
                code=format_code(code) if code else None,
            )

    def _holds(self, code: str) -> bool:
        return self.till.lookup(code_hash(code, self.hash_key)) is not None

    def _decide(self, code: str, now: datetime) -> Decision:
        found = self.till.lookup(code_hash(code, self.hash_key))
        store_id, tz = self.till.store()
        complete, progress = (True, 100) if found else self.till.snapshot_state()
        verdict = decide(
            found.voucher if found else None,
            found.batch if found else None,
            store_id or "",
            now,
            tz,
            loading=not complete,
        )
        words = words_for(self.language, verdict_words.DOMAIN, tz)
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
