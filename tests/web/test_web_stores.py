"""Stores and devices: create a store, issue an enrolment code, heartbeats, revoke; conflicts to review."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from support.web import EMAIL


def test_create_a_store_with_inline_errors(page, server, shot):
    page.goto("/dashboard/stores")
    page.get_by_label("Store id").fill("not ok!")
    page.get_by_label("Name").fill("Leeds Briggate")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Create store").click()
    expect(page.locator("#id-error")).to_contain_text("Use letters, digits, - and _ only")
    expect(page.locator("#timezone-error")).to_contain_text("Unknown time zone 'Mars/Olympus'")
    expect(page.get_by_label("Name")).to_have_value("Leeds Briggate")
    page.get_by_label("Store id").fill("leeds-01")
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_role("button", name="Create store").click()
    expect(page.locator(".flash")).to_have_text("Store created.")
    expect(page.get_by_role("heading", name="Leeds Briggate")).to_be_visible()
    assert server.api.call("GET", "/stores/leeds-01", 200).json()["timezone"] == "Europe/London"
    page.goto("/dashboard/stores")
    page.get_by_label("Store id").fill("leeds-01")
    page.get_by_label("Name").fill("Again")
    page.get_by_role("button", name="Create store").click()
    expect(page.locator("#id-error")).to_have_text("A store with id 'leeds-01' already exists.")
    shot(page, "stores")


def test_enrol_watch_and_revoke_a_device(page, server, shot):
    server.api.store("york")
    page.goto("/dashboard/stores/york")
    page.get_by_role("button", name="Issue enrolment code").click()
    code = page.locator("[data-enrolment-code]").inner_text()
    expect(page.locator(".notice")).to_contain_text("voucher-sync enrol")
    device = server.api.call(
        "POST", "/devices/enrol", 201, json={"enrolment_code": code, "device_name": "york-till-1"}
    ).json()
    ahead = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    server.api.call(
        "POST",
        "/sync/heartbeat",
        200,
        token=device["token"],
        json={"version": "1.2.3", "pending": 3, "snapshot_cursor": 10, "device_time": ahead},
    )
    page.goto("/dashboard/stores/york")
    row = page.locator(f'tr[data-device="{device["device_id"]}"]')
    expect(row.get_by_role("rowheader")).to_contain_text("york-till-1")
    expect(row.locator("[data-col=heartbeat]")).to_contain_text(datetime.now(UTC).strftime("%Y-%m-%d"))
    expect(row.locator("[data-col=pending]")).to_have_text("3")
    expect(row.locator("[data-col=skew]")).to_contain_text("5 min ahead (check the till's clock)")
    shot(page, "store")

    row.get_by_role("link", name="Revoke york-till-1").click()
    dialog = page.get_by_role("dialog", name="Revoke york-till-1?")
    expect(dialog).to_contain_text("Its token stops working at once")
    expect(dialog).to_contain_text(
        "it had 3 events not yet pushed"
    )  # per its last heartbeat: asked to confirm
    dialog.get_by_role("button", name="Revoke device").click()
    expect(page.locator(".flash")).to_have_text("Device revoked: its token stopped working.")
    expect(row.locator("[data-col=access]")).to_contain_text("Revoked")
    server.api.call(
        "POST", "/sync/heartbeat", 401, token=device["token"], json={"version": "1", "pending": 0}
    )
    page.goto("/dashboard/stores")
    expect(page.locator('tr[data-store="york"] td.num')).to_contain_text("0 (+1 revoked)")


def test_conflicts_and_rejections_are_there_to_review(page, server, shot):
    server.api.store("hull")
    first, second = server.api.device("hull", "hull-1"), server.api.device("hull", "hull-2")
    batch = server.api.batch(5, identifier="Offline clash")
    code = server.api.claim(batch, "clash@example.com")["code"]
    late = server.api.claim(batch, "late@example.com")["code"]
    voucher = server.api.call("GET", f"/vouchers/{code}").json()["id"]
    late_voucher = server.api.call("GET", f"/vouchers/{late}").json()["id"]
    now = datetime.now(UTC).isoformat()
    for device in (first, second):  # two tills redeem the same voucher while offline
        server.api.call(
            "POST",
            "/sync/events",
            200,
            token=device["token"],
            json={
                "events": [
                    {
                        "id": str(uuid.uuid4()),
                        "kind": "redeem",
                        "voucher_id": voucher,
                        "at": now,
                        "device_seq": 1,
                    }
                ]
            },
        )
    server.api.call("POST", f"/batches/{batch['id']}/lock", 200)
    server.api.call(
        "POST",
        "/sync/events",
        200,
        token=first["token"],
        json={
            "events": [
                {
                    "id": str(uuid.uuid4()),
                    "kind": "redeem",
                    "voucher_id": late_voucher,
                    "at": now,
                    "device_seq": 2,
                }
            ]
        },
    )
    page.goto("/dashboard/review")
    conflict = page.locator("tr[data-outcome=conflict]")
    expect(conflict).to_have_count(1)
    expect(conflict).to_contain_text("hull, hull-2")
    expect(conflict).to_contain_text("Already redeemed first at hull by hull-1 at ")
    expect(conflict.get_by_role("link", name="Offline clash")).to_be_visible()
    rejected = page.locator("tr[data-outcome=rejected]")
    expect(rejected).to_contain_text("This promotion is on hold. The voucher cannot be used right now.")
    shot(page, "review")
    page.goto("/dashboard/stores/hull")
    expect(page.locator("tr[data-outcome]")).to_have_count(2)

    # staff close the conflict with a note: it leaves the list to review, with its author and note
    page.goto("/dashboard/review")
    conflict = page.locator("tr[data-outcome=conflict]")
    conflict.get_by_role("button", name="Mark reviewed").click()  # no note: the browser asks for one
    expect(conflict).to_have_attribute("data-reviewed", "no")
    conflict.get_by_label("Note").fill("hull-2 gave the discount twice; the manager knows")
    conflict.get_by_role("button", name="Mark reviewed").click()
    expect(page.locator(".flash")).to_contain_text("Marked as reviewed")
    expect(page.locator("tr[data-outcome=conflict]")).to_have_count(0)  # "To review" shows open ones only
    page.get_by_role("link", name="Reviewed").click()
    done = page.locator("tr[data-outcome=conflict]")
    expect(done).to_have_attribute("data-reviewed", "yes")
    expect(done).to_contain_text(f"Reviewed by {EMAIL}")
    expect(done).to_contain_text("hull-2 gave the discount twice; the manager knows")
    shot(page, "reviewed")
