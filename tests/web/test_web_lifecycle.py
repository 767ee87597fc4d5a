"""A batch's life cycle on its page: create and edit with inline errors, types, validate, generate
with a live progress bar, distribute, redeemable, lock, void."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from central.db.schema import batches, utcnow
from central.services import batches as batch_service
from central.services.generation import Generator

LABELS = {
    "validate": "Validate",
    "configure": "Back to configuring",
    "generate": "Generate vouchers",
    "distribute": "Distribute",
    "redeemable": "Make redeemable",
    "lock": "Lock",
    "void": "Void batch",
    "edit": "Edit batch",
    "pause": "Pause batch",
    "resume": "Resume batch",
    "delete": "Delete batch",
}


def _offered(page) -> list[str]:
    return [
        t.strip()
        for t in page.locator(".actions").get_by_role("button").all_inner_texts()
        + page.locator(".actions a").all_inner_texts()
        if t.strip() != "Vouchers"
    ]


def _expect_state(page, server, batch_id, state: str) -> None:
    expect(page.locator(".page-head [data-state]")).to_have_attribute("data-state", state)
    allowed = server.api.get(batch_id)["allowed_actions"]
    assert sorted(_offered(page)) == sorted(LABELS[a] for a in allowed)


def test_create_edit_and_validate_with_every_error_inline(page, server, shot):
    page.goto("/dashboard/batches")
    page.get_by_role("link", name="New batch").click()
    page.get_by_label("Identifier").fill("   ")
    page.get_by_label("First serial").fill("100")
    page.get_by_label("Last serial").fill("1")
    page.get_by_label("Valid from").fill("2026-06-01")
    page.get_by_label("Valid until").fill("2026-05-01")
    page.get_by_role("button", name="Create batch").click()
    summary = page.locator("#form-errors")
    expect(summary).to_contain_text("3 problems to fix before saving")
    expect(page.locator("#identifier-error")).to_have_text("The identifier must not be empty.")
    expect(page.locator("#serial_end-error")).to_have_text(
        "The serial range ends (1) before it starts (100)."
    )
    expect(page.locator("#valid_until-error")).to_have_text(
        "The last valid day is before the first valid day."
    )
    expect(page.get_by_label("Last serial")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Valid from")).to_have_value("2026-06-01")  # what was typed stays
    shot(page, "batch-form-errors")
    page.get_by_label("First serial").fill("ten")
    page.get_by_role("button", name="Create batch").click()
    expect(page.locator("#serial_start-error")).to_have_text("Enter a whole number.")

    page.get_by_label("Identifier").fill("Spring Leaflet")
    page.get_by_label("Description").fill("£5 off a £20 shop")
    page.get_by_label("First serial").fill("1")
    page.get_by_label("Last serial").fill("50")
    page.get_by_label("Valid from").fill("")
    page.get_by_label("Valid until").fill("")
    page.get_by_label("Channel").select_option("in-store-qr")
    page.get_by_role("button", name="Create batch").click()
    expect(page.locator(".flash")).to_have_text("Batch created. Add its types, then validate it.")
    batch_id = page.url.split("/dashboard/batches/")[1].split("?")[0]
    assert server.api.get(batch_id)["channel"] == "in-store-qr"
    _expect_state(page, server, batch_id, "configuring")

    page.get_by_role("button", name="Validate").click()  # no type yet: stays configuring, says why
    problems = page.locator(".problems")
    expect(problems).to_contain_text("1 problem stops this batch from being validated")
    expect(problems).to_contain_text("Types: A batch needs at least one batch type.")
    _expect_state(page, server, batch_id, "configuring")
    shot(page, "batch-validation-errors")

    page.get_by_role("link", name="New type").click()
    expect(page.get_by_label("First serial")).to_have_value("1")  # a new type covers the whole range
    expect(page.get_by_label("Last serial")).to_have_value("50")
    page.get_by_label("Name").fill("Standard")
    page.get_by_label("Last serial").fill("60")
    page.get_by_role("button", name="Add type").click()
    expect(page.locator("#form-errors")).to_contain_text(
        "Type 'Standard' (1–60) lies outside the batch's serial range (1–50)."
    )
    expect(page.locator("#value-error")).to_have_count(0)
    page.get_by_label("Last serial").fill("30")
    page.get_by_label("Value").fill("£5 off")
    page.get_by_label("Minimum purchase").fill("£20")
    page.get_by_role("button", name="Add type").click()
    expect(page.locator(".flash")).to_have_text("Type added.")

    page.get_by_role("link", name="New type").click()
    page.get_by_label("Name").fill("Online")
    page.get_by_label("First serial").fill("25")
    page.get_by_label("Value").fill("10% online")
    page.get_by_label(re.compile("Issued: shown as valid")).check()
    page.get_by_role("button", name="Add type").click()
    expect(page.locator("#form-errors")).to_contain_text("overlaps type 'Standard' (1–30)")
    page.get_by_label("First serial").fill("31")
    page.get_by_role("button", name="Add type").click()
    types = server.api.get(batch_id)["types"]
    assert [(t["name"], t["serial_start"], t["serial_end"], t["initial_status"]) for t in types] == [
        ("Standard", 1, 30, "unused"),
        ("Online", 31, 50, "issued"),
    ]

    page.get_by_role("button", name="Validate").click()
    expect(page.locator(".flash")).to_have_text("The batch is valid: it can be generated now.")
    _expect_state(page, server, batch_id, "validated")
    shot(page, "batch-validated")

    page.get_by_role("link", name="Edit batch").click()
    expect(page.locator(".notice")).to_contain_text("returns this validated batch to configuring")
    page.get_by_label("Last serial").fill("25")  # would cut the Online type out: refused, said why
    page.get_by_role("button", name="Save batch").click()
    expect(page.locator("#form-errors")).to_contain_text("Type 'Online' (31–50) lies outside")
    page.get_by_label("Last serial").fill("80")
    page.get_by_label("Description").fill("£5 off a £20 shop, this spring")
    page.get_by_role("button", name="Save batch").click()
    expect(page.locator(".flash")).to_have_text("Batch saved.")
    _expect_state(page, server, batch_id, "configuring")
    assert server.api.get(batch_id)["serial_end"] == 80


def test_generate_shows_progress_to_completion_then_the_rest_of_the_cycle(page, server, shot):
    batch = server.api.batch(4000, state="validated", identifier="Walk the cycle")
    page.goto(f"/dashboard/batches/{batch['id']}")
    _expect_state(page, server, batch["id"], "validated")
    page.get_by_role("button", name="Generate vouchers").click()
    expect(page.locator(".flash")).to_have_text(re.compile("Generat"))  # started, or already finished
    expect(page.locator(".flash")).to_have_text(
        "Generation finished: the vouchers exist. Distribute the batch when you hand them out.",
        timeout=60_000,
    )
    _expect_state(page, server, batch["id"], "generated")
    expect(page.locator("[data-figure=total]")).to_have_text("4,000")

    for action, state in (
        ("Distribute", "distributed"),
        ("Make redeemable", "redeemable"),
        ("Lock", "locked"),
        ("Make redeemable", "redeemable"),
    ):
        page.get_by_role("button", name=action, exact=True).click()
        _expect_state(page, server, batch["id"], state)
    page.get_by_role("link", name="Void batch").click()
    dialog = page.get_by_role("dialog", name="Void “Walk the cycle”?")
    expect(dialog).to_contain_text("This cannot be undone.")
    shot(page, "void-confirmation")
    dialog.get_by_role("button", name="Void batch").click()
    _expect_state(page, server, batch["id"], "void")
    assert _offered(page) == ["Delete batch"]


def test_the_progress_bar_survives_reloading_and_follows_the_job_to_the_end(page, server, shot):
    batch = server.api.batch(6000, state="validated", identifier="Big mailing")
    elsewhere = Generator(server.db, chunk=200, lease_seconds=3600)  # another server process, say
    with server.db.write() as conn:
        batch_service.start_generation(conn, batch["id"], elsewhere.owner, elsewhere.lease_until())
    for _ in range(10):
        assert elsewhere._step(batch["id"])  # ten chunks of 1 % committed, then that process stops
    page.goto(f"/dashboard/batches/{batch['id']}")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "600")
    expect(bar).to_have_attribute("max", "6000")
    expect(page.locator("#generation-text")).to_have_text(
        # a job elsewhere is timed from this server's first look: no progress seen yet, no rate yet
        re.compile(r"^600 of 6,000 vouchers\s+\(10%\)\. Working out the time left…\s*$")
    )
    shot(page, "generation-progress")
    page.reload()  # the job lives on the server: the page picks it up again
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "600")
    _expect_state(page, server, batch["id"], "generating")
    assert _offered(page) == ["Pause batch"]  # nothing else while generating; not even delete

    with server.db.write() as conn:  # that process's lease runs out; this server's generator takes over
        conn.execute(
            update(batches)
            .where(batches.c.id == batch["id"])
            .values(generation_lease_until=utcnow() - timedelta(seconds=1))
        )
    expect(page.locator(".flash")).to_have_text(re.compile("Generation finished"), timeout=60_000)
    _expect_state(page, server, batch["id"], "generated")
    expect(page.get_by_role("progressbar")).to_have_count(0)
    assert server.api.get(batch["id"])["metrics"]["total"] == 6000
    assert len(server.api.vouchers(batch["id"])) == 6000


def test_an_action_refused_by_the_life_cycle_is_explained_on_the_page(page, server):
    batch = server.api.batch(5, state="generated", identifier="Stale page")
    page.goto(f"/dashboard/batches/{batch['id']}")
    server.api.call("POST", f"/batches/{batch['id']}/void", 200)  # someone else voids it meanwhile
    page.get_by_role("button", name="Distribute").click()
    alert = page.locator(".error-box")
    expect(alert).to_contain_text("Not allowed in the batch's current state.")
    expect(alert).to_contain_text("'distribute' is not allowed while the batch is void; allowed now: delete.")
    _expect_state(page, server, batch["id"], "void")
