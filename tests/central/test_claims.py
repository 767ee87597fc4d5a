"""Members claiming vouchers (seed 000), who may claim (issue 13), and the claim page."""

from __future__ import annotations

import pytest
from support.api import member_sign_in

from central.services import integrations, staff
from harness.server import CHEAP_HASHES, STAFF_EMAIL


def _claim(api, batch, member, expect, **kw):
    return api.call(
        "POST", "/claims", expect, json={"claim_token": batch["claim_token"], "member_id": member}, **kw
    )


def _integration(client) -> str:
    with client.app.state.context.db.write() as conn:
        return integrations.create(conn, "Shop web site", "test", 30).token


def test_claim_gives_a_code_and_counts(api):
    batch = api.batch(3)
    result = api.claim(batch, "ann@example.com")
    assert result["batch_id"] == batch["id"] and result["status"] == "unused"
    assert len(result["code"]) == 17 and result["code"].count("-") == 3
    assert api.get(batch["id"])["metrics"]["claimed"] == 1
    assert api.get(batch["id"])["metrics"]["available"] == 2


def test_a_claim_without_a_member_session_or_an_integration_token_is_refused(api, client):
    batch = api.batch(3)
    body = {"claim_token": batch["claim_token"], "member_id": "victim@example.com"}
    refused = client.post("/api/v1/claims", json=body)
    assert refused.status_code == 401 and refused.json()["title"] == "Sign in to claim"
    assert (
        client.post("/api/v1/claims", json=body, headers={"Authorization": "Bearer made-up"}).status_code
        == 401
    )
    assert api.get(batch["id"])["metrics"]["claimed"] == 0


def test_a_signed_in_member_claims_for_themselves_and_sees_their_own_code_again(api, client, mail_server):
    batch = api.batch(3)
    member_sign_in(client, mail_server.keeper, "Ann@Example.com")
    mine = client.post("/api/v1/claims", json={"claim_token": batch["claim_token"]})
    assert mine.status_code == 201, mine.text
    again = client.post(
        "/api/v1/claims", json={"claim_token": batch["claim_token"], "member_id": "ANN@example.com"}
    )
    assert again.status_code == 409 and again.json()["code"] == mine.json()["code"]
    other = client.post(
        "/api/v1/claims", json={"claim_token": batch["claim_token"], "member_id": "bob@example.com"}
    )
    assert other.status_code == 403  # a member claims for themselves only
    [voucher] = api.vouchers(batch["id"], claimed="true")
    assert voucher["claim"]["member_id"] == "ann@example.com"


def test_already_claimed_never_hands_out_another_members_code(api, client):
    batch = api.batch(3)
    api.claim(batch, "victim@example.com")
    token = _integration(client)
    for who in ({"token": token}, {}):  # an integration, and head office's own token
        body = _claim(api, batch, "VICTIM@example.com", 409, **who).json()
        assert body["type"].endswith("already-claimed") and "code" not in body
    assert api.get(batch["id"])["metrics"]["claimed"] == 1


def test_an_integration_token_claims_on_behalf_of_a_member_until_revoked(api, client):
    batch = api.batch(3)
    token = _integration(client)
    claimed = _claim(api, batch, "customer@example.com", 201, token=token).json()
    assert claimed["status"] == "unused"
    _claim(api, batch, "not an address", 422, token=token)
    no_member = api.call("POST", "/claims", 422, token=token, json={"claim_token": batch["claim_token"]})
    assert no_member.json()["errors"][0]["field"] == "member_id"
    [listed] = api.call("GET", "/integration-tokens", 200).json()
    api.call("POST", f"/integration-tokens/{listed['id']}/revoke", 200)
    _claim(api, batch, "late@example.com", 401, token=token)


def test_a_staff_tokens_claims_stop_at_its_revocation_and_its_use_is_noted(api, client):
    """A token's holder is found in the claim's own transaction (routers/claims.py): the claim after a
    revocation is refused, a viewer's token is refused by its role with its use noted all the same,
    and a device's token is told so."""
    batch = api.batch(5)
    db = client.app.state.context.db
    with db.write() as conn:
        campaigns = staff.create_token(conn, STAFF_EMAIL, "campaign", 30)
        staff.add(conn, "viewer@example.com", "a viewer's password", role="viewer", log2_n=CHEAP_HASHES)
        viewer = staff.create_token(conn, "viewer@example.com", "look", 30)
    assert _claim(api, batch, "one@example.com", 201, token=campaigns.token).json()["batch_id"] == batch["id"]
    refused = _claim(api, batch, "two@example.com", 403, token=viewer.token).json()
    assert "campaigns" in refused["detail"]
    with db.read() as conn:
        used = {t.id: t.last_used_at for t in staff.list_tokens(conn)}
    assert used[campaigns.id] is not None and used[viewer.id] is not None
    device = api.device(api.store("s1")["id"])
    assert (
        "device token cannot claim"
        in _claim(api, batch, "three@example.com", 403, token=device["token"]).text
    )
    with db.write() as conn:
        staff.revoke_token(conn, campaigns.id)
    _claim(api, batch, "four@example.com", 401, token=campaigns.token)
    assert api.get(batch["id"])["metrics"]["claimed"] == 1


