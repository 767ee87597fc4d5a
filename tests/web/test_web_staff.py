"""Staff and tokens on the dashboard: an admin adds accounts, changes roles, disables and enables them;
each person makes, sees and revokes their own API tokens; admins issue and revoke integration tokens.
Each change is in the audit log with its author (and tests/web/conftest.py checks every POST)."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect
from support.web import EMAIL, fill_sign_in

NEW, NEW_PASSWORD = "new.hire@staff.example", "the new hire's password"


def _row(page, email: str):
    return page.locator(f"table.staff tr[data-staff='{email}']")


def _audited(server, action: str, entity: str) -> list[dict]:
    rows = server.api.call("GET", "/audit", 200, params={"entity": entity, "action": action}).json()
    return [r for r in rows if r["action"] == action]


def test_an_admin_adds_an_account_changes_its_role_and_disables_and_enables_it(page, server, browser, shot):
    page.goto("/dashboard/batches")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    expect(_row(page, EMAIL)).to_have_attribute("data-role", "admin")
    expect(_row(page, EMAIL).get_by_role("rowheader")).to_contain_text("(you)")

    form = page.get_by_role("region", name="Add a staff account")
    form.get_by_label("E-mail address").fill("not an address")
    form.get_by_label("Password").fill("short")
    form.get_by_label("campaigns: also creates").check()
    form.get_by_role("button", name="Add account").click()
    expect(page.locator("#email-error")).to_have_text("'not an address' is not an e-mail address.")
    form.get_by_label("E-mail address").fill(NEW)
    form.get_by_label("Password").fill("short")
    form.get_by_role("button", name="Add account").click()
    expect(page.locator("#password-error")).to_have_text("A password needs at least 10 characters.")
    form.get_by_label("Password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Add account").click()
    expect(page.locator(".flash")).to_contain_text("Staff account added")
    expect(_row(page, NEW)).to_have_attribute("data-role", "campaigns")
    assert _audited(server, "staff.add", NEW)[0]["actor"] == EMAIL
    form.get_by_label("E-mail address").fill(NEW.upper())
    form.get_by_label("Password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Add account").click()
    expect(page.locator("#email-error")).to_contain_text(f"There is already a staff account for {NEW}.")

    _row(page, NEW).get_by_label(f"Role of {NEW}").select_option("viewer")
    _row(page, NEW).get_by_role("button", name="Change role").click()
    expect(page.locator(".flash")).to_contain_text("Role changed")
    expect(_row(page, NEW)).to_have_attribute("data-role", "viewer")
    [changed] = _audited(server, "staff.role", NEW)
    assert (changed["actor"], changed["before"], changed["after"]) == (
        EMAIL,
        {"role": "campaigns"},
        {"role": "viewer"},
    )

    hire = browser.new_context(base_url=server.url)
    them = hire.new_page()
    try:
        fill_sign_in(them, server, NEW, NEW_PASSWORD)
        expect(them.locator("header .who")).to_have_text(f"{NEW} (viewer)")
        _row(page, NEW).get_by_role("button", name="Disable").click()
        expect(page.locator(".flash")).to_contain_text("Account disabled")
        expect(_row(page, NEW)).to_have_attribute("data-state", "disabled")
        shot(page, "staff")
        them.reload()  # their session ended at once
        expect(them.get_by_role("heading", name="Sign in to head office")).to_be_visible()
        fill_sign_in(them, server, NEW, NEW_PASSWORD)
        expect(them.get_by_role("alert")).to_have_text(
            "This account is disabled. Ask an admin of head office to enable it."
        )
        _row(page, NEW).get_by_role("button", name="Enable").click()
        expect(page.locator(".flash")).to_contain_text("Account enabled")
        fill_sign_in(them, server, NEW, NEW_PASSWORD)
        expect(them.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    finally:
        hire.close()
    assert [
        e["actor"] for e in _audited(server, "staff.disable", NEW) + _audited(server, "staff.enable", NEW)
    ] == [EMAIL, EMAIL]


def test_my_api_tokens_are_shown_once_work_and_are_revoked(page, server, shot):
    page.goto("/dashboard/tokens")
    expect(page.get_by_role("heading", name="My API tokens")).to_be_visible()
    page.get_by_label("What it is for").fill("laptop")
    page.get_by_label("Days it lasts").fill("400")
    page.get_by_role("button", name="Make token").click()
    expect(page.locator("#days-error")).to_have_text("Enter a whole number of days, 1 to 366.")
    page.get_by_label("Days it lasts").fill("30")
    page.get_by_role("button", name="Make token").click()
    token = page.locator("[data-new-token]").inner_text()
    assert token.startswith("vks_")
    shot(page, "my-api-tokens")
    api = f"{server.url}/api/v1/batches"
    assert httpx.get(api, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page.goto("/dashboard/tokens")  # shown once: not on the page again
    assert token not in page.content()
    row = page.locator("table.tokens tr[data-state=live]").filter(has_text="laptop")
    expect(row).to_have_count(1)
    token_id = row.get_attribute("data-token")
    assert _audited(server, "token.create", token_id)[0]["actor"] == EMAIL
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".flash")).to_contain_text("API token revoked")
    expect(page.locator(f"table.tokens tr[data-token='{token_id}']")).to_have_attribute(
        "data-state", "revoked"
    )
    assert httpx.get(api, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _audited(server, "token.revoke", token_id)[0]["actor"] == EMAIL


def test_one_cannot_revoke_someone_elses_token_from_the_tokens_page(page, server):
    other = server.api.call("GET", "/staff", 200).json()  # the API's own account's token is someone else's
    assert any(a["email"] != EMAIL for a in other)
    from central.services import staff

    with server.db.read() as conn:
        theirs = next(t for t in staff.list_tokens(conn) if t.email != EMAIL and t.revoked_at is None)
    page.goto("/dashboard/tokens")
    assert theirs.id not in page.content()
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = page.request.post(f"/dashboard/tokens/{theirs.id}/revoke", form={"csrf_token": token})
    assert refused.status == 404 and "There is no API token" in refused.text()
    with server.db.read() as conn:
        assert next(t for t in staff.list_tokens(conn) if t.id == theirs.id).revoked_at is None


def test_integration_tokens_are_issued_claim_and_are_revoked(page, server, shot):
    batch = server.api.batch(3, state="distributed", identifier="Web shop offer")
    page.goto("/dashboard/batches")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations").click()
    page.get_by_label("Whose web site").fill("Leeds web site")
    page.get_by_label("Days it lasts").fill("")
    page.get_by_role("button", name="Issue token").click()
    token = page.locator("[data-new-token]").inner_text()
    assert token.startswith("vki_")
    row = page.locator("table.integrations tr[data-state=live]").filter(has_text="Leeds web site")
    expect(row).to_contain_text("Never expires")
    expect(row).to_contain_text(EMAIL)
    shot(page, "integrations")
    claims = f"{server.url}/api/v1/claims"
    body = {"claim_token": batch["claim_token"], "member_id": "web.customer@example.com"}
    assert httpx.post(claims, json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 201
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".flash")).to_contain_text("Integration token revoked")
    body["member_id"] = "another.customer@example.com"
    assert httpx.post(claims, json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    integration_id = (
        page.locator("table.integrations tr[data-state=revoked]")
        .filter(has_text="Leeds web site")
        .get_attribute("data-integration")
    )
    assert [e["actor"] for e in _audited(server, "integration.create", integration_id)] == [EMAIL]
    assert [e["actor"] for e in _audited(server, "integration.revoke", integration_id)] == [EMAIL]
