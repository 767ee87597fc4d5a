"""The dashboard offers each role only what it may do (vouchers/roles.py): a viewer no change at all,
campaigns no admin action, each missing action said in words with the role it needs; the pages of
forms a role may not send are refused in words; and the server still refuses the POSTs themselves."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from support.api import CHEAP_HASHES
from support.web import fill_sign_in

from central.services import staff
from vouchers.roles import NEEDS, Role, may

PASSWORD = "a long enough password"
STATES = ("configuring", "validated", "generated", "distributed", "redeemable", "locked")


@pytest.fixture(scope="module")
def setting(server) -> dict:
    """A batch in every state the dashboard can act on, a store with two tills and a conflict between
    them to review, and one account a role."""
    api = server.api
    batches = {state: api.batch(3, state=state, identifier=f"Roles {state}") for state in STATES}
    api.store("roles-shop")
    code = api.claim(batches["redeemable"], "twice@example.com")["code"]
    voucher_id = api.call("GET", f"/vouchers/{code}", 200).json()["id"]
    for name in ("roles-till", "roles-till-2"):  # both redeem it offline: the second is a conflict
        till = api.device("roles-shop", name)
        event = {
            "id": str(uuid.uuid4()),
            "kind": "redeem",
            "at": datetime.now(UTC).isoformat(),
            "device_seq": 1,
            "voucher_id": voucher_id,
        }
        api.call("POST", "/sync/events", 200, token=till["token"], json={"events": [event]})
    with server.db.write() as conn:
        for role in ("viewer", "campaigns"):
            staff.add(conn, f"{role}@roles.example", PASSWORD, role=role, log2_n=CHEAP_HASHES)
    return {"batches": batches}


def _as(anonymous, server, role: str) -> None:
    fill_sign_in(anonymous, server, f"{role}@roles.example", PASSWORD)
    expect(anonymous.get_by_role("heading", name="Batches", exact=True)).to_be_visible()


def _posts(page) -> set[str]:
    """Where every form of the page that changes something would go, ids as ID (GET forms, such as
    filters, change nothing)."""
    actions = page.eval_on_selector_all("form[method=post]", "fs => fs.map(f => f.getAttribute('action'))")
    return {re.sub(r"/(batches|devices|review)/[^/]+", r"/\1/ID", a) for a in actions}


def _pages(setting) -> list[str]:
    paths = [
        "/dashboard/batches",
        "/dashboard/stores",
        "/dashboard/stores/roles-shop",
        "/dashboard/review",
        "/dashboard/channels",
    ]
    paths += [f"/dashboard/batches/{b['id']}" for b in setting["batches"].values()]
    return paths


def test_a_viewer_is_offered_no_change_anywhere_and_told_which_role_would_be(
    anonymous, server, setting, shot
):
    _as(anonymous, server, "viewer")
    for path in _pages(setting):
        anonymous.goto(path)
        assert _posts(anonymous) <= {"/dashboard/sign-out"}, (path, _posts(anonymous))
        assert (
            anonymous.locator("[data-dialog^=delete-], [data-dialog^=void-], [data-dialog^=revoke-]").count()
            == 0
        ), path
    nav = anonymous.get_by_role("navigation", name="Main")
    for hidden in ("Audit log", "Staff", "Integrations"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    expect(nav.get_by_role("link", name="My API tokens")).to_be_visible()

    anonymous.goto("/dashboard/batches")
    expect(anonymous.get_by_role("link", name="New batch")).to_have_count(0)
    expect(anonymous.get_by_role("button", name="New batch")).to_be_disabled()
    expect(anonymous.locator("[data-role-note]")).to_have_text(
        "Creating a batch needs the campaigns role; yours is viewer."
    )
    expect(anonymous.locator("header .who")).to_have_text("viewer@roles.example (viewer)")
    shot(anonymous, "roles-viewer-batches")

    anonymous.goto(f"/dashboard/batches/{setting['batches']['distributed']['id']}")
    expect(anonymous.locator(".actions [data-role-note]")).to_have_text(
        "Make redeemable, Lock and Pause batch need the campaigns role, Void batch and Delete batch the admin role; "
        "yours is viewer."
    )
    expect(
        anonymous.locator(".actions").get_by_role("link", name="Vouchers")
    ).to_be_visible()  # reading stays
    shot(anonymous, "roles-viewer-batch")

    anonymous.goto(f"/dashboard/batches/{setting['batches']['configuring']['id']}")
    expect(anonymous.get_by_role("link", name="New type")).to_have_count(0)
    expect(anonymous.locator("#types [data-role-note]")).to_have_text(
        "Changing a batch's types needs the campaigns role; yours is viewer."
    )

    anonymous.goto("/dashboard/review")
    expect(anonymous.locator("tr[data-outcome=conflict]")).to_contain_text("Not reviewed yet")
    expect(anonymous.locator("[data-role-note]")).to_have_text(
        "Reviewing a conflict needs the campaigns role; yours is viewer."
    )

    anonymous.goto("/dashboard/stores/roles-shop")
    expect(anonymous.get_by_role("button", name="Issue enrolment code")).to_be_disabled()
    expect(anonymous.locator("tr[data-device] [data-col=access]")).to_have_text(["Active", "Active"])
    expect(anonymous.get_by_text("Revoking a device needs the admin role; yours is viewer.")).to_be_visible()
    anonymous.goto("/dashboard/stores")
    expect(anonymous.get_by_label("Store id")).to_have_count(0)
    expect(anonymous.get_by_text("Creating a store needs the admin role; yours is viewer.")).to_be_visible()


def test_campaigns_walk_and_pause_batches_but_are_offered_no_admin_action(anonymous, server, setting, shot):
    _as(anonymous, server, "campaigns")
    admin_only = {
        "/dashboard/stores",
        "/dashboard/stores/roles-shop/enrolment-codes",
        "/dashboard/batches/ID/delete",
        "/dashboard/batches/ID/actions/void",
        "/dashboard/staff",
        "/dashboard/integrations",
    }
    for path in _pages(setting):
        anonymous.goto(path)
        assert not _posts(anonymous) & admin_only, (path, _posts(anonymous) & admin_only)
        assert (
            anonymous.locator("[data-dialog^=delete-], [data-dialog^=void-], [data-dialog^=revoke-]").count()
            == 0
        ), path

    batch = setting["batches"]["distributed"]
    anonymous.goto(f"/dashboard/batches/{batch['id']}")
    actions = anonymous.locator(".actions")
    for offered in ("Make redeemable", "Lock", "Pause batch"):
        expect(actions.get_by_role("button", name=offered)).to_be_visible()
    for withheld in ("Void batch", "Delete batch"):
        expect(actions.get_by_role("link", name=withheld)).to_have_count(0)
    expect(actions.locator("[data-role-note]")).to_have_text(
        "Void batch and Delete batch need the admin role; yours is campaigns."
    )
    shot(anonymous, "roles-campaigns-batch")
    actions.get_by_role("button", name="Pause batch").click()  # what is offered works
    expect(anonymous.locator(".flash")).to_contain_text("Batch paused")
    assert server.api.get(batch["id"])["claims"] == "paused"

    anonymous.goto("/dashboard/review")  # campaigns review conflicts
    expect(
        anonymous.locator("tr[data-outcome=conflict]").get_by_role("button", name="Mark reviewed")
    ).to_be_visible()

    anonymous.goto("/dashboard/batches")
    expect(anonymous.get_by_role("link", name="New batch")).to_be_visible()
    card = anonymous.locator(f"#batch-{setting['batches']['generated']['id']}")
    card.locator("summary").click()
    expect(card.get_by_role("button", name="Distribute")).to_be_visible()
    expect(card.get_by_role("link", name="Void batch")).to_have_count(0)


@pytest.mark.parametrize(
    "path, needed",
    [
        ("/dashboard/batches/new", "campaigns"),
        ("/dashboard/batches/{configuring}/edit", "campaigns"),
        ("/dashboard/batches/{configuring}/types/new", "campaigns"),
        ("/dashboard/batches/{generated}/void", "admin"),
        ("/dashboard/batches/{distributed}/delete", "admin"),
        ("/dashboard/staff", "admin"),
        ("/dashboard/integrations", "admin"),
        ("/dashboard/audit", "admin"),
    ],
)
def test_the_page_of_a_form_the_role_may_not_send_says_so_in_words(anonymous, server, setting, path, needed):
    _as(anonymous, server, "viewer")
    ids = {state: b["id"] for state, b in setting["batches"].items()}
    response = anonymous.goto(path.format(**ids))
    assert response.status == 403
    expect(anonymous.get_by_role("heading", name="Your role does not allow this")).to_be_visible()
    expect(anonymous.get_by_role("alert")).to_contain_text(f"needs the {needed} role; yours is viewer")


def test_the_server_still_refuses_what_the_page_does_not_offer(anonymous, server, setting):
    _as(anonymous, server, "campaigns")
    token = anonymous.locator('meta[name="csrf-token"]').get_attribute("content")
    batch = setting["batches"]["locked"]
    for path in (
        f"/dashboard/batches/{batch['id']}/actions/void",
        f"/dashboard/batches/{batch['id']}/delete",
        "/dashboard/stores",
        "/dashboard/staff",
        "/dashboard/integrations",
    ):
        refused = anonymous.request.post(
            path,
            form={
                "csrf_token": token,
                "confirm": "3",
                "id": "x-store",
                "name": "X",
                "email": "x@roles.example",
                "role": "admin",
            },
        )
        assert refused.status == 403 and "yours is campaigns" in refused.text(), path
    assert server.api.get(batch["id"])["state"] == "locked"


def test_one_table_says_which_role_may_do_what():
    """Every action the dashboard names is in vouchers/roles.py, and each role may do what the roles
    before it may."""
    assert {r for r, _ in NEEDS.values()} == set(Role)
    for what in NEEDS:
        allowed = [may(role, what) for role in Role]
        assert allowed == sorted(allowed), what  # viewer ≤ campaigns ≤ admin
        assert may(Role.ADMIN, what) and not may(None, what)
    with pytest.raises(KeyError):
        may(Role.ADMIN, "batch.no-such-action")
