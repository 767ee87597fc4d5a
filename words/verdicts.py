"""A verdict in words for a cashier or a member, in the language of a `Words` of domain "verdicts".

The core decides (`vouchers.verdict.decide`, `vouchers.codes.normalise`) and gives a code with its
facts: how far the voucher list is, when and where a voucher was used, why a text is no code. The
till and head office word those here, so both say the same thing in every language.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from vouchers.errors import InvalidCode
from vouchers.verdict import Verdict
from vouchers.wording import N_
from words.wording import Words, words_for

DOMAIN = "verdicts"

REASONS: dict[Verdict, str] = {
    Verdict.INVALID_CODE: N_("This is not a voucher code. Check it and scan again."),
    Verdict.UNKNOWN: N_(
        "This voucher is not known here, or was never claimed by a customer. It cannot be used."
    ),
    Verdict.LOADING: N_("Voucher list loading: try again in a moment, or check the voucher at head office."),
    Verdict.BATCH_VOID: N_("This promotion has been cancelled. The voucher cannot be used."),
    Verdict.BATCH_LOCKED: N_("This promotion is on hold. The voucher cannot be used right now."),
    Verdict.BATCH_NOT_REDEEMABLE: N_("This promotion has not started yet at the till."),
    Verdict.WRONG_STORE: N_("This voucher is not valid in this shop."),
    Verdict.NOT_YET_VALID: N_("This voucher is not valid yet."),
    Verdict.EXPIRED: N_("This voucher has expired."),
    Verdict.NOT_CLAIMED: N_("This voucher was never claimed by a customer, so it cannot be used."),
    Verdict.ALREADY_USED: N_("This voucher has already been used."),
    Verdict.PENDING: N_("This voucher is still being processed. It cannot be used yet."),
    Verdict.ISSUED_VALID: N_("Valid voucher: the code itself is the offer. Nothing to mark."),
    Verdict.ACCEPTED: N_("Valid voucher: give the discount."),
}
"""Each verdict's reason in English: the catalogue's keys."""

LOADING_PROGRESS = N_(
    "Voucher list loading ({progress} %): try again in a moment, or check the voucher at head office."
)


def english(tz: tzinfo | str = "UTC") -> Words:
    """The source's words, for what is not yet worded in a person's language."""
    return words_for("en", DOMAIN, tz)


def reason(words: Words, verdict: Verdict, *, progress: int | None = None) -> str:
    """Why the verdict, in a sentence; LOADING with how far the list is (None: not known)."""
    if verdict is Verdict.LOADING and progress is not None:
        return words.gettext(LOADING_PROGRESS, progress=words.number(progress))
    return words.gettext(REASONS[verdict])


def unreadable(words: Words, error: InvalidCode) -> str:
    """What is wrong with a text that is not a code (too short, a character no code has …)."""
    return words.gettext(error.message, **error.facts)


def invalid_code(words: Words, error: InvalidCode) -> str:
    """INVALID_CODE's reason followed by what is wrong with the text."""
    return f"{reason(words, Verdict.INVALID_CODE)} ({unreadable(words, error)})"


def used(words: Words, at: datetime, store: str | None, here: str | None) -> str:
    """When and where a voucher was used: at this shop (`store` is `here`), at another shop, or
    online (no store: the customer marked it, or head office)."""
    # TRANSLATORS: a CLDR date pattern (d: day, MMM: month's short name, yyyy: year), as a till writes a day
    day = words.date(at, format=words.pgettext("date of a use", "dd MMM yyyy"))
    # TRANSLATORS: a CLDR time pattern (HH: hour 00-23, h: 1-12, mm: minutes, a: AM/PM)
    moment = words.time(at, format=words.pgettext("time of a use", "HH:mm"))
    if store is not None and store == here:
        return words.gettext("Used at this shop on {date} at {time}.", date=day, time=moment)
    if store:
        return words.gettext("Used at shop {store} on {date} at {time}.", store=store, date=day, time=moment)
    return words.gettext(
        "Used online by the customer (or at head office) on {date} at {time}.", date=day, time=moment
    )
