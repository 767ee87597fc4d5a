"""Every staff page of the dashboard at a phone's 390×844 and a desktop's 1280×800 in Chromium: each
fits the window with no sideways scrolling (tables reflow into cards on a phone), with a screenshot
of each in test-artifacts/web/pages/<size>/. Member pages show times in the phone's own zone."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from support.web import ARTIFACTS

SIZES = {"390x844": {"width": 390, "height": 844}, "1280x800": {"width": 1280, "height": 800}}
SEQ = count(1)
LONG_MEMBER = "margaret.featherstonehaugh-cholmondeley@marketing-department.example.co.uk"


def _push(server, device: dict, kind: str, code: str | None, **fields) -> str:
    event = {"id": str(uuid.uuid4()), "kind": kind, "device_seq": next(SEQ), **fields}
    event.setdefault("at", datetime.now(UTC).isoformat())
    if code is not None:
        event["voucher_id"] = server.api.call("GET", f"/vouchers/{code}").json()["id"]
    answer = server.api.call("POST", "/sync/events", 200, token=device["token"], json={"events": [event]})
    return answer.json()["results"][0]["outcome"]


@pytest.fixture(scope="module")
def shop(server) -> dict:
    """Something on every page: stores in two zones with tills, a batch with long names and figures,
    redemptions, a conflict, refused scans, a pending voucher, a staff token, an integration."""
    api = server.api
    api.store("phone-york", timezone="Europe/London")
    api.store("phone-paris", timezone="Europe/Paris")
    york = api.device("phone-york", "front-till-by-the-entrance")
    paris = api.device("phone-paris", "till-2")
    batch = api.batch(
        40,
        identifier="Summer 2026 - Instagram Post for the new seasonal collection launch",
        channel="social-media",
    )
    pending = api.batch(5, identifier="Birthday perk (phone)", initial_status="pending")
    codes = [api.claim(batch, f"phone{i}@example.com")["code"] for i in range(6)]
    long_code = api.claim(batch, LONG_MEMBER)["code"]
    api.claim(pending, LONG_MEMBER)
    assert _push(server, york, "redeem", codes[0]) == "accepted"
    assert _push(server, paris, "redeem", codes[1]) == "accepted"
    assert _push(server, york, "redeem", long_code) == "accepted"
    assert _push(server, paris, "redeem", long_code) == "conflict"
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert _push(server, paris, "refused", codes[0], verdict="ALREADY_USED", at=yesterday) == "accepted"
    assert _push(server, york, "refused", None, verdict="INVALID_CODE") == "accepted"
    api.call("POST", "/integration-tokens", 201, json={"name": "Web shop sign-up form", "days": 90})
    full = api.get(batch["id"])
    return {
        "batch": batch["id"],
        "type": full["types"][0]["id"],
        "code": long_code,
        "device": york["device_id"],
    }


def _pages(shop: dict) -> dict[str, str]:
    b = shop["batch"]
    pages = {
        "batches": "/dashboard/batches",
        "batches-archived": "/dashboard/batches?archived=1",
        "batch-new": "/dashboard/batches/new",
        "batch": f"/dashboard/batches/{b}",
        "batch-edit": f"/dashboard/batches/{b}/edit",
        "type-new": f"/dashboard/batches/{b}/types/new",
        "type-edit": f"/dashboard/batches/{b}/types/{shop['type']}/edit",
        "vouchers": f"/dashboard/batches/{b}/vouchers",
        "batch-delete": f"/dashboard/batches/{b}/delete",
        "batch-void": f"/dashboard/batches/{b}/void",
        "batch-qr": f"/dashboard/batches/{b}/qr",
        "members": "/dashboard/members?q=example",
        "customer": f"/dashboard/members/{LONG_MEMBER}",
        "voucher": f"/dashboard/vouchers/{shop['code']}",
        "channels": "/dashboard/channels",
        "report-redemptions": "/dashboard/reports/redemptions",
        "report-redemptions-store": "/dashboard/reports/redemptions?store=phone-york",
        "report-refused": "/dashboard/reports/refused",
        "stores": "/dashboard/stores",
        "store": "/dashboard/stores/phone-york",
        "quiet-tills": "/dashboard/devices/stale",
        "review": "/dashboard/review?show=all",
        "audit": "/dashboard/audit",
        "staff": "/dashboard/staff",
        "tokens": "/dashboard/tokens",
        "integrations": "/dashboard/integrations",
    }
    pages["device-revoke"] = f"/dashboard/devices/{shop['device']}/revoke"
    return pages


FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# What sticks out past the screen's right edge (the outermost such elements), to say why a page does not fit
WIDEST = """(width) => [...document.querySelectorAll("main *")]
  .filter((e) => e.getBoundingClientRect().right > width + 1 && e.parentElement.getBoundingClientRect().right <= width + 1)
  .slice(0, 4).map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")} ${Math.round(e.getBoundingClientRect().width)}px`)"""


