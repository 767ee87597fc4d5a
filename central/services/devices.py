"""Stores, enrolment codes, devices and their tokens, heartbeats.

A device is a till or a shop's hub (its `role`, chosen by the enrolment code that made it): a hub
also reads its store's device list (`store_devices`) and sends its tills' events (ledger._maker)."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import Connection, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError

from central.db.engine import next_seq
from central.db.schema import devices, enrolment_codes, meta, stores, utcnow
from central.schemas import StoreCreate
from central.services.ids import new_id, new_token, token_hash
from central.services.ledger import Device
from vouchers.codes import ALPHABET
from vouchers.errors import Conflict, Forbidden, NotFound, Unauthorized
from vouchers.wire import DeviceRole, EnrolRequest, EnrolResponse, HeartbeatRequest, StoreDevice
from vouchers.wording import said


@dataclass(frozen=True)
class Store:
    """A shop, as the API lists it and the dashboard shows it."""

    id: str
    name: str
    timezone: str  # an IANA name; vouchers' validity days are counted in it
    locale: str | None  # its tills' language and formats (words.normal_locale); None: each till's own
    created_at: datetime


@dataclass(frozen=True)
class StoreOverview(Store):
    """A store with how many devices it has (`active`: not revoked) and its latest heartbeat of an
    active one (None: none heard from yet)."""

    devices: int
    active: int
    last_heartbeat_at: datetime | None


@dataclass(frozen=True)
class DeviceInfo:
    """A device (a till, or a shop's hub: `role`) as head office sees it: never its token's hash. The
    heartbeat's figures are None until its first heartbeat; `clock_skew_seconds` is the device's clock
    minus the server's."""

    id: str
    store_id: str
    name: str
    role: str  # till or hub
    enrolled_at: datetime
    revoked_at: datetime | None
    last_heartbeat_at: datetime | None
    version: str | None
    pending: int | None  # events not yet pushed, at the last heartbeat
    last_pull_at: datetime | None
    last_push_at: datetime | None
    snapshot_cursor: int | None
    clock_skew_seconds: int | None


@dataclass(frozen=True)
class StoreDevices(Store):
    """A store and every device enrolled at it, the earliest first."""

    devices: list[DeviceInfo]


@dataclass(frozen=True)
class EnrolmentCode:
    """A one-use enrolment code, in clear only in this answer (the database keeps its hash); it
    enrols a device of `role`."""

    code: str
    store_id: str
    expires_at: datetime
    role: str


@dataclass(frozen=True)
class Revocation:
    """A revoked device: when (the first revocation's time when it was revoked already), and what its
    last heartbeat said was still to be pushed."""

    id: str
    revoked: bool
    pending: int
    last_heartbeat_at: datetime | None
    revoked_at: datetime


def _store(row: RowMapping) -> Store:
    return Store(
        id=row["id"],
        name=row["name"],
        timezone=row["timezone"],
        locale=row["locale"],
        created_at=row["created_at"],
    )


def create_store(conn: Connection, data: StoreCreate) -> Store:
    store = Store(**data.model_dump(), created_at=utcnow())
    try:
        with conn.begin_nested():
            conn.execute(
                insert(stores).values(
                    id=store.id,
                    name=store.name,
                    timezone=store.timezone,
                    locale=store.locale,
                    created_at=store.created_at,
                )
            )
    except IntegrityError:
        raise Conflict(said("A store with id '{id}' already exists.", id=data.id)) from None
    return store


def set_store_locale(conn: Connection, store_id: str, locale: str | None) -> Store:
    """The store's locale (None: none), sent to its tills with their next page: the change counter
    moves, so waiting pulls answer with the store as it is now."""
    get_store(conn, store_id)
    conn.execute(update(stores).where(stores.c.id == store_id).values(locale=locale))
    next_seq(conn)
    return get_store(conn, store_id)


def get_store(conn: Connection, store_id: str) -> Store:
    row = conn.execute(select(stores).where(stores.c.id == store_id)).mappings().first()
    if row is None:
        raise NotFound(said("There is no store '{id}'.", id=store_id))
    return _store(row)


def list_stores(conn: Connection) -> list[Store]:
    return [_store(r) for r in conn.execute(select(stores).order_by(stores.c.id)).mappings()]


def store_with_devices(conn: Connection, store_id: str) -> StoreDevices:
    store = get_store(conn, store_id)
    return StoreDevices(**asdict(store), devices=list_devices(conn, store_id))


def _enrolment_code() -> str:
    """Eight characters people can read aloud, in two groups: 7KQ2-M9XR."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _code_key(code: str) -> str:
    return token_hash(code.replace("-", "").replace(" ", "").upper())


def create_enrolment_code(
    conn: Connection, store_id: str, minutes: int, role: DeviceRole = "till"
) -> EnrolmentCode:
    get_store(conn, store_id)
    code = _enrolment_code()
    now = utcnow()
    expires = now + timedelta(minutes=minutes)
    conn.execute(
        insert(enrolment_codes).values(
            code_hash=_code_key(code), store_id=store_id, created_at=now, expires_at=expires, role=role
        )
    )
    return EnrolmentCode(code=code, store_id=store_id, expires_at=expires, role=role)


def enrol(conn: Connection, data: EnrolRequest) -> EnrolResponse:
    """Trade a one-use enrolment code for a device identity and token, of the code's role."""
    now = utcnow()
    row = (
        conn.execute(
            select(enrolment_codes).where(enrolment_codes.c.code_hash == _code_key(data.enrolment_code))
        )
        .mappings()
        .first()
    )
    if row is None or row["used_at"] is not None or row["expires_at"] <= now:
        raise Unauthorized(
            said("This enrolment code is unknown, already used or expired. Ask head office for a new one."),
            title="Enrolment code not valid",
        )
    device_id = new_id("d")
    token = new_token()
    conn.execute(
        insert(devices).values(
            id=device_id,
            store_id=row["store_id"],
            name=data.device_name,
            token_hash=token_hash(token),
            enrolled_at=now,
            role=row["role"],
        )
    )
    conn.execute(
        update(enrolment_codes)
        .where(enrolment_codes.c.code_hash == row["code_hash"])
        .values(used_at=now, device_id=device_id)
    )
    key = conn.execute(select(meta.c.value).where(meta.c.key == "code_hash_key")).scalar_one()
    return EnrolResponse(
        device_id=device_id, store_id=row["store_id"], token=token, code_hash_key=key, role=row["role"]
    )


def device_for_token(conn: Connection, token: str) -> Device | None:
    row = conn.execute(
        select(devices.c.id, devices.c.store_id, devices.c.role, devices.c.revoked_at).where(
            devices.c.token_hash == token_hash(token)
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    return Device(id=row.id, store_id=row.store_id, role=row.role)


def store_devices(conn: Connection, device: Device) -> list[StoreDevice]:
    """Every device of the hub's own store, with its token's hash, for the hub to check its tills'
    tokens and revocations; Forbidden for any other device."""
    if device.role != "hub":
        raise Forbidden(
            said(
                "This device is a till: only a device enrolled with a hub's enrolment code "
                "(voucher-central store enrolment-code STORE --hub) may read its store's device list."
            ),
            title="Only a shop's hub may read the device list",
        )
    rows = conn.execute(
        select(
            devices.c.id,
            devices.c.name,
            devices.c.role,
            devices.c.token_hash,
            devices.c.revoked_at,
            devices.c.enrolled_at,
        )
        .where(devices.c.store_id == device.store_id)
        .order_by(devices.c.enrolled_at, devices.c.id)
    )
    return [
        StoreDevice(
            device_id=r.id,
            name=r.name,
            role=r.role,
            token_hash=r.token_hash,
            revoked=r.revoked_at is not None,
            enrolled_at=r.enrolled_at,
        )
        for r in rows
    ]


def heartbeat(conn: Connection, device: Device, data: HeartbeatRequest) -> datetime:
    now = utcnow()
    skew = None
    if data.device_time:  # clamped: a clock decades off is simply "very wrong"
        skew = max(-(2**31 - 1), min(2**31 - 1, round((data.device_time - now).total_seconds())))
    conn.execute(
        update(devices)
        .where(devices.c.id == device.id)
        .values(
            last_heartbeat_at=now,
            version=data.version,
            pending=data.pending,
            last_pull_at=data.last_pull_at,
            last_push_at=data.last_push_at,
            snapshot_cursor=data.snapshot_cursor,
            clock_skew_seconds=skew,
        )
    )
    return now


_DEVICE_COLUMNS = [devices.c[f.name] for f in fields(DeviceInfo)]  # never token_hash


def list_devices(conn: Connection, store_id: str) -> list[DeviceInfo]:
    get_store(conn, store_id)
    rows = conn.execute(
        select(*_DEVICE_COLUMNS).where(devices.c.store_id == store_id).order_by(devices.c.enrolled_at)
    )
    return [DeviceInfo(**r) for r in rows.mappings()]


class RevokeNotConfirmed(Conflict):
    """The device had events not yet pushed at its last heartbeat: revoking strands them."""

    slug = "revoke-not-confirmed"
    title = "Revoking this device needs confirming"


def revoke(conn: Connection, device_id: str, confirm: int | None = None) -> Revocation:
    """Revoke a device; when its last heartbeat said events were still to be pushed, only with
    `confirm` equal to that number (they stay in the till's journal: enrolled again, the till
    pushes them under this device). Revoking a revoked device changes nothing."""
    device = get_device(conn, device_id)
    pending = device.pending or 0
    if device.revoked_at is not None:
        return Revocation(device_id, True, pending, device.last_heartbeat_at, device.revoked_at)
    if pending > 0 and confirm != pending:
        when = device.last_heartbeat_at.isoformat(timespec="seconds") if device.last_heartbeat_at else "?"
        raise RevokeNotConfirmed(
            said(
                "Device {device} ({name}) had {pending} event(s) not yet pushed at its last heartbeat ({when}). "
                "Revoking strands them in the till's journal until the till is enrolled again, which pushes "
                "them under this device. Repeat with confirm={pending} to revoke anyway.",
                device=device_id,
                name=device.name,
                pending=pending,
                when=when,
            ),
            pending=pending,
            last_heartbeat_at=device.last_heartbeat_at,
        )
    now = utcnow()
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return Revocation(device_id, True, pending, device.last_heartbeat_at, now)


def device_names(conn: Connection, ids: set[str]) -> dict[str, str]:
    """Device id → the name it enrolled with, for the ids given."""
    if not ids:
        return {}
    return dict(conn.execute(select(devices.c.id, devices.c.name).where(devices.c.id.in_(sorted(ids)))).all())


def stores_overview(conn: Connection) -> list[StoreOverview]:
    """Every store with how many devices it has (active ones) and its latest heartbeat."""
    out = []
    rows = list(
        conn.execute(select(devices.c.store_id, devices.c.revoked_at, devices.c.last_heartbeat_at)).all()
    )
    for store in list_stores(conn):
        mine = [r for r in rows if r.store_id == store.id]
        beats = [
            r.last_heartbeat_at for r in mine if r.last_heartbeat_at is not None and r.revoked_at is None
        ]
        out.append(
            StoreOverview(
                **asdict(store),
                devices=len(mine),
                active=sum(r.revoked_at is None for r in mine),
                last_heartbeat_at=max(beats) if beats else None,
            )
        )
    return out


def get_device(conn: Connection, device_id: str) -> DeviceInfo:
    row = conn.execute(select(*_DEVICE_COLUMNS).where(devices.c.id == device_id)).mappings().first()
    if row is None:
        raise NotFound(said("There is no device '{id}'.", id=device_id))
    return DeviceInfo(**row)
