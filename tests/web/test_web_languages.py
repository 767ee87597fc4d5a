"""The dashboard in the staff member's language (issue 18.1), over HTTP on the real app (a real
SQLite file): the browser's Accept-Language decides, the chooser's ?lang= switches and is kept in a
cookie, dates and numbers are written as the language writes them, and two pages rendered at the
same time in two languages each keep their own words. Without Accept-Language, English."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Iterator
from html import unescape

import httpx
import pytest
from fastapi.testclient import TestClient
from support.api import CHEAP_HASHES, Api, make_settings

from central.app import create_app
from central.services import staff
from central.web import templating
from words import words_for

ADMIN, PASSWORD = "chef@example.com", "a long password for tests"
GERMAN = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}
GERMAN_TIME = re.compile(r"\d\d\.\d\d\.\d{4} \d\d:\d\d (CET|CEST)")  # 02.03.2026 14:05 CET


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    settings = make_settings(sqlite_url, office_timezone="Europe/Berlin")
    with TestClient(create_app(settings)) as test_client:
        with test_client.app.state.context.db.write() as conn:
            staff.add(conn, ADMIN, PASSWORD, log2_n=CHEAP_HASHES)
        yield test_client


@pytest.fixture
def signed_in(client: TestClient) -> TestClient:
    page = client.get("/dashboard/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/dashboard/sign-in", data={"email": ADMIN, "password": PASSWORD, "sign_in_token": token}
    )
    assert done.status_code == 200, done.text
    return client


@pytest.fixture
def shop(signed_in: TestClient) -> dict:
    """A store in Berlin with a till that redeemed one voucher of a 1,500-voucher batch."""
    api = Api(signed_in)
    api.store("berlin", timezone="Europe/Berlin")
    till = api.device("berlin", "kasse-1")
    batch = api.batch(1500, identifier="Frühling", valid_until="2026-12-31")
    code = api.claim(batch, "kundin@example.com")["code"]
    event = {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "at": "2026-03-10T12:00:00+00:00",
        "device_seq": 1,
        "voucher_id": api.call("GET", f"/vouchers/{code}").json()["id"],
    }
    api.call("POST", "/sync/events", 200, token=till["token"], json={"events": [event]})
    return {"batch": batch, "till": till, "code": code}


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_a_german_browser_gets_the_batches_in_german(signed_in, shop):
    page = signed_in.get("/dashboard/batches", headers=GERMAN)
    assert page.status_code == 200 and _lang(page.text) == "de"
    text = _text(page.text)
    for words in ("Serien", "Neue Serie", "Abgerufen", "Eingelöst", "Einlösequote", "Einlösbar", "Abmelden"):
        assert words in text, words
    assert "1.500" in text  # the batch's total as German writes it
    assert "Redemption rate" not in text and "Sign out" not in text
    assert page.headers["content-language"] == "de"


def test_a_german_browser_gets_a_batch_page_in_german_with_german_dates(signed_in, shop):
    page = signed_in.get(f"/dashboard/batches/{shop['batch']['id']}", headers=GERMAN)
    assert _lang(page.text) == "de"
    text = _text(page.text)
    for words in ("Zahlen", "Details", "Typen", "Nummernbereich", "Einlösungen im Zeitverlauf", "Sperren"):
        assert words in text, words
    assert "31.12.2026" in text  # the last valid day
    chart = re.search(r"<desc[^>]*>([^<]*)</desc>", page.text).group(1)
    assert unescape(chart).startswith("1 Einlösung von ")  # the chart's description, in German


def test_a_german_browser_gets_the_store_page_in_german(signed_in, shop):
    page = signed_in.get("/dashboard/stores/berlin", headers=GERMAN)
    assert _lang(page.text) == "de"
    text = _text(page.text)
    for words in ("Geräte", "Registrierungscode ausstellen", "Letztes Lebenszeichen", "Kasse", "kasse-1"):
        assert words in text, words
    enrolled = re.search(r'<td data-label="Registriert"><time[^>]*>([^<]*)</time>', page.text)
    assert enrolled and GERMAN_TIME.fullmatch(enrolled.group(1)), page.text[-3000:]
    assert "Conflicts and rejections" not in text and "Konflikte und Ablehnungen in dieser Filiale" in text


def test_a_german_browser_gets_a_report_in_german(signed_in, shop):
    page = signed_in.get("/dashboard/reports/redemptions?from=2026-03-01&to=2026-03-20", headers=GERMAN)
    assert _lang(page.text) == "de"
    text = _text(page.text)
    assert "Einlösungen je Filiale und Tag" in text and "Stärkster Tag" in text
    assert "1 Einlösung in allen Filialen, 01.03.2026 bis 20.03.2026." in text
    assert "10.03.2026" in text  # the busiest day, the day's row


def test_the_chooser_switches_the_language_and_the_choice_is_kept(signed_in, shop):
    chosen = signed_in.get("/dashboard/batches?lang=fr", headers=GERMAN)
    assert _lang(chosen.text) == "fr" and "Lots" in _text(chosen.text)
    assert chosen.cookies.get("lang") == "fr"
    later = signed_in.get(f"/dashboard/batches/{shop['batch']['id']}", headers=GERMAN)  # the cookie wins
    assert _lang(later.text) == "fr" and "Taux d'utilisation" in _text(later.text)
    back = signed_in.get("/dashboard/batches?lang=en", headers=GERMAN)
    assert _lang(back.text) == "en" and "Redemption rate" in _text(back.text)
    home = signed_in.get("/dashboard?lang=de", follow_redirects=False)  # the choice goes along
    assert home.headers["location"] == "/dashboard/batches?lang=de"


def test_a_language_chosen_before_signing_in_is_the_sign_in_page_s(client):
    """The demo's link /dashboard?lang=de, followed by a browser that asks for English, signs in in German."""
    page = client.get("/dashboard?lang=de", headers={"Accept-Language": "en"})
    assert page.url.path == "/dashboard/sign-in" and page.url.params["lang"] == "de"
    assert _lang(page.text) == "de" and page.cookies.get("lang") == "de"


