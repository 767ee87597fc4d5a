"""How long, in words: vouchers.ages' whole units (seconds, minutes, hours below two days, then days),
worded in the `Words` given. Its messages are extracted into every domain that words ages (the
till's, the store host's and the dashboard's: words/extract.py), so each catalogue has them."""

from __future__ import annotations

from datetime import timedelta

from words.wording import Words


def duration(words: Words, delta: timedelta) -> str:
    """'1 second', '47 seconds', '3 minutes', '5 hours', '2 days' (whole units, rounded down)."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return words.ngettext("{n} second", "{n} seconds", seconds)
    if seconds < 3600:
        return words.ngettext("{n} minute", "{n} minutes", seconds // 60)
    if seconds < 48 * 3600:
        return words.ngettext("{n} hour", "{n} hours", seconds // 3600)
    return words.ngettext("{n} day", "{n} days", seconds // 86400)


def ago(words: Words, delta: timedelta) -> str:
    """'just now' under ten seconds, else '3 minutes ago'."""
    if delta.total_seconds() < 10:
        return words.gettext("just now")
    if delta.total_seconds() >= 48 * 3600:  # German: "vor 2 Tagen", not "vor 2 Tage"
        return words.ngettext("{n} day ago", "{n} days ago", int(delta.total_seconds()) // 86400)
    return words.gettext("{duration} ago", duration=duration(words, delta))
