"""What the till's files tell people, in words, for the kiosk's manager view and `voucher-sync
status` alike: a journal that is gone or went back, who won a conflict, the scanner typing through
the wrong layout, and an error of the store host's programs.

Each function takes the `Words` of the person it answers (the till's, in the "kiosk" domain; the
command line's, in "store"); its messages are extracted into both catalogues (words/extract.py).
In English they are also what `voucher-sync status --json` and the agent's log say (the records'
own `words()` and `details()` call them with `ENGLISH`), so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from localdb.errors import translate
from vouchers.errors import VoucherError
from vouchers.layouts import BY_ID
from vouchers.wording import N_, Said
from words import SOURCE, Words, words_for
from words.ages import ago

if TYPE_CHECKING:
    from localdb.journals import JournalLoss
    from localdb.notices import LayoutNotice
    from localdb.till import Outcome

ENGLISH = words_for(SOURCE, "store")
"""The source's words in UTC: what the files' records say of themselves (logs, --json)."""


def when(words: Words, moment: datetime | None) -> str:
    """A moment, day and time, in the words' zone; '?' when not known."""
    if moment is None:
        return "?"
    # TRANSLATORS: a CLDR pattern for a day and time in the manager's tables (d day, MMM month, HH:mm)
    return words.datetime(moment, format=words.pgettext("manager's date and time", "dd MMM yyyy HH:mm"))


def moment_of(words: Words, text: str | None) -> str:
    """A time as the files keep it (ISO 8601, UTC when it names no zone) in the words' zone; '?'
    when none, the text itself when it is not a time."""
    if not text:
        return "?"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return when(words, moment if moment.tzinfo else moment.replace(tzinfo=UTC))


# --- a journal gone or gone back ----------------------------------------------------------------


def loss(words: Words, lost: JournalLoss) -> str:
    """What became of a journal the agent had pushed from."""
    at = words.gettext(" ({when})", when=moment_of(words, lost.at)) if lost.at else ""
    if lost.unsent:
        unsent = words.ngettext(
            "; {n} event it held never reached head office and is lost",
            "; {n} events it held never reached head office and are lost",
            lost.unsent,
        )
    else:
        unsent = words.gettext("; nothing it held was lost")
    if lost.how == "missing":
        return (
            words.ngettext(
                "journal.db is missing: head office had acknowledged {n} event from the journal that was there",
                "journal.db is missing: head office had acknowledged {n} events from the journal that was there",
                lost.acknowledged,
            )
            + unsent
        )
    if lost.how == "rewound":
        return words.gettext(
            "journal.db went back to an older copy{when}: head office had acknowledged {acknowledged} of "
            "its events, the copy holds {held}; events written since are pushed from #{next}",
            when=at,
            acknowledged=words.number(lost.acknowledged),
            held=words.number(lost.held or 0),
            next=(lost.held or 0) + 1,
        )
    return (
        words.gettext(
            "journal.db was replaced{when}: the journal before it is gone; head office had acknowledged "
            "{acknowledged} of its events",
            when=at,
            acknowledged=words.number(lost.acknowledged),
        )
        + unsent
    )


# --- conflicts and rejections ---------------------------------------------------------------------

# Why head office (or the shop's hub) rejected one of the till's events: the reason codes of
# PROTOCOL.md's upload, the verdict codes the server reached among them, in the manager's words
REJECTIONS: dict[str, str] = {
    "UNKNOWN": N_("head office does not know this voucher"),
    "INVALID_CODE": N_("this is not a voucher code"),
    "BATCH_VOID": N_("its promotion had been cancelled"),
    "BATCH_LOCKED": N_("its promotion was on hold"),
    "BATCH_NOT_REDEEMABLE": N_("its promotion had not started yet"),
    "WRONG_STORE": N_("the voucher is not valid in this shop"),
    "NOT_YET_VALID": N_("the voucher was not valid yet"),
    "EXPIRED": N_("the voucher had expired"),
    "NOT_CLAIMED": N_("no customer had claimed the voucher"),
    "ALREADY_USED": N_("the voucher had already been used"),
    "PENDING": N_("the voucher was still being processed"),
    "ISSUED_VALID": N_("the code itself is the offer: there was nothing to mark"),
    "ID_IN_USE": N_("another store's device already sent an event with the same id"),
    "UNKNOWN_DEVICE": N_("head office does not know the device that made it"),
    "UNKNOWN_PROBLEM": N_("the problem it closes is not one of this store's"),
    "UNKNOWN_REDEMPTION": N_("head office does not know the redemption it cancels"),
    "NOT_REDEEMED": N_("that redemption no longer counts, so there was nothing to cancel"),
}
MALFORMED = "MALFORMED"  # an event head office could not read, or the till could not send: its why after