def test_the_chooser_is_on_every_page_and_on_the_sign_in_page(client):
    page = client.get("/dashboard/sign-in", headers={"Accept-Language": "es"})
    assert _lang(page.text) == "es" and "Iniciar sesión en la central" in _text(page.text)
    chooser = re.search(r'<nav class="languages".*?</nav>', page.text, re.DOTALL).group(0)
    names = re.findall(r'hreflang="(\w+)"[^>]*>([^<]+)</a>', chooser)
    assert names == [("en", "English"), ("fr", "Français"), ("de", "Deutsch"), ("es", "Español")]
    assert re.search(r'hreflang="es" aria-current="true"', chooser)
    assert "/dashboard/sign-in?lang=de" in unescape(chooser)


def test_without_accept_language_the_dashboard_is_english(signed_in, shop):
    page = signed_in.get("/dashboard/batches")
    assert _lang(page.text) == "en" and "Redemption rate" in _text(page.text) and "1,500" in _text(page.text)


def test_two_pages_rendered_at_once_in_two_languages_keep_their_own_words(signed_in, shop):
    """Many requests at once on the real ASGI app (its sync pages run in the thread pool side by
    side): every page is wholly in the language its request asked for."""
    cookies = {"voucher_session": signed_in.cookies["voucher_session"]}
    path = f"/dashboard/batches/{shop['batch']['id']}"
    wanted = {
        "de": ("Einlösequote", "Redemption rate", "Taux d'utilisation"),
        "fr": ("Taux d'utilisation", "Einlösequote", "Redemption rate"),
    }

    async def many() -> list[tuple[str, str]]:
        transport = httpx.ASGITransport(app=signed_in.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=cookies) as c:
            asks = [("de" if i % 2 else "fr") for i in range(24)]
            answers = await asyncio.gather(*(c.get(path, headers={"Accept-Language": a}) for a in asks))
        return [(a, r.text) for a, r in zip(asks, answers, strict=True)]

    for asked, html in asyncio.run(many()):
        own, *others = wanted[asked]
        assert _lang(html) == asked
        text = _text(html)
        assert own in text and not any(other in text for other in others), asked


