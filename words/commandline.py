"""argparse's own words (usage:, options:, the help option, its error lines) in a command's language.

argparse looks each of its messages up through gettext when it writes it, by the names `_` and
`ngettext` its module imported from gettext. A command line binds those names to the `argparse`
catalogue of its language before it builds its parser, so the parts argparse writes speak the
same language as the help and the messages the command writes itself. English binds the source's
words back, so one process may build parsers in several languages one after another (the tests do).
"""

from __future__ import annotations

import argparse

from words.catalogues import translations
from words.wording import Words


def speak_argparse(words: Words) -> None:
    """Make argparse write its own words in the language of `words` from now on in this process."""
    catalogue = translations(words.language, "argparse")
    setattr(argparse, "_", catalogue.gettext)  # noqa: B010 - the module's own gettext names, rebound
    setattr(argparse, "ngettext", catalogue.ngettext)  # noqa: B010
