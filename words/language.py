"""Which of the product's languages a person gets: from a browser's Accept-Language, or a CLI's locale.

Four languages are worded (LANGUAGES); English is the source the messages are written in. A
region (de-CH, fr_BE) gets its language's words; what is not one of the four gets English.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from babel.core import Locale, UnknownLocaleError

LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es")
SOURCE = "en"


def language_of(tag: str | None) -> str | None:
    """The product's language for a locale or language tag ('de-CH', 'fr_BE.UTF-8'), or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].split(".", 1)[0].lower()
    return primary if primary in LANGUAGES else None


def normal_locale(tag: str | None) -> str | None:
    """A store's locale in its normal form ('de_CH', 'fr'), or None when it is not one of the
    product's languages (with a region Babel knows, if it has one)."""
    if not tag or language_of(tag) is None:
        return None
    try:
        locale = Locale.parse(tag.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    return str(locale) if locale.language == language_of(tag) else None


def _weight(params: list[str]) -> float | None:
    """An Accept-Language entry's q-value (1 when absent); None when it is not a number in [0, 1]."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0 <= q <= 1 else None
    return 1.0


def negotiate(accept_language: str | None) -> str:
    """The language to answer a browser in, from its Accept-Language header (RFC 9110 q-values):
    the most wanted one of LANGUAGES, regions reduced to their language; English otherwise."""
    wanted: list[tuple[float, int, str]] = []
    for position, entry in enumerate((accept_language or "")[:1000].split(",")):
        tag, *params = entry.split(";")
        q = _weight(params)
        language = language_of(tag)
        if q and language:
            wanted.append((-q, position, language))
    return min(wanted)[2] if wanted else SOURCE


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language for a command-line program, from its environment as gettext reads it: the first
    of LC_ALL, LC_MESSAGES and LANG that is set names the locale (C or POSIX: English), and LANGUAGE,
    a list such as `es:fr`, comes first unless that locale is C. LC_CTYPE is not asked: Python sets it
    to C.UTF-8 itself when LANG names a locale the machine lacks (PEP 538), which says nothing of
    the person's language. Reduced to LANGUAGES; English otherwise."""
    env = os.environ if environ is None else environ
    locale = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "")
    if locale.split(".", 1)[0] in ("C", "POSIX"):
        return SOURCE
    for tag in env.get("LANGUAGE", "").split(":"):
        if language_of(tag):
            return language_of(tag) or SOURCE
    return language_of(locale) or SOURCE