def test_the_shared_environment_words_each_render_in_its_own_language_while_both_are_half_done():
    """Two renders of one template from the dashboard's one environment, both stopped half-way at
    the same moment (a barrier): each finishes in the language it began in."""
    template = templating.templates.env.from_string(
        "{{ _('Redemption rate') }}|{{ halfway() }}|{{ _('Redemption rate') }}|{{ 1500|number }}"
    )
    barrier = threading.Barrier(2, timeout=10)
    out: dict[str, str] = {}

    def render(language: str) -> None:
        words = words_for(language, "dashboard")
        out[language] = template.render(words=words, halfway=lambda: (barrier.wait(), "")[1])

    threads = [threading.Thread(target=render, args=(language,)) for language in ("de", "fr")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert out["de"] == "Einlösequote||Einlösequote|1.500"
    assert out["fr"] == "Taux d&#39;utilisation||Taux d&#39;utilisation|1\u202f500"


# Every page of the dashboard (and a few of its states), as staff open them.
PAGES = (
    "/dashboard/batches",
    "/dashboard/batches?show=archived",
    "/dashboard/batches?q=nothing-matches",
    "/dashboard/batches/new",
    "/dashboard/batches/{batch}",
    "/dashboard/batches/{batch}/edit",
    "/dashboard/batches/{batch}/types/new",
    "/dashboard/batches/{batch}/delete",
    "/dashboard/batches/{batch}/void",
    "/dashboard/batches/{batch}/qr",
    "/dashboard/batches/{batch}/vouchers",
    "/dashboard/batches/{batch}/vouchers?claimed=yes",
    "/dashboard/vouchers/{code}",
    "/dashboard/members",
    "/dashboard/members?q=kundin",
    "/dashboard/members/kundin@example.com",
    "/dashboard/channels",
    "/dashboard/review?show=all",
    "/dashboard/reports/redemptions?from=2026-03-01&to=2026-03-20",
    "/dashboard/reports/refused?from=2026-03-01&to=2026-03-20",
    "/dashboard/stores",
    "/dashboard/stores/berlin",
    "/dashboard/devices/{device}/revoke",
    "/dashboard/devices/stale",
    "/dashboard/audit",
    "/dashboard/staff",
    "/dashboard/tokens",
    "/dashboard/integrations",
    "/dashboard/batches/no-such-batch",
)
ENGLISH_ONLY = ("Campaigns", "Sign out", "Skip to content", "Voucher head office")


@pytest.mark.parametrize("language", ["fr", "de", "es"])
def test_every_page_is_in_the_language_asked_for(signed_in, shop, language):
    code = shop["code"]
    names = {"batch": shop["batch"]["id"], "code": code, "device": shop["till"]["device_id"]}
    for path in PAGES:
        page = signed_in.get(path.format(**names), headers={"Accept-Language": language})
        assert page.status_code in (200, 404), (path, page.status_code, page.text[:300])
        assert _lang(page.text) == language, path
        html = unescape(page.text)
        assert not [words for words in ENGLISH_ONLY if words in html], (path, language)


def test_errors_and_form_problems_are_worded_in_the_page_s_language(signed_in, shop):
    missing = signed_in.get("/dashboard/batches/no-such-batch", headers=GERMAN)
    assert missing.status_code == 404 and '<h1 id="problem-title">Nicht gefunden</h1>' in missing.text
    page = signed_in.get("/dashboard/stores", headers=FRENCH)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    refused = signed_in.post(
        "/dashboard/stores",
        headers=FRENCH,
        data={"csrf_token": csrf, "id": "pas un id!", "name": "Lyon", "timezone": "Europe/Paris"},
    )
    assert refused.status_code == 422 and _lang(refused.text) == "fr"
    assert "Utilisez uniquement des lettres, des chiffres, - et _" in unescape(refused.text)
    forged = signed_in.post("/dashboard/stores", headers=GERMAN, data={"csrf_token": "forged", "id": "x"})
    assert forged.status_code == 403 and "Dieses Formular kam nicht aus der Übersicht" in unescape(
        forged.text
    )


def test_a_role_refusal_is_worded_in_the_page_s_language(client):
    with client.app.state.context.db.write() as conn:
        staff.add(conn, "mira@example.com", PASSWORD, role="viewer", log2_n=CHEAP_HASHES)
    page = client.get("/dashboard/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
    client.post(
        "/dashboard/sign-in", data={"email": "mira@example.com", "password": PASSWORD, "sign_in_token": token}
    )
    batches = client.get("/dashboard/batches", headers={"Accept-Language": "es"})
    assert "Crear un lote requiere el rol campaigns; el suyo es viewer." in unescape(batches.text)
    refused = client.get("/dashboard/batches/new", headers={"Accept-Language": "es"})
    assert refused.status_code == 403 and "Su rol no lo permite" in refused.text
    assert (
        "Crear un lote requiere el rol campaigns; el suyo es viewer. Pídalo a un administrador"
        in unescape(refused.text)
    )
    english = client.get("/dashboard/batches/new")  # English keeps the core's own words
    assert "Creating a batch needs the campaigns role; yours is viewer." in unescape(english.text)


def test_a_batch_s_problems_are_worded_in_the_page_s_language(signed_in):
    """The problems that stop a batch from being validated are kept with their facts and worded in
    the staff member's language, on the batch page as beside each field."""
    api = Api(signed_in)
    batch = api.call(
        "POST", "/batches", 201, json={"identifier": "Herbst", "serial_start": 1, "serial_end": 10}
    ).json()
    api.call(
        "POST",
        f"/batches/{batch['id']}/types",
        201,
        json={"name": "Zehn", "value": "10 % Rabatt", "serial_start": 5, "serial_end": 20},
    )
    refused = api.call("POST", f"/batches/{batch['id']}/validate", 422).json()
    english = "Type 'Zehn' (5–20) lies outside the batch's serial range (1–10)."
    assert [e["message"] for e in refused["errors"]] == [english]  # the API stays English
    german = words_for("de", "dashboard").gettext(
        "Type '{name}' ({start}–{end}) lies outside the batch's serial range ({first}–{last}).",
        name="Zehn",
        start=5,
        end=20,
        first=1,
        last=10,
    )
    assert german != english
    # a client that asks for German (voucher-central in a German terminal) gets the details in German
    asked = api.call("POST", f"/batches/{batch['id']}/validate", 422, headers={"Accept-Language": "de"})
    assert [e["message"] for e in asked.json()["errors"]] == [german]
    assert asked.headers["content-language"] == "de" and asked.json()["type"] == refused["type"]
    page = signed_in.get(f"/dashboard/batches/{batch['id']}", headers=GERMAN)
    assert page.status_code == 200
    text = _text(page.text)
    assert text.count(german) == 2 and english not in text  # in the list of problems, and beside the type


def test_a_page_that_does_not_exist_is_a_page_in_the_browser_s_language(client):
    html = {"Accept": "text/html,application/xhtml+xml", **FRENCH}
    page = client.get("/my/nothing-here", headers=html)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert _lang(page.text) == "fr"
    assert words_for("fr", "members").gettext("Page not found") in _text(page.text) != ""
    assert words_for("fr", "members").gettext("Page not found") != "Page not found"
    # the API keeps its problem+json, whoever asks
    api = client.get("/api/v1/nothing-here", headers=html)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
    assert client.get("/nothing-here").headers["content-type"].startswith("application/problem+json")


def test_a_new_batch_s_problems_are_worded_in_the_list_and_beside_the_field(signed_in):
    page = signed_in.get("/dashboard/batches/new", headers=FRENCH)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    refused = signed_in.post(
        "/dashboard/batches",
        headers=FRENCH,
        data={"csrf_token": csrf, "identifier": "", "serial_start": "1", "serial_end": "10"},
    )
    assert refused.status_code == 422, refused.text
    french = words_for("fr", "dashboard").gettext("The identifier must not be empty.")
    text = _text(refused.text)
    assert french != "The identifier must not be empty." and text.count(french) == 2
    assert "The identifier must not be empty." not in text


def test_the_audit_log_names_its_actions_in_the_page_s_language(signed_in, shop):
    page = signed_in.get("/dashboard/audit", headers=GERMAN)
    assert page.status_code == 200
    text = _text(page.text)
    created = words_for("de", "dashboard").gettext("Batch created")
    assert created != "Batch created" and created in text and "batch.create" in text  # the code beside
    assert words_for("de", "dashboard").gettext("batch") + " " + shop["batch"]["id"] in text
