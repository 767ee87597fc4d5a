"""Choosing the language (Accept-Language, a CLI's locale) and writing values through Babel."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations

from vouchers.codes import normalise
from vouchers.errors import FieldError, InvalidCode, InvalidInput
from vouchers.verdict import Verdict
from vouchers.wording import Said, said
from words import from_environment, negotiate, words_for
from words import verdicts as verdict_words

NNBSP, NBSP = "\u202f", "\u00a0"
AT = datetime(2026, 12, 1, 19, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"),
        ("de-CH", "de"),
        ("it, es-419;q=0.7, de;q=0.5", "es"),  # Italian is not worded: the next one wanted
        ("en;q=0.2, de;q=0.9", "de"),  # by weight, not by order
        ("de;q=0.5, fr;q=0.5", "de"),  # equal weights: the first
        ("de;q=0, fr;q=bad, ES;Q=0.1", "es"),  # refused and malformed entries are left out
        ("pt-BR, ja", "en"),
        ("*", "en"),
        ("", "en"),
        (None, "en"),
        ("," * 5000 + "fr", "en"),  # an endless header is read no further than its start
    ],
)
def test_negotiate_picks_the_most_wanted_worded_language(header, language):
    assert negotiate(header) == language


@pytest.mark.parametrize(
    ("variables", "language"),
    [
        ({"LANG": "de_CH.UTF-8"}, "de"),
        ({"LANG": "en_GB.UTF-8", "LC_MESSAGES": "fr_FR.UTF-8"}, "fr"),
        ({"LANGUAGE": "es:fr", "LANG": "de_DE.UTF-8"}, "es"),
        ({"LANG": "it_IT.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({"LC_ALL": "C.UTF-8", "LANGUAGE": "de"}, "en"),  # C wins over LANGUAGE, as in gettext
        ({"LC_CTYPE": "C.UTF-8", "LANG": "fr_FR.UTF-8"}, "fr"),  # Python's PEP 538 coercion: not a language
        ({"LANGUAGE": "it:de", "LANG": "en_US.UTF-8"}, "de"),
        ({}, "en"),
    ],
)
def test_a_command_line_speaks_its_environment_s_language(monkeypatch, variables, language):
    for name in ("LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert from_environment() == language


@pytest.mark.parametrize(
    ("language", "zone", "when", "day", "money", "number"),
    [
        (
            "fr",
            "Europe/Paris",
            "1 déc. 2026, 20:45:00",
            "1 décembre 2026",
            f"1{NNBSP}234,50{NBSP}€",
            f"1{NNBSP}234,5",
        ),
        ("de", "Europe/Berlin", "01.12.2026, 20:45:00", "1. Dezember 2026", f"1.234,50{NBSP}€", "1.234,5"),
        (
            "es",
            "Europe/Madrid",
            "1 dic 2026, 20:45:00",
            "1 de diciembre de 2026",
            f"1.234,50{NBSP}€",
            "1.234,5",
        ),
        ("en", "Europe/London", f"Dec 1, 2026, 7:45:00{NNBSP}PM", "December 1, 2026", "€1,234.50", "1,234.5"),
    ],
)
def test_dates_numbers_and_money_in_the_language_and_zone(language, zone, when, day, money, number):
    words = words_for(language, "verdicts", zone)
    assert words.datetime(AT) == when
    assert words.date(AT, "long") == day
    assert words.money(Decimal("1234.50"), "EUR") == money
    assert words.number(1234.5) == number


def test_a_day_is_the_zone_s_day_and_a_region_its_own_formats():
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert words_for("de", "verdicts", "Europe/Berlin").date(late) == "01.01.2027"
    assert words_for("de", "verdicts", ZoneInfo("America/New_York")).date(late) == "31.12.2026"
    assert words_for("de", "verdicts").date(date(2026, 3, 1)) == "01.03.2026"
    swiss = words_for("de_CH", "verdicts", "Europe/Zurich")
    assert swiss.language == "de" and swiss.money(5, "CHF") == f"CHF{NBSP}5.00"
    assert words_for("it", "verdicts").language == "en"


def test_plural_forms_follow_the_language():
    english = words_for("en", "verdicts")
    assert english.ngettext("{n} voucher", "{n} vouchers", 1) == "1 voucher"
    assert english.ngettext("{n} voucher", "{n} vouchers", 1200) == "1,200 vouchers"


def test_a_verdict_and_its_facts_in_each_language():
    def worded(language: str) -> tuple[str, str, str]:
        words = words_for(language, "verdicts", "Europe/Paris")
        try:
            normalise("ÄBCDEFGHJKMNPQ")
        except InvalidCode as error:
            invalid = verdict_words.invalid_code(words, error)
        used = verdict_words.used(words, AT, "store-2", "store-1")
        return invalid, verdict_words.reason(words, Verdict.LOADING, progress=42), used

    assert worded("en") == (
        "This is not a voucher code. Check it and scan again. ('Ä' is not used in voucher codes.)",
        "Voucher list loading (42 %): try again in a moment, or check the voucher at head office.",
        "Used at shop store-2 on 01 Dec 2026 at 20:45.",
    )
    fr, de, es = worded("fr"), worded("de"), worded("es")
    assert "Ä" in fr[0] and "42" in fr[1] and fr[2] == "Utilisé au magasin store-2 le 1 déc. 2026 à 20:45."
    assert de[2] == "Eingelöst in der Filiale store-2 am 01.12.2026 um 20:45 Uhr."
    assert es[2] == "Canjeado en la tienda store-2 el 1 dic 2026 a las 20:45."


def test_a_translation_with_broken_placeholders_gives_the_source_s_words():
    """A catalogue edited by hand and shipped without the tests: no error reaches the cashier."""
    catalog = Catalog(locale="fr", domain="verdicts")
    catalog.add("Used at shop {store}.", "Utilisé au magasin {magasin}.")
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    words = replace(words_for("fr", "verdicts"), catalogue=Translations(compiled, domain="verdicts"))
    assert words.gettext("Used at shop {store}.", store="s2") == "Used at shop s2."


def test_a_message_kept_with_its_facts_is_worded_in_each_language():
    kept = said(
        "{path}: no space left on the disk ({cause}). Free some space in {folder}; it works again by itself.",
        path="/var/lib/voucher/journal.db",
        cause="database or disk is full",
        folder="/var/lib/voucher",
    )
    english = (
        "/var/lib/voucher/journal.db: no space left on the disk (database or disk is full). Free some space in "
        "/var/lib/voucher; it works again by itself."
    )
    assert kept.english() == str(kept) == english
    assert words_for("en", "store").say(kept) == english
    french = words_for("fr", "store").say(kept)
    assert (
        french != english and "/var/lib/voucher/journal.db" in french and "database or disk is full" in french
    )
    # a fact that is itself a message is worded in the same language; text is words already
    nested = said("{where}: {problems}", where=said("the environment"), problems="x")
    assert nested.english() == "the environment: x"
    assert words_for("de", "store").say(nested) == f"{words_for('de', 'store').gettext('the environment')}: x"
    assert words_for("de", "store").say("already words") == "already words"
    # kept in a file and read back; anything else read back is nothing
    assert Said.from_json(nested.to_json()) == nested
    assert (
        Said.from_json("not json") is None
        and Said.from_json('{"facts": {}}') is None
        and Said.from_json(None) is None
    )
    # an error keeps it for the front ends; its detail is the English, the same as before
    error = InvalidInput([FieldError("email", said("'{address}' is not an e-mail address.", address="a@"))])
    assert error.detail == "email: 'a@' is not an e-mail address." and error.errors[0].said is not None
    assert FieldError("email", "'a@' is not an e-mail address.") == error.errors[0]  # compared by their words


def test_pydantic_s_kinds_of_setting_error_are_worded():
    """A setting's problem of each common kind is kept with its facts and worded, not pydantic's English."""
    import pydantic

    from configfile.problems import KINDS, problem

    class Settings(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        port: int = 1
        stores: list[str] = pydantic.Field(default_factory=list, max_length=2)
        ratio: float = pydantic.Field(default=1.0, multiple_of=0.5)

    given = {"port": [1], "stores": ["a", "b", "c"], "ratio": 0.7, "prot": 2}
    with pytest.raises(pydantic.ValidationError) as failed:
        Settings.model_validate(given)
    found = {str(e["loc"][0]): problem(e) for e in failed.value.errors()}
    assert all(isinstance(p, Said) and p.message in KINDS.values() for p in found.values()), found
    german = words_for("de", "store")
    assert german.say(found["stores"]) == "darf höchstens 2 Eintrag/Einträge haben"
    assert german.say(found["ratio"]) == "muss ein Vielfaches von 0.5 sein"
    assert german.say(found["port"]) == "muss eine ganze Zahl sein"
    assert found["prot"].english() == "is not a setting of this program (a typo?)"
