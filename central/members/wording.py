"""The member pages' fixed words, marked for the `members` catalogue and worded at use in the page's
language: finished actions, seed 002's statuses as a member reads them, how times are written, and
why something was refused (rate limits, mail)."""

from __future__ import annotations

import math

from vouchers.status import Status
from vouchers.wording import N_
from words import Words

# What a finished action says at the top of the next page (?done=KEY).
DONE = {
    "signed-out": N_("You are signed out."),
    "claimed": N_("Claimed! Your voucher is below, and always in My vouchers."),
    "marked": N_("Marked as used. Thank you!"),
}

# Seed 002's statuses as a member reads them: a name, and what it means for them.
STATUS_NAMES = {
    Status.UNUSED.value: N_("Unused"),
    Status.USED.value: N_("Used"),
    Status.ISSUED.value: N_("Issued"),
    Status.PENDING.value: N_("Pending further processing"),
}
STATUS_MEANINGS = {
    Status.UNUSED.value: N_(
        "Not used yet. In a shop, show the code at the till: the till marks it used. "
        "Tap MARK AS USED only where no till scans it (online, or when the shop asks you to)."
    ),
    Status.USED.value: N_("This voucher has been used. Only the shop's staff can change that."),
    Status.ISSUED.value: N_("Show or enter the code: the code itself is the offer. Nothing to mark."),
    Status.PENDING.value: N_("Being processed elsewhere: there is nothing for you to do."),
}

# Why a voucher of another status than unused cannot be marked used (seed 002).
NOT_UNUSED = {
    Status.USED.value: N_("Only an unused voucher can be marked as used (this one is used already)."),
    Status.ISSUED.value: N_("Only an unused voucher can be marked as used (this one is issued)."),
    Status.PENDING.value: N_("Only an unused voucher can be marked as used (this one is pending)."),
}
FORM_REUSED = N_("This form was already used for something else. Reload the page and try again.")

# TRANSLATORS: a calendar day; {day} is its number, {month} the month's short name, {year} the year
DAY = N_("{day} {month} {year}")
# TRANSLATORS: an instant, written by the server in UTC and again by the phone in its own zone with
# the same words: {day} {month} {year} as a day, {hour}:{minute} on a 24-hour clock, {zone} the zone
MOMENT = N_("{day} {month} {year} at {hour}:{minute} {zone}")

FORM_EXPIRED = N_("This form had expired or did not come from this site. Reload the page and try again.")
NOT_YOURS = N_("You have no voucher with this id.")
BAD_CLAIM_LINK = N_("This claim link is not valid. Check the link, or ask the shop for a new one.")

# What was asked too often, by the kind of request a rate limit refused (central/limits.py).
TOO_MANY = {
    "mail": N_("Too many sign-in mails were asked for from this connection in a short time."),
    "mail-address": N_("Too many sign-in mails to this e-mail address were asked for in a short time."),
    "codes": N_("Too many codes and links were tried in a short time."),
    "claims": N_("Too many claims were made in a short time."),
}


def too_many(words: Words, kind: str, retry_after: int) -> str:
    """Why a rate limit refused, and when to try again, in the member's words."""
    what = words.gettext(TOO_MANY[kind])
    if retry_after >= 90:
        wait = words.ngettext(
            "Please try again in {n} minute.", "Please try again in {n} minutes.", math.ceil(retry_after / 60)
        )
    else:
        wait = words.ngettext(
            "Please try again in {n} second.", "Please try again in {n} seconds.", max(retry_after, 1)
        )
    return f"{what} {wait}"


def mail_not_sent(words: Words, configured: bool) -> str:
    """Why no sign-in mail went out: this server sends no mail, or its mail server refused."""
    if not configured:
        return words.gettext(
            "This shop cannot send sign-in mails at the moment. Please try again later, or ask the shop."
        )
    return words.gettext("The mail could not be sent. Please try again in a few minutes.")
