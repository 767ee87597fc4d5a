"""The status line: online or offline, last sync (or how far the voucher list has loaded), pending
events, snapshot age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual.widgets import Static

from localdb.errors import is_damaged, is_full
from vouchers import ages


def describe(
    health: dict[str, Any], now: datetime, *, stale_after: timedelta, offline_after: timedelta
) -> tuple[str, bool]:
    """The status text, and whether it is a warning (offline, stale snapshot, stopped agent)."""
    last_pull = _time(health.get("last_pull_at"))
    last_push = _time(health.get("last_push_at"))
    last_ok = max([t for t in (last_pull, last_push) if t], default=None)
    last_error = _time(health.get("last_error_at"))
    online = (
        last_ok is not None and now - last_ok < offline_after and not (last_error and last_error > last_ok)
    )
    parts = ["online" if online else "OFFLINE"]
    loading = (
        last_pull is not None and health.get("snapshot_complete") is False
    )  # never "synced" before complete
    if loading:
        progress = health.get("snapshot_progress")
        parts.append("voucher list loading" + ("" if progress is None else f": {progress} %"))
    else:
        parts.append(f"synced {ages.ago(now - last_pull)}" if last_pull else "never synced")
    pending = health.get("pending", 0)
    parts.append(f"{pending} pending" if pending else "nothing pending")
    stale = last_pull is None or now - last_pull > stale_after
    if last_pull and stale:
        parts.append(f"SNAPSHOT {ages.duration(now - last_pull).upper()} OLD")
    if health.get("stopped"):
        parts.append("SYNC STOPPED: call head office")
    trouble = till_trouble(health)
    parts.extend(trouble)
    if health.get("unreviewed"):
        n = health["unreviewed"]
        parts.append(f"{n} CONFLICT{'S' if n > 1 else ''} OR REJECTION{'S' if n > 1 else ''} TO REVIEW (F2)")
    if health.get("scanner_layout"):  # codes still redeem, corrected: told, not a warning
        parts.append("SCANNER ON THE WRONG KEYBOARD LAYOUT (F2)")
    return "  |  ".join(parts), (not online) or stale or loading or bool(health.get("stopped")) or bool(
        trouble
    )


def till_trouble(health: dict[str, Any]) -> list[str]:
    """What stops this till redeeming, or what became of its journal, for the status line."""
    out = []
    problem = health.get("journal_problem")
    if problem is not None:
        what = (
            "DISK FULL"
            if is_full(problem)
            else "JOURNAL DAMAGED"
            if is_damaged(problem)
            else "JOURNAL UNUSABLE"
        )
        out.append(f"{what}: CANNOT REDEEM, CALL THE MANAGER")
    if health.get("unreadable"):
        out.append("TILL FILES UNREADABLE: CANNOT CHECK VOUCHERS, CALL THE MANAGER")
    if health.get("rebuilding"):
        out.append("VOUCHER LIST BEING REBUILT: CANNOT CHECK VOUCHERS YET")
    out.extend(loss.short() for loss in health.get("journal_losses") or ())
    return out


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class StatusLine(Static):
    def show(
        self,
        health: dict[str, Any],
        *,
        stale_after: timedelta,
        offline_after: timedelta,
        camera: str | None = None,
    ) -> None:
        text, warning = describe(
            health, datetime.now(UTC), stale_after=stale_after, offline_after=offline_after
        )
        if camera:
            text += f"  |  {camera}"
            warning = warning or camera.startswith("CAMERA")
        self.set_class(warning, "warning")
        self.update(text)
