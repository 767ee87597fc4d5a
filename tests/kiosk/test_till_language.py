"""The till in the shop's language (issue 18.1), the real app driven by Pilot on real till files:
the scan screen, a verdict, the strip of last scans and the manager view in French and in German,
with no English word of the screen left; the language from the setting `language`, else from the
store's locale as head office sends it in the snapshot (followed while the till runs), else English."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from support import kiosk_files
from support.kiosk_files import CODES, make_settings, open_manager, scan, status_line, wait_until
from textual.widgets import DataTable, Label

from kiosk.app import build_kiosk
from kiosk.pin import save_pin
from kiosk.screens.manager import ManagerScreen
from kiosk.settings import KioskSettings
from kiosk.widgets.recent import RecentScans
from kiosk.widgets.scan_input import ScanInput
from kiosk.widgets.shop import ShopLine
from kiosk.widgets.verdict import VerdictPanel
from kiosk.wording import till_language
from localdb.replica import Replica
from vouchers.codes import format_code

pytestmark = pytest.mark.anyio
PIN = "2468"

# What the cashier's screen says in English: none of it may be left in another language.
ENGLISH_SCAN_SCREEN = (
    "Shop",
    "Till",
    "Scan or type",
    "Last scans",
    "No scans yet",
    "ACCEPTED",
    "REFUSED",
    "give the discount",
    "Valid voucher",
    "Manager",
    "Clear / No",
    "online",
    "OFFLINE",
    "synced",
    "pending",
)
ENGLISH_MANAGER_VIEW = (
    "Batches the till takes",
    "This till's redemptions",
    "Head office gets",
    "Conflicts and rejections",
    "Redeemed",
    "Available",
    "Here today",
    "not yet",
    "redeemable",
    "Open",
    "Back to scanning",
    "Find a voucher",
    "Export CSV",
)


def store_page(settings, locale: str | None) -> None:
    """As the agent applies the next snapshot page, head office having set the store's locale."""
    replica = Replica(settings.replica_path)
    try:
        replica.apply_page(
            {
                "cursor": 5,
                "next_cursor": 6,
                "complete": True,
                "store": {"id": "s1", "timezone": "Europe/London", "locale": locale},
                "batches": [],
                "types": [],
                "vouchers": [],
                "deleted": {},
            }
        )
    finally:
        replica.close()


def plain(text: str) -> str:
    """French sets a no-break space before : ; ? and %, German and Spanish before %: a space here."""
    return text.replace("\u00a0", " ")


def shown(app) -> str:
    return plain(kiosk_files.shown(app))


def footer(app) -> list[str]:
    return [str(key.description) for key in app.screen.query("FooterKey")]


def scan_screen(app) -> str:
    """Everything the scan screen shows in words: the top line, the field's hint, the panel, the
    strip with its title, the status line and the footer's keys."""
    screen = app.screen
    recent = screen.query_one(RecentScans)
    return plain(
        "\n".join(
            [
                str(screen.query_one(ShopLine).render()),
                str(screen.query_one(ScanInput).placeholder),
                screen.query_one(VerdictPanel).text,
                str(recent.border_title),
                str(recent.render()),
                status_line(app),
                *footer(app),
            ]
        )
    )


def manager_view(screen: ManagerScreen) -> str:
    labels = [str(label.render()) for label in screen.query(Label)]
    tables = []
    for table in screen.query(DataTable):
        tables += [str(column.label) for column in table.columns.values()]
        tables += [str(cell) for i in range(table.row_count) for cell in table.get_row_at(i)]
    return plain("\n".join(labels + tables + footer(screen.app)))


def no_english(text: str, words: tuple[str, ...]) -> list[str]:
    return [word for word in words if word in text]


@pytest.fixture
def settings(tmp_path):
    settings = make_settings(tmp_path)
    save_pin(tmp_path / "manager-pin", PIN)
    return settings


async def test_a_french_till_speaks_french_on_its_screen_and_in_its_manager_view(settings):
    settings = settings.model_copy(update={"language": "fr", "till_name": "Caisse-2"})
    app = build_kiosk(settings)
    async with app.run_test(size=(150, 50)) as pilot:
        await wait_until(pilot, lambda: "Magasin s1" in scan_screen(app) and "Responsable" in footer(app))
        before = scan_screen(app)
        assert "Magasin s1  ·  Caisse Caisse-2" in before
        assert "Scannez ou tapez un code de bon, puis Entrée" in before
        assert "Scannez un bon, ou tapez son code et appuyez sur Entrée." in before
        assert "Derniers scans" in before and "Aucun scan pour l'instant." in before
        assert "Effacer / Non" in footer(app)

        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: shown(app).startswith("ACCEPTÉ"))
        assert "Bon valable : accordez la remise." in shown(app)
        assert "£5 off  (achat minimum £20)  ·  Spring Email" in shown(app)
        await scan(pilot, CODES[0])  # again: already used, at this shop, in French
        await wait_until(pilot, lambda: shown(app).startswith("REFUSÉ"))
        assert "Ce bon a déjà été utilisé. Utilisé dans ce magasin le " in shown(app)
        strip = plain(str(app.screen.query_one(RecentScans).render()))
        assert "REFUSÉ" in strip and "déjà utilisé" in strip and "ACCEPTÉ" in strip
        await wait_until(pilot, lambda: "en ligne" in status_line(app) or "HORS LIGNE" in status_line(app))
        assert no_english(scan_screen(app), ENGLISH_SCAN_SCREEN) == [], scan_screen(app)

        await open_manager(pilot, PIN)
        screen = app.screen
        assert isinstance(screen, ManagerScreen)
        table = screen.query_one("#redemptions", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1 and "Retour au scan" in footer(app))
        view = manager_view(screen)
        assert "Utilisations à cette caisse (les plus récentes d'abord)" in view
        assert "Lot" in view and "Ici aujourd'hui" in view and "utilisable" in view and "Ouvertes" in view
        assert "Le siège reçoit chacune d'elles" in view
        assert format_code(CODES[0]) in view and "pas encore" in view
        assert no_english(view, ENGLISH_MANAGER_VIEW) == [], view


