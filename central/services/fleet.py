"""The fleet as operations watch it: devices by the age of their last heartbeat, quiet devices,
and the generation jobs running. Read from the database, so every server process answers alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, or_, select

from central.db.schema import batches, devices, stores, utcnow
from vouchers.lifecycle import State

# (label, upper bound) of the heartbeat-age buckets; past the last bound: "older", none yet: "never"
AGE_BUCKETS: tuple[tuple[str, timedelta], ...] = (
    ("under_5m", timedelta(minutes=5)),
    ("5m_to_15m", timedelta(minutes=15)),
    ("15m_to_1h", timedelta(hours=1)),
    ("1h_to_1d", timedelta(days=1)),
)
OLDER, NEVER = "over_1d", "never"


@dataclass(frozen=True)
class QuietDevice:
    """An active device not heard from for a while: `quiet_for` since its last heartbeat, or since it
    enrolled when it never sent one (`last_heartbeat_at` None); `pending` and `version` as that
    heartbeat said; `role` till or hub (a shop's hub is watched like a till)."""

    id: str
    name: str
    role: str
    store_id: str
    store_name: str
    last_heartbeat_at: datetime | None
    enrolled_at: datetime
    pending: int | None
    version: str | None
    quiet_for: timedelta


@dataclass(frozen=True)
class Generation:
    """A batch being generated: `generated` vouchers made so far of `total`."""

    id: str
    generated: int
    total: int


def heartbeat_ages(conn: Connection, now: datetime | None = None) -> dict[str, int]:
    """Active (not revoked) devices counted by how long ago their last heartbeat was."""
    now = now or utcnow()
    beat = devices.c.last_heartbeat_at
    whens = [(beat.is_(None), NEVER)] + [(beat > now - bound, label) for label, bound in AGE_BUCKETS]
    bucket = case(*whens, else_=OLDER).label("bucket")
    rows = conn.execute(
        select(bucket, func.count()).where(devices.c.revoked_at.is_(None)).group_by(bucket)
    ).all()
    counts = {label: 0 for label, _ in AGE_BUCKETS} | {OLDER: 0, NEVER: 0}
    counts.update({label: n for label, n in rows})
    return counts


def quiet_devices(conn: Connection, limit: timedelta, now: datetime | None = None) -> list[QuietDevice]:
    """Active devices not heard from for `limit` or longer (never heard from: enrolled that long
    ago), the longest quiet first, with their store and what their last heartbeat said."""
    now = now or utcnow()
    since = now - limit
    beat = devices.c.last_heartbeat_at
    heard = func.coalesce(beat, devices.c.enrolled_at)
    query = (
        select(
            devices.c.id,
            devices.c.name,
            devices.c.role,
            devices.c.store_id,
            stores.c.name.label("store_name"),
            beat,
            devices.c.enrolled_at,
            devices.c.pending,
            devices.c.version,
        )
        .join(stores, stores.c.id == devices.c.store_id)
        .where(
            devices.c.revoked_at.is_(None),
            or_(and_(beat.is_(None), devices.c.enrolled_at <= since), beat <= since),
        )
        .order_by(heard, devices.c.id)
    )
    return [
        QuietDevice(**row, quiet_for=now - (row["last_heartbeat_at"] or row["enrolled_at"]))
        for row in conn.execute(query).mappings()
    ]


def running_generations(conn: Connection) -> list[Generation]:
    """Batches generating now: how many vouchers are made of how many."""
    query = (
        select(batches.c.id, batches.c.generated, batches.c.total)
        .where(batches.c.state == State.GENERATING.value)
        .order_by(batches.c.id)
    )
    return [Generation(**row) for row in conn.execute(query).mappings()]
