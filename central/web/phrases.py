"""The dashboard's own words that pages and templates share: states, actions, what a finished action
says, why a role may not do something, channels and ratings, a till's clock.

Constants are English messages marked with `N_` (the catalogue's keys, domain "dashboard"), worded
in the page's language where they are shown; sentences are built here from whole translatable
sentences with placeholders, so each language orders its own words.
"""

from __future__ import annotations

from decimal import Decimal

from babel import numbers

from vouchers import roles
from vouchers.metrics import Benchmark, Rating
from vouchers.wording import N_
from words import Words

DOMAIN = "dashboard"

STATE_WORDS = {
    "configuring": N_("Configuring"),
    "validated": N_("Validated"),
    "generating": N_("Generating"),
    "generated": N_("Generated"),
    "distributed": N_("Distributed"),
    "redeemable": N_("Redeemable"),
    "locked": N_("Locked"),
    "void": N_("Void"),
}

# A voucher's status as a word (vouchers/status.py), as tables show it.
STATUS_WORDS = {
    "unused": N_("unused"),
    "used": N_("used"),
    "issued": N_("issued"),
    "pending": N_("pending"),
}

# The labels of life-cycle and claims actions, as buttons and menu items show them.
ACTION_LABELS = {
    "validate": N_("Validate"),
    "configure": N_("Back to configuring"),
    "generate": N_("Generate vouchers"),
    "distribute": N_("Distribute"),
    "redeemable": N_("Make redeemable"),
    "lock": N_("Lock"),
    "void": N_("Void batch"),
    "edit": N_("Edit batch"),
    "pause": N_("Pause batch"),
    "resume": N_("Resume batch"),
    "delete": N_("Delete batch"),
}

# What a finished action says at the top of the next page (?done=KEY; n is a count).
DONE = {
    "signed-out": N_("You are signed out."),
    "created": N_("Batch created. Add its types, then validate it."),
    "saved": N_("Batch saved."),
    "type-added": N_("Type added."),
    "type-saved": N_("Type saved."),
    "type-removed": N_("Type removed."),
    "validate": N_("The batch is valid: it can be generated now."),
    "configure": N_("The batch is back in configuring: edit it, then validate it again."),
    "generate": N_("Generating vouchers in the background. You may leave this page and come back."),
    "generated": N_("Generation finished: the vouchers exist. Distribute the batch when you hand them out."),
    "distribute": N_("Batch distributed: members may claim its vouchers."),
    "redeemable": N_("Batch redeemable: tills accept its vouchers."),
    "lock": N_("Batch locked: tills refuse its vouchers until it is redeemable again."),
    "void": N_("Batch void: nothing in it can be used any more."),
    "pause": N_("Batch paused: no new claims; vouchers already claimed stay valid."),
    "resume": N_("Batch resumed: members may claim again."),
    "store-created": N_("Store created."),
    "store-locale": N_(
        "Language saved: the store's tills use it from their next sync, unless a till's own setting says otherwise."
    ),
    "revoked": N_("Device revoked: its token stopped working."),
    "reviewed": N_("Marked as reviewed: both stores' tills see it closed at their next sync."),
    "already-reviewed": N_("Someone had already reviewed it: their note stands."),
    "review-needs-note": N_("Write a note to mark it reviewed (what was found, what was done)."),
    "staff-added": N_("Staff account added. Give them their password in person; they sign in at /dashboard."),
    "staff-role": N_("Role changed: it applies at once, to their sessions and API tokens."),
    "staff-disabled": N_("Account disabled: its sessions ended and its API tokens stopped working."),
    "staff-enabled": N_(
        "Account enabled: they can sign in again, and their unexpired API tokens work again."
    ),
    "unchanged": N_("Nothing to change: it was so already."),
    "token-revoked": N_("API token revoked: it stopped working at once."),
    "integration-revoked": N_(
        "Integration token revoked: the web site's claims with it are refused from now on."
    ),
    "voucher-reverted": N_("Voucher reverted to unused: the tills accept it again from their next sync."),
    "voucher-status": N_("Voucher status changed: the tills have it from their next sync."),
}


def done(words: Words, key: str | None, n: str = "") -> str | None:
    """What a finished action (?done=KEY) says, in words; None for a key there is none for."""
    if key == "deleted":
        if not n.isdigit():
            return words.gettext("Batch deleted with all its vouchers.")
        count = int(n)
        return words.ngettext(
            "Batch deleted with its {n} voucher.", "Batch deleted with its {n} vouchers.", count
        )
    text = DONE.get(key or "")
    return words.gettext(text) if text else None


def needs(words: Words, what: str, yours: str | None) -> str:
    """Why an action is not offered: 'Voiding a batch needs the admin role; yours is campaigns.'
    (Role names are the product's own, as `voucher-central staff` takes them.)"""
    need, phrase = roles.NEEDS[what]
    return words.gettext(
        "{what} needs the {role} role; yours is {yours}.",
        what=words.gettext(phrase),
        role=need.value,
        yours=yours or "—",
    )


def listed(words: Words, items: list[str]) -> str:
    """Items as one phrase: 'A', 'A and B', 'A, B and C' (each language its own joints)."""
    if not items:
        return ""
    phrase = items[0]
    for i, item in enumerate(items[1:], start=2):
        if i == len(items):
            # TRANSLATORS: the last two items of a list ("Lock and Pause batch")
            phrase = words.pgettext("list", "{head} and {last}", head=phrase, last=item)
        else:
            # TRANSLATORS: two items of a list that goes on ("Make redeemable, Lock")
            phrase = words.pgettext("list", "{head}, {item}", head=phrase, item=item)
    return phrase


