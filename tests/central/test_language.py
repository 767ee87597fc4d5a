"""A page's language: the chooser's `?lang=`, kept in a cookie, else the browser's Accept-Language."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.responses import JSONResponse

from central.language import NAMES, choices, remember, request_language
from words import LANGUAGES


def _client() -> TestClient:
    app = FastAPI()

    @app.get("/page")
    def page(request: Request) -> JSONResponse:
        body = {"language": request_language(request), "choices": choices(request)}
        return remember(request, JSONResponse(body))

    return TestClient(app)


def test_the_browser_decides_until_a_choice_is_made_and_the_choice_is_kept():
    client = _client()
    assert (
        client.get("/page", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"}).json()["language"] == "de"
    )
    assert client.get("/page", headers={"Accept-Language": "ja"}).json()["language"] == "en"
    chosen = client.get("/page?lang=fr", headers={"Accept-Language": "de"})
    assert chosen.json()["language"] == "fr" and chosen.cookies.get("lang") == "fr"
    later = client.get("/page", headers={"Accept-Language": "de"})  # the cookie, not the browser
    assert later.json()["language"] == "fr" and "set-cookie" not in later.headers
    assert client.get("/page?lang=xx", headers={"Accept-Language": "es"}).json()["language"] == "fr"


def test_the_chooser_links_to_this_page_in_each_language():
    links = _client().get("/page?x=1", headers={"Accept-Language": "es"}).json()["choices"]
    assert [code for code, *_ in links] == list(LANGUAGES) and set(NAMES) == set(LANGUAGES)
    spanish = next(link for link in links if link[0] == "es")
    assert spanish[1] == "Español" and spanish[3] is True and "x=1" in spanish[2] and "lang=es" in spanish[2]
    assert [link[3] for link in links].count(True) == 1
