"""A member who taps Claim while signed out: the sign-in mailed from the claim page claims as its link
or code signs them in, for the address it proved, and lands on the claim page with the voucher. The
claim waits on the server with that sign-in only: no URL asks for one, a plain sign-in never claims,
and where the member goes next is always a page of this server (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from support.api import sign_in_token


def _ask_on_claim_page(client, batch: dict, email: str):
    url = f"/claim/{batch['claim_token']}"
    page = client.get(url)
    asked = client.post(url, data={"email": email, "sign_in_token": sign_in_token(page.text)})
    assert asked.status_code == 200 and "Check your mail" in asked.text, asked.text
    return asked


def _type_code(client, code: str, next_page: str):
    page = client.get(f"/my/sign-in?next={next_page}")
    return client.post(
        "/my/sign-in/code",
        data={"code": code, "next": next_page, "sign_in_token": sign_in_token(page.text)},
        follow_redirects=False,
    )


def _who(client) -> str | None:
    page = client.get("/my/vouchers", follow_redirects=False)
    return re.search(r'class="who">([^<]+)<', page.text).group(1) if page.status_code == 200 else None


def _claimed_by(api, batch: dict) -> list[str]:
    return [v["claim"]["member_id"] for v in api.vouchers(batch["id"], claimed="true")]


def test_the_link_opened_in_another_browser_signs_in_there_and_claims_for_the_mails_address(
    api, client, mail_server
):
    batch = api.batch(3, identifier="Phone offer")
    _ask_on_claim_page(client, batch, "Ann@Example.com")
    assert _claimed_by(api, batch) == []  # nothing before the address is proven
    link = urlsplit(mail_server.keeper.last_to("ann@example.com").link).path
    phone = TestClient(client.app)  # the phone's mail app opens another browser (the app is running already)
    try:
        confirm = phone.get(link)
        assert re.search(r"and claim your voucher from\s+<strong>Phone offer</strong>\?", confirm.text)
        assert (
            "Sign in and claim" in confirm.text and _claimed_by(api, batch) == []
        )  # opening the link does nothing
        done = phone.post(link, data={"sign_in_token": sign_in_token(confirm.text)}, follow_redirects=False)
        assert (
            done.status_code == 303
            and done.headers["location"] == f"/claim/{batch['claim_token']}?done=claimed"
        )
        shown = phone.get(done.headers["location"])
        assert "Claimed!" in shown.text and 'data-code="' in shown.text
        assert _who(phone) == "ann@example.com"
    finally:
        phone.close()
    assert _claimed_by(api, batch) == ["ann@example.com"]
    assert _who(client) is None  # the browser that asked is not signed in by a link opened elsewhere


def test_a_plain_sign_in_towards_a_claim_page_does_not_claim_but_offers_the_one_tap(api, client, mail_server):
    batch = api.batch(3, identifier="Plain")
    url = f"/claim/{batch['claim_token']}"
    page = client.get(f"/my/sign-in?next={url}")  # e.g. a link someone else sent: it must not claim
    client.post(
        "/my/sign-in",
        data={"email": "bob@example.com", "sign_in_token": sign_in_token(page.text), "next": url},
    )
    done = _type_code(client, mail_server.keeper.last_to("bob@example.com").code, url)
    assert done.status_code == 303 and done.headers["location"] == url
    assert _claimed_by(api, batch) == []
    assert "Claim voucher" in client.get(url).text


def test_only_the_newest_sign_in_of_a_browser_carries_its_claim(api, client, mail_server):
    batch = api.batch(3, identifier="Newest")
    _ask_on_claim_page(client, batch, "cat@example.com")
    first = mail_server.keeper.last_to("cat@example.com")
    page = client.get("/my/sign-in")  # then a plain sign-in from the same browser: the first mail is spent
    client.post(
        "/my/sign-in",
        data={"email": "cat@example.com", "sign_in_token": sign_in_token(page.text), "next": "/my/vouchers"},
    )
    assert _type_code(client, first.code, "/my/vouchers").status_code == 422
    done = _type_code(client, mail_server.keeper.last_to("cat@example.com").code, "/my/vouchers")
    assert done.headers["location"] == "/my/vouchers" and _claimed_by(api, batch) == []


def test_a_batch_paused_meanwhile_signs_in_and_says_why_there_is_no_voucher(api, client, mail_server):
    batch = api.batch(3, identifier="Paused meanwhile")
    url = f"/claim/{batch['claim_token']}"
    _ask_on_claim_page(client, batch, "dan@example.com")
    api.call("POST", f"/batches/{batch['id']}/pause", 200)
    done = _type_code(client, mail_server.keeper.last_to("dan@example.com").code, url)
    assert done.status_code == 303 and done.headers["location"] == url
    page = client.get(url)
    assert "Promotion temporarily paused" in page.text and _who(client) == "dan@example.com"
    assert _claimed_by(api, batch) == []
    api.call("POST", f"/batches/{batch['id']}/resume", 200)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text).group(1)
    assert (
        client.post(url, data={"csrf_token": csrf}, follow_redirects=False).headers["location"]
        == f"{url}?done=claimed"
    )
    assert _claimed_by(api, batch) == ["dan@example.com"]


def test_where_a_sign_in_goes_next_is_always_a_page_of_this_server(client, mail_server):
    for target in (
        "https://evil.example/claim/x",
        "//evil.example/my",
        "/claim/../../dashboard",
        "/my/../admin",
    ):
        page = client.get(f"/my/sign-in?next={target}")
        assert 'name="next" value="/my/vouchers"' in page.text, target
        client.post(
            "/my/sign-in",
            data={"email": "eve@example.com", "sign_in_token": sign_in_token(page.text), "next": target},
        )
        done = _type_code(client, mail_server.keeper.last_to("eve@example.com").code, target)
        assert done.status_code == 303 and done.headers["location"] == "/my/vouchers", target
        client.cookies.clear()
