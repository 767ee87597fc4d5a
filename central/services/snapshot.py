"""Snapshot pages for tills: every change after a cursor, in change-sequence order.

A page holds the `limit` changes with the lowest sequence numbers after the cursor, across
batches, types, vouchers and tombstones; `next_cursor` is the last sequence number in it. Only
changes up to the head are served, and every number up to it is final (db/engine.py), so paging
never skips one. `head` is the newest change number when the page was read and `remaining`
estimates the changes after `next_cursor` as head − next_cursor: an upper bound (numbers of rows
changed again since are gaps), free to compute where counting rows would cost a scan of every row
not yet sent.

Vouchers come only once claimed: no till may accept an unclaimed one (seed 000), so a replica
grows with the claims, not with everything generated. A claim draws the voucher a new change
number, so it reaches every till at a later cursor; the index of claimed vouchers by change number
(migration 0011) makes a first sync read those alone. No path takes a claim back (the database
refuses it, migration 0011); one that does must write a `voucher` tombstone, which the page serves
in `deleted.vouchers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from central.db.schema import batch_types, batches, stores, tombstones
from central.services import problems
from vouchers import ids


def _visible_stores(limit: list[str] | None, store_id: str) -> list[str] | None:
    """A device sees only its own store: a store limit shows as [its store] or [] (other stores only)."""
    if limit is None:
        return None
    return [store_id] if store_id in limit else []


def _fetch(conn: Connection, query, cursor: int, head: int, limit: int) -> Sequence[Any]:
    """Up to limit+1 rows after the cursor and up to the head, in order; each row's last item is
    its change_seq."""
    seq = query.selected_columns.change_seq
    return conn.execute(query.where(seq > cursor, seq <= head).order_by(seq).limit(limit + 1)).all()


CLAIMED_INDEX = "ix_vouchers_claimed_change_seq"  # partial: WHERE member_id IS NOT NULL (migration 0011)
_VOUCHERS = (
    "SELECT batch_id, serial, type_id, code_hash, status, used_at, used_store, change_seq "
    "FROM vouchers{hint} WHERE member_id IS NOT NULL AND change_seq > {mark} AND change_seq <= {mark} "
    "ORDER BY change_seq LIMIT {mark}"
)
# SQLite is told the index, so that a query no longer matching its WHERE fails at once instead of
# reading every voucher generated; PostgreSQL's planner takes it unasked (no other index has change_seq).
SQLITE_VOUCHERS = _VOUCHERS.format(hint=f" INDEXED BY {CLAIMED_INDEX}", mark="?")
_PG_VOUCHERS = _VOUCHERS.format(hint="", mark="%s")


def _fetch_vouchers(conn: Connection, cursor: int, head: int, limit: int) -> Sequence[tuple[Any, ...]]:
    """The claimed voucher rows, straight from the driver: they are most of a snapshot, and
    SQLAlchemy's row objects and type processing would cost more than the query itself."""
    sql = SQLITE_VOUCHERS if conn.dialect.paramstyle == "qmark" else _PG_VOUCHERS
    cursor_ = conn.connection.cursor()
    try:
        cursor_.execute(sql, (cursor, head, limit + 1))
        return cursor_.fetchall()
    finally:
        cursor_.close()


def _utc_text(value) -> str | None:
    """A stored UTC time (SQLite text or a naive PostgreSQL datetime) as ISO 8601 with offset."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.replace(" ", "T") + "+00:00"
    return value.isoformat() + "+00:00"


def page(conn: Connection, store_id: str, cursor: int, limit: int, head: int) -> dict[str, Any]:
    """The changes after `cursor` up to `head` (Database.read_at_head: every change up to it is in
    this read's view; none after it is served, as a writer may still commit below it)."""
    store_row = conn.execute(
        select(stores.c.id, stores.c.timezone, stores.c.name, stores.c.locale).where(stores.c.id == store_id)
    ).one()
    b_rows = _fetch(
        conn,
        select(
            batches.c.id,
            batches.c.identifier,
            batches.c.description,
            batches.c.state,
            batches.c.claims,
            batches.c.valid_from,
            batches.c.valid_until,
            batches.c.stores,
            batches.c.change_seq,
        ),
        cursor,
        head,
        limit,
    )
    t_rows = _fetch(
        conn,
        select(
            batch_types.c.id,
            batch_types.c.batch_id,
            batch_types.c.name,
            batch_types.c.value,
            batch_types.c.min_purchase,
            batch_types.c.initial_status,
            batch_types.c.change_seq,
        ),
        cursor,
        head,
        limit,
    )
    v_rows = _fetch_vouchers(conn, cursor, head, limit)
    d_rows = (
        []
        if cursor == 0
        else _fetch(  # a first sync has nothing to forget
            conn,
            select(tombstones.c.kind, tombstones.c.entity_id, tombstones.c.change_seq),
            cursor,
            head,
            limit,
        )
    )
    p_rows = problems.snapshot_rows(conn, store_id, cursor, head, limit)  # (wire form, change_seq)
    everything = (b_rows, t_rows, v_rows, d_rows, p_rows)
    complete = sum(map(len, everything)) <= limit
    if complete:  # up to the head: no change after the cursor is left for this store
        boundary = max([cursor, *(rows[-1][-1] for rows in everything if rows)])
        next_cursor = max(boundary, head)
    else:  # each list is sorted already, so this sort only merges runs
        boundary = next_cursor = sorted([r[-1] for rows in everything for r in rows])[limit - 1]
    deleted: dict[str, list[str]] = {"batches": [], "types": [], "vouchers": []}
    for kind, entity_id, seq in d_rows:
        if seq <= boundary:
            deleted["batches" if kind == "batch" else kind + "s"].append(entity_id)
    return {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "head": head,
        "remaining": 0 if complete else max(0, head - next_cursor),
        "store": {
            "id": store_row.id,
            "timezone": store_row.timezone,
            "name": store_row.name,
            "locale": store_row.locale,
        },
        "batches": [
            {
                "id": i,
                "identifier": name,
                "description": text,
                "state": state,
                "claims": claims,
                "valid_from": start,
                "valid_until": until,
                "stores": _visible_stores(limit_to, store_id),
            }
            for i, name, text, state, claims, start, until, limit_to, seq in b_rows
            if seq <= boundary
        ],
        "types": [
            {
                "id": i,
                "batch_id": b,
                "name": name,
                "value": value,
                "min_purchase": minimum,
                "initial_status": status,
            }
            for i, b, name, value, minimum, status, seq in t_rows
            if seq <= boundary
        ],
        "vouchers": [
            {
                "id": ids.make(b, serial),
                "batch_id": b,
                "type_id": t,
                "serial": serial,
                "code_hash": h,
                "claimed": True,
                "status": status,
                "used_at": _utc_text(used_at),
                "used_store": used_store,
            }
            for b, serial, t, h, status, used_at, used_store, seq in v_rows
            if seq <= boundary
        ],
        "deleted": deleted,
        "problems": [problem for problem, seq in p_rows if seq <= boundary],
    }
