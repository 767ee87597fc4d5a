"""The verdict on a scanned voucher, in the order docs/DESIGN.md gives: a code, never a sentence.

The kiosk decides from its replica and journal; the server decides the same way when a
redemption event arrives, so both share this function. Each front end words the verdict in its
language (words/verdicts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from vouchers.lifecycle import State
from vouchers.status import Status


class Verdict(StrEnum):
    INVALID_CODE = "INVALID_CODE"
    UNKNOWN = "UNKNOWN"
    LOADING = "LOADING"  # the till's own state, not the voucher's: not in its voucher list *yet*
    BATCH_VOID = "BATCH_VOID"
    BATCH_LOCKED = "BATCH_LOCKED"
    BATCH_NOT_REDEEMABLE = "BATCH_NOT_REDEEMABLE"
    WRONG_STORE = "WRONG_STORE"
    NOT_YET_VALID = "NOT_YET_VALID"
    EXPIRED = "EXPIRED"
    NOT_CLAIMED = "NOT_CLAIMED"
    ALREADY_USED = "ALREADY_USED"
    PENDING = "PENDING"
    ISSUED_VALID = "ISSUED_VALID"
    ACCEPTED = "ACCEPTED"

    @property
    def kind(self) -> str:
        """accepted, refused or attention: how the kiosk colours it."""
        if self is Verdict.ACCEPTED:
            return "accepted"
        if self in (Verdict.ISSUED_VALID, Verdict.PENDING, Verdict.LOADING):
            return "attention"
        return "refused"


# What a till can find a voucher to be: the demo has a code for each. Not LOADING (the till does not
# know yet), nor NOT_CLAIMED: head office sends a till claimed vouchers only, so an unclaimed one is
# UNKNOWN there; NOT_CLAIMED is head office's verdict (and a replica's from before, docs/DESIGN.md).
VOUCHER_VERDICTS = tuple(v for v in Verdict if v not in (Verdict.LOADING, Verdict.NOT_CLAIMED))


@dataclass(frozen=True)
class BatchView:
    id: str
    state: State
    valid_from: date | None = None
    valid_until: date | None = None
    stores: tuple[str, ...] | None = None


@dataclass(frozen=True)
class VoucherView:
    id: str
    batch_id: str
    claimed: bool
    status: Status | None
    used_at: datetime | None = None
    used_store: str | None = None


def validity_window(batch: BatchView, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The batch's dates as instants in the store's time zone: from start of the first day
    to the start of the day after the last."""
    start = datetime.combine(batch.valid_from, time(), tz) if batch.valid_from else None
    end = datetime.combine(batch.valid_until + timedelta(days=1), time(), tz) if batch.valid_until else None
    return start, end


def decide(
    voucher: VoucherView | None,
    batch: BatchView | None,
    store_id: str,
    now: datetime,
    tz: ZoneInfo,
    *,
    loading: bool = False,
) -> Verdict:
    """The first verdict that applies (INVALID_CODE is decided earlier, by codes.normalise).
    `loading`: the voucher list is not complete yet (a till's first sync), so a voucher it does not
    hold may well exist."""
    if voucher is None or batch is None:
        return Verdict.LOADING if loading else Verdict.UNKNOWN
    state = State(batch.state)
    if state is State.VOID:
        return Verdict.BATCH_VOID
    if state is State.LOCKED:
        return Verdict.BATCH_LOCKED
    if state is not State.REDEEMABLE:
        return Verdict.BATCH_NOT_REDEEMABLE
    if batch.stores is not None and store_id not in batch.stores:
        return Verdict.WRONG_STORE
    start, end = validity_window(batch, tz)
    if start is not None and now < start:
        return Verdict.NOT_YET_VALID
    if end is not None and now >= end:
        return Verdict.EXPIRED
    if not voucher.claimed or voucher.status is None:
        return Verdict.NOT_CLAIMED
    status = Status(voucher.status)
    if status is Status.USED:
        return Verdict.ALREADY_USED
    if status is Status.PENDING:
        return Verdict.PENDING
    if status is Status.ISSUED:
        return Verdict.ISSUED_VALID
    return Verdict.ACCEPTED
