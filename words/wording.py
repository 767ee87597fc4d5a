"""Words for people in one language and time zone: messages, and dates, numbers and money through Babel.

A front end asks `words_for(language, domain, tz)` once for the person it answers (a till's
language, a browser's, a CLI's) and words everything through it. `language` may name a region
('de_CH', 'fr-BE'): the messages are its language's, the formats (dates, numbers, money) the
region's.
"""

from __future__ import annotations

import datetime as dt
import gettext
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.core import Locale, UnknownLocaleError

from vouchers.wording import Said
from words.catalogues import translations
from words.language import SOURCE, language_of


@dataclass(frozen=True)
class Words:
    """One language's catalogue of one domain, with the locale and time zone to write values in.

    Messages are `str.format` templates with named placeholders (`{store}`); the facts given to
    `gettext`, `ngettext` and `pgettext` fill them after translation (none given: the text as is)."""

    language: str
    domain: str
    locale: Locale
    tz: dt.tzinfo
    catalogue: gettext.NullTranslations = field(repr=False, compare=False)

    def gettext(self, message: str, /, **facts: object) -> str:
        """The message in this language, its placeholders filled from `facts`."""
        return _fill(self.catalogue.gettext(message), facts, message)

    def ngettext(self, singular: str, plural: str, n: int, /, **facts: object) -> str:
        """The singular or the language's plural form for `n`; `{n}` and `facts` filled in."""
        source = singular if n == 1 else plural
        return _fill(self.catalogue.ngettext(singular, plural, n), {"n": self.number(n), **facts}, source)

    def pgettext(self, context: str, message: str, /, **facts: object) -> str:
        """The message as meant in `context` (the same English may be two things in another language)."""
        return _fill(self.catalogue.pgettext(context, message), facts, message)

    def say(self, text: str | Said, /) -> str:
        """A message kept with its facts (vouchers.wording.said), worded here, its facts that are
        messages too worded first; a plain string is words already and comes back as it is."""
        if not isinstance(text, Said):
            return text
        facts = {k: self.say(v) if isinstance(v, Said) else v for k, v in text.facts.items()}
        return self.gettext(text.message, **facts)

    def datetime(self, value: dt.datetime, format: str = "medium") -> str:
        """An instant in this time zone ('short', 'medium', 'long', 'full' or a CLDR pattern)."""
        return dates.format_datetime(value, format, tzinfo=self.tz, locale=self.locale)

    def date(self, value: dt.date | dt.datetime, format: str = "medium") -> str:
        """A calendar day; an instant is first put in this time zone."""
        day = self._here(value).date() if isinstance(value, dt.datetime) else value
        return dates.format_date(day, format, locale=self.locale)

    def time(self, value: dt.datetime | dt.time, format: str = "short") -> str:
        """A time of day; an instant is first put in this time zone."""
        moment = self._here(value).timetz() if isinstance(value, dt.datetime) else value
        return dates.format_time(moment, format, locale=self.locale)

    def number(self, value: float | Decimal, decimals: int | None = None) -> str:
        """A number with this locale's separators; `decimals` fixes how many digits follow the point."""
        if decimals is None:
            return numbers.format_decimal(value, locale=self.locale)
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return numbers.format_decimal(value, pattern, locale=self.locale)

    def money(self, amount: float | Decimal, currency: str) -> str:
        """An amount of a currency (ISO 4217: 'EUR', 'CHF', 'GBP') as this locale writes it."""
        return numbers.format_currency(amount, currency, locale=self.locale)

    def _here(self, value: dt.datetime) -> dt.datetime:
        return value.astimezone(self.tz) if value.tzinfo is not None else value.replace(tzinfo=self.tz)


def _fill(text: str, facts: dict[str, object], source: str) -> str:
    """The text with its placeholders filled; a translation whose placeholders do not fit (a
    catalogue the tests have not seen) gives the source's words rather than an error."""
    if not facts:
        return text
    try:
        return text.format(**facts)
    except (KeyError, IndexError, ValueError):
        return source.format(**facts)


def _locale(language: str) -> Locale:
    """Babel's locale for a tag; its language alone when the region is unknown, else the source's."""
    for candidate in (language.replace("-", "_").split(".", 1)[0], language_of(language) or SOURCE):
        try:
            return Locale.parse(candidate)
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse(SOURCE)


@lru_cache(maxsize=256)
def words_for(language: str | None, domain: str, tz: dt.tzinfo | str = "UTC") -> Words:
    """The words of `domain` for a language or locale tag (None or one the product lacks: English),
    writing times in `tz` (a tzinfo, or an IANA name)."""
    spoken = language_of(language) or SOURCE
    locale = _locale(language) if language and language_of(language) else Locale.parse(SOURCE)
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return Words(spoken, domain, locale, zone, translations(spoken, domain))
