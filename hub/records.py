"""The records hub/store.py hands out: a till as the hub knows it, and the hub's status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HubDevice:
    """A device of the store, from head office's device list: `store_id` is the hub's store ("" before
    the hub has head office's first snapshot page); `revoked` devices' tokens are refused."""

    id: str
    store_id: str
    name: str
    revoked: bool
    role: str = "till"  # till or hub (vouchers.wire.DeviceRole)


@dataclass(frozen=True)
class TillStatus:
    """One device of the store as `voucher-hub status` shows it, with the last heartbeat it sent the
    hub (None: none yet)."""

    device_id: str
    name: str
    role: str
    revoked: bool
    last_heartbeat_at: datetime | None
    version: str | None
    pending: int | None  # events its journal held that it had not pushed, as it said
    snapshot_cursor: int | None


@dataclass(frozen=True)
class HubStatus:
    """What hub.db says for `voucher-hub status`. `snapshot_complete`: head office's snapshot has
    come whole at least once (before that the hub neither decides nor serves pages);
    `unforwarded`: events head office has not answered yet; `open_problems`: the conflicts and
    rejections the hub serves that nobody reviewed yet."""

    store_id: str | None
    timezone: str | None
    upstream_cursor: int
    snapshot_complete: bool
    head: int
    events: int
    unforwarded: int
    open_problems: int
    last_pull_at: datetime | None
    last_forward_at: datetime | None
    last_devices_at: datetime | None
    last_contact_at: datetime | None  # the newest of the three
    devices: tuple[TillStatus, ...]
