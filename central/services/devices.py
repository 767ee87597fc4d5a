"""Stores, enrolment codes, devices and their tokens, heartbeats."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from central.db.schema import devices, enrolment_codes, meta, stores, utcnow
from central.schemas import StoreCreate
from central.services.ids import new_id, new_token, token_hash
from central.services.ledger import Device
from vouchers.codes import ALPHABET
from vouchers.errors import Conflict, NotFound, Unauthorized
from vouchers.wire import EnrolRequest, HeartbeatRequest


def store_dict(row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "timezone": row["timezone"],
        "created_at": row["created_at"],
    }


def create_store(conn: Connection, data: StoreCreate) -> dict[str, Any]:
    values = {**data.model_dump(), "created_at": utcnow()}
    try:
        with conn.begin_nested():
            conn.execute(insert(stores).values(**values))
    except IntegrityError:
        raise Conflict(f"A store with id '{data.id}' already exists.") from None
    return values


def get_store(conn: Connection, store_id: str):
    row = conn.execute(select(stores).where(stores.c.id == store_id)).mappings().first()
    if row is None:
        raise NotFound(f"There is no store '{store_id}'.")
    return row


def list_stores(conn: Connection) -> list[dict[str, Any]]:
    return [store_dict(r) for r in conn.execute(select(stores).order_by(stores.c.id)).mappings()]


def _enrolment_code() -> str:
    """Eight characters people can read aloud, in two groups: 7KQ2-M9XR."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _code_key(code: str) -> str:
    return token_hash(code.replace("-", "").replace(" ", "").upper())


def create_enrolment_code(conn: Connection, store_id: str, minutes: int) -> dict[str, Any]:
    get_store(conn, store_id)
    code = _enrolment_code()
    now = utcnow()
    expires = now + timedelta(minutes=minutes)
    conn.execute(
        insert(enrolment_codes).values(
            code_hash=_code_key(code), store_id=store_id, created_at=now, expires_at=expires
        )
    )
    return {"code": code, "store_id": store_id, "expires_at": expires}


def enrol(conn: Connection, data: EnrolRequest) -> dict[str, Any]:
    """Trade a one-use enrolment code for a device identity and token."""
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
            "This enrolment code is unknown, already used or expired. Ask head office for a new one.",
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
        )
    )
    conn.execute(
        update(enrolment_codes)
        .where(enrolment_codes.c.code_hash == row["code_hash"])
        .values(used_at=now, device_id=device_id)
    )
    key = conn.execute(select(meta.c.value).where(meta.c.key == "code_hash_key")).scalar_one()
    return {"device_id": device_id, "store_id": row["store_id"], "token": token, "code_hash_key": key}


def device_for_token(conn: Connection, token: str) -> Device | None:
    row = conn.execute(
        select(devices.c.id, devices.c.store_id, devices.c.revoked_at).where(
            devices.c.token_hash == token_hash(token)
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    return Device(id=row.id, store_id=row.store_id)


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


def list_devices(conn: Connection, store_id: str) -> list[dict[str, Any]]:
    get_store(conn, store_id)
    rows = conn.execute(select(devices).where(devices.c.store_id == store_id).order_by(devices.c.enrolled_at))
    return [{k: v for k, v in r.items() if k != "token_hash"} for r in rows.mappings()]


class RevokeNotConfirmed(Conflict):
    """The device had events not yet pushed at its last heartbeat: revoking strands them."""

    slug = "revoke-not-confirmed"
    title = "Revoking this device needs confirming"


def revoke(conn: Connection, device_id: str, confirm: int | None = None) -> dict[str, Any]:
    """Revoke a device; when its last heartbeat said events were still to be pushed, only with
    `confirm` equal to that number (they stay in the till's journal: enrolled again, the till
    pushes them under this device). Revoking a revoked device changes nothing."""
    device = get_device(conn, device_id)
    pending = device["pending"] or 0
    answer = {
        "id": device_id,
        "revoked": True,
        "pending": pending,
        "last_heartbeat_at": device["last_heartbeat_at"],
    }
    if device["revoked_at"] is not None:
        return {**answer, "revoked_at": device["revoked_at"]}
    if pending > 0 and confirm != pending:
        when = (
            device["last_heartbeat_at"].isoformat(timespec="seconds") if device["last_heartbeat_at"] else "?"
        )
        raise RevokeNotConfirmed(
            f"Device {device_id} ({device['name']}) had {pending} event(s) not yet pushed at its last heartbeat "
            f"({when}). Revoking strands them in the till's journal until the till is enrolled again, which pushes "
            f"them under this device. Repeat with confirm={pending} to revoke anyway.",
            pending=pending,
            last_heartbeat_at=device["last_heartbeat_at"],
        )
    now = utcnow()
    conn.execute(
        update(devices)
        .where(devices.c.id == device_id, devices.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return {**answer, "revoked_at": now}


def device_names(conn: Connection, ids: set[str]) -> dict[str, str]:
    """Device id → the name it enrolled with, for the ids given."""
    if not ids:
        return {}
    return dict(conn.execute(select(devices.c.id, devices.c.name).where(devices.c.id.in_(sorted(ids)))).all())


def stores_overview(conn: Connection) -> list[dict[str, Any]]:
    """Every store with how many devices it has (active ones) and its latest heartbeat."""
    out = []
    rows = list(
        conn.execute(select(devices.c.store_id, devices.c.revoked_at, devices.c.last_heartbeat_at)).all()
    )
    for store in list_stores(conn):
        mine = [r for r in rows if r.store_id == store["id"]]
        beats = [
            r.last_heartbeat_at for r in mine if r.last_heartbeat_at is not None and r.revoked_at is None
        ]
        out.append(
            {
                **store,
                "devices": len(mine),
                "active": sum(r.revoked_at is None for r in mine),
                "last_heartbeat_at": max(beats) if beats else None,
            }
        )
    return out


def get_device(conn: Connection, device_id: str) -> dict[str, Any]:
    row = conn.execute(select(devices).where(devices.c.id == device_id)).mappings().first()
    if row is None:
        raise NotFound(f"There is no device '{device_id}'.")
    return {k: v for k, v in row.items() if k != "token_hash"}
