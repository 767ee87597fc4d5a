"""Head office's reports: redemptions over time, per store and day, refused scans, channels side by
side, conflicts and rejections."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Connection, func, select

from central.db.schema import batches, events, stores
from central.services import problems
from vouchers.metrics import BENCHMARKS, CHANNELS, Benchmark, Metrics, combined, metrics

MAX_DAYS = 92  # longer spans are counted per week


@dataclass(frozen=True)
class ChannelFigures:
    """A channel's batches taken together (`channel` None: the batches without one), with the
    channel's typical and great rates (`benchmark`; None for no channel)."""

    channel: str | None
    label: str
    benchmark: Benchmark | None
    batches: int
    metrics: Metrics


def _day(value: date | str) -> date:
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


def channels(conn: Connection) -> list[ChannelFigures]:
    """Each channel's batches taken together, against the channel's typical and great rates."""
    rows = conn.execute(
        select(batches.c.channel, batches.c.total, batches.c.claimed, batches.c.redeemed)
    ).all()
    grouped: dict[str | None, list[Metrics]] = {}
    for r in rows:
        grouped.setdefault(r.channel, []).append(metrics(r.total, r.claimed, r.redeemed))
    out = []
    for channel in (*CHANNELS, None):
        figures = grouped.get(channel, [])
        if channel is None and not figures:
            continue
        out.append(
            ChannelFigures(
                channel=channel,
                label=BENCHMARKS[channel].label if channel else "No channel",
                benchmark=BENCHMARKS.get(channel or ""),
                batches=len(figures),
                metrics=combined(figures),
            )
        )
    return out


def conflicts_and_rejections(
    conn: Connection, store_id: str | None = None, reviewed: bool | None = None, limit: int = 500
) -> list[problems.Problem]:
    """Conflicts and rejections newest first, for staff to review: a store's own and the
    conflicts its redemptions won (central/services/problems.py)."""
    return problems.listing(conn, store_id=store_id, reviewed=reviewed, limit=limit)


# --- per store and per day, in each store's own time zone -------------------------------------------

MAX_REPORT_DAYS = 92  # the longest period a per-day report covers


@dataclass(frozen=True)
class Period:
    """Days `first` to `last`, both included, each a day in the store's own time zone."""

    first: date
    last: date

    @classmethod
    def ending(cls, last: date, days: int = 28) -> Period:
        return cls(last - timedelta(days=days - 1), last)

    def clamped(self) -> Period:
        """The same period, ending on the same day, at most MAX_REPORT_DAYS long."""
        return Period(max(self.first, self.last - timedelta(days=MAX_REPORT_DAYS - 1)), self.last)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True)
class StoreDays:
    """One store's counts per day of the period (gaps as 0), in its own time zone."""

    store_id: str
    name: str
    timezone: str
    days: tuple[tuple[date, int], ...]

    @property
    def total(self) -> int:
        return sum(n for _, n in self.days)

    @property
    def busiest(self) -> tuple[date, int] | None:
        best = max(self.days, key=lambda d: d[1], default=None)
        return best if best and best[1] else None


@dataclass(frozen=True)
class RedemptionReport:
    period: Period
    stores: tuple[StoreDays, ...]  # every store, by name

    @property
    def total(self) -> int:
        return sum(s.total for s in self.stores)

    def per_day(self, store_id: str | None = None) -> list[tuple[date, int]]:
        """Every store's redemptions added up per (local) day, or one store's."""
        chosen = [s for s in self.stores if store_id is None or s.store_id == store_id]
        return [(d, sum(s.days[i][1] for s in chosen)) for i, d in enumerate(self.period.days)]


@dataclass(frozen=True)
class RefusedCount:
    """Scans a store's tills refused for one reason (the till's verdict) on one day."""

    store_id: str
    name: str
    timezone: str
    verdict: str
    day: date
    count: int

    @property
    def label(self) -> str:
        return verdict_label(self.verdict)


@dataclass(frozen=True)
class RefusedReport:
    period: Period
    counts: tuple[RefusedCount, ...]  # by store name, reason, day; days without any left out

    @property
    def total(self) -> int:
        return sum(c.count for c in self.counts)

    def per_day(self, store_id: str | None = None, verdict: str | None = None) -> list[tuple[date, int]]:
        by_day: dict[date, int] = {}
        for c in self.counts:
            if (store_id is None or c.store_id == store_id) and (verdict is None or c.verdict == verdict):
                by_day[c.day] = by_day.get(c.day, 0) + c.count
        return [(d, by_day.get(d, 0)) for d in self.period.days]

    def by_store_and_reason(self) -> list[tuple[str, str, str, int]]:
        """(store id, store name, verdict, count) over the whole period, most refused first."""
        sums: dict[tuple[str, str, str], int] = {}
        for c in self.counts:
            key = (c.store_id, c.name, c.verdict)
            sums[key] = sums.get(key, 0) + c.count
        return sorted(((*k, n) for k, n in sums.items()), key=lambda r: (r[1], -r[3], r[2]))


