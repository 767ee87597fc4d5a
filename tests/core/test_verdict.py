"""The verdict at the kiosk, in docs/DESIGN.md's order, with validity dates in the store's time zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from vouchers.lifecycle import State
from vouchers.status import Status
from vouchers.verdict import (
    VOUCHER_VERDICTS,
    BatchView,
    Verdict,
    VoucherView,
    decide,
    validity_window,
)
from words.verdicts import REASONS, english, reason

LONDON = ZoneInfo("Europe/London")
AUCKLAND = ZoneInfo("Pacific/Auckland")
STORE = "store-7"
NOW = datetime(2026, 2, 10, 14, 3, tzinfo=LONDON)

BATCH = BatchView(
    id="b1",
    state=State.REDEEMABLE,
    valid_from=date(2026, 2, 1),
    valid_until=date(2026, 3, 1),
    stores=None,
)
VOUCHER = VoucherView(id="v1", batch_id="b1", claimed=True, status=Status.UNUSED)
USED = replace(
    VOUCHER, status=Status.USED, used_at=datetime(2026, 2, 9, 12, tzinfo=UTC), used_store="store-2"
)
UNCLAIMED = replace(VOUCHER, claimed=False, status=None)

# One row per verdict (INVALID_CODE is decided earlier, by codes.normalise).
ROWS = [
    ("unknown voucher", None, BATCH, NOW, Verdict.UNKNOWN),
    ("batch deleted", VOUCHER, None, NOW, Verdict.UNKNOWN),
    ("void", VOUCHER, replace(BATCH, state=State.VOID), NOW, Verdict.BATCH_VOID),
    ("locked", VOUCHER, replace(BATCH, state=State.LOCKED), NOW, Verdict.BATCH_LOCKED),
    *[
        (f"{state}", VOUCHER, replace(BATCH, state=state), NOW, Verdict.BATCH_NOT_REDEEMABLE)
        for state in (
            State.CONFIGURING,
            State.VALIDATED,
            State.GENERATING,
            State.GENERATED,
            State.DISTRIBUTED,
        )
    ],
    ("wrong store", VOUCHER, replace(BATCH, stores=("store-1", "store-2")), NOW, Verdict.WRONG_STORE),
    ("right store", VOUCHER, replace(BATCH, stores=("store-1", STORE)), NOW, Verdict.ACCEPTED),
    (
        "not yet valid",
        VOUCHER,
        BATCH,
        datetime(2026, 1, 31, 23, 59, 59, tzinfo=LONDON),
        Verdict.NOT_YET_VALID,
    ),
    ("first day", VOUCHER, BATCH, datetime(2026, 2, 1, 0, 0, tzinfo=LONDON), Verdict.ACCEPTED),
    ("expired", VOUCHER, BATCH, datetime(2026, 3, 2, 0, 0, tzinfo=LONDON), Verdict.EXPIRED),
    ("not claimed", UNCLAIMED, BATCH, NOW, Verdict.NOT_CLAIMED),
    ("claimed without status", replace(VOUCHER, status=None), BATCH, NOW, Verdict.NOT_CLAIMED),
    ("used", USED, BATCH, NOW, Verdict.ALREADY_USED),
    ("pending", replace(VOUCHER, status=Status.PENDING), BATCH, NOW, Verdict.PENDING),
    ("issued", replace(VOUCHER, status=Status.ISSUED), BATCH, NOW, Verdict.ISSUED_VALID),
    ("unused", VOUCHER, BATCH, NOW, Verdict.ACCEPTED),
    (
        "no validity window",
        VOUCHER,
        replace(BATCH, valid_from=None, valid_until=None),
        datetime(2099, 1, 1, tzinfo=UTC),
        Verdict.ACCEPTED,
    ),
]


@pytest.mark.parametrize(
    ("voucher", "batch", "now", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_one_row_per_verdict(voucher, batch, now, expected):
    assert decide(voucher, batch, STORE, now, LONDON) is expected


def test_the_table_covers_every_verdict_but_invalid_code():
    assert {r[-1] for r in ROWS} == set(Verdict) - {Verdict.INVALID_CODE, Verdict.LOADING}


def test_a_voucher_missing_from_a_list_still_loading_is_not_said_not_to_exist():
    assert decide(None, None, STORE, NOW, LONDON, loading=True) is Verdict.LOADING
    assert (
        decide(None, BATCH, STORE, NOW, LONDON, loading=True) is Verdict.LOADING
    )  # its batch not pulled yet
    assert (
        decide(VOUCHER, BATCH, STORE, NOW, LONDON, loading=True) is Verdict.ACCEPTED
    )  # held: decided as ever
    assert decide(None, None, STORE, NOW, LONDON) is Verdict.UNKNOWN
    assert reason(english(), Verdict.LOADING, progress=42) == (
        "Voucher list loading (42 %): try again in a moment, or check the voucher at head office."
    )
    assert reason(english(), Verdict.LOADING) == REASONS[Verdict.LOADING]


EXPIRED_NOW = datetime(2026, 4, 1, 12, tzinfo=LONDON)
EARLY_NOW = datetime(2026, 1, 1, 12, tzinfo=LONDON)
ORDER = [
    # (what it proves, voucher, batch, now, expected)
    ("void beats expired and used", USED, replace(BATCH, state=State.VOID), EXPIRED_NOW, Verdict.BATCH_VOID),
    (
        "void beats wrong store and unclaimed",
        UNCLAIMED,
        replace(BATCH, state=State.VOID, stores=("elsewhere",)),
        EARLY_NOW,
        Verdict.BATCH_VOID,
    ),
    (
        "locked beats wrong store, expired, used",
        USED,
        replace(BATCH, state=State.LOCKED, stores=("elsewhere",)),
        EXPIRED_NOW,
        Verdict.BATCH_LOCKED,
    ),
    (
        "not redeemable beats wrong store",
        USED,
        replace(BATCH, state=State.DISTRIBUTED, stores=("elsewhere",)),
        EXPIRED_NOW,
        Verdict.BATCH_NOT_REDEEMABLE,
    ),
    (
        "wrong store beats expired",
        USED,
        replace(BATCH, stores=("elsewhere",)),
        EXPIRED_NOW,
        Verdict.WRONG_STORE,
    ),
    (
        "wrong store beats not yet valid",
        VOUCHER,
        replace(BATCH, stores=("elsewhere",)),
        EARLY_NOW,
        Verdict.WRONG_STORE,
    ),
    ("expired beats not claimed", UNCLAIMED, BATCH, EXPIRED_NOW, Verdict.EXPIRED),
    ("expired beats used", USED, BATCH, EXPIRED_NOW, Verdict.EXPIRED),
    ("not yet valid beats not claimed", UNCLAIMED, BATCH, EARLY_NOW, Verdict.NOT_YET_VALID),
    (
        "not yet valid beats pending",
        replace(VOUCHER, status=Status.PENDING),
        BATCH,
        EARLY_NOW,
        Verdict.NOT_YET_VALID,
    ),
    ("expired beats issued", replace(VOUCHER, status=Status.ISSUED), BATCH, EXPIRED_NOW, Verdict.EXPIRED),
    (
        "not claimed beats a stale used status",
        replace(USED, claimed=False),
        BATCH,
        NOW,
        Verdict.NOT_CLAIMED,
    ),
]


@pytest.mark.parametrize(
    ("voucher", "batch", "now", "expected"), [r[1:] for r in ORDER], ids=[r[0] for r in ORDER]
)
def test_the_first_verdict_that_applies_wins(voucher, batch, now, expected):
    assert decide(voucher, batch, STORE, now, LONDON) is expected


# --- validity in the store's time zone -------------------------------------------------------

LAST_DAY = replace(BATCH, valid_from=None, valid_until=date(2026, 3, 1))
FIRST_DAY = replace(BATCH, valid_from=date(2026, 3, 1), valid_until=None)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 1, 23, 59, tzinfo=LONDON), Verdict.ACCEPTED),
        (datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=LONDON), Verdict.ACCEPTED),
        (datetime(2026, 3, 2, 0, 0, tzinfo=LONDON), Verdict.EXPIRED),
        # The same instants given in UTC (London is on GMT in March before the clocks change).
        (datetime(2026, 3, 1, 23, 59, tzinfo=UTC), Verdict.ACCEPTED),
        (datetime(2026, 3, 2, 0, 0, tzinfo=UTC), Verdict.EXPIRED),
    ],
)
def test_valid_until_is_the_whole_last_day_in_london(now, expected):
    assert decide(VOUCHER, LAST_DAY, STORE, now, LONDON) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 1, 23, 59, tzinfo=AUCKLAND), Verdict.ACCEPTED),
        (datetime(2026, 3, 2, 0, 0, tzinfo=AUCKLAND), Verdict.EXPIRED),
        # Auckland is UTC+13 (NZDT) on 1 March: its midnight is 11:00 UTC the same day.
        (datetime(2026, 3, 1, 10, 59, tzinfo=UTC), Verdict.ACCEPTED),
        (datetime(2026, 3, 1, 11, 0, tzinfo=UTC), Verdict.EXPIRED),
        # The same instant as London's 23:59 on the last day is already expired in Auckland.
        (datetime(2026, 3, 1, 23, 59, tzinfo=LONDON), Verdict.EXPIRED),
    ],
)
def test_valid_until_is_the_whole_last_day_in_auckland(now, expected):
    assert decide(VOUCHER, LAST_DAY, STORE, now, AUCKLAND) is expected


def test_the_same_instant_gets_a_different_verdict_by_store_time_zone():
    instant = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 12:00 in London, 01:00 on 2 March in Auckland
    assert decide(VOUCHER, LAST_DAY, STORE, instant, LONDON) is Verdict.ACCEPTED
    assert decide(VOUCHER, LAST_DAY, STORE, instant, AUCKLAND) is Verdict.EXPIRED
    # and the other way round for the first day
    assert decide(VOUCHER, FIRST_DAY, STORE, instant, LONDON) is Verdict.ACCEPTED
    assert decide(VOUCHER, FIRST_DAY, STORE, datetime(2026, 2, 28, 11, 30, tzinfo=UTC), AUCKLAND) is (
        Verdict.ACCEPTED
    )
    assert decide(VOUCHER, FIRST_DAY, STORE, datetime(2026, 2, 28, 10, 59, tzinfo=UTC), AUCKLAND) is (
        Verdict.NOT_YET_VALID
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 2, 28, 23, 59, tzinfo=LONDON), Verdict.NOT_YET_VALID),
        (datetime(2026, 3, 1, 0, 0, tzinfo=LONDON), Verdict.ACCEPTED),
    ],
)
def test_valid_from_starts_at_local_midnight(now, expected):
    assert decide(VOUCHER, FIRST_DAY, STORE, now, LONDON) is expected


def test_validity_window_across_a_clock_change():
    # London's clocks go forward on 29 March 2026: the last day has 23 hours.
    batch = replace(BATCH, valid_from=date(2026, 3, 29), valid_until=date(2026, 3, 29))
    start, end = validity_window(batch, LONDON)
    assert start == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)
    assert (
        decide(VOUCHER, batch, STORE, datetime(2026, 3, 29, 22, 59, tzinfo=UTC), LONDON) is Verdict.ACCEPTED
    )
    assert decide(VOUCHER, batch, STORE, datetime(2026, 3, 29, 23, 0, tzinfo=UTC), LONDON) is Verdict.EXPIRED


def test_open_window():
    assert validity_window(replace(BATCH, valid_from=None, valid_until=None), LONDON) == (None, None)


# --- words and colours -----------------------------------------------------------------------

KINDS = {
    Verdict.ACCEPTED: "accepted",
    Verdict.ISSUED_VALID: "attention",
    Verdict.PENDING: "attention",
    Verdict.LOADING: "attention",  # the voucher may well be good: check it at head office
}


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_has_words_and_a_kind(verdict):
    reason = REASONS[verdict]
    assert reason.strip() and reason[0].isupper() and reason.rstrip().endswith(".")
    assert verdict.value not in reason  # words for a cashier, not the code
    assert verdict.kind == KINDS.get(verdict, "refused")


def test_reasons_are_distinct():
    assert len(set(REASONS.values())) == len(Verdict)


def test_state_given_as_text_is_understood():
    assert decide(VOUCHER, replace(BATCH, state="void"), STORE, NOW, LONDON) is Verdict.BATCH_VOID
    assert decide(replace(VOUCHER, status="used"), BATCH, STORE, NOW, LONDON) is Verdict.ALREADY_USED


def test_a_tills_unknown_covers_a_voucher_never_claimed():
    """A till holds claimed vouchers only (docs/DESIGN.md, "What a till holds"), so a code it does
    not hold may exist unclaimed: its words say both, and the demo has no NOT_CLAIMED for a till."""
    reason = REASONS[Verdict.UNKNOWN]
    assert "not known here" in reason and "never claimed" in reason
    assert Verdict.NOT_CLAIMED not in VOUCHER_VERDICTS and Verdict.LOADING not in VOUCHER_VERDICTS
    assert Verdict.UNKNOWN in VOUCHER_VERDICTS
