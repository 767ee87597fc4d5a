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

from kiosk import wording
from kiosk.camera import CameraChanged
from localdb.errors import LocalDatabaseError, is_damaged, is_full
from localdb.health import Health
from localdb.journals import JournalLoss
from words import Words, ages


@dataclass(frozen=True)
class TillStatus:
    """What the status line shows of the till: its files' health (nothing yet without a replica),
    and what the kiosk itself knows: a journal it cannot use, files it cannot read. `words`: the
    till's as of this read (the store's locale may have come with a snapshot since the last)."""

    health: Health = field(default_factory=Health)
    journal_problem: LocalDatabaseError | None = None  # the journal is there, but cannot be written
    unreadable: str | None = None  # why the till's files cannot be read
    timezone: tzinfo | None = None  # the store's, from the replica (None: no replica yet)
    words: Words = field(default_factory=wording.english)


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
    words: Words | None = None,
) -> tuple[str, bool]:
    """The status text, and whether it is a warning (offline, stale snapshot, stopped agent, a till
    that cannot redeem); `till`: what the kiosk knows beyond the files' `health`; `words`: the
    till's (None: those of `till`, else English)."""
    words = words or (till.words if till is not None else wording.english())
    last_pull = health.last_pull_at
    last_push = health.last_push_at
    last_ok = max([t for t in (last_pull, last_push) if t], default=None)
    last_error = health.last_error_at
    online = (
        last_ok is not None and now - last_ok < offline_after and not (last_error and last_error > last_ok)
    )
    parts = [words.gettext("online") if online else words.gettext("OFFLINE")]
    loading = last_pull is not None and not health.snapshot_complete  # never "synced" before complete
    if loading:
        progress = health.snapshot_progress
        parts.append(
            words.gettext("voucher list loading")
            if progress is None
            else words.gettext("voucher list loading: {progress} %", progress=words.number(progress))
        )
    elif last_pull:
        parts.append(words.gettext("synced {ago}", ago=ages.ago(words, now - last_pull)))
    else:
        parts.append(words.gettext("never synced"))
    pending = health.pending
    parts.append(
        words.ngettext("{n} pending", "{n} pending", pending) if pending else words.gettext("nothing pending")
    )
    stale = last_pull is None or now - last_pull > stale_after
    if last_pull and stale:
        age = ages.duration(words, now - last_pull)
        parts.append(words.gettext("SNAPSHOT {age} OLD", age=age.upper()))
    if health.stopped:
        parts.append(words.gettext("SYNC STOPPED: call head office"))
    trouble = till_trouble(health, till or TillStatus(health), words)
    parts.extend(trouble)
    if health.unreviewed:
        parts.append(
            words.ngettext(
                "{n} CONFLICT OR REJECTION TO REVIEW (F2)",
                "{n} CONFLICTS OR REJECTIONS TO REVIEW (F2)",
                health.unreviewed,
            )
        )
    if health.scanner_layout:  # codes still redeem, corrected: told, not a warning
        parts.append(words.gettext("SCANNER ON THE WRONG KEYBOARD LAYOUT (F2)"))
    return "  |  ".join(parts), (not online) or stale or loading or bool(health.stopped) or bool(trouble)


def loss_short(words: Words, loss: JournalLoss) -> str:
    """A journal gone or gone back, in a few words for the status line."""
    if loss.how == "missing":
        said = words.ngettext(
            "JOURNAL MISSING: head office had {n} event from it",
            "JOURNAL MISSING: head office had {n} events from it",
            loss.acknowledged,
        )
    elif loss.how == "rewound":
        return words.ngettext(
            "JOURNAL WENT BACK TO AN OLDER COPY: head office had {n} event from it",
            "JOURNAL WENT BACK TO AN OLDER COPY: head office had {n} events from it",
            loss.acknowledged,
        )
    else:
        said = words.ngettext(
            "JOURNAL REPLACED: head office had {n} event from the old one",
            "JOURNAL REPLACED: head office had {n} events from the old one",
            loss.acknowledged,
        )
    if loss.unsent:
        said += words.ngettext(", {n} NEVER SENT", ", {n} NEVER SENT", loss.unsent)
    return said


def till_trouble(health: Health, till: TillStatus, words: Words | None = None) -> list[str]:
    """What stops this till redeeming, or what became of its journal, for the status line."""
    words = words or till.words
    out = []
    problem = till.journal_problem
    if problem is not None:
        if is_full(problem):
            out.append(words.gettext("DISK FULL: CANNOT REDEEM, CALL THE MANAGER"))
        elif is_damaged(problem):
            out.append(words.gettext("JOURNAL DAMAGED: CANNOT REDEEM, CALL THE MANAGER"))
        else:
            out.append(words.gettext("JOURNAL UNUSABLE: CANNOT REDEEM, CALL THE MANAGER"))
    if till.unreadable:
        out.append(words.gettext("TILL FILES UNREADABLE: CANNOT CHECK VOUCHERS, CALL THE MANAGER"))
    if health.rebuilding:
        out.append(words.gettext("VOUCHER LIST BEING REBUILT: CANNOT CHECK VOUCHERS YET"))
    for loss in health.recent_losses:
        if not (problem is not None and loss.how == "missing"):  # there, but unusable: not "missing"
            out.append(loss_short(words, loss))
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
            text += f"  |  {self.camera.words(status.words)}"
            warning = warning or self.camera.warning
        self.set_class(warning, "warning")
        self.update(text)
