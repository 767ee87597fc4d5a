"""The status line: online or offline, last sync (or how far the voucher list has loaded), pending
events, snapshot age, what stops the till, and the camera.

The till's files are read off the UI thread (the scan screen's "status read" worker, which waits
for a scan's journal write to finish): the result comes as a `StatusRead` message, the camera's
state as a `CameraChanged`, and a newer message of either kind replaces an older one still queued.
A `StatusRead` goes on to the screen, which names the shop and times the last scans from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from textual.message import Message
from textual.widgets import Static

from kiosk.camera import CameraChanged
from localdb.errors import LocalDatabaseError, is_damaged, is_full
from localdb.health import Health
from vouchers import ages


@dataclass(frozen=True)
class TillStatus:
    """What the status line shows of the till: its files' health (nothing yet without a replica),
    and what the kiosk itself knows: a journal it cannot use, files it cannot read."""

    health: Health = field(default_factory=Health)
    journal_problem: LocalDatabaseError | None = None  # the journal is there, but cannot be written
    unreadable: str | None = None  # why the till's files cannot be read
    timezone: tzinfo | None = None  # the store's, from the replica (None: no replica yet)


@dataclass
class StatusRead(Message):
    """The till's status, read by a worker; only the newest one in the queue is shown."""

    status: TillStatus

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StatusRead)


def describe(
    health: Health,
    now: datetime,
    *,
    stale_after: timedelta,
    offline_after: timedelta,
    till: TillStatus | None = None,
) -> tuple[str, bool]:
    """The status text, and whether it is a warning (offline, stale snapshot, stopped agent, a till
    that cannot redeem); `till`: what the kiosk knows beyond the files' `health`."""
    last_pull = health.last_pull_at
    last_push = health.last_push_at
    last_ok = max([t for t in (last_pull, last_push) if t], default=None)
    last_error = health.last_error_at
    online = (
        last_ok is not None and now - last_ok < offline_after and not (last_error and last_error > last_ok)
    )
    parts = ["online" if online else "OFFLINE"]
    loading = last_pull is not None and not health.snapshot_complete  # never "synced" before complete
    if loading:
        progress = health.snapshot_progress
        parts.append("voucher list loading" + ("" if progress is None else f": {progress} %"))
    else:
        parts.append(f"synced {ages.ago(now - last_pull)}" if last_pull else "never synced")
    pending = health.pending
    parts.append(f"{pending} pending" if pending else "nothing pending")
    stale = last_pull is None or now - last_pull > stale_after
    if last_pull and stale:
        parts.append(f"SNAPSHOT {ages.duration(now - last_pull).upper()} OLD")
    if health.stopped:
        parts.append("SYNC STOPPED: call head office")
    trouble = till_trouble(health, till or TillStatus(health))
    parts.extend(trouble)
    if health.unreviewed:
        n = health.unreviewed
        parts.append(f"{n} CONFLICT{'S' if n > 1 else ''} OR REJECTION{'S' if n > 1 else ''} TO REVIEW (F2)")
    if health.scanner_layout:  # codes still redeem, corrected: told, not a warning
        parts.append("SCANNER ON THE WRONG KEYBOARD LAYOUT (F2)")
    return "  |  ".join(parts), (not online) or stale or loading or bool(health.stopped) or bool(trouble)


def till_trouble(health: Health, till: TillStatus) -> list[str]:
    """What stops this till redeeming, or what became of its journal, for the status line."""
    out = []
    problem = till.journal_problem
    if problem is not None:
        what = (
            "DISK FULL"
            if is_full(problem)
            else "JOURNAL DAMAGED"
            if is_damaged(problem)
            else "JOURNAL UNUSABLE"
        )
        out.append(f"{what}: CANNOT REDEEM, CALL THE MANAGER")
    if till.unreadable:
        out.append("TILL FILES UNREADABLE: CANNOT CHECK VOUCHERS, CALL THE MANAGER")
    if health.rebuilding:
        out.append("VOUCHER LIST BEING REBUILT: CANNOT CHECK VOUCHERS YET")
    for loss in health.recent_losses:
        if not (problem is not None and loss.how == "missing"):  # there, but unusable: not "missing"
            out.append(loss.short())
    return out


class StatusLine(Static):
    """Shows the newest `StatusRead` and `CameraChanged` posted to it; blank until the first."""

    def __init__(self, *, stale_after: timedelta, offline_after: timedelta, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stale_after = stale_after
        self.offline_after = offline_after
        self.status: TillStatus | None = None
        self.camera: CameraChanged | None = None

    def on_status_read(self, message: StatusRead) -> None:
        self.status = message.status
        self.show()

    def on_camera_changed(self, message: CameraChanged) -> None:
        message.stop()
        self.camera = message
        self.show()

    def show(self) -> None:
        """The line again, from what was posted last (the ages as of now)."""
        if self.status is None:
            return
        status = self.status
        text, warning = describe(
            status.health,
            datetime.now(UTC),
            stale_after=self.stale_after,
            offline_after=self.offline_after,
            till=status,
        )
        if self.camera is not None:
            text += f"  |  {self.camera.words()}"
            warning = warning or self.camera.warning
        self.set_class(warning, "warning")
        self.update(text)
