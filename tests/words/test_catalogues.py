"""Every catalogue words every message its source marks, in every language (issue 18.1).

For each domain and language: each message extracted from the source (the same extraction as
`make messages`) is in the shipped `.po`, translated (not empty, not fuzzy) with the source's
placeholders, and nothing the source no longer has is kept. A message added to the code without
words in every language fails here, naming the message, the language and what to run.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from words import DOMAINS, LANGUAGES, SOURCE
from words.catalogues import po_text, translations
from words.extract import extract

ROOT = Path(__file__).resolve().parents[2]
# str.format fields ({store}, {n:,}) and %-style ones, named (%(name)s) or in order (%s, argparse's)
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}|%(?:\((\w+)\))?([sdifr])")


@pytest.fixture(scope="module")
def templates() -> dict[str, Catalog]:
    return {domain: extract(domain, ROOT) for domain in DOMAINS}


def placeholders(texts: str | tuple[str, ...] | list[str] | None) -> set[str]:
    forms = [texts] if isinstance(texts, str) else list(texts or [])
    found = set()
    for text in forms:
        in_order = 0
        for brace, named, kind in PLACEHOLDER.findall(text.replace("%%", "")):
            if not kind or named:  # {store} or %(store)s
                found.add(named or brace)
            else:  # the n-th of those filled in order, of its kind
                in_order += 1
                found.add(f"%{kind} #{in_order}")
    return found


def key(message: Message) -> tuple[str | None, str]:
    ident = message.id if isinstance(message.id, str) else message.id[0]
    return message.context, ident


def problems(template: Catalog, catalogue: Catalog) -> list[str]:
    """What is wrong with one language's catalogue against the source's messages, one line each."""
    found = {key(m): m for m in catalogue if m.id}
    wanted = {key(m): m for m in template if m.id}
    wrong = []
    for where, source in wanted.items():
        message = found.get(where)
        if message is None:
            wrong.append(f"missing: {where[1]!r}")
            continue
        forms = [message.string] if isinstance(message.string, str) else list(message.string or [])
        if message.fuzzy or not forms or not all(forms):
            wrong.append(f"not translated{' (fuzzy)' if message.fuzzy else ''}: {where[1]!r}")
        elif placeholders(message.string) != placeholders(source.id):
            wrong.append(
                f"placeholders {sorted(placeholders(message.string))} instead of "
                f"{sorted(placeholders(source.id))}: {where[1]!r}"
            )
    wrong += [f"obsolete (no longer in the source): {where[1]!r}" for where in found.keys() - wanted.keys()]
    wrong += [f"obsolete entry kept: {ident!r}" for ident in catalogue.obsolete]
    return wrong


def shipped(language: str, domain: str) -> Catalog:
    text = po_text(language, domain)
    assert text is not None, f"words/locales/{language}/LC_MESSAGES/{domain}.po is missing: run make messages"
    return read_po(BytesIO(text.encode("utf-8")), locale=language, domain=domain)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("domain", list(DOMAINS))
def test_every_message_of_the_source_is_worded_in_every_language(templates, domain, language):
    wrong = problems(templates[domain], shipped(language, domain))
    assert not wrong, (
        f"{domain}.po ({language}): {len(wrong)} problem(s); run `make messages`, then translate:\n"
        + "\n".join(wrong)
    )


def test_the_shipped_template_is_the_source_s(templates):
    """The .pot beside the catalogues lists what the source has (make messages was run)."""
    for domain, template in templates.items():
        text = (ROOT / "words" / "locales" / f"{domain}.pot").read_text(encoding="utf-8")
        pot = read_po(BytesIO(text.encode("utf-8")), domain=domain)
        assert {key(m) for m in pot if m.id} == {key(m) for m in template if m.id}, f"{domain}.pot is stale"


def test_the_check_names_a_message_missing_from_a_catalogue(templates):
    """The check itself: a message the source gains, worded nowhere yet, is reported."""
    template = extract("verdicts", ROOT)
    template.add("A message no one has translated yet: {store}.", locations=[("words/verdicts.py", 1)])
    wrong = problems(template, shipped("fr", "verdicts"))
    assert wrong == ["missing: 'A message no one has translated yet: {store}.'"]


def test_the_check_names_a_translation_that_lost_a_placeholder():
    template = Catalog(domain="verdicts")
    template.add("Used at shop {store}.")
    catalogue = Catalog(locale="de", domain="verdicts")
    catalogue.add("Used at shop {store}.", "In einer anderen Filiale eingelöst.")
    assert problems(template, catalogue) == ["placeholders [] instead of ['store']: 'Used at shop {store}.'"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_compiles_and_is_used(language):
    for domain in DOMAINS:
        assert translations(language, domain) is translations(language, domain)  # compiled once
    reason = "This voucher has expired."
    worded = translations(language, "verdicts").gettext(reason)
    assert (worded == reason) is (language == SOURCE)
