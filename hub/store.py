"""hub.db: the shop hub's one SQLite file, and everything the hub program asks of it.

The public API (the HTTP app and the upstream loops call only this; docs in each method):

    class HubStore:
        def __init__(self, path: Path) -> None        # creates or opens hub.db, migrated
        def close(self) -> None
        # head office's side
        def upstream_cursor(self) -> int
        def begin_pull(self) -> int                    # a pull number, taken before each HO snapshot request
        def apply_upstream(self, page: SnapshotPage, pull: int) -> None   # one transaction
        def set_devices(self, devices: Sequence[StoreDevice]) -> None
        def device_for_token(self, token: str) -> HubDevice | None        # None = unknown token
        def unforwarded(self, limit: int) -> list[Event]                  # ledger order, device_id = the till
        def record_forwarded(self, results: Sequence[EventResult]) -> None
        def pending(self) -> int
        # the tills' side
        def store_id(self) -> str | None               # None before head office's first page
        def ready(self) -> bool                        # head office's snapshot came whole once
        def ingest(self, device: HubDevice, events: Sequence[Event]) -> list[EventResult]
        def head(self) -> int
        def page(self, cursor: int, limit: int) -> dict                   # the wire page
        def record_heartbeat(self, device: HubDevice, body: HeartbeatRequest) -> None
        def status(self) -> HubStatus

    NotReady (an Exception with `title` and `detail`): `ingest` and `page` before head office's snapshot has come whole
    once: the hub would answer UNKNOWN for vouchers it has not received yet, for good, and a till
    would take a partial list for a complete one. Answer 503 with its words; the till retries.

The file: WAL, `synchronous=FULL`, and every write one `BEGIN IMMEDIATE ... COMMIT`, so whatever
a method returned is on disk: a SIGKILL at any moment loses nothing that was answered. Tables and
the change feed: hub/schema.py; what the hub sees: hub/views.py; decisions: hub/decisions.py;
pages in and out: hub/feed.py.

Threads: each thread gets its own connection (made on its first call, closed by `close`), so
the tills' page reads never wait for a write (WAL); writes take one process-wide lock as well as
SQLite's, so the threads' writes queue here instead of polling SQLite's busy handler.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hub import decisions, feed, views
from hub.records import HubDevice, HubStatus, TillStatus
from hub.schema import MIGRATIONS, bump, get_meta, head, meta_int, set_meta
from localdb.connect import open_writer, read, write
from localdb.errors import translate
from vouchers.wire import Event, EventResult, HeartbeatRequest, SnapshotPage, StoreDevice

__all__ = ["HubDevice", "HubStatus", "HubStore", "NotReady", "TillStatus"]


class NotReady(Exception):
    """The hub cannot decide or serve pages yet: head office's snapshot has not come whole once
    (the app answers 503 with these words; a till retries)."""

    title = "The hub has no snapshot yet"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class HubStore:
    """The shop hub's storage, safe to share between threads (a connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        first = open_writer(path, MIGRATIONS, synchronous="FULL")  # makes and migrates the file
        self._adopt(first)

    def close(self) -> None:
        """Close every thread's connection; the store is not to be used after."""
        with self._all_lock:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    # --- head office's side ---------------------------------------------------------------------

    def upstream_cursor(self) -> int:
        """Head office's change cursor the hub's copy of its snapshot is at."""
        return meta_int(self._conn(), "upstream_cursor")

    def begin_pull(self) -> int:
        """A new pull number, to take before each snapshot request to head office and to give with
        its page to apply_upstream: head office's answers recorded before it are reflected once a
        pull with this number (or a later one) ends complete."""
        with self._write() as conn:
            number = meta_int(conn, "pulls") + 1
            set_meta(conn, pulls=number)
        return number

    def apply_upstream(self, page: SnapshotPage, pull: int) -> None:
        """Apply head office's page, fetched in pull `pull` from `upstream_cursor()`, and its next_cursor,
        in one transaction. feed.PageOutOfOrder (a ValueError) when the page is not for that cursor."""
        with self._write() as conn:
            feed.apply_upstream(conn, page, pull, _now().isoformat())

    def set_devices(self, devices: Sequence[StoreDevice]) -> None:
        """The store's devices as head office's GET /sync/devices gives them: the list replaces the
        one before (the heartbeats the hub recorded for each stay)."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO devices (device_id, name, role, token_hash, revoked, enrolled_at) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (device_id) DO UPDATE SET name = excluded.name, role = excluded.role, "
                "token_hash = excluded.token_hash, revoked = excluded.revoked, enrolled_at = excluded.enrolled_at",
                [
                    (
                        d.device_id,
                        d.name,
                        d.role,
                        d.token_hash.lower(),
                        int(d.revoked),
                        None if d.enrolled_at is None else d.enrolled_at.isoformat(),
                    )
                    for d in devices
                ],
            )
            listed = [d.device_id for d in devices]
            conn.execute(
                f"DELETE FROM devices WHERE device_id NOT IN ({', '.join('?' * len(listed))})", listed
            )
            set_meta(conn, last_devices_at=_now().isoformat())

    def device_for_token(self, token: str) -> HubDevice | None:
        """The device whose token this is (revoked ones included: see `revoked`); None when the list
        from head office has no such token."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        conn = self._conn()
        row = conn.execute(
            "SELECT device_id, name, role, revoked FROM devices WHERE token_hash = ?", (digest,)
        ).fetchone()
        if row is None:
            return None
        return HubDevice(
            id=row["device_id"],
            store_id=self.store_id() or "",
            name=row["name"],
            revoked=bool(row["revoked"]),
            role=row["role"],
        )

    def unforwarded(self, limit: int) -> list[Event]:
        """Up to `limit` events head office has not answered yet, in the order the hub received them,
        each with `device_id` = the till that made it (as they are to be sent). A review of an event
        in the same batch ends the batch before it: head office's ledger records the problems of
        a request at its end, so it would reject the review as UNKNOWN_PROBLEM."""
        rows = self._conn().execute(
            "SELECT id, kind, target, event FROM ledger WHERE ho_result IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        out: list[Event] = []
        for r in rows:
            if r["kind"] == "review" and r["target"] in {str(e.id) for e in out}:
                break  # head office finds a problem only once the request that made it is done
            out.append(Event.from_wire(r["event"]))
        return out

    def record_forwarded(self, results: Sequence[EventResult]) -> None:
        """Head office's answers to forwarded events (a `duplicate` is recorded as the first answer
        it carries); an event answered already keeps its first answer."""
        with self._write() as conn:
            now, pull = _now().isoformat(), meta_int(conn, "pulls")
            for result in results:
                final = result.final
                changed = conn.execute(
                    "UPDATE ledger SET ho_outcome = ?, ho_result = ?, ho_answered_at = ?, ho_pull = ? "
                    "WHERE id = ? AND ho_result IS NULL RETURNING id, kind, voucher_id, target, outcome",
                    (final.outcome, json.dumps(final.to_wire()), now, pull, str(result.id)),
                ).fetchone()
                if changed is not None:
                    _forwarded_changes(conn, changed, final.outcome)
            set_meta(conn, last_forward_at=now)

    def pending(self) -> int:
        """How many events head office has not answered yet."""
        return int(self._conn().execute("SELECT count(*) FROM ledger WHERE ho_result IS NULL").fetchone()[0])

    # --- the tills' side ------------------------------------------------------------------------

    def store_id(self) -> str | None:
        """The store the hub's snapshot is of; None before head office's first page."""
        store = get_meta(self._conn(), "store")
        return None if store is None else str(json.loads(store)["id"])

    def ready(self) -> bool:
        """Head office's snapshot has come whole at least once: the hub decides and serves pages."""
        return get_meta(self._conn(), "complete") == "1"

    def ingest(self, device: HubDevice, events: Sequence[Event]) -> list[EventResult]:
        """Decide the till's events (hub/decisions.py), one result each in order; on disk before it
        returns. NotReady before head office's snapshot has come whole once."""
        with self._write() as conn:
            store = _store(conn)
            return decisions.ingest(conn, store["id"], ZoneInfo(store["timezone"]), device, events, _now())

    def head(self) -> int:
        """The newest number of the hub's change feed (0 before any change)."""
        return head(self._conn())

    def page(self, cursor: int, limit: int) -> dict[str, Any]:
        """The tills' snapshot page after `cursor` (the hub's own change numbers), with at most
        `limit` changes: docs/PROTOCOL.md's wire form as a JSON object. NotReady before head
        office's snapshot has come whole once."""
        with read(self._conn()) as conn:
            ahead = cursor > head(conn)
            if not ahead:
                return feed.page(conn, cursor, limit, _store(conn))
        with self._write() as conn:  # a cursor of an earlier hub.db: number every change above it
            feed.renumber_above(conn, cursor)
        with read(self._conn()) as conn:
            return feed.page(conn, cursor, limit, _store(conn))

    def record_heartbeat(self, device: HubDevice, body: HeartbeatRequest) -> None:
        """A till's heartbeat, kept as the last one it sent (for `voucher-hub status`)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE devices SET heartbeat = ?, heartbeat_at = ? WHERE device_id = ?",
                (json.dumps(body.to_wire()), _now().isoformat(), device.id),
            )

    def status(self) -> HubStatus:
        """What `voucher-hub status` shows."""
        with read(self._conn()) as conn:
            store = json.loads(get_meta(conn, "store") or "null")
            times = {
                k: _time(get_meta(conn, k)) for k in ("last_pull_at", "last_forward_at", "last_devices_at")
            }
            events, unforwarded = conn.execute(
                "SELECT count(*), coalesce(sum(ho_result IS NULL), 0) FROM ledger"
            ).fetchone()
            devices = tuple(
                _till_status(r)
                for r in conn.execute("SELECT * FROM devices ORDER BY role DESC, name, device_id")
            )
            open_problems = _open_problems(conn, store["id"]) if store else 0
            return HubStatus(
                store_id=store and store["id"],
                timezone=store and store["timezone"],
                upstream_cursor=meta_int(conn, "upstream_cursor"),
                snapshot_complete=get_meta(conn, "complete") == "1",
                head=head(conn),
                events=int(events),
                unforwarded=int(unforwarded),
                open_problems=open_problems,
                last_pull_at=times["last_pull_at"],
                last_forward_at=times["last_forward_at"],
                last_devices_at=times["last_devices_at"],
                last_contact_at=max((t for t in times.values() if t is not None), default=None),
                devices=devices,
            )

    # --- connections ----------------------------------------------------------------------------

    def _adopt(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        with self._all_lock:
            if self._closed:
                conn.close()
                raise RuntimeError("the hub's store is closed")
            self._all.append(conn)
        self._local.conn = conn
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._closed:
            conn = self._adopt(_connect(self.path))
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock, write(conn) as c:
            yield c


def _connect(path: Path) -> sqlite3.Connection:
    """One more connection to hub.db (made and migrated by the first): WAL, FULL sync."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    return conn


def _store(conn: sqlite3.Connection) -> dict[str, Any]:
    store = get_meta(conn, "store")
    if store is None or get_meta(conn, "complete") != "1":
        raise NotReady(
            "The hub has not yet received the store's whole voucher list from head office; "
            "try again in a moment."
        )
    found: dict[str, Any] = json.loads(store)
    return found


def _forwarded_changes(conn: sqlite3.Connection, row: sqlite3.Row, ho_outcome: str) -> None:
    """What head office's answer changes for the tills: the voucher, unless head office accepted
    what the hub accepted (hub/views.py: what an answer changes), the hub's own problem (served reviewed by head office once it
    accepted the event), the problem a review closes."""
    counted = row["outcome"] == "accepted"
    counts = counted if ho_outcome == "duplicate" else ho_outcome == "accepted"
    if row["kind"] in ("redeem", "revert") and row["voucher_id"] and not (counted and counts):
        bump(conn, "voucher", row["voucher_id"])
    if views.is_local_problem(row):
        bump(conn, "problem", row["id"])
    if row["kind"] == "review" and row["target"]:
        bump(conn, "problem", row["target"])


def _open_problems(conn: sqlite3.Connection, store_id: str) -> int:
    ids = [r[0] for r in conn.execute("SELECT event_id FROM problems")]
    ids += [
        r[0]
        for r in conn.execute(
            "SELECT id FROM ledger WHERE outcome IN ('conflict', 'rejected') AND kind IN ('redeem', 'revert') "
            "AND id NOT IN (SELECT event_id FROM problems)"
        )
    ]
    return sum(
        1 for i in ids if (p := views.problem(conn, i, store_id)) is not None and p["reviewed"] is None
    )


def _till_status(row: sqlite3.Row) -> TillStatus:
    beat = json.loads(row["heartbeat"]) if row["heartbeat"] else {}
    return TillStatus(
        device_id=row["device_id"],
        name=row["name"],
        role=row["role"],
        revoked=bool(row["revoked"]),
        last_heartbeat_at=_time(row["heartbeat_at"]),
        version=beat.get("version"),
        pending=beat.get("pending"),
        snapshot_cursor=beat.get("snapshot_cursor"),
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> datetime:
    return datetime.now(UTC)
