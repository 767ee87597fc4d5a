"""The ledger's records, declared once: a row of the events table as the ledger writes it, the
result an event gets, and the record of an event that the API and the dashboard show.

`new_row` is the one place a ledger row is built (a till's event, a member's MARK AS USED, a staff
change); `result_of` the one place its result is. `insert_rows` turns rows into the plain
tuples the hot path of ingest sends to the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, NotRequired, TypedDict

from sqlalchemy import Dialect, RowMapping, Table

from central.db.schema import events


class LedgerRow(TypedDict):
    id: str
    kind: str  # redeem, revert, refused, review, status
    store_id: str | None
    device_id: str | None
    device_seq: int | None
    voucher_id: str | None
    batch_id: str | None
    at: datetime  # when it happened: the till's clock, or head office's for its own
    received_at: datetime
    cashier: str | None
    reverts: str | None
    reviews: str | None
    reason: str | None
    verdict: str | None
    new_status: str | None
    member_id: str | None
    author: str | None
    outcome: str  # accepted, conflict, rejected
    outcome_reason: str | None
    winner_store: str | None
    winner_device: str | None
    winner_at: datetime | None


class Winner(TypedDict):
    store_id: str
    device_id: str | None
    at: datetime


class Result(TypedDict):
    """What the server answers for one event (the protocol's EventResult)."""

    id: str
    outcome: str  # accepted, conflict, rejected, duplicate
    reason: str | None
    winner: Winner | None
    server_time: datetime
    first: NotRequired[Result]  # a duplicate: the first result


class EventRecord(TypedDict):
    """An event as the API and the dashboard show it, with its result."""

    id: str
    kind: str
    store_id: str | None
    device_id: str | None
    device_seq: int | None
    voucher_id: str | None
    batch_id: str | None
    at: datetime
    received_at: datetime
    cashier: str | None
    reverts: str | None
    reason: str | None
    verdict: str | None
    new_status: str | None
    member_id: str | None
    reviews: str | None
    author: str | None
    result: Result


def new_row(
    *, id: str, kind: str, at: datetime, received_at: datetime, outcome: str = "accepted", **fields: Any
) -> LedgerRow:
    """A ledger row: every column not given is None."""
    row: dict[str, Any] = _EMPTY.copy()
    row.update(fields, id=id, kind=kind, at=at, received_at=received_at, outcome=outcome)
    if len(row) != len(COLUMNS):
        raise TypeError(f"not ledger columns: {sorted(set(row) - set(COLUMNS))}")
    return row  # type: ignore[return-value]  # every key of LedgerRow is set above


# a ledger row just built, or one read back from the table
AnyRow = LedgerRow | RowMapping


def result_of(row: AnyRow) -> Result:
    """The result an event received, from its ledger row."""
    winner: Winner | None = None
    if row["winner_store"] is not None and row["winner_at"] is not None:  # set together
        winner = Winner(store_id=row["winner_store"], device_id=row["winner_device"], at=row["winner_at"])
    return {
        "id": row["id"],
        "outcome": row["outcome"],
        "reason": row["outcome_reason"],
        "winner": winner,
        "server_time": row["received_at"],
    }


def event_record(r: AnyRow) -> EventRecord:
    return {
        "id": r["id"],
        "kind": r["kind"],
        "store_id": r["store_id"],
        "device_id": r["device_id"],
        "device_seq": r["device_seq"],
        "voucher_id": r["voucher_id"],
        "batch_id": r["batch_id"],
        "at": r["at"],
        "received_at": r["received_at"],
        "cashier": r["cashier"],
        "reverts": r["reverts"],
        "reason": r["reason"],
        "verdict": r["verdict"],
        "new_status": r["new_status"],
        "member_id": r["member_id"],
        "reviews": r.get("reviews"),
        "author": r.get("author"),
        "result": result_of(r),
    }


COLUMNS: tuple[str, ...] = tuple(c.name for c in events.columns)
_EMPTY = dict.fromkeys(COLUMNS)
_in_order = itemgetter(*COLUMNS)  # a row's values in column order, as one tuple, in C
_processors: dict[tuple[str, str], list[tuple[int, Callable[[Any], Any]]]] = {}


def bind_processors(
    dialect: Dialect, table: Table, names: Sequence[str]
) -> list[tuple[int, Callable[[Any], Any]]]:
    """For the columns `names` of `table`, the (position, converter) of those whose values SQLAlchemy
    would convert before binding them (aware datetimes to the database's UTC form); built once."""
    key = (dialect.name, table.name + ":" + ",".join(names))
    found = _processors.get(key)
    if found is None:
        found = _processors[key] = [
            (i, process)
            for i, name in enumerate(names)
            if (process := table.c[name].type.bind_processor(dialect)) is not None
        ]
    return found


def insert_rows(dialect: Dialect, rows: Sequence[LedgerRow]) -> list[tuple[Any, ...]]:
    """The rows' values in column order, one tuple a row, each converted as SQLAlchemy would bind
    it (aware datetimes to the database's UTC form): plain values for the driver."""
    processors = bind_processors(dialect, events, COLUMNS)
    out: list[tuple[Any, ...]] = []
    done: dict[tuple[int, Any], Any] = {}  # a request's rows share times (received_at): converted once
    for row in rows:
        values = list(_in_order(row))
        for i, process in processors:
            value = values[i]
            if value is not None:
                key = (i, value)
                if key not in done:
                    done[key] = process(value)
                values[i] = done[key]
        out.append(tuple(values))
    return out
