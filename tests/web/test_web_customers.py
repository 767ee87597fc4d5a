"""The Customer Details Page in Chromium (seed 002): a member found by e-mail, their used voucher
reverted with a reason (the till refuses, then accepts, the code), a pending one settled, a voucher
found by part of its code, the per-store report; the member page and the batch list at a desktop's
1280×800 and a phone's 390×844 without sideways scrolling."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from support.web import fill_sign_in

from vouchers.verdict import BatchView, Verdict, VoucherView, decide


def _redeem(server, device, code: str) -> str:
    vid = server.api.call("GET", f"/vouchers/{code}").json()["id"]
    event = {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "at": datetime.now(UTC).isoformat(),
        "device_seq": uuid.uuid4().int % 1_000_000,
        "voucher_id": vid,
    }
    results = server.api.call("POST", "/sync/events", 200, token=device["token"], json={"events": [event]})
    return results.json()["results"][0]["outcome"]


def _scrolls_sideways(page) -> bool:
    """Whether the page is wider than the window (a person would have to scroll it sideways)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    )


@pytest.fixture(scope="module")
def ann(server) -> dict:
    """ann.lee@example.com with a used voucher (redeemed at a till), an unused one and a pending one."""
    server.api.store("york")
    till = server.api.device("york", "front-till")
    spring = server.api.batch(20, identifier="Spring 2026 - Email List", channel="email")
    autumn = server.api.batch(20, identifier="Autumn 2026 - Store Signage", channel="in-store-qr")
    workflow = server.api.batch(5, identifier="Birthday perk", initial_status="pending")
    used = server.api.claim(spring, "ann.lee@example.com")["code"]
    unused = server.api.claim(autumn, "ann.lee@example.com")["code"]
    pending = server.api.claim(workflow, "ann.lee@example.com")["code"]
    server.api.claim(spring, "annabel@example.com")
    assert _redeem(server, till, used) == "accepted"
    return {"used": used, "unused": unused, "pending": pending, "till": till}


def _till_says(server, device: dict, code: str) -> Verdict:
    """What the store's till decides when the code is scanned now: its snapshot, pulled from the
    start as a till's first sync does, and the till's own rule (vouchers.verdict.decide)."""
    vid = server.api.call("GET", f"/vouchers/{code}").json()["id"]
    cursor, voucher, batch, store = 0, None, None, {"id": "", "timezone": "UTC"}
    for _ in range(1000):
        page = server.api.call(
            "GET", f"/sync/snapshot?cursor={cursor}&limit=5000", 200, token=device["token"]
        ).json()
        voucher = next((v for v in page["vouchers"] if v["id"] == vid), voucher)
        batch = next(
            (b for b in page.get("batches", []) if voucher and b["id"] == voucher["batch_id"]), batch
        )
        store = page.get("store") or store
        if page["complete"]:
            break
        cursor = page["next_cursor"]
    else:
        raise AssertionError("the snapshot never completed")
    assert voucher is not None and batch is not None, "the till's snapshot lacks the voucher"
    seen = VoucherView(vid, voucher["batch_id"], voucher["claimed"], voucher.get("status"))
    view = BatchView(
        batch["id"],
        batch["state"],
        date.fromisoformat(batch["valid_from"]) if batch.get("valid_from") else None,
        date.fromisoformat(batch["valid_until"]) if batch.get("valid_until") else None,
        batch.get("stores"),
    )
    return decide(seen, view, store["id"], datetime.now(UTC), ZoneInfo(store["timezone"]))


SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PEOPLE = {"desktop": "cara.diaz", "phone": "dora.eng"}


