"""How long ago, in words that fit the length: seconds, minutes, hours, then days.

One rule for every place a person reads an age: the till's status line and stale-snapshot
guard, and `voucher-sync status`.
"""

from __future__ import annotations

from datetime import timedelta

_UNITS = ((60, 1, "second"), (3600, 60, "minute"), (48 * 3600, 3600, "hour"))


def duration(delta: timedelta) -> str:
    """'1 second', '47 seconds', '3 minutes', '5 hours', '2 days' (whole units, rounded down)."""
    seconds = max(0, int(delta.total_seconds()))
    for below, size, unit in _UNITS:
        if seconds < below:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    days = seconds // 86400
    return f"{days} day{'' if days == 1 else 's'}"


def ago(delta: timedelta) -> str:
    """'just now' under ten seconds, else '<duration> ago'."""
    return "just now" if delta.total_seconds() < 10 else f"{duration(delta)} ago"
