"""Batches and their types: create, edit, validate, move through the life cycle, delete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from central.db.engine import next_seq
from central.db.schema import batch_types, batches, stores, tombstones, utcnow, vouchers
from central.schemas import BatchCreate, BatchPatch, TypeCreate, TypePatch
from central.services.ids import new_id, new_token
from vouchers import lifecycle
from vouchers.errors import DeleteNotConfirmed, FieldError, NotFound
from vouchers.lifecycle import Action, Claims, State
from vouchers.metrics import metrics
from vouchers.validation import BatchConfig, TypeConfig, validate_batch, voucher_count
from vouchers.wording import said


def get_row(conn: Connection, batch_id: str) -> RowMapping:
    query = select(batches).where(batches.c.id == batch_id)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(said("There is no batch '{batch}'.", batch=batch_id))
    return row


def type_rows(conn: Connection, batch_id: str) -> list[RowMapping]:
    return list(
        conn.execute(
            select(batch_types).where(batch_types.c.batch_id == batch_id).order_by(batch_types.c.serial_start)
        ).mappings()
    )


def type_dict(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "batch_id": row["batch_id"],
        "name": row["name"],
        "serial_start": row["serial_start"],
        "serial_end": row["serial_end"],
        "value": row["value"],
        "min_purchase": row["min_purchase"],
        "initial_status": row["initial_status"],
    }


def batch_dict(row: RowMapping, types: list[RowMapping], public_url: str) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "identifier": row["identifier"],
        "description": row["description"],
        "serial_start": row["serial_start"],
        "serial_end": row["serial_end"],
        "valid_from": row["valid_from"],
        "valid_until": row["valid_until"],
        "stores": row["stores"],
        "channel": row["channel"],
        "state": row["state"],
        "claims": row["claims"],
        "allowed_actions": lifecycle.allowed_actions(row["state"], row["claims"]),
        "types": [type_dict(t) for t in types],
        "metrics": metrics(row["total"], row["claimed"], row["redeemed"]).as_dict(),
        "claim_url": claim_url(public_url, row["claim_token"]),
        "claim_token": row["claim_token"],
        "validation_errors": row["validation_errors"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if row["state"] == State.GENERATING:
        out["generation"] = {
            "done": row["generated"],
            "total": row["total"],
            "error": row["generation_error"],
        }
    return out


def claim_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/claim/{token}"


def load(conn: Connection, batch_id: str, public_url: str) -> dict[str, Any]:
    return batch_dict(get_row(conn, batch_id), type_rows(conn, batch_id), public_url)


def list_all(conn: Connection, public_url: str) -> list[dict[str, Any]]:
    rows = list(conn.execute(select(batches).order_by(batches.c.created_at, batches.c.id)).mappings())
    all_types: dict[str, list[RowMapping]] = {}
    for t in conn.execute(select(batch_types).order_by(batch_types.c.serial_start)).mappings():
        all_types.setdefault(t["batch_id"], []).append(t)
    return [batch_dict(r, all_types.get(r["id"], []), public_url) for r in rows]


def _touch(conn: Connection, batch_id: str, **values: Any) -> None:
    conn.execute(
        update(batches)
        .where(batches.c.id == batch_id)
        .values(**values, updated_at=utcnow(), change_seq=next_seq(conn))
    )


def create(conn: Connection, data: BatchCreate) -> str:
    batch_id = new_id("b")
    now = utcnow()
    conn.execute(
        insert(batches).values(
            id=batch_id,
            **data.model_dump(),
            state=State.CONFIGURING.value,
            claims=Claims.ACTIVE.value,
            claim_token=new_token(16),
            total=0,
            claimed=0,
            redeemed=0,
            generated=0,
            created_at=now,
            updated_at=now,
            change_seq=next_seq(conn),
        )
    )
    return batch_id


def _begin_edit(conn: Connection, row: RowMapping) -> None:
    """Edits happen in configuring; an edit of a validated batch returns it to configuring, and
    any edit makes the last validation's report out of date (Validate reports afresh)."""
    target = lifecycle.require_editable(row["state"], row["claims"])
    if row["state"] != target or row["validation_errors"]:
        _touch(conn, row["id"], state=target.value, validation_errors=None)