@pytest.mark.parametrize("member", ["ann", "ann@example", "an n@example.com", "a@b@example.com", ""])
def test_member_ids_are_email_addresses(api, member):
    batch = api.batch(3)
    body = _claim(api, batch, member, 422).json()
    assert body["errors"][0]["field"] == "member_id"


def test_one_address_in_any_case_is_one_member(api):
    batch = api.batch(3)
    api.claim(batch, "VICTIM@x.example")
    assert _claim(api, batch, " victim@X.example", 409).json()["type"].endswith("already-claimed")
    assert [v["claim"]["member_id"] for v in api.vouchers(batch["id"], claimed="true")] == [
        "victim@x.example"
    ]


def test_paused_batch_refuses_new_claims_but_keeps_claimed_ones(api):
    batch = api.batch(3)
    api.claim(batch, "ann@example.com")
    api.call("POST", f"/batches/{batch['id']}/pause", 200)
    body = _claim(api, batch, "bob@example.com", 409).json()
    assert body["type"].endswith("claims-paused") and body["title"] == "Promotion temporarily paused"
    assert _claim(api, batch, "ann@example.com", 409).json()["type"].endswith("already-claimed")
    api.call("POST", f"/batches/{batch['id']}/resume", 200)
    api.claim(batch, "bob@example.com")


def test_sold_out(api):
    batch = api.batch(2)
    api.claim(batch, "a@example.com")
    api.claim(batch, "b@example.com")
    body = _claim(api, batch, "c@example.com", 409).json()
    assert body["type"].endswith("none-available") and body["title"] == "No vouchers available"


@pytest.mark.parametrize("state", ["configuring", "validated", "generated"])
def test_not_claimable_states(api, state):
    batch = api.batch(2, state=state)
    body = _claim(api, batch, "a@example.com", 409).json()
    assert body["type"].endswith("not-claimable") and body["current_state"] == state


def test_claimable_while_locked(api):
    batch = api.batch(2, state="locked")
    assert api.claim(batch, "a@example.com")["status"] == "unused"


def test_initial_status_comes_from_the_type(api):
    batch = api.batch(2, initial_status="issued")
    assert api.claim(batch, "a@example.com")["status"] == "issued"


def test_unknown_claim_token(api):
    api.call("POST", "/claims", 404, json={"claim_token": "nope", "member_id": "a@example.com"})


def test_claim_page_shows_title_description_and_messages(api, client):
    batch = api.batch(1, identifier="Q1 Email Campaign", description="£5 off a £20 shop")
    page = client.get(f"/claim/{batch['claim_token']}")
    assert page.status_code == 200 and "Q1 Email Campaign" in page.text and "£5 off a £20 shop" in page.text
    assert "Sign in to claim" in page.text
    api.call("POST", f"/batches/{batch['id']}/pause", 200)
    page = client.get(f"/claim/{batch['claim_token']}")
    assert "Promotion temporarily paused" in page.text and "Sign in to claim" not in page.text
    assert "Q1 Email Campaign" in page.text and "Back to Home" in page.text
    api.call("POST", f"/batches/{batch['id']}/resume", 200)
    api.claim(batch, "ann@example.com")
    page = client.get(f"/claim/{batch['claim_token']}")
    assert "No vouchers available" in page.text and "Sign in to claim" not in page.text
    assert client.get("/claim/not-a-token").status_code == 404


def test_the_home_page_points_members_to_their_claim_link(client):
    # the claim page itself, with sign-in and CSRF, is tested in tests/central/test_members.py
    home = client.get("/")
    assert home.status_code == 200 and "claim link" in home.text and 'href="/my/vouchers"' in home.text


def test_a_claim_finds_a_free_voucher_by_index_when_many_are_claimed(api, client):
    """With a LIMIT and no order, PostgreSQL's planner read the whole table for the next free
    voucher (its statistics spreading the free ones over it): the claim's query keeps to the index."""
    from sqlalchemy import text

    from central.services.claims import _FREE

    full, fresh = api.batch(3000), api.batch(3000)
    db = client.app.state.context.db
    with db.write() as conn:
        conn.execute(
            text(
                "UPDATE vouchers SET member_id = 'm' || CAST(serial AS TEXT) || '@x.test' WHERE batch_id = :b"
            ),
            {"b": full["id"]},
        )
    with db.write() as conn:
        conn.execute(text("ANALYZE"))
        query = _FREE.element if hasattr(_FREE, "element") else _FREE
        bound = query.params(batch=fresh["id"])
        sql = str(bound.compile(conn, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + sql))
        free = conn.execute(query, {"batch": fresh["id"]}).first()
    assert "ix_vouchers_batch_member" in plan, plan
    assert free is not None
    assert api.claim(fresh, "ann@example.com")["batch_id"] == fresh["id"]
