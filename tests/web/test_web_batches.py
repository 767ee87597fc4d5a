"""Campaigns > Batches: the cards of seed 000, the QR modal, pause and resume, delete."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import cv2
import numpy as np
import zxingcpp
from playwright.sync_api import expect

GREEN_BG, YELLOW_BG = "rgb(218, 251, 225)", "rgb(255, 244, 194)"


def _card(page, batch):
    return page.locator(f"#batch-{batch['id']}")


def _redeem(server, device, codes):
    """Redeem claimed codes at a till, as its sync agent would push them."""
    events = [
        {
            "id": str(uuid.uuid4()),
            "kind": "redeem",
            "at": datetime.now(UTC).isoformat(),
            "device_seq": i,
            "voucher_id": server.api.call("GET", f"/vouchers/{c}").json()["id"],
        }
        for i, c in enumerate(codes, 1)
    ]
    server.api.call("POST", "/sync/events", 200, token=device["token"], json={"events": events})


def test_a_card_shows_name_figures_rate_and_badges(page, server, shot):
    server.api.store("s1")
    batch = server.api.batch(40, identifier="Q1 2025 Email Campaign", channel="email")
    codes = [server.api.claim(batch, f"m{i}@example.com")["code"] for i in range(30)]  # enough to rate
    _redeem(server, server.api.device("s1"), codes[:9])
    few = server.api.batch(10, identifier="Q1 2025 Email Trial", channel="email")
    trial = server.api.claim(few, "trial@example.com")["code"]
    _redeem(server, server.api.device("s1", "till-2"), [trial])
    paused = server.api.batch(5, state="distributed", identifier="Summer 2025 - Instagram Post")
    server.api.call("POST", f"/batches/{paused['id']}/pause", 200)
    page.goto("/dashboard/batches")
    card = _card(page, batch)
    expect(card.get_by_role("heading", name="Q1 2025 Email Campaign")).to_be_visible()
    expect(card.get_by_role("link", name="QR code for Q1 2025 Email Campaign")).to_be_visible()
    expect(card.locator("summary[aria-label='Actions for Q1 2025 Email Campaign']")).to_be_visible()
    expect(card.locator("[data-figure=total]")).to_have_text("40")
    expect(card.locator("[data-figure=claimed]")).to_have_text("30")
    expect(card.locator("[data-figure=redeemed]")).to_have_text("9")
    expect(card.locator("[data-figure=available]")).to_have_text("10")  # Available = Total − Claimed
    expect(card.locator(".rate")).to_have_text("Redemption rate: 30%")  # 9 ÷ 30
    expect(card.locator(".badge")).to_have_text("● Active")
    expect(card.locator(".badge")).to_have_css("background-color", GREEN_BG)
    expect(card.locator(".state")).to_have_text("Redeemable")
    expect(card.locator(".benchmark")).to_contain_text("Email: typical 5–15%, great 20%+")
    expect(card.locator(".rating")).to_have_text("Great")
    trial_card = _card(page, few)
    expect(trial_card.locator(".rate")).to_have_text("Redemption rate: 100%")
    expect(trial_card.locator(".rating")).to_have_text("Too few claims to rate")  # 1 of 1 says nothing
    other = _card(page, paused)
    expect(other.locator(".badge")).to_have_text("● Paused")
    expect(other.locator(".badge")).to_have_css("background-color", YELLOW_BG)
    expect(other.locator(".state")).to_have_text("Distributed")
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_have_text(re.compile(r"Campaigns\s*Batches"))
    shot(page, "batches")


def test_the_cards_keep_their_figures_live_without_a_reload(page, server):
    server.api.store("s2")
    batch = server.api.batch(10, identifier="Live figures")
    page.goto("/dashboard/batches")
    card = _card(page, batch)
    expect(card.locator("[data-figure=claimed]")).to_have_text("0")
    page.evaluate("window.loadedOnce = true")  # gone if the page were loaded again
    codes = [server.api.claim(batch, f"live{i}@example.com")["code"] for i in range(2)]
    _redeem(server, server.api.device("s2"), codes[:1])
    expect(card.locator("[data-figure=claimed]")).to_have_text("2", timeout=15_000)
    expect(card.locator("[data-figure=redeemed]")).to_have_text("1", timeout=15_000)
    expect(card.locator("[data-figure=rate]")).to_have_text("50%", timeout=15_000)
    assert page.evaluate("window.loadedOnce") is True


def test_the_menu_offers_only_what_the_state_allows(page, server):
    configuring = server.api.batch(5, state="configuring", identifier="Menu configuring")
    void = server.api.batch(5, state="void", identifier="Menu void")
    for batch in (configuring, void):
        page.goto("/dashboard/batches" + ("?show=archived" if batch is void else ""))  # void: archived
        card = _card(page, batch)
        card.locator("summary").click()
        items = card.locator(".menu-items > li")
        labels = [t.strip() for t in items.all_inner_texts()]
        expected = {
            "configuring": ["Validate", "Edit batch", "Pause batch", "Delete batch", "Vouchers"],
            "void": ["Delete batch", "Vouchers"],
        }[batch["state"]]
        assert labels == expected
        assert (
            server.api.get(batch["id"])["allowed_actions"]
            == {"configuring": ["validate", "edit", "pause", "delete"], "void": ["delete"]}[batch["state"]]
        )
        page.keyboard.press("Escape")


def test_qr_modal_copy_download_and_open(page, server, context, tmp_path, shot):
    batch = server.api.batch(10, identifier="QR Campaign", description="Scan me")
    page.goto("/dashboard/batches")
    _card(page, batch).get_by_role("link", name="QR code for QR Campaign").click()
    dialog = page.get_by_role("dialog", name="Claim QR code: QR Campaign")
    expect(dialog).to_be_visible()
    image = dialog.get_by_role("img", name="QR code of the claim link for QR Campaign")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth >= 500", arg=image.element_handle())
    expect(dialog.get_by_label("Claim URL")).to_have_value(batch["claim_url"])
    assert batch["claim_url"].startswith(server.url + "/claim/")
    shot(page, "qr-modal")

    dialog.get_by_role("button", name="Copy link").click()
    expect(dialog.locator(".copy-status")).to_have_text("Link copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == batch["claim_url"]

    with page.expect_download() as info:
        dialog.get_by_role("link", name="Download PNG").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.suffix == ".png"
    pixels = cv2.imread(str(saved), cv2.IMREAD_GRAYSCALE)
    assert pixels.shape[0] >= 500 and pixels.shape[1] >= 500
    decoded = zxingcpp.read_barcodes(np.ascontiguousarray(pixels))
    assert [d.text for d in decoded] == [batch["claim_url"]]

    with context.expect_page() as tab:
        dialog.get_by_role("link", name="Open claim page").click()
    claim_page = tab.value
    expect(claim_page.get_by_role("heading", name="QR Campaign")).to_be_visible()
    expect(claim_page.get_by_text("Scan me")).to_be_visible()
    assert claim_page.url == batch["claim_url"]


def test_pause_shows_a_spinner_then_the_paused_badge_and_resume_undoes_it(page, server, browser, shot):
    batch = server.api.batch(10, identifier="Pause me")
    held = []

    def hold(route) -> None:  # a Python function: Playwright cannot wrap a builtin such as held.append
        held.append(route)

    page.route(f"**/dashboard/batches/{batch['id']}/actions/*", hold)
    page.goto("/dashboard/batches")
    card = _card(page, batch)
    card.locator("summary").click()
    button = card.get_by_role("button", name="Pause batch")
    button.click()
    expect(button).to_have_attribute("aria-busy", "true")  # the spinner, while the server works
    expect(button).to_have_class(re.compile(r"\bbusy\b"))
    expect(button).to_be_disabled()
    held[0].continue_()
    page.unroute(f"**/dashboard/batches/{batch['id']}/actions/*")
    expect(card.locator(".badge")).to_have_text("● Paused")
    expect(card.locator(".badge")).to_have_css("background-color", YELLOW_BG)
    assert server.api.get(batch["id"])["claims"] == "paused"
    member = page.context.new_page()
    member.goto(batch["claim_url"])
    expect(member.get_by_role("status")).to_have_text("Promotion temporarily paused")
    expect(member.get_by_role("heading", name="Pause me")).to_be_visible()
    expect(member.get_by_role("link", name="Back to Home")).to_be_visible()
    member.close()
    shot(page, "batch-paused")

    card.locator("summary").click()
    card.get_by_role("button", name="Resume batch").click()
    expect(card.locator(".badge")).to_have_text("● Active")
    assert server.api.get(batch["id"])["claims"] == "active"
    assert page.url.endswith("/dashboard/batches")  # in place, no page load


def test_delete_asks_with_the_number_of_vouchers_then_deletes(page, server, shot):
    batch = server.api.batch(25, identifier="Delete me")
    server.api.claim(batch, "keeps@example.com")
    page.goto("/dashboard/batches")
    card = _card(page, batch)
    card.locator("summary").click()
    card.get_by_role("link", name="Delete batch").click()
    dialog = page.get_by_role("dialog", name="Delete “Delete me”?")
    expect(dialog).to_contain_text(
        "Are you sure you want to permanently delete this batch? 25 vouchers will be permanently deleted."
    )
    shot(page, "delete-confirmation")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert server.api.get(batch["id"])["state"] == "redeemable"
    card.locator("summary").click()
    card.get_by_role("link", name="Delete batch").click()
    dialog.get_by_role("button", name="Confirm").click()
    expect(page.locator(".flash")).to_have_text("Batch deleted with its 25 vouchers.")
    expect(card).to_have_count(0)
    server.api.call("GET", f"/batches/{batch['id']}", 404)


def test_a_stale_delete_count_is_refused_with_the_right_one(page, server):
    batch = server.api.batch(4, identifier="Stale count")
    page.goto(f"/dashboard/batches/{batch['id']}/delete")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    page.request.post(f"/dashboard/batches/{batch['id']}/delete", form={"csrf_token": token, "confirm": "3"})
    page.get_by_role("button", name="Confirm").click()  # the page's own form carries the right count
    expect(page.locator(".flash")).to_have_text("Batch deleted with its 4 vouchers.")
    server.api.call("GET", f"/batches/{batch['id']}", 404)


def test_without_javascript_the_same_actions_work_as_whole_pages(browser, server, signed_in_state, shot):
    batch = server.api.batch(6, identifier="No script")
    context = browser.new_context(
        storage_state=signed_in_state, java_script_enabled=False, base_url=server.url
    )
    try:
        page = context.new_page()
        page.goto("/dashboard/batches")
        card = _card(page, batch)
        card.locator("summary").click()
        card.get_by_role("button", name="Pause batch").click()
        expect(page.locator(".flash")).to_have_text(
            "Batch paused: no new claims; vouchers already claimed stay valid."
        )
        expect(card.locator(".badge")).to_have_text("● Paused")
        card.get_by_role("link", name="QR code for No script").click()
        expect(page.get_by_role("img", name="QR code of the claim link for No script")).to_be_visible()
        expect(page.get_by_role("link", name="Download PNG")).to_be_visible()
        page.go_back()
        card.locator("summary").click()
        card.get_by_role("link", name="Delete batch").click()
        expect(page.locator(".confirm-text")).to_have_text(
            "Are you sure you want to permanently delete this batch? 6 vouchers will be permanently deleted."
        )
        shot(page, "delete-page-without-javascript")
        page.get_by_role("button", name="Confirm").click()
        expect(page.locator(".flash")).to_have_text("Batch deleted with its 6 vouchers.")
        server.api.call("GET", f"/batches/{batch['id']}", 404)
    finally:
        context.close()
