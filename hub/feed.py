"""Head office's snapshot pages into hub.db, and the hub's own pages out to its tills.

In: a page of head office's and its `next_cursor` are applied in one transaction (inside the
caller's), each row at head office's version, `deleted` removing rows (a deleted batch takes its
types and vouchers with it), and every entity the page names takes a new number in the hub's
change feed. A page that ends a pull complete makes the events head office answered before that
pull began reflected (hub/views.py), and their vouchers take new numbers too.

Out: a till's page holds the feed's changes after its cursor in number order, each entity at its
current state as the hub sees it (a voucher overlaid with the tills' events head office does not
reflect yet), a removed one in `deleted`: docs/PROTOCOL.md's page, with `head`, `remaining` and
`problems`. Read in one read transaction, so a page never holds half a decision.

The hub's change numbers start above schema.FEED_BASE (10**15), so a cursor below it (but 0) is
no cursor of the hub's: a till whose `server` was head office until now keeps head office's
cursor, and paging from it would skip every hub change numbered below it. Such a cursor gets the
pages from the start, each answered for the cursor asked (the agent checks that a page follows on)
with the hub's next cursor, so the till goes on with the hub's numbers. A cursor above the hub's
head (one of an earlier hub.db, made anew since) has every change numbered above it first
(`renumber_above`), so that till, too, gets everything and goes on.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub import views
from hub.schema import FEED_BASE, bump, get_meta, head, meta_int, set_meta
from vouchers.wire import SnapshotPage


class PageOutOfOrder(ValueError):
    """A page of head office's that does not follow the hub's cursor (fetched for another one)."""


def apply_upstream(conn: sqlite3.Connection, page: SnapshotPage, pull: int, now: str) -> None:
    """Head office's page into hub.db, inside the caller's write transaction."""
    cursor = meta_int(conn, "upstream_cursor")
    if page.cursor != cursor:
        raise PageOutOfOrder(
            f"head office's page starts at cursor {page.cursor}, but the hub's snapshot is at {cursor}"
        )
    store = json.dumps(page.store.to_wire(), sort_keys=True)
    if get_meta(conn, "store") != store:
        set_meta(conn, store=store)
        bump(conn, "store", page.store.id)
    for b in page.batches:
        conn.execute("INSERT OR REPLACE INTO batches VALUES (?, ?)", (b.id, json.dumps(b.to_wire())))
        bump(conn, "batch", b.id)
    for t in page.types:
        conn.execute(
            "INSERT OR REPLACE INTO types VALUES (?, ?, ?)", (t.id, t.batch_id, json.dumps(t.to_wire()))
        )
        bump(conn, "type", t.id)
    conn.executemany(
        "INSERT OR REPLACE INTO vouchers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                v["id"],
                v["batch_id"],
                v["type_id"],
                v["serial"],
                v["code_hash"],
                v["claimed"],
                None if (status := v.get("status")) is None else str(status),
                None if (used := v.get("used_at")) is None else used.isoformat(),
                v.get("used_store"),
            )
            for v in page.vouchers
        ],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO changes (kind, entity_id) VALUES ('voucher', ?)",
        [(v["id"],) for v in page.vouchers],
    )
    for p in page.problems:
        conn.execute("INSERT OR REPLACE INTO problems VALUES (?, ?)", (p.event_id, json.dumps(p.to_wire())))
        bump(conn, "problem", p.event_id)
    for batch_id in page.deleted.batches:  # its types and vouchers go with it: the tills drop them too
        for kind, table in (("voucher", "vouchers"), ("type", "types")):
            conn.execute(
                f"DELETE FROM changes WHERE kind = ? AND entity_id IN (SELECT id FROM {table} WHERE batch_id = ?)",
                (kind, batch_id),
            )
            conn.execute(f"DELETE FROM {table} WHERE batch_id = ?", (batch_id,))
        conn.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
        bump(conn, "batch", batch_id)
    for kind, table, entity_ids in (
        ("type", "types", page.deleted.types),
        ("voucher", "vouchers", page.deleted.vouchers),
    ):
        for entity_id in entity_ids:
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (entity_id,))
            bump(conn, kind, entity_id)
    values: dict[str, str | int | None] = {"upstream_cursor": page.next_cursor, "last_pull_at": now}
    if page.complete:
        values["complete"] = 1
        reflected = views.reflected_pull(conn)
        if pull > reflected:
            values["reflected_pull"] = pull
            newly = conn.execute(
                "SELECT DISTINCT l.voucher_id FROM ledger l JOIN vouchers v ON v.id = l.voucher_id "
                "WHERE l.ho_pull >= ? AND l.ho_pull < ? AND l.kind IN ('redeem', 'revert')",
                (reflected, pull),
            ).fetchall()
            for row in newly:  # what the hub sees of them may change: head office's row stands now
                bump(conn, "voucher", row[0])
    set_meta(conn, **values)


def renumber_above(conn: sqlite3.Connection, cursor: int) -> None:
    """A till asks with a cursor above the hub's head (its cursor is from an earlier hub.db, made
    anew since): every change is numbered above that cursor, in the same order, so that till gets
    everything and goes on from there; a till with a cursor of this hub.db gets everything again
    (rows may repeat, never be skipped). Inside the caller's write transaction."""
    if cursor <= head(conn):
        return
    delta = cursor - FEED_BASE  # the lowest number, above FEED_BASE, goes above the cursor
    conn.execute("UPDATE changes SET seq = -seq")  # in two steps: no number is taken twice meanwhile
    conn.execute("UPDATE changes SET seq = ? - seq", (delta,))
    conn.execute("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'changes'", (delta,))


