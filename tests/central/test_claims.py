"""Members claiming vouchers (seed 000), and the claim page."""

from __future__ import annotations

import pytest


def _claim(api, batch, member, expect):
    return api.call("POST", "/claims", expect, json={"claim_token": batch["claim_token"], "member_id": member})


def test_claim_gives_a_code_and_counts(api):
    batch = api.batch(3)
    result = api.claim(batch, "ann@example.com")
    assert result["batch_id"] == batch["id"] and result["status"] == "unused"
    assert len(result["code"]) == 17 and result["code"].count("-") == 3
    assert api.get(batch["id"])["metrics"]["claimed"] == 1
    assert api.get(batch["id"])["metrics"]["available"] == 2


def test_one_claim_per_member_shows_the_same_code_again(api):
    batch = api.batch(3)
    code = api.claim(batch, "ann")["code"]
    again = _claim(api, batch, "ann", 409).json()
    assert again["type"].endswith("already-claimed") and again["code"] == code
    assert api.get(batch["id"])["metrics"]["claimed"] == 1


def test_paused_batch_refuses_new_claims_but_keeps_claimed_ones(api):
    batch = api.batch(3)
    api.claim(batch, "ann")
    api.call("POST", f"/batches/{batch['id']}/pause", 200)
    body = _claim(api, batch, "bob", 409).json()
    assert body["type"].endswith("claims-paused") and body["title"] == "Promotion temporarily paused"
    assert _claim(api, batch, "ann", 409).json()["type"].endswith("already-claimed")
    api.call("POST", f"/batches/{batch['id']}/resume", 200)
    api.claim(batch, "bob")


def test_sold_out(api):
    batch = api.batch(2)
    api.claim(batch, "a")
    api.claim(batch, "b")
    body = _claim(api, batch, "c", 409).json()
    assert body["type"].endswith("none-available") and body["title"] == "No vouchers available"


@pytest.mark.parametrize("state", ["configuring", "validated", "generated"])
def test_not_claimable_states(api, state):
    batch = api.batch(2, state=state)
    body = _claim(api, batch, "a", 409).json()
    assert body["type"].endswith("not-claimable") and body["current_state"] == state


def test_claimable_while_locked(api):
    batch = api.batch(2, state="locked")
    assert api.claim(batch, "a")["status"] == "unused"


def test_initial_status_comes_from_the_type(api):
    batch = api.batch(2, initial_status="issued")
    assert api.claim(batch, "a")["status"] == "issued"


def test_unknown_claim_token(api):
    api.call("POST", "/claims", 404, json={"claim_token": "nope", "member_id": "a"})


def test_claim_page_shows_title_description_and_messages(api, client):
    batch = api.batch(1, identifier="Q1 Email Campaign", description="£5 off a £20 shop")
    page = client.get(f"/claim/{batch['claim_token']}")
    assert page.status_code == 200 and "Q1 Email Campaign" in page.text and "£5 off a £20 shop" in page.text
    assert "Claim voucher" in page.text
    api.call("POST", f"/batches/{batch['id']}/pause", 200)
    page = client.get(f"/claim/{batch['claim_token']}")
    assert "Promotion temporarily paused" in page.text and "Claim voucher" not in page.text
    assert "Q1 Email Campaign" in page.text and "Back to Home" in page.text
    api.call("POST", f"/batches/{batch['id']}/resume", 200)
    api.claim(batch, "ann")
    page = client.get(f"/claim/{batch['claim_token']}")
    assert "No vouchers available" in page.text and "Claim voucher" not in page.text
    assert client.get("/claim/not-a-token").status_code == 404


def test_the_home_page_points_members_to_their_claim_link(client):
    # the claim page itself, with sign-in and CSRF, is tested in tests/central/test_members.py
    home = client.get("/")
    assert home.status_code == 200 and "claim link" in home.text and 'href="/my/vouchers"' in home.text
