"""Vouchers of a batch for head office: list with filters, CSV export, one voucher's story."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from central.db.schema import batch_types, vouchers
from central.services import batches as batch_service
from central.services.ids import voucher_id
from central.services.ledger import history, voucher_by_code
from vouchers.codes import format_code, normalise
from vouchers.csvsafe import safe_row
from vouchers.errors import FieldError, InvalidCode, InvalidInput
from vouchers.status import Status

CSV_COLUMNS = [
    "id",
    "code",
    "serial",
    "type",
    "claimed",
    "member_id",
    "claimed_at",
    "status",
    "redeemed_store",
    "redeemed_device",
    "redeemed_at",
]


def _row_dict(r) -> dict[str, Any]:
    return {
        "id": voucher_id(r.batch_id, r.serial),
        "batch_id": r.batch_id,
        "code": format_code(r.code),
        "serial": r.serial,
        "type_id": r.type_id,
        "type": r.type_name,
        "claim": {"member_id": r.member_id, "claimed_at": r.claimed_at} if r.member_id is not None else None,
        "status": r.status,
        "redemption": (
            {"store_id": r.used_store, "device_id": r.used_device, "at": r.used_at}
            if r.redeemed_by is not None
            else None
        ),
    }


def _query(batch_id: str, claimed: bool | None, status: str | None, code: str | None):
    query = (
        select(vouchers, batch_types.c.name.label("type_name"))
        .join(batch_types, batch_types.c.id == vouchers.c.type_id)
        .where(vouchers.c.batch_id == batch_id)
    )
    if claimed is not None:
        query = query.where(vouchers.c.member_id.is_not(None) if claimed else vouchers.c.member_id.is_(None))
    if status is not None:
        if status not in {s.value for s in Status}:
            raise InvalidInput([FieldError("status", "must be one of unused, used, issued, pending")])
        query = query.where(vouchers.c.status == status)
    if code:
        try:
            query = query.where(vouchers.c.code == normalise(code))
        except InvalidCode as exc:
            raise InvalidInput([FieldError("code", exc.detail)]) from None
    return query.order_by(vouchers.c.serial)


def page(
    conn: Connection,
    batch_id: str,
    *,
    claimed: bool | None,
    status: str | None,
    code: str | None,
    limit: int,
    cursor: int | None,
) -> dict[str, Any]:
    batch_service.get_row(conn, batch_id)
    query = _query(batch_id, claimed, status, code)
    if cursor is not None:
        query = query.where(vouchers.c.serial > cursor)
    rows = list(conn.execute(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "vouchers": [_row_dict(r) for r in rows],
        "next_cursor": rows[-1].serial if more else None,
    }


def export_csv(
    conn: Connection, batch_id: str, *, claimed: bool | None, status: str | None, code: str | None
) -> Iterator[str]:
    """CSV lines of every matching voucher, for reporting; read in chunks so memory stays flat. Cells
    that a spreadsheet would run as a formula (a member id '=HYPERLINK(...)') are written as text."""
    batch_service.get_row(conn, batch_id)
    query = _query(batch_id, claimed, status, code)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    result = conn.execution_options(yield_per=5000).execute(query)
    for r in result:
        d = _row_dict(r)
        claim, red = d["claim"] or {}, d["redemption"] or {}
        writer.writerow(
            safe_row(
                [
                    d["id"],
                    d["code"],
                    d["serial"],
                    d["type"],
                    "yes" if claim else "no",
                    claim.get("member_id", ""),
                    _iso(claim.get("claimed_at")),
                    d["status"] or "",
                    red.get("store_id", ""),
                    red.get("device_id", ""),
                    _iso(red.get("at")),
                ]
            )
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _iso(value) -> str:
    return value.isoformat() if value is not None else ""


def one(conn: Connection, code_text: str) -> dict[str, Any]:
    v = voucher_by_code(conn, code_text)
    row = conn.execute(_query(v["batch_id"], None, None, None).where(vouchers.c.serial == v["serial"])).one()
    return {**_row_dict(row), "history": history(conn, voucher_id(v["batch_id"], v["serial"]))}