def page(conn: sqlite3.Connection, cursor: int, limit: int, store: dict[str, Any]) -> dict[str, Any]:
    """The tills' page after `cursor` (inside the caller's read transaction). A cursor that is not
    one of the hub's gets the page from the start, answered for the cursor it asked with."""
    last = head(conn)
    start = cursor if FEED_BASE <= cursor <= last else 0
    rows = conn.execute(
        "SELECT seq, kind, entity_id FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (start, limit + 1)
    ).fetchall()
    complete = len(rows) <= limit
    rows = rows[:limit]
    next_cursor = last if complete else rows[-1]["seq"]
    store_id = store["id"]
    reflected = views.reflected_pull(conn)
    out: dict[str, Any] = {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "head": last,
        "remaining": 0 if complete else max(0, last - next_cursor),
        "store": store,
        "batches": [],
        "types": [],
        "vouchers": [],
        "deleted": {"batches": [], "types": [], "vouchers": []},
        "problems": [],
    }
    for row in rows:
        kind, entity_id = row["kind"], row["entity_id"]
        if kind == "batch":
            found = conn.execute("SELECT wire FROM batches WHERE id = ?", (entity_id,)).fetchone()
            _served(out, "batches", found and json.loads(found["wire"]), entity_id)
        elif kind == "type":
            found = conn.execute("SELECT wire FROM types WHERE id = ?", (entity_id,)).fetchone()
            _served(out, "types", found and json.loads(found["wire"]), entity_id)
        elif kind == "voucher":
            voucher = views.voucher(conn, entity_id, store_id, reflected)
            _served(out, "vouchers", None if voucher is None else voucher.wire(), entity_id)
        elif kind == "problem":
            problem = views.problem(conn, entity_id, store_id)
            if problem is not None:  # a problem is never removed, only reviewed
                out["problems"].append(problem)
        # "store": every page carries the store as it is
    return out


def _served(out: dict[str, Any], key: str, wire: dict[str, Any] | None, entity_id: str) -> None:
    if wire is None:
        out["deleted"][key].append(entity_id)
    else:
        out[key].append(wire)