def patch(conn: Connection, batch_id: str, data: BatchPatch) -> None:
    row = get_row(conn, batch_id)
    _begin_edit(conn, row)
    changes = data.model_dump(exclude_unset=True)
    if changes:
        _touch(conn, batch_id, **changes)


def add_type(conn: Connection, batch_id: str, data: TypeCreate) -> str:
    row = get_row(conn, batch_id)
    _begin_edit(conn, row)
    type_id = new_id("t")
    values = data.model_dump()
    values["serial_start"] = row["serial_start"] if data.serial_start is None else data.serial_start
    values["serial_end"] = row["serial_end"] if data.serial_end is None else data.serial_end
    values["initial_status"] = data.initial_status.value
    conn.execute(
        insert(batch_types).values(id=type_id, batch_id=batch_id, **values, change_seq=next_seq(conn))
    )
    return type_id


def get_type_row(conn: Connection, batch_id: str, type_id: str) -> RowMapping:
    row = (
        conn.execute(
            select(batch_types).where(batch_types.c.id == type_id, batch_types.c.batch_id == batch_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(said("Batch '{batch}' has no type '{type}'.", batch=batch_id, type=type_id))
    return row


def patch_type(conn: Connection, batch_id: str, type_id: str, data: TypePatch) -> None:
    _begin_edit(conn, get_row(conn, batch_id))
    get_type_row(conn, batch_id, type_id)
    changes = data.model_dump(exclude_unset=True)
    conn.execute(
        update(batch_types).where(batch_types.c.id == type_id).values(**changes, change_seq=next_seq(conn))
    )


def delete_type(conn: Connection, batch_id: str, type_id: str) -> None:
    _begin_edit(conn, get_row(conn, batch_id))
    get_type_row(conn, batch_id, type_id)
    conn.execute(delete(batch_types).where(batch_types.c.id == type_id))
    conn.execute(insert(tombstones).values(change_seq=next_seq(conn), kind="type", entity_id=type_id))


def configs(row: RowMapping, types: list[RowMapping]) -> tuple[BatchConfig, list[TypeConfig]]:
    batch = BatchConfig(
        identifier=row["identifier"],
        description=row["description"],
        serial_start=row["serial_start"],
        serial_end=row["serial_end"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        stores=tuple(row["stores"]) if row["stores"] is not None else None,
    )
    type_configs = [
        TypeConfig(
            id=t["id"],
            name=t["name"],
            serial_start=t["serial_start"],
            serial_end=t["serial_end"],
            value=t["value"],
            min_purchase=t["min_purchase"],
            initial_status=t["initial_status"],
        )
        for t in types
    ]
    return batch, type_configs


def validation_errors(conn: Connection, row: RowMapping, max_size: int) -> list[FieldError]:
    batch, types = configs(row, type_rows(conn, row["id"]))
    errors = validate_batch(batch, types, max_size)
    if batch.stores:
        known = set(conn.execute(select(stores.c.id).where(stores.c.id.in_(batch.stores))).scalars())
        for store_id in batch.stores:
            if store_id not in known:
                errors.append(FieldError("stores", said("There is no store '{store}'.", store=store_id)))
    return errors


def validate(conn: Connection, batch_id: str, max_size: int) -> list[FieldError]:
    """Configuring → validated, or stay configuring with every error recorded and returned."""
    row = get_row(conn, batch_id)
    target = lifecycle.transition(row["state"], Action.VALIDATE, row["claims"])
    errors = validation_errors(conn, row, max_size)
    if errors:
        _touch(conn, batch_id, validation_errors=[e.as_dict() for e in errors])
        return errors
    _touch(conn, batch_id, state=target.value, validation_errors=None)
    return []


def start_generation(conn: Connection, batch_id: str, owner: str, lease_until) -> None:
    row = get_row(conn, batch_id)
    target = lifecycle.transition(row["state"], Action.GENERATE, row["claims"])
    types = type_rows(conn, batch_id)
    _, type_configs = configs(row, types)
    _touch(
        conn,
        batch_id,
        state=target.value,
        total=voucher_count(type_configs),
        generated=0,
        generation_next_serial=types[0]["serial_start"] if types else None,
        generation_owner=owner,
        generation_lease_until=lease_until,
    )


def act(conn: Connection, batch_id: str, action: Action) -> None:
    """configure, distribute, redeemable, lock, void: a plain life-cycle move."""
    row = get_row(conn, batch_id)
    target = lifecycle.transition(row["state"], action, row["claims"])
    _touch(conn, batch_id, state=target.value)


def set_claims(conn: Connection, batch_id: str, action: Action) -> None:
    row = get_row(conn, batch_id)
    claims = lifecycle.set_claims(row["state"], row["claims"], action)
    if claims != row["claims"]:
        _touch(conn, batch_id, claims=claims.value)


def voucher_total(conn: Connection, batch_id: str) -> int:
    return conn.execute(
        select(func.count()).select_from(vouchers).where(vouchers.c.batch_id == batch_id)
    ).scalar_one()


def delete_batch(conn: Connection, batch_id: str, confirm: int | None) -> None:
    """Delete the batch and every voucher, claimed or not, when `confirm` equals their number."""
    row = get_row(conn, batch_id)
    lifecycle.require_deletable(row["state"], row["claims"])
    count = voucher_total(conn, batch_id)
    if confirm != count:
        raise DeleteNotConfirmed(count)
    conn.execute(delete(vouchers).where(vouchers.c.batch_id == batch_id))
    conn.execute(delete(batch_types).where(batch_types.c.batch_id == batch_id))
    conn.execute(delete(batches).where(batches.c.id == batch_id))
    conn.execute(insert(tombstones).values(change_seq=next_seq(conn), kind="batch", entity_id=batch_id))


def _proposed(data: BatchCreate) -> BatchConfig:
    return BatchConfig(
        identifier=data.identifier,
        description=data.description,
        serial_start=data.serial_start,
        serial_end=data.serial_end,
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        stores=tuple(data.stores) if data.stores is not None else None,
    )


def _with_store_check(
    conn: Connection, batch: BatchConfig, types: list[TypeConfig], max_size: int
) -> list[FieldError]:
    errors = validate_batch(batch, types, max_size)
    if batch.stores:
        known = set(conn.execute(select(stores.c.id).where(stores.c.id.in_(batch.stores))).scalars())
        errors += [
            FieldError("stores", said("There is no store '{store}'.", store=s))
            for s in batch.stores
            if s not in known
        ]
    return errors


def draft_errors(
    conn: Connection, batch_id: str | None, data: BatchCreate, max_size: int
) -> list[FieldError]:
    """Every problem the proposed fields would bring (vouchers/validation.py), before they are saved:
    for a new batch, all but 'no type yet'; for an edit, those the batch does not have already."""
    if batch_id is None:
        return [e for e in _with_store_check(conn, _proposed(data), [], max_size) if e.field != "types"]
    row = get_row(conn, batch_id)
    current, types = configs(row, type_rows(conn, batch_id))
    before = set(_with_store_check(conn, current, types, max_size))
    return [e for e in _with_store_check(conn, _proposed(data), types, max_size) if e not in before]


def type_draft_errors(
    conn: Connection, batch_id: str, type_id: str | None, data: TypeCreate, max_size: int
) -> list[FieldError]:
    """Every problem a new or changed type would bring (outside the range, overlapping, …)."""
    row = get_row(conn, batch_id)
    batch, types = configs(row, type_rows(conn, batch_id))
    others = [t for t in types if t.id != type_id]
    candidate = TypeConfig(
        id=type_id or "new",
        name=data.name,
        serial_start=row["serial_start"] if data.serial_start is None else data.serial_start,
        serial_end=row["serial_end"] if data.serial_end is None else data.serial_end,
        value=data.value,
        min_purchase=data.min_purchase,
        initial_status=data.initial_status,
    )
    before = set(validate_batch(batch, others, max_size))
    return [e for e in validate_batch(batch, [*others, candidate], max_size) if e not in before]


# --- the batch list on the dashboard: search, filters, sort, archive ---------------------------------

SORTS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "name": "Name",
    "total": "Total",
    "claimed": "Claimed",
    "redeemed": "Redeemed",
    "available": "Available",
    "rate": "Redemption rate",
}
# The latest local time of any zone is UTC+14 and the earliest UTC−12: a last valid day is over
# everywhere once it is over at UTC−12.
_LAST_ZONE = timedelta(hours=12)


@dataclass(frozen=True)
class BatchFilter:
    """What the batch list shows: `text` in the name, one state, one channel ('none' for batches
    without one), sorted by `sort` (a key of SORTS), the archive or the batches in use."""

    text: str = ""
    state: str = ""
    channel: str = ""
    sort: str = "newest"
    archived: bool = False


@dataclass(frozen=True)
class BatchList:
    """One page of the list (batch_dict's), how many match in all, and how many are in the other
    list (the archive, or the batches in use when the archive is shown)."""

    batches: tuple[Mapping[str, object], ...]
    total: int
    elsewhere: int


def is_archived(state: str, valid_until: date | None, now: datetime) -> bool:
    """Void, or ended: its last valid day is over in every time zone."""
    return state == State.VOID or (valid_until is not None and valid_until < (now - _LAST_ZONE).date())


def available_now(b: Mapping[str, Any]) -> int:
    """Available as the card shows it: none in a void batch, none before the vouchers exist."""
    if b["state"] in (State.VOID, State.CONFIGURING, State.VALIDATED, State.GENERATING):
        return 0
    return int(b["metrics"]["available"])


def _sort_key(key: str):
    figures = {
        "total": lambda b: b["metrics"]["total"],
        "claimed": lambda b: b["metrics"]["claimed"],
        "redeemed": lambda b: b["metrics"]["redeemed"],
        "rate": lambda b: b["metrics"]["redemption_rate"],
        "available": available_now,
    }
    return figures.get(key)


def find(
    conn: Connection, public_url: str, f: BatchFilter, *, now: datetime, limit: int, offset: int = 0
) -> BatchList:
    """The batches the filter asks for, sorted, `limit` of them from `offset`. Figures sort largest
    first (then newest first), the name A to Z, ties by age."""
    everything = list_all(conn, public_url)
    text = " ".join(f.text.split()).casefold()
    in_archive = [is_archived(b["state"], b["valid_until"], now) for b in everything]
    chosen = [b for b, archived in zip(everything, in_archive, strict=True) if archived == f.archived]
    elsewhere = len(everything) - len(chosen)
    if text:
        chosen = [b for b in chosen if text in " ".join(b["identifier"].split()).casefold()]
    if f.state:
        chosen = [b for b in chosen if b["state"] == f.state]
    if f.channel:
        chosen = [b for b in chosen if (b["channel"] or "none") == f.channel]
    chosen.reverse()  # newest first (list_all is oldest first), the order ties keep below
    figure = _sort_key(f.sort)
    if f.sort == "oldest":
        chosen.reverse()
    elif f.sort == "name":
        chosen.sort(key=lambda b: " ".join(b["identifier"].split()).casefold())
    elif figure is not None:
        chosen.sort(key=figure, reverse=True)
    return BatchList(tuple(chosen[offset : offset + limit]), len(chosen), elsewhere)