async def test_a_till_takes_the_store_s_locale_from_head_office_when_its_setting_is_absent(tmp_path):
    settings = make_settings(tmp_path, locale="de_CH")  # the setting `language` is not set
    save_pin(tmp_path / "manager-pin", PIN)
    assert settings.language is None
    app = build_kiosk(settings)
    async with app.run_test(size=(150, 50)) as pilot:
        await wait_until(pilot, lambda: "Filiale s1" in scan_screen(app) and "Filialleitung" in footer(app))
        assert "Gutscheincode scannen oder eintippen, dann Enter" in scan_screen(app)
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: shown(app).startswith("ANGENOMMEN"))
        assert "Gültiger Gutschein: Rabatt gewähren." in shown(app)
        await scan(pilot, "not a code")
        await wait_until(pilot, lambda: shown(app).startswith("ABGELEHNT"))
        assert "Das ist kein Gutscheincode." in shown(app)
        strip = plain(str(app.screen.query_one(RecentScans).render()))
        assert "Letzte Scans" in scan_screen(app) and "kein Gutscheincode" in strip and "ANGENOMMEN" in strip
        await wait_until(pilot, lambda: "online" in status_line(app) or "OFFLINE" in status_line(app))
        german_words = ("online", "OFFLINE")  # the same words in German
        left = no_english(scan_screen(app), tuple(w for w in ENGLISH_SCAN_SCREEN if w not in german_words))
        assert left == [], scan_screen(app)

        await open_manager(pilot, PIN)
        screen = app.screen
        table = screen.query_one("#redemptions", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1 and "Zurück zum Scannen" in footer(app))
        view = manager_view(screen)
        assert "Einlösungen an dieser Kasse (neueste zuerst)" in view
        assert "Serie" in view and "Hier heute" in view and "einlösbar" in view and "Offen" in view
        assert "noch nicht" in view and "Zurück zum Scannen" in view
        counts = screen.query_one("#counts", DataTable)
        assert [str(c) for c in counts.get_row_at(0)][6] == "50.0\u00a0%"  # Swiss German: 50.0 %
        assert no_english(view, ENGLISH_MANAGER_VIEW) == [], view


async def test_the_till_s_setting_wins_over_the_store_s_locale(tmp_path):
    settings = make_settings(tmp_path, locale="de").model_copy(update={"language": "fr"})
    app = build_kiosk(settings)
    async with app.run_test(size=(150, 50)) as pilot:
        await wait_until(pilot, lambda: "Magasin s1" in scan_screen(app))
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: shown(app).startswith("ACCEPTÉ"))
        assert "Bon valable" in shown(app) and "Filiale" not in scan_screen(app)


async def test_a_locale_that_head_office_sets_while_the_till_runs_is_spoken_at_the_next_refresh(settings):
    app = build_kiosk(settings)
    async with app.run_test(size=(150, 50)) as pilot:
        await wait_until(pilot, lambda: "Shop s1" in scan_screen(app) and "Manager" in footer(app))
        await scan(pilot, CODES[0])
        await wait_until(pilot, lambda: shown(app).startswith("ACCEPTED"))
        store_page(settings, "es")  # the agent applies a snapshot page: the store speaks Spanish now
        await wait_until(pilot, lambda: "Tienda s1" in scan_screen(app), timeout=10)
        await wait_until(pilot, lambda: "Encargado" in footer(app))  # the footer is drawn again after
        assert "Últimos escaneos" in scan_screen(app) and "Manager" not in footer(app)
        assert shown(app).startswith("ACEPTADO")  # the word on the panel follows; its reason was said
        await scan(pilot, CODES[1])
        await wait_until(pilot, lambda: "Cupón válido: aplique el descuento." in shown(app))


def test_the_setting_language_takes_a_language_or_one_with_a_region(tmp_path):
    def language(value):
        return KioskSettings(data_dir=tmp_path, language=value).language

    assert [language(v) for v in ("fr", "de_CH", "fr-BE", "es_419", "", None)] == [
        "fr",
        "de_CH",
        "fr_BE",
        "es_419",
        None,
        None,
    ]
    for wrong in ("xx", "klingon", "de_CH_x y", "pt_BR"):
        with pytest.raises(ValidationError, match="one of en, fr, de, es"):
            language(wrong)


def test_the_language_is_the_setting_s_else_the_store_s_else_english():
    assert till_language("fr", "de_CH") == "fr"
    assert till_language(None, "de_CH") == "de_CH"
    assert till_language(None, "pt_BR") == "en"  # a locale the product does not speak
    assert till_language(None, None) == "en"