def verdict_label(verdict: str | None) -> str:
    """A till's verdict as a short label: ALREADY_USED → Already used."""
    return (verdict or "unknown").replace("_", " ").capitalize()


def _zone(name: str) -> tzinfo:
    try:
        return UTC if name.upper() == "UTC" else ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _hour(conn: Connection) -> ColumnElement:
    """The UTC hour an event's time falls in: stores' days are made of whole hours of UTC (a zone
    half an hour off UTC counts the half hour around midnight to the day it starts in)."""
    if conn.dialect.name == "postgresql":
        return func.date_trunc("hour", events.c.at)
    return func.strftime("%Y-%m-%d %H:00:00", events.c.at)


def _as_utc(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _store_rows(conn: Connection) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in conn.execute(select(stores.c.id, stores.c.name, stores.c.timezone))]


def _hourly(conn: Connection, period: Period, kind: str, *extra: ColumnElement) -> Iterator[tuple]:
    """(store id, *extra, local day, count) of the events of `kind` that count, by the hour: the
    period in UTC with a margin of a day either side, since stores' zones run up to 14 hours off."""
    hour = _hour(conn)
    since = datetime.combine(period.first - timedelta(days=1), time(), UTC)
    until = datetime.combine(period.last + timedelta(days=2), time(), UTC)
    outcome = [events.c.outcome == "accepted"] if kind == "redeem" else []
    query = (
        select(events.c.store_id, *extra, hour, func.count())
        .where(
            events.c.kind == kind,
            events.c.store_id.is_not(None),
            events.c.at >= since,
            events.c.at < until,
            *outcome,
        )
        .group_by(events.c.store_id, *extra, hour)
    )
    zones = {sid: _zone(tz) for sid, _, tz in _store_rows(conn)}
    for row in conn.execute(query):
        store_id, *rest = row
        *keys, at, count = rest
        day = _as_utc(at).astimezone(zones.get(store_id, UTC)).date()
        if period.first <= day <= period.last:
            yield (store_id, *keys, day, count)


def redemptions_per_store(conn: Connection, period: Period) -> RedemptionReport:
    """Redemptions the ledger accepted at each store's tills, per day of the store's own calendar."""
    counts: dict[tuple[str, date], int] = {}
    for store_id, day, n in _hourly(conn, period, "redeem"):
        counts[(store_id, day)] = counts.get((store_id, day), 0) + n
    out = [
        StoreDays(sid, name, tz, tuple((d, counts.get((sid, d), 0)) for d in period.days))
        for sid, name, tz in _store_rows(conn)
    ]
    return RedemptionReport(period, tuple(sorted(out, key=lambda s: (s.name.casefold(), s.store_id))))


def refused_scans(conn: Connection, period: Period) -> RefusedReport:
    """Scans the tills refused (each till pushes its refusals), per store, reason and local day."""
    names = {sid: (name, tz) for sid, name, tz in _store_rows(conn)}
    counts: dict[tuple[str, str, date], int] = {}
    for store_id, verdict, day, n in _hourly(conn, period, "refused", events.c.verdict):
        key = (store_id, verdict or "UNKNOWN", day)
        counts[key] = counts.get(key, 0) + n
    out = [
        RefusedCount(sid, *names.get(sid, (sid, "UTC")), verdict, day, n)
        for (sid, verdict, day), n in counts.items()
    ]
    return RefusedReport(period, tuple(sorted(out, key=lambda c: (c.name.casefold(), c.verdict, c.day))))


def _day_start(day: date, zone_name: str) -> str:
    """When a store's day begins, in ISO 8601 with its offset (2026-03-29T00:00:00+01:00)."""
    return datetime.combine(day, time(), _zone(zone_name)).isoformat()


REDEMPTION_CSV: list[str | int] = ["store_id", "store", "time_zone", "day", "day_starts", "redemptions"]
REFUSED_CSV: list[str | int] = [
    "store_id",
    "store",
    "time_zone",
    "day",
    "day_starts",
    "verdict",
    "reason",
    "refused",
]


def redemptions_csv_rows(report: RedemptionReport) -> Iterator[list[str | int]]:
    yield REDEMPTION_CSV
    for s in report.stores:
        for d, n in s.days:
            yield [s.store_id, s.name, s.timezone, d.isoformat(), _day_start(d, s.timezone), n]


def refused_csv_rows(report: RefusedReport) -> Iterator[list[str | int]]:
    yield REFUSED_CSV
    for c in report.counts:
        yield [
            c.store_id,
            c.name,
            c.timezone,
            c.day.isoformat(),
            _day_start(c.day, c.timezone),
            c.verdict,
            c.label,
            c.count,
        ]
