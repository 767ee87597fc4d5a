"""Head office's reports: redemptions over time, channels side by side, conflicts and rejections."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from central.db.schema import batches, events
from central.services import problems
from vouchers.metrics import BENCHMARKS, CHANNELS, combined, metrics

MAX_DAYS = 92  # longer spans are counted per week


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def redemptions_by_day(conn: Connection, batch_id: str) -> list[tuple[date, int]]:
    """Redemptions of a batch the ledger accepted, per day of the till's time (UTC), gaps as 0;
    per week (Mondays) when the span is longer than MAX_DAYS."""
    day = func.date(events.c.at)
    rows = conn.execute(
        select(day, func.count())
        .where(events.c.batch_id == batch_id, events.c.kind == "redeem", events.c.outcome == "accepted")
        .group_by(day)
        .order_by(day)
    ).all()
    counts = {_day(d): n for d, n in rows}
    if not counts:
        return []
    first, last = min(counts), max(counts)
    step = 1
    if (last - first).days >= MAX_DAYS:
        weekly: dict[date, int] = {}
        for d, n in counts.items():
            monday = d - timedelta(days=d.weekday())
            weekly[monday] = weekly.get(monday, 0) + n
        counts, step = weekly, 7
        first, last = min(counts), max(counts)
    out = []
    d = first
    while d <= last:
        out.append((d, counts.get(d, 0)))
        d += timedelta(days=step)
    return out


def channels(conn: Connection) -> list[dict[str, Any]]:
    """Each channel's batches taken together, against the channel's typical and great rates."""
    rows = conn.execute(
        select(batches.c.channel, batches.c.total, batches.c.claimed, batches.c.redeemed)
    ).all()
    grouped: dict[str | None, list] = {}
    for r in rows:
        grouped.setdefault(r.channel, []).append(metrics(r.total, r.claimed, r.redeemed))
    out = []
    for channel in (*CHANNELS, None):
        figures = grouped.get(channel, [])
        if channel is None and not figures:
            continue
        out.append(
            {
                "channel": channel,
                "label": BENCHMARKS[channel].label if channel else "No channel",
                "benchmark": BENCHMARKS.get(channel or ""),
                "batches": len(figures),
                "metrics": combined(figures),
            }
        )
    return out


def conflicts_and_rejections(
    conn: Connection, store_id: str | None = None, reviewed: bool | None = None, limit: int = 500
) -> list[dict[str, Any]]:
    """Conflicts and rejections newest first, for staff to review: a store's own and the
    conflicts its redemptions won (central/services/problems.py)."""
    return problems.listing(conn, store_id=store_id, reviewed=reviewed, limit=limit)
