"""The redeem use case, outside any widget: normalise, look up, decide, journal, answer.

An ACCEPTED verdict is returned only after its redeem event is committed to journal.db; a
refused scan is journaled afterwards by `record_refusal`, so it never delays the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from localdb.journal import Journal, JournalEvent
from localdb.till import Till, TillVoucher
from vouchers.codes import code_hash, format_code, normalise
from vouchers.errors import InvalidCode
from vouchers.verdict import REASONS, Verdict, decide


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str
    code: str | None = None  # grouped, as people read it
    voucher: TillVoucher | None = None
    event: JournalEvent | None = None  # the redeem event, when ACCEPTED

    @property
    def value(self) -> str | None:
        return self.voucher.value if self.voucher else None


class Redeemer:
    def __init__(self, till: Till, journal: Journal, hash_key: bytes, *, cashier: str | None = None) -> None:
        self.till = till
        self.journal = journal
        self.hash_key = hash_key
        self.cashier = cashier

    def redeem(self, text: str, now: datetime | None = None) -> Decision:
        """The verdict on a scanned or typed text; an accepted voucher is marked used durably first."""
        now = now or datetime.now(UTC)
        try:
            code = normalise(text)
        except InvalidCode as exc:
            return Decision(Verdict.INVALID_CODE, f"{REASONS[Verdict.INVALID_CODE]} ({exc.detail})")
        found = self.till.lookup(code_hash(code, self.hash_key))
        store_id, tz = self.till.store()
        verdict = decide(found and found.voucher, found and found.batch, store_id or "", now, tz)
        reason = REASONS[verdict]
        if verdict is Verdict.ALREADY_USED and found.voucher.used_at:
            where = "this shop" if found.voucher.used_store == store_id else f"shop {found.voucher.used_store}"
            reason = f"{reason} Used at {where} on {found.voucher.used_at.astimezone(tz):%d %b %Y at %H:%M}."
        if verdict is not Verdict.ACCEPTED:
            return Decision(verdict, reason, format_code(code), found)
        event = self.journal.append("redeem", found.voucher.id, at=now, cashier=self.cashier)
        return Decision(verdict, reason, format_code(code), found, event)

    def record_refusal(self, decision: Decision) -> JournalEvent | None:
        """Keep a refused scan for the head office's record (never changes a voucher)."""
        if decision.verdict is Verdict.ACCEPTED:
            return None
        voucher_id = decision.voucher.voucher.id if decision.voucher else None
        return self.journal.append("refused", voucher_id, cashier=self.cashier, verdict=decision.verdict.value)
