"""Times as staff read them: a store's events in the store's time zone, head office's own in the
office's (the setting office_timezone), always with the zone shown ("2026-03-02 14:05 CET"), written
as the page's language writes them (Babel).

Each time is a <time datetime="…"> element carrying the exact UTC instant, so a reader (or a test)
can always get back to it; its title says the same time in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape
from sqlalchemy import select

from central.db.engine import Database
from central.db.schema import stores
from central.web.phrases import DOMAIN
from words import Words, words_for


def zone(name: str | None) -> tzinfo:
    """The time zone of that IANA name; UTC for none or a name this machine does not know."""
    if not name or name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def zone_label(moment: datetime) -> str:
    """The zone of an aware time as people read it: CET, BST, UTC, or +05:30 where the zone has no
    letters of its own."""
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def text(value: datetime, where: tzinfo, words: Words | None = None) -> str:
    """'2026-03-02 14:05 CET' ('02.03.2026 14:05 CET' in German): the time in that zone, in the
    page's language (English without one), with the zone."""
    words = words or words_for(None, DOMAIN)
    # TRANSLATORS: a CLDR pattern for a date and time on the dashboard (dd day, MM month, yyyy year, HH:mm)
    pattern = words.pgettext("dashboard time", "yyyy-MM-dd HH:mm")
    local = value.astimezone(where)
    return f"{words_for(words.language, DOMAIN, where).datetime(local, pattern)} {zone_label(local)}"


def day(value: date, words: Words | None = None) -> str:
    """'2026-03-02' ('02.03.2026' in German): a calendar day as the page's language writes it."""
    words = words or words_for(None, DOMAIN)
    # TRANSLATORS: a CLDR pattern for a calendar day on the dashboard (dd day, MM month, yyyy year)
    return words.date(value, words.pgettext("dashboard day", "yyyy-MM-dd"))


def element(
    value: datetime | date | None, where: tzinfo, words: Words | None = None, empty: str = "—"
) -> Markup | str:
    """A time as a <time> element in that zone, in the page's language (a date as itself; None as `empty`)."""
    if value is None:
        return empty
    if not isinstance(value, datetime):
        return day(value, words)
    if value.tzinfo is None:  # the database hands out aware UTC times; anything else is UTC too
        value = value.replace(tzinfo=UTC)
    instant = value.astimezone(UTC)
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        instant.isoformat(timespec="seconds"), text(instant, UTC, words), escape(text(value, where, words))
    )


class StoreZones:
    """The stores' time zones, read from the database the first time a page asks for one."""

    def __init__(self, db: Database | None) -> None:
        self._db = db
        self._zones: dict[str, tzinfo] | None = None

    def __call__(self, store_id: str | None) -> tzinfo | None:
        """The store's zone; None for no store (or one deleted since)."""
        if store_id is None:
            return None
        if self._zones is None:
            self._zones = {}
            if self._db is not None:
                with self._db.read() as conn:
                    for sid, name in conn.execute(select(stores.c.id, stores.c.timezone)):
                        self._zones[sid] = zone(name)
        return self._zones.get(store_id)
