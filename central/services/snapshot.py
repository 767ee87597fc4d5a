"""Snapshot pages for tills: every change after a cursor, in change-sequence order.

A page holds the `limit` changes with the lowest sequence numbers after the cursor, across
batches, types, vouchers and tombstones; `next_cursor` is the last sequence number in it.
Because change order is commit order (db/engine.py), a change committed later always has a
higher number than any the reader has seen, so paging never skips one.
"""

from __future__ import annotations

import heapq
from typing import Any

from sqlalchemy import Connection, select

from central.db.schema import batch_types, batches, stores, tombstones, vouchers


def _visible_stores(limit: list[str] | None, store_id: str) -> list[str] | None:
    """A device sees only its own store: a store limit shows as [its store] or [] (other stores only)."""
    if limit is None:
        return None
    return [store_id] if store_id in limit else []


def _fetch(conn: Connection, query, cursor: int, limit: int) -> list:
    seq = query.selected_columns.change_seq
    return list(conn.execute(query.where(seq > cursor).order_by(seq).limit(limit + 1)))


def page(conn: Connection, store_id: str, cursor: int, limit: int) -> dict[str, Any]:
    store = conn.execute(select(stores.c.id, stores.c.timezone).where(stores.c.id == store_id)).one()
    b_rows = _fetch(
        conn,
        select(
            batches.c.id, batches.c.identifier, batches.c.description, batches.c.state, batches.c.claims,
            batches.c.valid_from, batches.c.valid_until, batches.c.stores, batches.c.change_seq,
        ),
        cursor,
        limit,
    )
    t_rows = _fetch(
        conn,
        select(
            batch_types.c.id, batch_types.c.batch_id, batch_types.c.name, batch_types.c.value,
            batch_types.c.min_purchase, batch_types.c.initial_status, batch_types.c.change_seq,
        ),
        cursor,
        limit,
    )
    v_rows = _fetch(
        conn,
        select(
            vouchers.c.batch_id, vouchers.c.serial, vouchers.c.type_id, vouchers.c.code_hash,
            vouchers.c.member_id.is_not(None).label("claimed"), vouchers.c.status, vouchers.c.used_at,
            vouchers.c.used_store, vouchers.c.change_seq,
        ),
        cursor,
        limit,
    )
    d_rows = _fetch(conn, select(tombstones.c.kind, tombstones.c.entity_id, tombstones.c.change_seq), cursor, limit)
    if cursor == 0:
        d_rows = []  # a first sync has nothing to forget
    found = len(b_rows) + len(t_rows) + len(v_rows) + len(d_rows)
    complete = found <= limit
    if complete:
        seqs = [rows[-1].change_seq for rows in (b_rows, t_rows, v_rows, d_rows) if rows]
        boundary = next_cursor = max([cursor, *seqs])
    else:
        merged = heapq.merge(*([r.change_seq for r in rows] for rows in (b_rows, t_rows, v_rows, d_rows)))
        for _, boundary in zip(range(limit), merged):
            pass
        next_cursor = boundary
    deleted: dict[str, list[str]] = {"batches": [], "types": [], "vouchers": []}
    for r in d_rows:
        if r.change_seq <= boundary:
            deleted[r.kind + "es" if r.kind == "batch" else r.kind + "s"].append(r.entity_id)
    return {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "store": {"id": store.id, "timezone": store.timezone},
        "batches": [
            {
                "id": r.id, "identifier": r.identifier, "description": r.description, "state": r.state,
                "claims": r.claims, "valid_from": r.valid_from, "valid_until": r.valid_until,
                "stores": _visible_stores(r.stores, store_id),
            }
            for r in b_rows
            if r.change_seq <= boundary
        ],
        "types": [
            {
                "id": r.id, "batch_id": r.batch_id, "name": r.name, "value": r.value,
                "min_purchase": r.min_purchase, "initial_status": r.initial_status,
            }
            for r in t_rows
            if r.change_seq <= boundary
        ],
        "vouchers": [
            {
                "id": f"{r.batch_id}.{r.serial}", "batch_id": r.batch_id, "type_id": r.type_id, "serial": r.serial,
                "code_hash": r.code_hash, "claimed": bool(r.claimed), "status": r.status, "used_at": r.used_at,
                "used_store": r.used_store,
            }
            for r in v_rows
            if r.change_seq <= boundary
        ],
        "deleted": deleted,
    }
