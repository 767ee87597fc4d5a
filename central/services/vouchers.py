"""Vouchers of a batch for head office: list with filters and search, CSV export, one voucher's story,
and the staff status changes of seed 002 (through the ledger, in the audit log)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.sql import Select

from central.db.schema import batch_types, vouchers
from central.services import audit, ledger
from central.services import batches as batch_service
from central.services.audit import Actor
from central.services.ids import voucher_id
from vouchers.codes import ALPHABET, CHECK_SYMBOLS, format_code, normalise
from vouchers.csvsafe import safe_row
from vouchers.errors import FieldError, InvalidCode, InvalidInput, NotFound
from vouchers.status import Status
from vouchers.wording import said

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
_FRAGMENT_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0"})
_FRAGMENT_SYMBOLS = frozenset(ALPHABET + CHECK_SYMBOLS)


@dataclass(frozen=True)
class Claim:
    member_id: str
    claimed_at: datetime | None


@dataclass(frozen=True)
class Redemption:
    """Where and when the voucher was used; no store (and no device) when the member marked it used."""

    store_id: str | None
    device_id: str | None
    at: datetime | None


@dataclass(frozen=True)
class VoucherRow:
    """One voucher as head office lists it; `code` is formatted in groups; JSON as the API's voucher."""

    id: str
    batch_id: str
    code: str
    serial: int
    type_id: str
    type: str
    claim: Claim | None
    status: str | None
    redemption: Redemption | None


@dataclass(frozen=True)
class VoucherStory(VoucherRow):
    """A voucher with every ledger event about it, oldest first (ledger.event_dict's records)."""

    history: Sequence[Mapping[str, object]]


@dataclass(frozen=True)
class VoucherPage:
    """One page of a batch's vouchers in serial order; `next_cursor` is None on the last page, and
    `total` (every voucher matching the filters) is None unless it was asked for."""

    vouchers: tuple[VoucherRow, ...]
    next_cursor: int | None
    total: int | None = None


@dataclass(frozen=True)
class Search:
    """What a list of vouchers is narrowed to. `code` is a whole code (an error if it is not one),
    `code_part` any part of one, `member` any part of a member's address, `serial` one serial."""

    claimed: bool | None = None
    status: str | None = None
    code: str | None = None
    code_part: str | None = None
    member: str | None = None
    serial: int | None = None


def _row(r) -> VoucherRow:
    return VoucherRow(
        id=voucher_id(r.batch_id, r.serial),
        batch_id=r.batch_id,
        code=format_code(r.code),
        serial=r.serial,
        type_id=r.type_id,
        type=r.type_name,
        claim=Claim(r.member_id, r.claimed_at) if r.member_id is not None else None,
        status=r.status,
        redemption=Redemption(r.used_store, r.used_device, r.used_at) if r.redeemed_by is not None else None,
    )


def code_fragment(text: str) -> str:
    """Part of a code as it is stored: no spaces, dashes, dots or underscores, upper case, O/I/L read as
    0/1 (as the till reads whole codes); InvalidInput for a character no code holds."""
    fragment = re.sub(r"[\s\-_.]+", "", text).upper().translate(_FRAGMENT_ALIASES)
    bad = sorted(set(fragment) - _FRAGMENT_SYMBOLS)
    if bad:
        raise InvalidInput(
            [FieldError("code", said("'{character}' is not used in voucher codes.", character=bad[0]))]
        )
    return fragment


def _query(batch_id: str, s: Search) -> Select:
    query = (
        select(vouchers, batch_types.c.name.label("type_name"))
        .join(batch_types, batch_types.c.id == vouchers.c.type_id)
        .where(vouchers.c.batch_id == batch_id)
    )
    if s.claimed is not None:
        query = query.where(
            vouchers.c.member_id.is_not(None) if s.claimed else vouchers.c.member_id.is_(None)
        )
    if s.status is not None:
        if s.status not in {st.value for st in Status}:
            raise InvalidInput([FieldError("status", said("must be one of unused, used, issued, pending"))])
        query = query.where(vouchers.c.status == s.status)
    if s.code:
        try:
            query = query.where(vouchers.c.code == normalise(s.code))
        except InvalidCode as exc:
            raise InvalidInput([FieldError("code", exc.said or exc.detail)]) from None
    if s.code_part:
        fragment = code_fragment(s.code_part)
        if fragment:
            query = query.where(vouchers.c.code.contains(fragment, autoescape=True))
    if s.member:
        query = query.where(vouchers.c.member_id.contains(s.member.strip().casefold(), autoescape=True))
    if s.serial is not None:
        query = query.where(vouchers.c.serial == s.serial)
    return query.order_by(vouchers.c.serial)