@pytest.mark.parametrize("size", SIZES)
def test_every_staff_page_fits_the_window_without_sideways_scrolling(
    browser, server, signed_in_state, shop, size
):
    context = browser.new_context(
        storage_state=signed_in_state,
        base_url=server.url,
        viewport=SIZES[size],
        **({"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if size == "390x844" else {}),
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    too_wide = {}
    try:
        for name, path in _pages(shop).items():
            answer = page.goto(path)
            assert answer is not None and answer.status == 200, f"{path} answered {answer and answer.status}"
            expect(page.locator("main :is(h1, h2)").first).to_be_visible()
            scroll_width, inner_width = page.evaluate(FITS)
            # (a phone zooms a page out that does not fit: the window then grows past the screen's width)
            if scroll_width > inner_width or inner_width != SIZES[size]["width"]:
                page.set_viewport_size(SIZES[size])
                too_wide[name] = (scroll_width, inner_width, page.evaluate(WIDEST, SIZES[size]["width"]))
            target = ARTIFACTS / "pages" / size / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target), full_page=True)
    finally:
        context.close()
    assert not too_wide, (
        f"pages wider than the {size} screen (scrollWidth, innerWidth, what sticks out): {too_wide}"
    )


def test_sign_in_page_fits_a_phone(phone):
    phone.goto("/dashboard/sign-in")
    scroll_width, inner_width = phone.evaluate(FITS)
    assert scroll_width <= inner_width == 390
    target = ARTIFACTS / "pages" / "390x844" / "sign-in.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(target), full_page=True)


def test_a_phone_reads_tables_as_cards(browser, server, signed_in_state, shop):
    """On a phone the report's table rows are cards, each cell with its column's name."""
    context = browser.new_context(
        storage_state=signed_in_state, base_url=server.url, viewport=SIZES["390x844"]
    )
    page = context.new_page()
    try:
        page.goto("/dashboard/reports/redemptions")
        row = page.locator('table.report-stores tr[data-store="phone-york"]')
        assert row.evaluate("e => getComputedStyle(e).display") == "block"
        label = row.locator('[data-col="total"]').evaluate("e => getComputedStyle(e, '::before').content")
        assert label == '"Redemptions"'
        page.set_viewport_size(SIZES["1280x800"])  # a desktop: a table again
        assert row.evaluate("e => getComputedStyle(e).display") == "table-row"
    finally:
        context.close()


def test_member_pages_show_times_in_the_phones_zone(browser, server, shop):
    """The member's page writes its times again in the phone's own zone (Tokyo here), with the zone;
    the UTC time stays as the title, and as the text without scripts."""
    context = browser.new_context(base_url=server.url, timezone_id="Asia/Tokyo", viewport=SIZES["390x844"])
    page = context.new_page()
    try:
        _member_signs_in(page, server, LONG_MEMBER)
        page.goto("/my/vouchers")
        first = page.locator("time[data-local]").first
        expect(first).to_have_text(re.compile(r"^\d{1,2} \w{3} \d{4} at \d\d:\d\d (GMT\+9|JST)$"))
        instant = datetime.fromisoformat(first.get_attribute("datetime"))
        local = instant.astimezone(ZoneInfo("Asia/Tokyo"))
        assert f"{local:%H:%M}" in first.inner_text()
        assert first.get_attribute("title").endswith(" UTC")
    finally:
        context.close()
    scriptless = browser.new_context(base_url=server.url, java_script_enabled=False)
    page = scriptless.new_page()
    try:
        _member_signs_in(page, server, LONG_MEMBER)
        page.goto("/my/vouchers")
        expect(page.locator("time[data-local]").first).to_have_text(re.compile(r" UTC$"))
    finally:
        scriptless.close()


def _member_signs_in(page, server, email: str) -> None:
    """Sign in as a member with the code of the mail the server sent, as test_web_members.py does."""
    page.goto("/my/vouchers")
    expect(page).to_have_url(re.compile(r"/my/sign-in\?next="))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Send me a sign-in link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    page.get_by_label("Code from the mail").fill(server.mail.last_to(email).code)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My vouchers")).to_be_visible()
