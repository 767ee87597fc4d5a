"""The status line: online or offline, last sync, pending events, snapshot age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual.widgets import Static

from vouchers import ages


def describe(health: dict[str, Any], now: datetime, *, stale_after: timedelta, offline_after: timedelta) -> tuple[str, bool]:
    """The status text, and whether it is a warning (offline, stale snapshot, stopped agent)."""
    last_pull = _time(health.get("last_pull_at"))
    last_push = _time(health.get("last_push_at"))
    last_ok = max([t for t in (last_pull, last_push) if t], default=None)
    last_error = _time(health.get("last_error_at"))
    online = last_ok is not None and now - last_ok < offline_after and not (last_error and last_error > last_ok)
    parts = ["online" if online else "OFFLINE"]
    parts.append(f"synced {ages.ago(now - last_pull)}" if last_pull else "never synced")
    pending = health.get("pending", 0)
    parts.append(f"{pending} pending" if pending else "nothing pending")
    stale = last_pull is None or now - last_pull > stale_after
    if last_pull and stale:
        parts.append(f"SNAPSHOT {ages.duration(now - last_pull).upper()} OLD")
    if health.get("stopped"):
        parts.append("SYNC STOPPED: call head office")
    return "  |  ".join(parts), (not online) or stale or bool(health.get("stopped"))


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class StatusLine(Static):
    def show(self, health: dict[str, Any], *, stale_after: timedelta, offline_after: timedelta,
             camera: str | None = None) -> None:
        text, warning = describe(health, datetime.now(UTC), stale_after=stale_after, offline_after=offline_after)
        if camera:
            text += f"  |  {camera}"
            warning = warning or camera.startswith("CAMERA")
        self.set_class(warning, "warning")
        self.update(text)
