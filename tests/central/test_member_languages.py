"""The member and claim pages in the member's language (issue 18.1): the browser's Accept-Language,
or the chooser's `?lang=` kept in a cookie; dates through Babel, verdicts in the page's words, the
sign-in mail in the language of the page that asked for it; each request its own words, however many
render at once. The real app on a real SQLite file, mail through a real SMTP server on loopback."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.dates import format_date
from fastapi.testclient import TestClient
from starlette.requests import Request
from support.api import DEFAULT_LIMITS, Api, make_settings, sign_in_token
from support.mailbox import MailServer

from central.app import create_app
from central.members import templating
from vouchers.verdict import Verdict
from words import verdicts as verdict_words
from words import words_for
from words.extract import extract

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
GERMAN = {"Accept-Language": "de-DE,de;q=0.9"}
SPANISH = {"Accept-Language": "es-ES,es;q=0.8"}
# the code in a sign-in mail, in any language: at the end of its line, after a colon
CODE = re.compile(r":\s*(\d{6})\s*$", re.MULTILINE)


@pytest.fixture
def client(sqlite_url: str, mail_server: MailServer) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sqlite_url, **mail_server.settings()))) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def _chooser(html: str) -> dict[str, tuple[str, bool]]:
    """The chooser's links: language → (its URL, whether it is the current one)."""
    nav = re.search(r'<nav class="languages"[^>]*>(.*?)</nav>', html, re.DOTALL).group(1)
    return {
        m.group(2): (m.group(1).replace("&amp;", "&"), bool(m.group(3)))
        for m in re.finditer(r'<a href="([^"]+)" lang="(\w+)" hreflang="\w+"( aria-current="true")?>', nav)
    }


