"""The till's words: which language it speaks, and the words its screens share (gettext domain "kiosk").

The till speaks its setting `language` when set, else the store's locale as head office set it
(the snapshot carries it: `Till.locale()`), else English. `till_words` is the one place that
decides it; the app asks it through `Kiosk.words()`, the command line and the redeem use case
with the same facts. Verdicts' reasons are the "verdicts" domain's (words/verdicts.py), in the
same language; the rest of what the till says is marked here and in the screens with `N_` or
given to `Words.gettext` as it is, and worded at use.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from vouchers.layouts import BY_ID
from vouchers.lifecycle import State
from vouchers.status import Status
from vouchers.verdict import Verdict
from vouchers.wording import N_
from words import SOURCE, Words, language_of, words_for

DOMAIN = "kiosk"


def till_language(setting: str | None, store_locale: str | None) -> str:
    """The language (or locale, with a region: 'de_CH') the till words things in: its setting, else
    the store's locale from head office when the product speaks it, else English."""
    for tag in (setting, store_locale):
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


# --- ages -------------------------------------------------------------------------------------


def when(words: Words, moment: datetime | None) -> str:
    """A moment for the manager, day and time, in the store's zone; '?' when not known."""
    if moment is None:
        return "?"
    # TRANSLATORS: a CLDR pattern for a day and time in the manager's tables (d day, MMM month, HH:mm)
    return words.datetime(moment, format=words.pgettext("manager's date and time", "dd MMM yyyy HH:mm"))


def clock(words: Words, moment: datetime) -> str:
    """A time of day to the second, in the store's zone (the strip of last scans)."""
    return words.time(moment, format="HH:mm:ss")


# --- keyboard layouts -------------------------------------------------------------------------

LAYOUT_NAMES = {
    "de": N_("German (QWERTZ)"),
    "ch": N_("Swiss (QWERTZ)"),
    "fr": N_("French (AZERTY)"),
    "be": N_("Belgian (AZERTY)"),
}
"""vouchers.layouts' layouts by id, as people call them."""
LAYOUT_COUNTRIES = {"de": N_("Germany"), "ch": N_("Switzerland"), "fr": N_("France"), "be": N_("Belgium")}
"""The scanner's "keyboard country" setting that matches each layout."""


def _either(words: Words, names: list[str]) -> str:
    text = names[0] if names else ""
    for name in names[1:]:
        text = words.gettext("{one} or {other}", one=text, other=name)
    return text


def layout_names(words: Words, ids: tuple[str, ...] | list[str]) -> str:
    """'German (QWERTZ)', or 'German (QWERTZ) or Swiss (QWERTZ)'."""
    known = [
        words.gettext(LAYOUT_NAMES[i]) if i in LAYOUT_NAMES else BY_ID[i].name if i in BY_ID else i
        for i in ids
    ]
    return _either(words, known)


def advice(words: Words, ids: tuple[str, ...] | list[str]) -> str:
    """Which setting to change, in words: on the scanner, or on the till."""
    countries = [
        words.gettext(LAYOUT_COUNTRIES[i]) if i in LAYOUT_COUNTRIES else BY_ID[i].country if i in BY_ID else i
        for i in ids
    ]
    return words.gettext(
        "set the scanner's keyboard country to {countries} (its manual has a code to scan for it), "
        "or set the till's keyboard layout to US English",
        countries=_either(words, countries),
    )


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