def refused(words: Words, by_role: list[tuple[roles.Role, list[str]]], yours: str | None) -> str:
    """The actions the life cycle offers that a role does not, grouped by the role they need, in one
    sentence: 'Lock and Pause batch need the campaigns role, Void batch the admin role; yours is viewer.'"""
    if not by_role:
        return ""
    parts = []
    for i, (role, labels) in enumerate(by_role):
        actions = listed(words, [words.gettext(label) for label in labels])
        if i == 0:
            parts.append(
                words.ngettext(
                    "{actions} needs the {role} role",
                    "{actions} need the {role} role",
                    len(labels),
                    actions=actions,
                    role=role.value,
                )
            )
        else:
            # TRANSLATORS: a further group of actions after the first ("…, Void batch the admin role")
            parts.append(words.gettext("{actions} the {role} role", actions=actions, role=role.value))
    needed = parts[0]
    for part in parts[1:]:
        needed = words.pgettext("list", "{head}, {item}", head=needed, item=part)
    return words.gettext("{needed}; yours is {yours}.", needed=needed, yours=yours or "—")


# A till's verdict as a short label, as the refused-scans report lists them (ALREADY_USED: Already used).
VERDICT_LABELS = {
    "INVALID_CODE": N_("Invalid code"),
    "UNKNOWN": N_("Unknown"),
    "LOADING": N_("Loading"),
    "BATCH_VOID": N_("Batch void"),
    "BATCH_LOCKED": N_("Batch locked"),
    "BATCH_NOT_REDEEMABLE": N_("Batch not redeemable"),
    "WRONG_STORE": N_("Wrong store"),
    "NOT_YET_VALID": N_("Not yet valid"),
    "EXPIRED": N_("Expired"),
    "NOT_CLAIMED": N_("Not claimed"),
    "ALREADY_USED": N_("Already used"),
    "PENDING": N_("Pending"),
    "ISSUED_VALID": N_("Issued valid"),
    "ACCEPTED": N_("Accepted"),
}


def verdict_label(words: Words, verdict: str | None) -> str:
    """A till's verdict as a short label in words; an unknown code as the code reads."""
    label = VERDICT_LABELS.get(verdict or "")
    return words.gettext(label) if label else (verdict or "unknown").replace("_", " ").capitalize()


CHANNEL_WORDS = {
    "email": N_("Email"),
    "in-store-qr": N_("In-store QR"),
    "social-media": N_("Social media"),
    "events": N_("Events"),
}

RATING_WORDS = {
    Rating.BELOW: N_("Below typical"),
    Rating.TYPICAL: N_("Typical"),
    Rating.GOOD: N_("Above typical"),
    Rating.GREAT: N_("Great"),
}

SORT_WORDS = {
    "newest": N_("Newest first"),
    "oldest": N_("Oldest first"),
    "name": N_("Name"),
    "total": N_("Total"),
    "claimed": N_("Claimed"),
    "redeemed": N_("Redeemed"),
    "available": N_("Available"),
    "rate": N_("Redemption rate"),
}


def channel(words: Words, code: str | None) -> str:
    """A channel's name in words ('—' for none)."""
    if not code:
        return "—"
    label = CHANNEL_WORDS.get(code)
    return words.gettext(label) if label else code


def percent(words: Words, value: float | Decimal) -> str:
    """A rate given in per cent (30, 77.8) as the locale writes it: '77.8%', '77,8 %'."""
    fraction = Decimal(str(value)) / 100
    return numbers.format_percent(fraction, locale=words.locale, decimal_quantization=False)


def typical(words: Words, bench: Benchmark) -> str:
    """A channel's typical range of rates: '5–15%'."""
    return f"{words.number(Decimal(str(bench.typical_low)))}–{percent(words, bench.typical_high)}"


def great(words: Words, bench: Benchmark) -> str:
    """A channel's great rate: '20%+'."""
    return f"{percent(words, bench.great)}+"


def skew(words: Words, seconds: int | None) -> str:
    """A till's clock against the server's: 'in step', '3 min ahead', '2 h behind'."""
    if seconds is None:
        return words.gettext("unknown")
    if abs(seconds) < 2:
        return words.gettext("in step")
    s, ahead = abs(seconds), seconds > 0
    if s < 120:
        n = words.number(s)
        return words.gettext("{n} s ahead", n=n) if ahead else words.gettext("{n} s behind", n=n)
    if s < 7200:
        n = words.number(s // 60)
        return words.gettext("{n} min ahead", n=n) if ahead else words.gettext("{n} min behind", n=n)
    n = words.number(s // 3600)
    return words.gettext("{n} h ahead", n=n) if ahead else words.gettext("{n} h behind", n=n)


# The titles of the errors a page may show (vouchers/errors.py, vouchers/roles.py, central/services),
# as those modules write them: marked here so that dashboard/_error.html words them in the page's
# language. A title not listed (or changed there) is shown as it reads; details stay the source's.
ERROR_TITLES = (
    N_("Some fields are not valid"),
    N_("The batch configuration is not valid"),
    N_("Not a voucher code"),
    N_("Not found"),
    N_("Conflicts with the current state"),
    N_("Not allowed in the batch's current state"),
    N_("Deletion needs confirming with the number of vouchers"),
    N_("That status change is not allowed"),
    N_("Missing or wrong token"),
    N_("Not allowed with this token"),
    N_("The request body is too large"),
    N_("Your role does not allow this"),
    N_("Revoking this device needs confirming"),
    N_("This voucher cannot be marked as used"),
    N_("Too many requests"),
    N_("Signing in did not work"),
    N_("Head office needs an admin"),
)