@pytest.mark.parametrize("size", SIZES)
def test_find_a_customer_by_e_mail_revert_their_used_voucher_and_settle_a_pending_one(
    context, server, shot, size
):
    """Issue 14's done-when: a customer found by e-mail, their used voucher reverted with a reason
    (the till refuses the code before and accepts it after), a voucher found by part of its code, a
    pending voucher settled, the per-store report read; at a desktop's and a phone's size."""
    person = PEOPLE[size]
    store = f"leeds-{size}"
    server.api.store(store, timezone="Europe/London")
    till = server.api.device(store, "front-till")
    spring = server.api.batch(20, identifier=f"Spring 2026 - Email List ({size})", channel="email")
    workflow = server.api.batch(5, identifier=f"Birthday perk ({size})", initial_status="pending")
    used_code = server.api.claim(spring, f"{person}@example.com")["code"]
    pending_code = server.api.claim(workflow, f"{person}@example.com")["code"]
    server.api.claim(spring, f"{person}ton@example.com")
    assert _redeem(server, till, used_code) == "accepted"
    assert _till_says(server, till, used_code) is Verdict.ALREADY_USED

    page = context.new_page()
    page.set_viewport_size(SIZES[size])
    page.goto("/dashboard/batches")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Members").click()
    page.get_by_label("E-mail address, or part of it").fill(person)
    page.get_by_role("button", name="Find").click()
    expect(page.locator(".pager-total")).to_have_text("2 members")
    page.get_by_role("link", name=f"{person}@example.com", exact=True).click()
    expect(page.get_by_role("heading", name=f"{person}@example.com", level=1)).to_be_visible()
    expect(page.locator("article.voucher-story")).to_have_count(2)
    assert not _scrolls_sideways(page)

    used = page.locator(f'article.voucher-story:has(a.code:text-is("{used_code}"))')
    expect(used.locator("[data-voucher-status]")).to_have_text("Used")
    expect(used.locator("[data-used]")).to_contain_text(f"At Store {store}, front-till")
    expect(used.locator(".events li")).to_have_count(1)
    shot(page, f"customer-{size}")
    used.get_by_role("button", name="Revert to unused").click()  # no reason: the browser asks for one
    assert used.get_by_label("Why revert it (kept with the change)").evaluate("e => e.validity.valueMissing")
    used.get_by_label("Why revert it (kept with the change)").fill(
        "Till crashed before the sale went through"
    )
    used.get_by_role("button", name="Revert to unused").click()

    expect(page.locator(".flash")).to_have_text(
        "Voucher reverted to unused: the tills accept it again from their next sync."
    )
    used = page.locator(f'article.voucher-story:has(a.code:text-is("{used_code}"))')
    expect(used.locator("[data-voucher-status]")).to_have_text("Unused")
    expect(used.locator(".events li").last).to_contain_text(
        "Status set to unused by hq@example.com: “Till crashed before the sale went through”"
    )
    assert server.api.call("GET", f"/vouchers/{used_code}").json()["status"] == "unused"
    assert _till_says(server, till, used_code) is Verdict.ACCEPTED  # the till's next sync has it
    assert _redeem(server, till, used_code) == "accepted"  # and takes the code again

    pending = page.locator(f'article.voucher-story:has(a.code:text-is("{pending_code}"))')
    pending.get_by_label("New status").select_option("used")
    pending.get_by_label("Why (kept with the change)").fill("Birthday cake handed over at the party")
    pending.get_by_role("button", name="Change status").click()
    expect(page.locator(".flash")).to_contain_text("Voucher status changed")
    pending = page.locator(f'article.voucher-story:has(a.code:text-is("{pending_code}"))')
    expect(pending.locator("[data-voucher-status]")).to_have_text("Used")
    expect(pending.get_by_role("button", name="Revert to unused")).to_be_visible()  # used: staff may revert
    assert not _scrolls_sideways(page)

    # the batch's vouchers view, searched by part of a code (its middle group, lower case)
    page.goto(f"/dashboard/batches/{spring['id']}/vouchers")
    middle = used_code.split("-")[1].lower()
    page.get_by_label("Code, or part of it").fill(middle)
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator(f'tr[data-code="{used_code}"]')).to_be_visible()
    assert not _scrolls_sideways(page)
    shot(page, f"vouchers-by-part-of-a-code-{size}")

    # the per-store report: this store's two redemptions today, on its own calendar
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Redemptions per store and day")).to_be_visible()
    row = page.locator(f'tr[data-store="{store}"]')
    expect(row.locator('[data-col="total"]')).to_have_text("2")
    row.get_by_role("link", name=f"Store {store}").click()
    expect(page.locator(".report-total")).to_contain_text(f"2 redemptions at Store {store}")
    expect(page.locator("#redemptions-chart rect.bar").last).to_have_attribute("data-count", "2")
    assert not _scrolls_sideways(page)
    shot(page, f"report-per-store-{size}")


def _check_fits(page, shot, name: str) -> None:
    assert not _scrolls_sideways(page), f"{name} scrolls sideways at {page.viewport_size}"
    shot(page, name)


def test_the_member_page_and_the_batch_list_fit_a_desktop(page, server, ann, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/dashboard/members/ann.lee@example.com")
    expect(page.locator("article.voucher-story")).to_have_count(3)
    _check_fits(page, shot, "customer-1280")
    page.goto("/dashboard/batches")
    expect(page.locator("article.card").first).to_be_visible()
    _check_fits(page, shot, "batches-1280")


def test_the_member_page_the_vouchers_view_and_the_batch_list_fit_a_phone(phone, server, ann, shot):
    fill_sign_in(phone, server)
    expect(phone.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    _check_fits(phone, shot, "batches-390")
    card = phone.locator("article.card").first
    box = card.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    phone.goto("/dashboard/members/ann.lee@example.com")
    expect(phone.locator("article.voucher-story")).to_have_count(3)
    _check_fits(phone, shot, "customer-390")
    phone.goto("/dashboard/members?q=ann")
    expect(phone.get_by_role("link", name="ann.lee@example.com")).to_be_visible()
    _check_fits(phone, shot, "members-390")
    spring = phone.get_by_role("link", name="Spring 2026 - Email List").first
    phone.goto("/dashboard/batches?q=Spring+2026")
    spring.click()
    phone.get_by_role("link", name="Vouchers", exact=True).first.click()
    expect(phone.locator("table.vouchers tbody tr").first).to_be_visible()
    _check_fits(phone, shot, "vouchers-390")