def page(
    conn: Connection,
    batch_id: str,
    *,
    claimed: bool | None = None,
    status: str | None = None,
    code: str | None = None,
    limit: int,
    cursor: int | None,
    search: Search | None = None,
    with_total: bool = False,
) -> VoucherPage:
    """A page of the batch's vouchers after `cursor` (a serial). The keyword filters are the API's;
    `search` (the dashboard's) replaces them when given."""
    batch_service.get_row(conn, batch_id)
    s = search if search is not None else Search(claimed=claimed, status=status, code=code)
    query = _query(batch_id, s)
    total = None
    if with_total:
        total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    if cursor is not None:
        query = query.where(vouchers.c.serial > cursor)
    rows = list(conn.execute(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return VoucherPage(tuple(_row(r) for r in rows), rows[-1].serial if more else None, total)


def position(conn: Connection, batch_id: str, search: Search, cursor: int | None) -> int:
    """How many matching vouchers come before the page that starts after `cursor` (for '51–100 of 60')."""
    if cursor is None:
        return 0
    query = _query(batch_id, search).order_by(None).where(vouchers.c.serial <= cursor)
    return conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()


def export_csv(
    conn: Connection,
    batch_id: str,
    *,
    claimed: bool | None = None,
    status: str | None = None,
    code: str | None = None,
    search: Search | None = None,
) -> Iterator[str]:
    """CSV lines of every matching voucher, for reporting; read in chunks so memory stays flat. Cells
    that a spreadsheet would run as a formula (a member id '=HYPERLINK(...)') are written as text."""
    batch_service.get_row(conn, batch_id)
    query = _query(
        batch_id, search if search is not None else Search(claimed=claimed, status=status, code=code)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    result = conn.execution_options(yield_per=5000).execute(query)
    for r in result:
        v = _row(r)
        claim, red = v.claim, v.redemption
        writer.writerow(
            safe_row(
                [
                    v.id,
                    v.code,
                    v.serial,
                    v.type,
                    "yes" if claim else "no",
                    claim.member_id if claim else "",
                    _iso(claim.claimed_at if claim else None),
                    v.status or "",
                    (red.store_id or "") if red else "",
                    (red.device_id or "") if red else "",
                    _iso(red.at if red else None),
                ]
            )
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def exists(conn: Connection, code_text: str) -> str | None:
    """The formatted code when a voucher has this code (typed or scanned), else None."""
    try:
        return format_code(ledger.voucher_by_code(conn, code_text)["code"])
    except (NotFound, InvalidCode):
        return None


def one(conn: Connection, code_text: str) -> VoucherStory:
    v = ledger.voucher_by_code(conn, code_text)
    row = conn.execute(_query(v["batch_id"], Search()).where(vouchers.c.serial == v["serial"])).one()
    return story(conn, _row(row))


def story(conn: Connection, v: VoucherRow) -> VoucherStory:
    """The voucher with its ledger history."""
    return VoucherStory(
        **{f: getattr(v, f) for f in VoucherRow.__dataclass_fields__},
        history=tuple(ledger.history(conn, v.id)),
    )


def change_status(conn: Connection, actor: Actor, code_text: str, new: Status, reason: str) -> VoucherStory:
    """A staff change of seed 002 (pending → any, used → unused), by `actor`: the ledger's event with
    its author (ledger.change_status, which the tills' snapshot carries), in the audit log. The reason
    is required (1 to 2,000 characters, as the API's)."""
    reason = reason.strip()
    if not reason or len(reason) > 2000:
        words = "Say why (this is kept with the change)." if not reason else "Use at most 2000 characters."
        raise InvalidInput([FieldError("reason", words)])
    vid = one(conn, code_text).id
    with audit.change(conn, actor, "voucher.status", "voucher", vid, audit.voucher_state):
        ledger.change_status(conn, code_text, new, reason, author=actor.name)
    return one(conn, code_text)
