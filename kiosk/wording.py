"""The till's words: which language it speaks, and the words its screens share (gettext domain "kiosk").

The till speaks its setting `language` when set, else the store's locale as head office set it
(the snapshot carries it: `Till.locale()`), else its environment's (LANG), else English.
`till_words` is the one place that decides it; the app asks it through `Kiosk.words()`, the
command line and the redeem use case with the same facts. Verdicts' reasons are the "verdicts" domain's (words/verdicts.py), in the
same language; the rest of what the till says is marked here and in the screens with `N_` or
given to `Words.gettext` as it is, and worded at use.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from localdb import wording as store_words
from vouchers.lifecycle import State
from vouchers.status import Status
from vouchers.verdict import Verdict
from vouchers.wording import N_
from words import SOURCE, Words, from_environment, language_of, words_for

DOMAIN = "kiosk"


def till_language(setting: str | None, store_locale: str | None) -> str:
    """The language (or locale, with a region: 'de_CH') the till words things in: its setting, else
    the store's locale from head office when the product speaks it, else the environment's (LANG,
    as a terminal on a till that has not synced yet has it), else English."""
    for tag in (setting, store_locale, from_environment()):
        if tag and language_of(tag):
            return tag
    return SOURCE


def till_words(
    setting: str | None, store_locale: str | None, tz: tzinfo | str = "UTC", domain: str = DOMAIN
) -> Words:
    """The till's words of `domain` ("kiosk", or "verdicts" for the reasons), times in `tz`."""
    return words_for(till_language(setting, store_locale), domain, tz)


def in_domain(words: Words, domain: str) -> Words:
    """The same language, region and zone as `words`, in another domain ("verdicts")."""
    return words_for(str(words.locale), domain, words.tz)


def english(tz: tzinfo | str = "UTC") -> Words:
    """The source's words, where no till's language is known (a message worded before any file is read)."""
    return words_for(SOURCE, DOMAIN, tz)


# --- what the till's files tell (shared with `voucher-sync status`: localdb/wording.py) -----------

when = store_words.when
layout_names = store_words.layout_names
advice = store_words.advice


def clock(words: Words, moment: datetime) -> str:
    """A time of day to the second, in the store's zone (the strip of last scans)."""
    return words.time(moment, format="HH:mm:ss")


# --- what the core names with codes --------------------------------------------------------

STATES = {
    State.CONFIGURING: N_("configuring"),
    State.VALIDATED: N_("validated"),
    State.GENERATING: N_("generating"),
    State.GENERATED: N_("generated"),
    State.DISTRIBUTED: N_("distributed"),
    State.REDEEMABLE: N_("redeemable"),
    State.LOCKED: N_("locked"),
    State.VOID: N_("void"),
}
"""A batch's state, as the manager view names it."""

STATUSES = {
    Status.UNUSED: N_("not used"),
    Status.USED: N_("used"),
    Status.ISSUED: N_("issued"),
    Status.PENDING: N_("pending"),
}
"""A voucher's status, as the manager view names it."""

OUTCOMES = {
    "accepted": N_("accepted"),
    "duplicate": N_("accepted"),
    "conflict": N_("conflict"),
    "rejected": N_("rejected"),
}
"""Head office's answer to one of the till's events."""


def state(words: Words, value: str | None) -> str:
    try:
        return words.gettext(STATES[State(value)]) if value else "?"
    except ValueError:
        return value or "?"


def status(words: Words, value: str | None) -> str:
    try:
        return words.gettext(STATUSES[Status(value)]) if value else ""
    except ValueError:
        return value or ""


def outcome(words: Words, value: str | None) -> str:
    if not value:
        return ""
    return words.gettext(OUTCOMES[value]) if value in OUTCOMES else value


VERDICTS = {
    Verdict.INVALID_CODE: N_("Invalid code"),
    Verdict.UNKNOWN: N_("Unknown"),
    Verdict.LOADING: N_("Loading"),
    Verdict.BATCH_VOID: N_("Batch void"),
    Verdict.BATCH_LOCKED: N_("Batch locked"),
    Verdict.BATCH_NOT_REDEEMABLE: N_("Batch not redeemable"),
    Verdict.WRONG_STORE: N_("Wrong store"),
    Verdict.NOT_YET_VALID: N_("Not yet valid"),
    Verdict.EXPIRED: N_("Expired"),
    Verdict.NOT_CLAIMED: N_("Not claimed"),
    Verdict.ALREADY_USED: N_("Already used"),
    Verdict.PENDING: N_("Pending"),
    Verdict.ISSUED_VALID: N_("Issued valid"),
    Verdict.ACCEPTED: N_("Accepted"),
}
"""A verdict by its name, as the manager view lists it (a scan now, a refusal's)."""


def verdict(words: Words, value: Verdict | str | None) -> str:
    """ALREADY_USED → Already used; a code the till does not know, as it is."""
    if not value:
        return words.gettext("unknown")
    try:
        return words.gettext(VERDICTS[Verdict(value)])
    except ValueError:
        return str(value).replace("_", " ").capitalize()
