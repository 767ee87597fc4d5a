"""Rate limits kept in the database, so that every server process counts together.

Each limit is a fixed window: at most `hits` within `seconds` for one subject (a client address,
an e-mail address, a token). A counter row per (limit, subject) holds the window's start and its
hits; one upsert counts and reads it atomically (INSERT … ON CONFLICT DO UPDATE … RETURNING, on
SQLite as on PostgreSQL). Over the limit the request is answered 429 with Retry-After: the
seconds until the window ends. Subjects are stored hashed."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, case, delete, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from central.db.batcher import defer_count, deferred, group_memo
from central.db.engine import Database
from central.db.schema import UTCDateTime, rate_limits, utcnow
from vouchers.errors import VoucherError


class RateLimited(VoucherError):
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most `hits` within `seconds` per subject; `what` says in words what is limited."""

    name: str
    hits: int
    seconds: int
    what: str

    def refused(self, retry_after: int) -> RateLimited:
        wait = f"{math.ceil(retry_after / 60)} minute(s)" if retry_after >= 90 else f"{retry_after} seconds"
        return RateLimited(
            f"Too many {self.what} (at most {self.hits} in {_span(self.seconds)}). Try again in {wait}.",
            retry_after,
        )


def _span(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.name}:{hashlib.sha256(subject.casefold().encode()).hexdigest()[:40]}"


def _retry_after(limit: Limit, window_start: datetime, now: datetime) -> int:
    return max(1, math.ceil((window_start + timedelta(seconds=limit.seconds) - now).total_seconds()))


def _upsert(sqlite: bool, key: str, seconds: int, n: int, now: datetime):
    """The statement that counts `n` hits of `key` at `now` in a window of `seconds`: a window that
    is over starts again with these hits; it returns the count and the window's start."""
    statement = (sqlite_insert if sqlite else pg_insert)(rate_limits).values(
        key=key, window_start=now, hits=n
    )
    fresh = rate_limits.c.window_start <= now - timedelta(seconds=seconds)
    return statement.on_conflict_do_update(
        index_elements=[rate_limits.c.key],
        set_={
            "hits": case((fresh, statement.excluded.hits), else_=rate_limits.c.hits + n),
            "window_start": case((fresh, literal(now, UTCDateTime())), else_=rate_limits.c.window_start),
        },
    ).returning(rate_limits.c.hits, rate_limits.c.window_start)


def hit(db: Database, limit: Limit, subject: str) -> None:
    """Count one request of `subject`; RateLimited when it is over the limit (the hit still counts)."""
    with db.counter() as conn:
        refused = _count(conn, limit, subject)
    if refused is not None:
        raise refused


def hit_in(conn: Connection, limit: Limit, subject: str) -> None:
    """`hit` in the caller's write transaction, committed with what the request writes: on SQLite,
    whose one writer would otherwise wait for a commit of its own for each count (a disk flush).
    A refused request's hit goes back with the rest of it, which changes nothing: its window is
    at the limit already, and stays there until it ends."""
    refused = _count(conn, limit, subject)
    if refused is not None:
        raise refused


def _count(conn: Connection, limit: Limit, subject: str) -> RateLimited | None:
    now = utcnow()
    sqlite = conn.dialect.name == "sqlite"
    hits, start = conn.execute(_upsert(sqlite, _key(limit, subject), limit.seconds, 1, now)).one()
    return limit.refused(_retry_after(limit, start, now)) if hits > limit.hits else None


def hit_in_group(conn: Connection, limit: Limit, subject: str) -> None:
    """`hit` for a write of a group commit (db/batcher.py), in its transaction: the count is
    checked now and written once for the whole group just before it commits, so the writes of one
    subject (an integration's thousands of claims) do not each wait on the counter row's lock and
    a disk flush. Groups running at the same moment may together let a few more through than the
    limit (as many as they hold); a refused write counts nothing. The counter's row is read once a
    group: the group writes it only at its end, so every write of the group would read the same
    (bar another group's commit meanwhile, which the same slack covers)."""
    key = _key(limit, subject)
    flush = _flusher(limit.seconds)
    now = utcnow()
    memo = group_memo(conn)
    read = None if memo is None else memo.get(("rate-limit", key))
    if read is None:
        row = conn.execute(_COUNTED, {"key": key}).first()
        read = (now, 0) if row is None else (row.window_start, row.hits)
        if memo is not None:
            memo[("rate-limit", key)] = read
    start, counted = read
    if start <= now - timedelta(seconds=limit.seconds):  # the window is over: a new one starts
        start, counted = now, 0
    if counted + deferred(conn, flush, key) + 1 > limit.hits:
        raise limit.refused(_retry_after(limit, start, now))
    if not defer_count(conn, flush, key):
        flush(conn, {key: 1})


_COUNTED = select(rate_limits.c.hits, rate_limits.c.window_start).where(rate_limits.c.key == bindparam("key"))

_FLUSHERS: dict[int, Callable[[Connection, Mapping[str, int]], None]] = {}


def _flusher(seconds: int) -> Callable[[Connection, Mapping[str, int]], None]:
    """The group's writer of the hits counted for limits of a `seconds` window (one per window, as
    the batcher keeps counts by writer)."""
    if seconds not in _FLUSHERS:

        def flush(conn: Connection, counts: Mapping[str, int]) -> None:
            now = utcnow()
            for key, n in counts.items():
                conn.execute(_upsert(conn.dialect.name == "sqlite", key, seconds, n, now))

        _FLUSHERS[seconds] = flush
    return _FLUSHERS[seconds]


def check(db: Database, limit: Limit, subject: str) -> None:
    """RateLimited when `subject` has used up the limit already, without counting a hit (for limits
    that count failures only: call `hit` when the attempt fails)."""
    now = utcnow()
    with db.read() as conn:
        row = conn.execute(
            select(rate_limits.c.hits, rate_limits.c.window_start).where(
                rate_limits.c.key == _key(limit, subject)
            )
        ).first()
    if (
        row is not None
        and row.hits >= limit.hits
        and row.window_start > now - timedelta(seconds=limit.seconds)
    ):
        raise limit.refused(_retry_after(limit, row.window_start, now))


def clear(db: Database, limit: Limit, subject: str) -> None:
    """Forget `subject`'s count (a staff member who signed in from this address)."""
    with db.counter() as conn:
        conn.execute(delete(rate_limits).where(rate_limits.c.key == _key(limit, subject)))


def forget_old(db: Database, older_than_seconds: int = 86400) -> None:
    with db.counter() as conn:
        conn.execute(
            delete(rate_limits).where(
                rate_limits.c.window_start < utcnow() - timedelta(seconds=older_than_seconds)
            )
        )
