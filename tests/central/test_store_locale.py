"""A store's locale at head office (issue 18): set with the store or later, audited, sent in the
snapshot, so its tills word and format everything in it unless their own setting says otherwise."""

from __future__ import annotations

import threading

from localdb.replica import Replica
from localdb.till import Till


def test_a_store_is_created_with_a_locale_in_its_normal_form(api):
    made = api.call(
        "POST",
        "/stores",
        201,
        json={"id": "genf", "name": "Genf", "timezone": "Europe/Zurich", "locale": "de-CH"},
    ).json()
    assert made["locale"] == "de_CH"
    assert api.call("GET", "/stores/genf", 200).json()["locale"] == "de_CH"
    assert api.store("plain")["locale"] is None  # none given: each till's own setting


def test_a_locale_the_product_does_not_speak_is_refused_in_words(api):
    answer = api.call("POST", "/stores", 422, json={"id": "tokyo", "name": "Tokyo", "locale": "ja"})
    assert "unknown locale 'ja'" in answer.text and "de_CH" in answer.text
    api.store("s1")
    for wrong in ("xx", "fr_XX_YY", "", "english"):
        assert api.call("PATCH", "/stores/s1", 422, json={"locale": wrong}).status_code == 422
    assert api.call("PATCH", "/stores/s1", 422, json={}).status_code == 422  # null is said, not left out
    assert api.call("GET", "/stores/s1", 200).json()["locale"] is None  # nothing changed
    assert api.call("PATCH", "/stores/nowhere", 404, json={"locale": "fr"}).status_code == 404


def test_the_locale_is_changed_with_an_author_and_reaches_the_tills_next_page(api, tmp_path):
    api.store("s1")
    device = api.device("s1")
    replica = Replica(tmp_path / "replica.db")
    first = api.call("GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": 0}).json()
    cursor = replica.apply_page(first)
    till = Till(replica.conn, None)
    assert first["store"]["locale"] is None and till.locale() is None

    woken: list[dict] = []
    waiting = threading.Thread(  # a till's live pull, waiting at the head when the change is made
        target=lambda: woken.append(
            api.call(
                "GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor, "wait": 20}
            ).json()
        )
    )
    waiting.start()
    changed = api.call("PATCH", "/stores/s1", 200, json={"locale": "fr_BE"}).json()
    assert changed["locale"] == "fr_BE"
    waiting.join(timeout=30)
    assert woken and woken[0]["next_cursor"] > cursor and woken[0]["store"]["locale"] == "fr_BE"
    cursor = replica.apply_page(woken[0])
    assert till.locale() == "fr_BE"

    [entry] = api.call("GET", "/audit", 200, params={"entity": "s1", "action": "store.locale"}).json()
    assert (entry["actor"], entry["actor_kind"]) == ("admin@tests.example", "staff")  # who changed it
    assert entry["before"]["locale"] is None and entry["after"]["locale"] == "fr_BE"

    api.call("PATCH", "/stores/s1", 200, json={"locale": None})
    page = api.call("GET", "/sync/snapshot", 200, token=device["token"], params={"cursor": cursor}).json()
    replica.apply_page(page)
    assert till.locale() is None
    replica.close()
