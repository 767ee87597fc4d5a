"""The message catalogues: one gettext domain per front end, in `words/locales/<lang>/LC_MESSAGES`.

Each domain is translated on its own (several people can translate at once). The `.po` files are
what ships; each is compiled in memory at first use (Babel's reader and `.mo` writer into a
buffer) and kept for the life of the process, so nothing is written to the install directory.
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib import resources
from io import BytesIO
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from words.language import LANGUAGES, SOURCE

DOMAINS: Final[dict[str, str]] = {
    "verdicts": "the verdict and scan-error words shared by the till and head office",
    "kiosk": "the cashier's screen and the manager view at the till",
    "store": "the store host's programs: sync agent, till files, shop hub",
    "members": "the member and claim pages",
    "dashboard": "head office's dashboard",
    "central": "head office's command line",
    "argparse": "the words argparse writes itself in every command line: usage, options, its errors",
}


def po_text(language: str, domain: str) -> str | None:
    """The `.po` file of one language and domain as shipped, or None when there is none."""
    path = resources.files("words").joinpath("locales", language, "LC_MESSAGES", f"{domain}.po")
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None


@cache
def translations(language: str, domain: str) -> gettext.NullTranslations:
    """The compiled catalogue of one language and domain (fuzzy entries left out); the source's
    words, unchanged, for a language or domain the product does not have."""
    if language not in LANGUAGES or domain not in DOMAINS:
        return gettext.NullTranslations()
    text = po_text(language, domain)
    if text is None:
        return gettext.NullTranslations() if language == SOURCE else translations(SOURCE, domain)
    catalog = read_po(BytesIO(text.encode("utf-8")), locale=language, domain=domain)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    found = Translations(compiled, domain=domain)
    if language != SOURCE:
        found.add_fallback(translations(SOURCE, domain))  # an untranslated message: the source's words
    return found