def _sign_in(client: TestClient, mail_server: MailServer, email: str, headers: dict) -> None:
    """Ask for the mail on the sign-in page in this browser's language, then type its code."""
    page = client.get("/my/sign-in", headers=headers)
    asked = client.post(
        "/my/sign-in",
        data={"email": email, "sign_in_token": sign_in_token(page.text), "next": "/my/vouchers"},
        headers=headers,
    )
    assert asked.status_code == 200, asked.text
    code = CODE.search(mail_server.keeper.last_to(email).text).group(1)
    done = client.post(
        "/my/sign-in/code",
        data={"code": code, "next": "/my/vouchers", "sign_in_token": sign_in_token(asked.text)},
        headers=headers,
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def test_a_french_browser_gets_the_claim_page_and_my_vouchers_in_french(api, client, mail_server):
    batch = api.batch(3, identifier="Soldes d'hiver")
    claim = client.get(f"/claim/{batch['claim_token']}", headers=FRENCH)
    assert claim.status_code == 200 and _lang(claim.text) == "fr"
    assert "Se connecter pour obtenir le bon" in claim.text and "Adresse e-mail" in claim.text
    assert "Sign in to claim" not in claim.text and "E-mail address" not in claim.text
    asked = client.post(
        f"/claim/{batch['claim_token']}",
        data={"email": "Amelie@Example.com", "sign_in_token": sign_in_token(claim.text)},
        headers=FRENCH,
    )
    assert "Consultez vos e-mails" in asked.text and "Se connecter et obtenir le bon" in asked.text
    assert "<strong>amelie@example.com</strong>" in asked.text  # the fact escaped, the markup kept
    code = CODE.search(mail_server.keeper.last_to("amelie@example.com").text).group(1)
    done = client.post(
        "/my/sign-in/code",
        data={
            "code": code,
            "next": f"/claim/{batch['claim_token']}",
            "sign_in_token": sign_in_token(asked.text),
        },
        headers=FRENCH,
    )
    assert "C'est fait ! Votre bon est ci-dessous" in unescape(done.text) and "Votre bon" in done.text
    mine = client.get("/my/vouchers", headers=FRENCH)
    assert _lang(mine.text) == "fr" and "<h1>Mes bons</h1>" in mine.text
    assert (
        "Non utilisé" in mine.text and "MARQUER COMME UTILISÉ" in mine.text and "Se déconnecter" in mine.text
    )
    today = datetime.now(UTC)
    claimed = re.search(r"<dt>Obtenu le</dt><dd>(<time [^>]*>)([^<]+)</time>", mine.text)
    assert (
        claimed.group(2)
        == f"{today.day} {format_date(today, 'MMM', locale='fr')} {today.year} à "
        + (claimed.group(2).split(" à ")[1])
    )
    assert re.fullmatch(r"\d\d:\d\d UTC", claimed.group(2).split(" à ")[1])
    # the phone writes it again in its own zone with the same words
    assert 'data-format="{day} {month} {year} à {hour}:{minute} {zone}"' in claimed.group(1)


def test_lang_chooses_the_language_and_the_cookie_keeps_it(client):
    german = client.get("/my/sign-in?lang=de", headers=FRENCH)
    assert _lang(german.text) == "de" and "Melden Sie sich an, um Ihre Gutscheine zu sehen" in german.text
    assert german.cookies.get("lang") == "de"
    later = client.get("/my/sign-in", headers=FRENCH)  # the browser says French: the choice stands
    assert _lang(later.text) == "de" and "Anmeldelink zusenden" in later.text
    assert _lang(client.get("/", headers=FRENCH).text) == "de"
    back = client.get("/?lang=en", headers=FRENCH)
    assert _lang(back.text) == "en" and "My vouchers" in back.text and back.cookies.get("lang") == "en"


def test_every_member_page_has_the_chooser_in_the_four_languages(api, client, mail_server):
    batch = api.batch(2, identifier="Chooser")
    pages = {
        "home": client.get("/", headers=SPANISH),
        "claim": client.get(f"/claim/{batch['claim_token']}", headers=SPANISH),
        "sign-in": client.get("/my/sign-in", headers=SPANISH),
        "no claim link": client.get("/claim/nonsense-token-nonsense", headers=SPANISH),
    }
    _sign_in(client, mail_server, "chooser@example.com", SPANISH)
    api.claim(batch, "chooser@example.com")
    pages["my vouchers"] = client.get("/my/vouchers", headers=SPANISH)
    vid = re.search(r'/my/vouchers/([^/"]+)/mark-used', pages["my vouchers"].text).group(1)
    pages["mark used"] = client.get(f"/my/vouchers/{vid}/mark-used", headers=SPANISH)
    for name, page in pages.items():
        links = _chooser(page.text)
        assert list(links) == ["en", "fr", "de", "es"], name
        assert [current for _, current in links.values()] == [False, False, False, True], name
        assert _lang(page.text) == "es", name
        assert 'aria-label="Idioma"' in page.text, name
        assert "Español</a>" in page.text and "Deutsch</a>" in page.text and "Français</a>" in page.text
    assert pages["no claim link"].status_code == 404
    assert "Este enlace no es válido" in pages["no claim link"].text
    url = _chooser(pages["mark used"].text)["fr"][0]
    assert urlsplit(url).path == f"/my/vouchers/{vid}/mark-used"
    assert "Marquer ce bon comme utilisé ?" in client.get(url).text


def test_the_chooser_keeps_what_the_page_shows(client):
    signed_out = client.get("/my/sign-in?done=signed-out&next=/my/vouchers", headers=GERMAN)
    assert "Sie sind abgemeldet." in signed_out.text
    french = client.get(_chooser(signed_out.text)["fr"][0])
    assert "Vous êtes déconnecté." in french.text and 'name="next" value="/my/vouchers"' in french.text


def test_the_chooser_of_the_check_your_mail_page_leads_to_that_page_in_another_language(client, mail_server):
    page = client.get("/my/sign-in", headers=GERMAN)
    asked = client.post(
        "/my/sign-in",
        data={
            "email": "switch@example.com",
            "sign_in_token": sign_in_token(page.text),
            "next": "/my/vouchers",
        },
        headers=GERMAN,
    )
    assert "Prüfen Sie Ihre E-Mails" in asked.text
    spanish = _chooser(asked.text)["es"][0]  # the answer of a POST: the chooser links to a page
    assert urlsplit(spanish).path == "/my/sign-in/code"
    again = client.get(spanish, headers=GERMAN)
    assert _lang(again.text) == "es" and "Revise su correo" in again.text
    assert "<strong>switch@example.com</strong>" in again.text
    code = CODE.search(mail_server.keeper.last_to("switch@example.com").text).group(1)
    done = client.post(
        "/my/sign-in/code",
        data={"code": code, "next": "/my/vouchers", "sign_in_token": sign_in_token(again.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303  # the code still works from the page shown again
    with TestClient(client.app) as stranger:  # no sign-in asked in this browser: the sign-in form
        assert "Iniciar sesión" in stranger.get("/my/sign-in/code?lang=es").text


def test_a_paused_claim_page_and_a_refused_mark_used_say_why_in_the_pages_language(api, client, mail_server):
    paused = api.batch(2, identifier="En pausa")
    api.call("POST", f"/batches/{paused['id']}/pause", 200)
    page = client.get(f"/claim/{paused['claim_token']}", headers=SPANISH)
    assert "Promoción en pausa temporalmente" in page.text and 'name="email"' not in page.text

    batch = api.batch(2, identifier="Gesperrt")
    _sign_in(client, mail_server, "gesperrt@example.com", GERMAN)
    api.claim(batch, "gesperrt@example.com")
    mine = client.get("/my/vouchers", headers=GERMAN)
    vid = re.search(r'/my/vouchers/([^/"]+)/mark-used', mine.text).group(1)
    asking = client.get(f"/my/vouchers/{vid}/mark-used", headers=GERMAN)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', asking.text).group(1)
    event_id = re.search(r'name="event_id" value="([^"]+)"', asking.text).group(1)
    api.call("POST", f"/batches/{batch['id']}/lock", 200)  # locked meanwhile: the ledger refuses
    refused = client.post(
        f"/my/vouchers/{vid}/mark-used", data={"csrf_token": csrf, "event_id": event_id}, headers=GERMAN
    )
    locked = verdict_words.reason(words_for("de", verdict_words.DOMAIN), Verdict.BATCH_LOCKED)
    assert refused.status_code == 409 and locked in refused.text
    assert "Dieser Gutschein kann nicht als eingelöst markiert werden." in refused.text
    assert verdict_words.reason(verdict_words.english(), Verdict.BATCH_LOCKED) not in refused.text
    card = client.get("/my/vouchers", headers=FRENCH).text  # the card says it too, in French
    assert verdict_words.reason(words_for("fr", verdict_words.DOMAIN), Verdict.BATCH_LOCKED) in card
    assert "ALS EINGELÖST MARKIEREN" not in card and "Non utilisé" in card


def test_the_sign_in_mail_is_in_the_language_of_the_page_that_asked(api, client, mail_server):
    batch = api.batch(2, identifier="Mail")
    page = client.get(f"/claim/{batch['claim_token']}?lang=de")
    client.post(
        f"/claim/{batch['claim_token']}",
        data={"email": "mail@example.com", "sign_in_token": sign_in_token(page.text)},
    )  # no Accept-Language: the choice kept in the cookie decides
    mail = mail_server.keeper.last_to("mail@example.com")
    assert mail.subject == "Ihr Anmeldelink für Ihre Gutscheine" and mail.language == "de"
    assert "Öffnen Sie diesen Link, um sich anzumelden:" in mail.text and "15 Minuten" in mail.text
    assert "sign in" not in mail.text.lower()
    link = re.search(r"https?://\S+/my/sign-in/link/\S+", mail.text).group(0)
    assert urlsplit(link).query == "lang=de" and CODE.search(mail.text)
    with TestClient(client.app) as phone:  # the mail app's browser, which says nothing of a language
        confirm = phone.get(link.removeprefix("http://shop.test"))
        assert _lang(confirm.text) == "de" and "Anmelden und Gutschein anfordern" in confirm.text
        assert "<strong>Mail</strong>" in confirm.text and phone.cookies.get("lang") == "de"


def test_refusals_are_worded_in_the_pages_language_too(sqlite_url, mail_server):
    """A rate limit's refusal and a server that cannot send mail, on a French page."""
    settings = make_settings(sqlite_url, **mail_server.settings(), **DEFAULT_LIMITS)
    with TestClient(create_app(settings)) as browser:
        for _ in range(3):  # member_sign_in_per_account = 3 in 15 minutes
            _ask(browser, "souvent@example.com", FRENCH)
        refused = _ask(browser, "souvent@example.com", FRENCH)
        assert refused.status_code == 429 and _lang(refused.text) == "fr"
        assert "Trop d&#39;e-mails de connexion ont été demandés pour cette adresse" in refused.text
        assert re.search(r"Veuillez réessayer dans 1[45] minutes\.", refused.text)
    with TestClient(create_app(make_settings(sqlite_url))) as mailless:  # no smtp_host
        refused = _ask(mailless, "personne@example.com", SPANISH)
        assert "Esta tienda no puede enviar correos de acceso en este momento." in refused.text


def _ask(client: TestClient, email: str, headers: dict):
    page = client.get("/my/sign-in", headers=headers)
    return client.post(
        "/my/sign-in", data={"email": email, "sign_in_token": sign_in_token(page.text)}, headers=headers
    )


def test_each_of_many_requests_at_once_gets_its_own_language(api, client):
    batch = api.batch(2, identifier="Concurrent")
    url = f"/claim/{batch['claim_token']}"
    expected = {
        "fr": "Se connecter pour obtenir le bon",
        "de": "Anmelden und anfordern",
        "es": "Iniciar sesión para solicitarlo",
        "en": "Sign in to claim",
    }
    wanted = [language for _ in range(12) for language in expected]

    def fetch(language: str) -> tuple[str, str]:
        browser = TestClient(client.app)  # a browser of its own (the app is running already)
        try:
            return language, browser.get(url, headers={"Accept-Language": language}).text
        finally:
            browser.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(fetch, wanted))
    for language, html in answers:
        assert _lang(html) == language and expected[language] in html
        assert all(words not in html for other, words in expected.items() if other != language)


class _Meeting:
    """A fact whose rendering waits until the other render has reached it too: both renders are
    then half done, in one environment, at the same moment."""

    def __init__(self, barrier: threading.Barrier, text: str) -> None:
        self.barrier, self.text = barrier, text

    def __str__(self) -> str:
        self.barrier.wait(timeout=10)
        return self.text


def _request(language: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/my/sign-in",
        "query_string": f"lang={language}".encode(),
        "headers": [(b"host", b"shop.test")],
        "scheme": "http",
        "server": ("shop.test", 80),
    }
    return Request(scope)


def test_two_renders_at_the_same_moment_in_one_environment_keep_their_own_words():
    """The environment is shared: each render's words live in its own context, never in the
    environment, so a German render half done does not change the words of a French one."""
    barrier = threading.Barrier(2)
    template = templating.templates.env.get_template("member/sign_in.html")

    def render(language: str) -> str:
        request = _request(language)
        context = {
            **templating.page_words(request),
            "request": request,
            "email": _Meeting(barrier, f"{language}@example.com"),
            "next": "/my/vouchers",
            "sign_in_token": "t",
        }
        return template.render(context)

    with ThreadPoolExecutor(max_workers=2) as pool:
        french, german = pool.map(render, ["fr", "de"])
    assert 'value="fr@example.com"' in french and 'value="de@example.com"' in german
    # the words after the meeting point, each in its own language
    assert "Recevoir un lien de connexion" in french and "Anmeldelink zusenden" not in french
    assert "Anmeldelink zusenden" in german and "Recevoir un lien de connexion" not in german
    assert _lang(french) == "fr" and _lang(german) == "de"


def test_the_templates_word_through_str_format_placeholders_only():
    """`{% trans %}` blocks would carry %(name)s placeholders, which the page's gettext does not fill."""
    root = Path(__file__).resolve().parents[2]
    messages = [m.id for m in extract("members", root) if m.id]
    assert messages and not [m for m in messages if "%(" in str(m)]
    templates = [root / "central" / "templates" / name for name in ("claim.html", "home.html", "base.html")]
    templates += (root / "central" / "templates" / "member").rglob("*.html")
    assert not [path.name for path in templates if "{% trans" in path.read_text(encoding="utf-8")]


def test_a_templates_facts_are_escaped_and_its_translation_kept_as_markup():
    worded = templating.template_words(words_for("fr", templating.DOMAIN))
    html = worded["_"]("Signed in as <strong>{member}</strong>.", member="<script>x</script>@example.com")
    assert html == "Connecté en tant que <strong>&lt;script&gt;x&lt;/script&gt;@example.com</strong>."
    plural = worded["ngettext"](
        "Please try again in {n} minute.", "Please try again in {n} minutes.", 1500
    )  # the number as the language writes it
    assert plural == "Veuillez réessayer dans 1\u202f500 minutes."
