"""A store's language at head office's dashboard (issue 18.1): given with a new store or set on the
store's page, checked, audited, shown; only an admin may set it. The real app through TestClient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from support.api import CHEAP_HASHES, Api, make_settings

from central.app import create_app
from central.services import staff

PASSWORD = "a long password for tests"


def _signed_in(client: TestClient, email: str) -> None:
    page = client.get("/dashboard/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/dashboard/sign-in", data={"email": email, "password": PASSWORD, "sign_in_token": token}
    )
    assert done.status_code in (200, 303), done.text


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.fixture
def app(sqlite_url: str):
    app = create_app(make_settings(sqlite_url))
    with TestClient(app):
        with app.state.context.db.write() as conn:
            staff.add(conn, "boss@example.com", PASSWORD, log2_n=CHEAP_HASHES)
            staff.add(conn, "look@example.com", PASSWORD, role="viewer", log2_n=CHEAP_HASHES)
        yield app


@pytest.fixture
def admin(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        _signed_in(client, "boss@example.com")
        yield client


def test_a_new_store_gets_its_tills_language_and_the_list_shows_it(admin):
    form = admin.get("/dashboard/stores").text
    assert 'name="locale"' in form and '<option value="de_CH">' in form
    made = admin.post(
        "/dashboard/stores",
        data={
            "csrf_token": _csrf(form),
            "id": "genf",
            "name": "Genf",
            "timezone": "Europe/Zurich",
            "locale": "de-CH",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert Api(admin).call("GET", "/stores/genf", 200).json()["locale"] == "de_CH"
    listed = admin.get("/dashboard/stores").text
    assert re.search(r'data-store="genf".*?data-col="locale">de_CH<', listed, re.DOTALL)

    wrong = admin.post(
        "/dashboard/stores",
        data={"csrf_token": _csrf(listed), "id": "tokyo", "name": "Tokyo", "timezone": "UTC", "locale": "ja"},
    )
    assert wrong.status_code == 422 and "Unknown locale 'ja'" in _text(wrong.text)
    assert 'value="ja"' in wrong.text  # the form keeps what was typed
    assert Api(admin).call("GET", "/stores/tokyo", 404).status_code == 404


def test_the_store_page_sets_the_language_with_an_author_and_refuses_nonsense(admin):
    Api(admin).store("lyon", timezone="Europe/Paris")
    page = admin.get("/dashboard/stores/lyon").text
    assert "None set: each till speaks its own setting, else English." in _text(page)
    done = admin.post("/dashboard/stores/lyon/locale", data={"csrf_token": _csrf(page), "locale": "fr"})
    assert done.status_code == 200 and "Language saved" in _text(done.text)
    assert re.search(
        r"The tills speak French \( ?fr ?\)", _text(done.text)
    )  # its name in the page's language
    [entry] = (
        Api(admin).call("GET", "/audit", 200, params={"entity": "lyon", "action": "store.locale"}).json()
    )
    assert entry["actor"] == "boss@example.com" and entry["after"]["locale"] == "fr"

    refused = admin.post("/dashboard/stores/lyon/locale", data={"csrf_token": _csrf(page), "locale": "xx"})
    assert refused.status_code == 422 and "Unknown locale 'xx'" in _text(refused.text)
    assert Api(admin).call("GET", "/stores/lyon", 200).json()["locale"] == "fr"  # unchanged

    cleared = admin.post("/dashboard/stores/lyon/locale", data={"csrf_token": _csrf(page), "locale": ""})
    assert cleared.status_code == 200 and "None set" in _text(cleared.text)
    assert Api(admin).call("GET", "/stores/lyon", 200).json()["locale"] is None


def test_a_viewer_is_told_who_may_set_it_and_cannot(app, admin):
    Api(admin).store("lyon")
    with TestClient(app) as viewer:
        _signed_in(viewer, "look@example.com")
        page = viewer.get("/dashboard/stores/lyon").text
        assert "Setting a store's language needs the admin role; yours is viewer." in _text(page)
        assert 'action="/dashboard/stores/lyon/locale"' not in page
        tried = viewer.post("/dashboard/stores/lyon/locale", data={"csrf_token": _csrf(page), "locale": "de"})
        assert tried.status_code == 403
    assert Api(admin).call("GET", "/stores/lyon", 200).json()["locale"] is None


def test_the_store_page_in_german_says_it_in_german(admin):
    Api(admin).store("berlin", timezone="Europe/Berlin")
    page = admin.get("/dashboard/stores/berlin", headers={"Accept-Language": "de-DE,de;q=0.9"}).text
    assert "Sprache ihrer Kassen" in _text(page) and "Sprache speichern" in _text(page)
    Api(admin).call("PATCH", "/stores/berlin", 200, json={"locale": "de_CH"})
    page = admin.get("/dashboard/stores/berlin", headers={"Accept-Language": "de-DE,de;q=0.9"}).text
    assert re.search(r"Die Kassen zeigen Deutsch \(Schweiz\) \( ?de_CH ?\)", _text(page))