def rejection(words: Words, reason: str | None) -> str:
    """Why an event was rejected, in words, with its code beside (what head office's staff and
    the logs call it); a code this till does not know yet, as it came."""
    if not reason:
        return ""
    code, _, detail = reason.partition(": ")
    if code == MALFORMED:
        return words.gettext("it could not be read: {detail} ({code})", detail=detail or "?", code=code)
    if reason not in REJECTIONS:
        return reason
    return words.gettext("{why} ({code})", why=words.gettext(REJECTIONS[reason]), code=reason)


def outcome_details(words: Words, p: Outcome) -> str:
    """Who won a conflict, or why head office rejected the event (its reason in its own words)."""
    if p.won:
        if p.device_id:
            return words.gettext(
                "this store redeemed it first; store {store} (device {device}) redeemed it again at {at}",
                store=p.store_id,
                device=p.device_id,
                at=moment_of(words, p.at),
            )
        return words.gettext(
            "this store redeemed it first; store {store} redeemed it again at {at}",
            store=p.store_id,
            at=moment_of(words, p.at),
        )
    if p.outcome != "conflict":
        return rejection(words, p.reason)
    if p.winner_store is None:  # marked used online by its member, or at head office
        return words.gettext(
            "already used elsewhere (online or at head office) at {at}", at=moment_of(words, p.winner_at)
        )
    if p.winner_device:
        return words.gettext(
            "already used at store {store} (device {device}) at {at}",
            store=p.winner_store,
            device=p.winner_device,
            at=moment_of(words, p.winner_at),
        )
    return words.gettext(
        "already used at store {store} at {at}", store=p.winner_store, at=moment_of(words, p.winner_at)
    )


# --- the scanner's keyboard layout -----------------------------------------------------------------

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


def notice(words: Words, standing: LayoutNotice, now: datetime) -> str:
    """The scanner types through the wrong layout: since when, and what to change."""
    from localdb.notices import FIXED_AFTER

    return words.ngettext(
        "the barcode scanner types as a US keyboard, but this till's keyboard is {layout} ({n} scan "
        "corrected, the first {first}, the last {last}): {advice}. The notice ends after {fixed} scans in "
        "a row arrive right, or when a manager marks it fixed (the till's manager view, key l)",
        "the barcode scanner types as a US keyboard, but this till's keyboard is {layout} ({n} scans "
        "corrected, the first {first}, the last {last}): {advice}. The notice ends after {fixed} scans in "
        "a row arrive right, or when a manager marks it fixed (the till's manager view, key l)",
        standing.corrected,
        layout=layout_names(words, standing.layouts),
        first=ago(words, now - standing.since),
        last=ago(words, now - standing.last),
        advice=advice(words, standing.layouts),
        fixed=FIXED_AFTER,
    )


# --- errors ---------------------------------------------------------------------------------------

ERROR_TITLES = (
    N_("The request cannot be carried out"),
    N_("Configuration error"),
    N_("Local database problem"),
    N_("Local database unreadable"),
    N_("Local database missing"),
    N_("The disk is full"),
    N_("A till file is damaged"),
    N_("Device not enrolled"),
    N_("No till files"),
    N_("No hub database"),
    N_("Kiosk already running"),
    N_("Cannot create the data directory"),
    N_("Cannot create the state directory"),
    N_("Sync problem"),
    N_("Server unreachable or answering badly"),
    N_("Server busy"),
    N_("Device revoked"),
    N_("Upload refused as malformed"),
    N_("Enrolment code not valid"),
    N_("The hub has no snapshot yet"),
    N_("Manager PIN"),
    N_("Scanner problem"),
    N_("Cannot read the image"),
    N_("No such barcode decoder"),
    N_("A barcode decoder cannot be loaded"),
    N_("Camera not available"),
)
"""The titles of the errors the store host's programs raise (localdb, sync, hub, the kiosk's and
the core's)."""


def error_title(words: Words, exc: VoucherError) -> str:
    """An error's title in the person's language (one of ERROR_TITLES; another as raised)."""
    return words.gettext(exc.title) if exc.title in ERROR_TITLES else exc.title


def error_detail(words: Words, exc: VoucherError) -> str:
    """An error's detail in the person's language when it was raised with its facts
    (vouchers.wording.said), else as raised; what the system or head office said stays theirs."""
    return words.say(exc.said) if isinstance(exc.said, Said) else exc.detail


def error(words: Words, exc: VoucherError) -> str:
    """'<title>: <detail>', both in the person's language."""
    return words.gettext("{title}: {detail}", title=error_title(words, exc), detail=error_detail(words, exc))


def file_problem(words: Words, exc: BaseException, path: Path) -> str:
    """A problem with the till's files in words: SQLite's or the system's error first put in words
    about `path` (localdb.errors.translate), a VoucherError as raised."""
    return error(words, exc if isinstance(exc, VoucherError) else translate(exc, path))
