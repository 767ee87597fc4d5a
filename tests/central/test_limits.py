"""Rate limits (issue 13) at their documented defaults: members' sign-in mail and codes, claims,
staff sign-in (slowed per address, never locked), enrolment and the device API; 429 with
Retry-After; counted in the database, so that every server process counts together."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from support.api import CHEAP_HASHES, DEFAULT_LIMITS, Api, make_settings, member_sign_in, sign_in_token

from central.app import create_app
from central.services import staff

STRANGER, OWNER = ("198.51.100.7", 4000), ("203.0.113.20", 5000)


@pytest.fixture
def browsers(database_url, mail_server) -> Iterator:
    """browsers(address): a client at this address (each with an app of its own on the one database,
    as the server processes behind a load balancer would be)."""
    settings = make_settings(database_url, **mail_server.settings(), **DEFAULT_LIMITS)
    opened: list[TestClient] = []

    def open_one(address=("192.0.2.1", 1000)) -> TestClient:
        c = TestClient(create_app(settings), client=address).__enter__()
        opened.append(c)
        return c

    yield open_one
    for c in reversed(opened):
        c.__exit__(None, None, None)


def _ask_mail(client: TestClient, email: str):
    page = client.get("/my/sign-in")
    return client.post("/my/sign-in", data={"email": email, "sign_in_token": sign_in_token(page.text)})


def _limited(response) -> int:
    assert response.status_code == 429, response.text
    return int(response.headers["retry-after"])


def test_sign_in_mails_are_limited_per_address_and_per_account(browsers):
    one = browsers()
    for _ in range(3):  # member_sign_in_per_account = 3 in 15 minutes
        assert _ask_mail(one, "ann@example.com").status_code == 200
    refused = _ask_mail(browsers(("192.0.2.99", 1)), "ANN@example.com")  # from anywhere
    assert 800 < _limited(refused) <= 900 and "Too many sign-in mails to this e-mail address" in refused.text
    for i in range(7):  # member_sign_in_per_address = 10 in 15 minutes (the refused one counted too)
        assert _ask_mail(one, f"m{i}@example.com").status_code == 200
    assert _limited(_ask_mail(one, "m9@example.com")) > 0
    assert _ask_mail(browsers(("192.0.2.2", 1)), "m9@example.com").status_code == 200  # another address


def test_codes_tried_are_limited_per_address(browsers, mail_server):
    guesser = browsers()
    _ask_mail(guesser, "code-guess@example.com")
    statuses = []
    for i in range(31):  # member_codes_per_address = 30 (five wrong codes spend a sign-in before that)
        page = guesser.get("/my/sign-in")
        statuses.append(
            guesser.post(
                "/my/sign-in/code", data={"code": f"{i:06d}", "sign_in_token": sign_in_token(page.text)}
            ).status_code
        )
    assert statuses[:30].count(429) == 0 and statuses[30] == 429


def test_claims_are_limited_per_member(browsers, mail_server):
    member = browsers()
    api = Api(member)
    batch = api.batch(3)
    member_sign_in(member, mail_server.keeper, "eager@example.com")
    answers = [
        member.post("/api/v1/claims", json={"claim_token": batch["claim_token"]}).status_code
        for _ in range(11)
    ]  # claims_per_member = 10 an hour
    assert answers[0] == 201 and set(answers[1:10]) == {409} and answers[10] == 429


def test_claims_with_a_token_are_limited_per_token_across_processes(database_url, mail_server):
    settings = make_settings(
        database_url, **{**DEFAULT_LIMITS, "claims_per_token_per_minute": 5}, **mail_server.settings()
    )
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        api = Api(one)
        batch = api.batch(20)
        answers = [
            api.call(
                "POST", "/claims", json={"claim_token": batch["claim_token"], "member_id": f"m{i}@x.test"}
            )
            for i in range(6)
        ]
        assert [a.status_code for a in answers[:5]] == [201] * 5
        assert 0 < _limited(answers[5]) <= 60 and "claims with this token" in answers[5].text
        # the other process counted them too (the counter is in the database); the refused claim
        # claimed nothing
        other = Api(two, api.token).call(
            "POST", "/claims", json={"claim_token": batch["claim_token"], "member_id": "m9@x.test"}
        )
        assert _limited(other) > 0
        assert api.get(batch["id"])["metrics"]["claimed"] == 5


def test_a_strangers_wrong_passwords_slow_that_address_but_never_lock_the_account(browsers):
    first = browsers(STRANGER)
    with first.app.state.context.db.write() as conn:
        staff.add(conn, "owner@example.com", "the owner's own password", log2_n=CHEAP_HASHES)

    def attempt(client: TestClient, password: str):
        page = client.get("/dashboard/sign-in")
        token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
        return client.post(
            "/dashboard/sign-in",
            data={"email": "owner@example.com", "password": password, "sign_in_token": token},
            follow_redirects=False,
        )

    for _ in range(5):  # sign_in_max_failures = 5 per account and address in 15 minutes
        assert attempt(first, "a guess").status_code == 401
    slowed = attempt(
        first, "the owner's own password"
    )  # the stranger's address waits, even with the password
    assert (
        800 < _limited(slowed) <= 900 and "wrong passwords for this account from this address" in slowed.text
    )
    owner = browsers(OWNER)
    signed_in = attempt(owner, "the owner's own password")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/dashboard/batches"


def test_wrong_passwords_from_one_address_are_limited_across_accounts(browsers):
    sprayer = browsers(STRANGER)
    answers = []
    for i in range(21):  # staff_sign_in_failures_per_address = 20 in 15 minutes
        page = sprayer.get("/dashboard/sign-in")
        token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
        answers.append(
            sprayer.post(
                "/dashboard/sign-in",
                data={"email": f"user{i}@example.com", "password": "password1", "sign_in_token": token},
            ).status_code
        )
    assert set(answers[:20]) == {401} and answers[20] == 429


def test_enrolment_attempts_are_limited_per_address(browsers):
    till = browsers()
    answers = [
        till.post("/api/v1/devices/enrol", json={"enrolment_code": "AAAA-AAAA", "device_name": "t"})
        for _ in range(11)
    ]  # enrolments_per_address = 10 in 15 minutes
    assert {a.status_code for a in answers[:10]} == {401}
    assert _limited(answers[10]) > 0 and answers[10].json()["type"].endswith("rate-limited")


def test_the_device_api_is_limited_per_device(database_url, mail_server):
    settings = make_settings(
        database_url, **{**DEFAULT_LIMITS, "device_requests_per_minute": 5}, **mail_server.settings()
    )
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        api.store("s1")
        device = api.device("s1")
        answers = [api.call("GET", "/sync/snapshot?cursor=0", token=device["token"]) for _ in range(6)]
        assert {a.status_code for a in answers[:5]} == {200}
        assert 0 < _limited(answers[5]) <= 60
        assert answers[5].json()["retry_after"] == int(answers[5].headers["retry-after"])


def test_uploads_are_limited_per_device_and_a_refused_upload_records_nothing(database_url, mail_server):
    """On SQLite an upload's counts go with its events, in one transaction (auth.count_device_in):
    the limit holds, and the upload refused leaves no event behind."""
    settings = make_settings(
        database_url, **{**DEFAULT_LIMITS, "device_requests_per_minute": 3}, **mail_server.settings()
    )
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        api.store("s1")
        device = api.device("s1")

        def upload(n: int):
            event = {
                "id": str(uuid.UUID(int=n)),
                "kind": "redeem",
                "voucher_id": "b_NONE.1",
                "at": "2026-01-01T10:00:00+00:00",
                "device_seq": n,
            }
            return api.call("POST", "/sync/events", token=device["token"], json={"events": [event]})

        answers = [upload(n) for n in range(1, 5)]
        assert [a.status_code for a in answers[:3]] == [200] * 3
        assert 0 < _limited(answers[3]) <= 60
        assert api.call("GET", "/sync/snapshot?cursor=0", token=device["token"]).status_code == 429
        with client.app.state.context.db.read() as conn:
            ids = set(conn.execute(text("SELECT id FROM events")).scalars())
        assert ids == {str(uuid.UUID(int=n)) for n in range(1, 4)}


def test_every_server_process_counts_together(database_url, mail_server):
    """Two apps on one database, as two server processes: the limit is one."""
    settings = make_settings(database_url, **mail_server.settings(), **DEFAULT_LIMITS)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        assert _ask_mail(a, "shared@example.com").status_code == 200
        assert _ask_mail(b, "shared@example.com").status_code == 200
        assert _ask_mail(a, "shared@example.com").status_code == 200
        assert _ask_mail(b, "shared@example.com").status_code == 429
