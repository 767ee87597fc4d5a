"""Roles and the audit log on the dashboard (issue 13): a viewer reads but changes nothing, every
change is in the audit log with who, from where, before and after, filtered and exported as CSV.
(Every staff action of every dashboard test module is checked against the log: tests/web/conftest.py.)"""

from __future__ import annotations

import csv

from playwright.sync_api import expect
from support.api import CHEAP_HASHES
from support.web import fill_sign_in

from central.services import staff

VIEWER, VIEWER_PASSWORD = "viewer@example.com", "a viewer's password"


def test_changes_are_in_the_audit_log_with_their_author_and_export_as_csv(page, server, tmp_path, shot):
    batch = server.api.batch(5, state="distributed", identifier="Audited promo")
    page.goto("/dashboard/batches")
    card = page.locator(f"#batch-{batch['id']}")
    card.locator("summary").click()
    card.get_by_role("button", name="Pause batch").click()
    expect(card.locator(".badge")).to_have_text("● Paused")

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_label("What (id)").fill(batch["id"])
    page.get_by_role("button", name="Show").click()
    paused = page.locator("table.audit tbody tr[data-action='batch.pause']")
    expect(paused).to_have_count(1)
    expect(paused.locator(".actor")).to_have_text("hq@example.com")
    expect(paused.locator("td").nth(5)).to_contain_text('"claims": "active"')
    expect(paused.locator("td").nth(6)).to_contain_text('"claims": "paused"')
    created = page.locator("table.audit tbody tr[data-action='batch.create']")
    expect(created.locator(".actor")).to_contain_text("admin@tests.example")  # the API's, with its own token
    shot(page, "audit-log")

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV (these filters)").click()
    saved = tmp_path / "audit.csv"
    info.value.save_as(saved)
    rows = list(csv.DictReader(saved.read_text().splitlines()))
    assert {r["action"] for r in rows} >= {"batch.create", "batch.pause"} and {
        r["entity_id"] for r in rows
    } == {batch["id"]}
    assert next(r for r in rows if r["action"] == "batch.pause")["actor"] == "hq@example.com"


def test_a_viewer_reads_but_changes_nothing(anonymous, server):
    with server.db.write() as conn:
        staff.add(conn, VIEWER, VIEWER_PASSWORD, role="viewer", log2_n=CHEAP_HASHES)
    batch = server.api.batch(5, state="distributed", identifier="Viewer's view")
    fill_sign_in(anonymous, server, VIEWER, VIEWER_PASSWORD)
    expect(anonymous.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    expect(anonymous.get_by_role("link", name="Audit log")).to_have_count(0)
    card = anonymous.locator(f"#batch-{batch['id']}")
    card.locator("summary").click()
    expect(card.locator(".menu-items").get_by_role("link", name="Vouchers")).to_be_visible()
    expect(card.get_by_role("button", name="Pause batch")).to_have_count(
        0
    )  # a viewer's menu offers no change
    token = anonymous.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = anonymous.request.post(
        f"/dashboard/batches/{batch['id']}/actions/pause", form={"csrf_token": token, "back": "list"}
    )
    assert refused.status == 403 and "needs the campaigns role; yours is viewer" in refused.text()
    assert server.api.get(batch["id"])["claims"] == "active"
    assert anonymous.goto("/dashboard/audit").status == 403
