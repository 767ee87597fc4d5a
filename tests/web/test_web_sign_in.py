"""Signing in and out of the dashboard, the attempts limit, and CSRF refusals."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from support.api import CHEAP_HASHES
from support.web import EMAIL, PASSWORD, fill_sign_in

from central.services import staff


def test_pages_need_a_sign_in_and_come_back_after_it(anonymous, server, shot):
    response = anonymous.goto("/dashboard/batches?done=x")
    expect(anonymous).to_have_url(re.compile(r"/dashboard/sign-in\?next="))
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    expect(anonymous.get_by_role("heading", name="Sign in to head office")).to_be_visible()
    shot(anonymous, "sign-in")
    anonymous.get_by_label("E-mail address").fill(EMAIL.upper())  # addresses are case-blind
    anonymous.get_by_label("Password").fill(PASSWORD)
    anonymous.get_by_role("button", name="Sign in").click()
    expect(anonymous).to_have_url(re.compile(r"/dashboard/batches\?done=x$"))
    expect(anonymous.get_by_text(EMAIL)).to_be_visible()
    cookie = next(c for c in anonymous.context.cookies() if c["name"] == "voucher_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/dashboard"
    assert cookie["value"] not in anonymous.content()  # no token is ever written into a page


def test_wrong_password_is_refused_in_words(anonymous, server):
    fill_sign_in(anonymous, server, password="not the password")
    expect(anonymous.get_by_role("alert")).to_have_text("The e-mail address or the password is wrong.")
    expect(anonymous.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(anonymous.get_by_label("E-mail address")).to_have_value(EMAIL)


def test_sign_out_ends_the_session_on_the_server(anonymous, server):
    fill_sign_in(anonymous, server)
    expect(anonymous.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    cookies = anonymous.context.cookies()
    anonymous.get_by_role("button", name="Sign out").click()
    expect(anonymous.locator(".flash")).to_have_text("You are signed out.")
    anonymous.context.add_cookies(cookies)  # an old copy of the cookie no longer works either
    anonymous.goto("/dashboard/batches")
    expect(anonymous).to_have_url(re.compile(r"/dashboard/sign-in"))


def test_a_strangers_wrong_passwords_do_not_stop_the_real_staff_member(browser, server):
    """Failures are counted per account *and* client address (here as the TLS proxy reports it in
    X-Forwarded-For): the stranger's address is slowed, the account is never locked."""
    with server.db.write() as conn:
        staff.add(conn, "lock@example.com", "the right password", log2_n=CHEAP_HASHES)
    stranger_context = browser.new_context(
        base_url=server.url, extra_http_headers={"X-Forwarded-For": "198.51.100.7"}
    )
    owner_context = browser.new_context(
        base_url=server.url, extra_http_headers={"X-Forwarded-For": "203.0.113.20"}
    )
    stranger, owner = stranger_context.new_page(), owner_context.new_page()
    for _ in range(3):  # the test server slows an address after 3
        fill_sign_in(stranger, server, "lock@example.com", "wrong password")
        expect(stranger.get_by_role("alert")).to_have_text("The e-mail address or the password is wrong.")
    with stranger.expect_response(lambda r: r.request.method == "POST") as answer:
        fill_sign_in(stranger, server, "lock@example.com", "the right password")  # from there, not even this
    assert answer.value.status == 429 and 0 < int(answer.value.headers["retry-after"]) <= 900
    expect(stranger.get_by_role("alert")).to_contain_text(
        "Too many wrong passwords for this account from this address"
    )
    fill_sign_in(owner, server, "lock@example.com", "the right password")  # the owner, at their desk
    expect(owner.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    stranger_context.close()
    owner_context.close()


def test_an_address_without_account_reads_the_same(anonymous, server):
    fill_sign_in(anonymous, server, "nobody@example.com", "whatever password")
    expect(anonymous.get_by_role("alert")).to_have_text("The e-mail address or the password is wrong.")


def test_forms_without_the_csrf_token_are_refused(context, server):
    batch = server.api.batch(5, state="distributed", identifier="CSRF target")
    request = context.request
    refused = request.post(f"/dashboard/batches/{batch['id']}/actions/pause", form={"back": "list"})
    assert refused.status == 403 and "did not come from the dashboard" in refused.text()
    forged = request.post(
        f"/dashboard/batches/{batch['id']}/actions/pause", form={"csrf_token": "guessed", "back": "list"}
    )
    assert forged.status == 403
    assert server.api.get(batch["id"])["claims"] == "active"


def test_forms_from_another_site_are_refused(page, server):
    batch = server.api.batch(5, state="distributed", identifier="Cross-site target")
    page.goto("/dashboard/batches")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    response = page.request.post(
        f"/dashboard/batches/{batch['id']}/actions/pause",
        form={"csrf_token": token, "back": "list"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403 and "another site" in response.text()
    assert server.api.get(batch["id"])["claims"] == "active"
    ok = page.request.post(
        f"/dashboard/batches/{batch['id']}/actions/pause",
        form={"csrf_token": token, "back": "list"},
        max_redirects=0,
    )
    assert ok.status == 303 and server.api.get(batch["id"])["claims"] == "paused"


def test_the_sign_in_form_itself_needs_its_token(anonymous, server):
    response = anonymous.request.post("/dashboard/sign-in", form={"email": EMAIL, "password": PASSWORD})
    assert response.status == 403 and "expired" in response.text()
    assert not any(c["name"] == "voucher_session" for c in anonymous.context.cookies())
