"""Words for people in the product's four languages: gettext catalogues managed with Babel.

The domain core (`vouchers`) returns codes and facts; each front end words them here, in the
language and time zone of the person it answers. Catalogues live in `words/locales` (one gettext
domain per front end, `catalogues.DOMAINS`); `make messages` extracts the source's messages into
them. This package imports Babel, the standard library and the core's value types only.
"""

from words.catalogues import DOMAINS
from words.commandline import speak_argparse
from words.language import LANGUAGES, SOURCE, from_environment, language_of, negotiate, normal_locale
from words.wording import Words, words_for

__all__ = [
    "DOMAINS",
    "LANGUAGES",
    "SOURCE",
    "Words",
    "from_environment",
    "language_of",
    "negotiate",
    "normal_locale",
    "speak_argparse",
    "words_for",
]
