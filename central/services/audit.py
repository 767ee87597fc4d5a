"""The audit log: every change at head office, who made it, when, from which client address, what
(batch, voucher, store, device, staff account, token, problem) and its state before and after.

Rows are only ever inserted (this module has no other statement, and the database's triggers of
revision 0007 refuse UPDATE and DELETE), in the same transaction as the change they record, so a
change and its record commit together or not at all."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import date, datetime
from typing import Any, NotRequired, TypedDict

from sqlalchemy import Connection, insert, select

from central.db.schema import audit_log, batch_types, batches, devices, stores, utcnow, vouchers
from central.services.ids import split_voucher_id
from vouchers.csvsafe import safe_row


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a staff member (by e-mail, with their role), the bootstrap admin token,
    an integration, or the system (a command run on the server's host, a migration)."""

    name: str
    kind: str  # staff, admin-token, integration, system
    role: str | None = None
    address: str | None = None


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    entity_kind: str,
    entity_id: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=utcnow(),
            actor=actor.name[:200],
            actor_kind=actor.kind,
            address=(actor.address or None) and actor.address[:100],
            action=action,
            entity_kind=entity_kind,
            entity_id=entity_id,
            before=_plain(before),
            after=_plain(after),
        )
    )


def _plain(value: Any) -> Any:
    """JSON-ready: records (the states below) as objects, times as ISO 8601."""
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class ChangeBox(TypedDict):
    """What the block of `change` may set: `id` (a new entity's) and `after` (what to keep, when not
    the state read after the block)."""

    id: str | None
    after: NotRequired[Any]


@contextmanager
def change(
    conn: Connection,
    actor: Actor,
    action: str,
    entity_kind: str,
    entity_id: str | None,
    state: Callable[[Connection, str], object] | None = None,
) -> Iterator[ChangeBox]:
    """Record the change the block makes, with `state(conn, id)` before and after it (same
    transaction). The block may set box["id"] (a new entity's) or box["after"] (what to keep)."""
    box: ChangeBox = {"id": entity_id}
    before = state(conn, entity_id) if state is not None and entity_id else None
    yield box
    after = (
        box["after"]
        if "after" in box
        else (state(conn, box["id"]) if state is not None and box["id"] else None)
    )
    record(conn, actor, action, entity_kind, box["id"], before, after)


# --- the state of things, as the log keeps it -------------------------------------------------------


@dataclass(frozen=True)
class TypeState:
    id: str
    name: str
    serial_start: int
    serial_end: int
    value: str
    min_purchase: str | None
    initial_status: str


@dataclass(frozen=True)
class BatchState:
    """A batch's configuration, life-cycle state and counters, with its types in serial order."""

    identifier: str
    description: str
    serial_start: int
    serial_end: int
    valid_from: date | None
    valid_until: date | None
    stores: list[str] | None
    channel: str | None
    state: str
    claims: str
    total: int
    claimed: int
    redeemed: int
    types: list[TypeState]


@dataclass(frozen=True)
class VoucherState:
    member_id: str | None
    status: str | None
    used_at: datetime | None
    used_store: str | None
    used_device: str | None


@dataclass(frozen=True)
class StoreState:
    name: str
    timezone: str
    locale: str | None


@dataclass(frozen=True)
class DeviceState:
    store_id: str
    name: str
    revoked_at: datetime | None
    pending: int | None


_BATCH_COLUMNS = [batches.c[f.name] for f in fields(BatchState) if f.name != "types"]


def batch_state(conn: Connection, batch_id: str) -> BatchState | None:
    row = conn.execute(select(*_BATCH_COLUMNS).where(batches.c.id == batch_id)).mappings().first()
    if row is None:
        return None
    types = conn.execute(
        select(
            batch_types.c.id,
            batch_types.c.name,
            batch_types.c.serial_start,
            batch_types.c.serial_end,
            batch_types.c.value,
            batch_types.c.min_purchase,
            batch_types.c.initial_status,
        )
        .where(batch_types.c.batch_id == batch_id)
        .order_by(batch_types.c.serial_start)
    ).mappings()
    return BatchState(**row, types=[TypeState(**t) for t in types])


def voucher_state(conn: Connection, vid: str) -> VoucherState | None:
    key = split_voucher_id(vid)
    if key is None:
        return None
    row = (
        conn.execute(
            select(
                vouchers.c.member_id,
                vouchers.c.status,
                vouchers.c.used_at,
                vouchers.c.used_store,
                vouchers.c.used_device,
            ).where(vouchers.c.batch_id == key[0], vouchers.c.serial == key[1])
        )
        .mappings()
        .first()
    )
    return VoucherState(**row) if row else None


def store_state(conn: Connection, store_id: str) -> StoreState | None:
    row = (
        conn.execute(select(stores.c.name, stores.c.timezone, stores.c.locale).where(stores.c.id == store_id))
        .mappings()
        .first()
    )
    return StoreState(**row) if row else None


def device_state(conn: Connection, device_id: str) -> DeviceState | None:
    row = (
        conn.execute(
            select(devices.c.store_id, devices.c.name, devices.c.revoked_at, devices.c.pending).where(
                devices.c.id == device_id
            )
        )
        .mappings()
        .first()
    )
    return DeviceState(**row) if row else None


# --- reading it ---------------------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Entry:
    """One line of the audit log; `before` and `after` are the states as kept (JSON), None when the
    change has none (a creation has no before)."""

    id: int
    at: datetime
    actor: str
    actor_kind: str  # staff, admin-token, integration, system
    address: str | None
    action: str
    entity_kind: str
    entity_id: str | None
    before: Any
    after: Any

    @property
    def before_text(self) -> str:
        """The state before as one line of JSON, keys sorted ('' for none)."""
        return _json_text(self.before)

    @property
    def after_text(self) -> str:
        return _json_text(self.after)


def entries(
    conn: Connection,
    *,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
    before_id: int | None = None,
) -> list[Entry]:
    """Newest first, filtered: by who (exact), by what (an entity id), by action (a prefix such as
    'batch.'), by time (since inclusive, until exclusive); `before_id` pages further back."""
    query = select(*(audit_log.c[f.name] for f in fields(Entry)))
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if entity:
        query = query.where(audit_log.c.entity_id == entity)
    if action:
        query = query.where(audit_log.c.action.startswith(action, autoescape=True))
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    rows = conn.execute(query.order_by(audit_log.c.id.desc()).limit(limit)).mappings()
    return [Entry(**r) for r in rows]


CSV_COLUMNS = [f.name for f in fields(Entry)]


def as_csv(rows: list[Entry]) -> Iterator[str]:
    """The entries as CSV; formula-like cells (anyone may name a member '=…') open as text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            safe_row(
                [
                    r.id,
                    r.at.isoformat(),
                    r.actor,
                    r.actor_kind,
                    r.address or "",
                    r.action,
                    r.entity_kind,
                    r.entity_id or "",
                    r.before_text,
                    r.after_text,
                ]
            )
        )
    yield buffer.getvalue()
