"""The Customer Details Page, the voucher page, the vouchers view's search and the batch list, over HTTP
on the real app (its ASGI app, a real SQLite file): seed 002's staff changes with their reason, author,
audit row and CSRF and role checks, reaching the tills' snapshot; search by member, part of a code and
serial with totals; the batch list searched, filtered, sorted and archived."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from support.api import CHEAP_HASHES, Api, make_settings

from central.app import create_app
from central.db.schema import audit_log, events
from central.services import staff

ADMIN, VIEWER, PASSWORD = "boss@example.com", "vic@example.com", "a long password for tests"


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sqlite_url))) as test_client:
        with test_client.app.state.context.db.write() as conn:
            staff.add(conn, ADMIN, PASSWORD, log2_n=CHEAP_HASHES)
            staff.add(conn, VIEWER, PASSWORD, role="viewer", log2_n=CHEAP_HASHES)
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def _sign_in(client: TestClient, email: str = ADMIN) -> str:
    """Sign in through the sign-in form; the session's CSRF token."""
    page = client.get("/dashboard/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/dashboard/sign-in", data={"email": email, "password": PASSWORD, "sign_in_token": token}
    )
    assert done.status_code == 200, done.text
    return re.search(r'name="csrf-token" content="([^"]+)"', done.text).group(1)


def _text(html: str) -> str:
    """The page's main part as a person reads it: tags out, spaces folded."""
    main = re.search(r"<main.*?</main>", html, re.DOTALL)
    assert main, html[:500]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main.group(0)))).strip()


def _redeem(api: Api, device: dict, code: str) -> dict:
    vid = api.call("GET", f"/vouchers/{code}").json()["id"]
    event = {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "at": datetime.now(UTC).isoformat(),
        "voucher_id": vid,
    }
    event["device_seq"] = int(uuid.uuid4().int % 1_000_000)
    answer = api.call("POST", "/sync/events", 200, token=device["token"], json={"events": [event]})
    return answer.json()["results"][0]


def _snapshot_status(api: Api, device: dict, vid: str) -> str | None:
    """The voucher's status as the till's snapshot has it, pulled from the start until complete."""
    cursor, status = 0, None
    for _ in range(100):
        page = api.call(
            "GET", f"/sync/snapshot?cursor={cursor}&limit=1000", 200, token=device["token"]
        ).json()
        status = next((v["status"] for v in page["vouchers"] if v["id"] == vid), status)
        if page["complete"]:
            return status
        cursor = page["next_cursor"]
    raise AssertionError("the snapshot never completed")


def _audit(client: TestClient) -> list:
    with client.app.state.context.db.read() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings())


def test_a_members_page_lists_their_vouchers_with_where_and_when_and_a_conflict(client, api):
    api.store("leeds")
    till, other = api.device("leeds", "till-7"), api.device("leeds", "till-9")
    spring = api.batch(10, identifier="Spring")
    autumn = api.batch(10, identifier="Autumn")
    used = api.claim(spring, "Ann@Example.com")["code"]
    unused = api.claim(autumn, "ann@example.com")["code"]
    api.claim(spring, "bob@example.com")
    assert _redeem(api, till, used)["outcome"] == "accepted"
    assert _redeem(api, other, used)["outcome"] == "conflict"
    _sign_in(client)

    found = client.get("/dashboard/members?q=ANN@")
    assert found.status_code == 200
    assert "1 member" in _text(found.text) and "bob@" not in found.text
    link = re.search(r'href="(/dashboard/members/[^"]+)">ann@example.com<', found.text).group(1)

    page = client.get(link)
    assert page.status_code == 200
    text = _text(page.text)
    assert text.index(unused) < text.index(used)  # newest claim first
    assert "Used At Store leeds, till-7" in text
    assert "Conflict: used again at Store leeds, till-9; the first use stands (Store leeds, till-7" in text
    assert "Conflicts 1" in text
    assert "Revert to unused" in text  # the used voucher; the unused one has nothing staff may change
    assert text.count("Why revert it") == 1
    assert client.get("/dashboard/members/nobody@example.com").status_code == 404
    jump = client.get(f"/dashboard/members?q={used.lower().replace('-', ' ')}", follow_redirects=False)
    assert jump.status_code == 303 and jump.headers["location"] == f"/dashboard/vouchers/{used}"


def test_revert_needs_a_reason_then_reaches_the_till_and_is_audited_with_its_author(client, api):
    api.store("leeds")
    till = api.device("leeds", "till-7")
    batch = api.batch(5, identifier="Revert me")
    code = api.claim(batch, "ann@example.com")["code"]
    vid = api.call("GET", f"/vouchers/{code}").json()["id"]
    assert _redeem(api, till, code)["outcome"] == "accepted"
    assert _redeem(api, till, code)["outcome"] == "conflict"  # used: a second use only conflicts
    csrf = _sign_in(client)
    before = len(_audit(client))

    for reason in ("", "   "):
        refused = client.post(
            f"/dashboard/vouchers/{code}/status",
            data={"csrf_token": csrf, "status": "unused", "reason": reason, "back": "member"},
        )
        assert refused.status_code == 422
        assert "Say why (this is kept with the change)." in _text(refused.text)
        assert 'aria-invalid="true"' in refused.text and "Traceback" not in refused.text
    forged = client.post(
        f"/dashboard/vouchers/{code}/status",
        data={"csrf_token": "forged", "status": "unused", "reason": "till broke", "back": "member"},
    )
    assert forged.status_code == 403
    assert len(_audit(client)) == before
    assert api.call("GET", f"/vouchers/{code}").json()["status"] == "used"

    done = client.post(
        f"/dashboard/vouchers/{code}/status",
        data={
            "csrf_token": csrf,
            "status": "unused",
            "reason": "The till crashed mid-sale",
            "back": "member",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(
        "/dashboard/members/ann@example.com?done=voucher-reverted#voucher-"
    )
    page = _text(client.get(done.headers["location"]).text)
    assert "Voucher reverted to unused" in page
    assert f"Status set to unused by {ADMIN}: “The till crashed mid-sale”" in page

    log = _audit(client)[before:]
    assert [(e["actor"], e["actor_kind"], e["action"], e["entity_id"]) for e in log] == [
        (ADMIN, "staff", "voucher.status", vid)
    ]
    assert log[0]["before"]["status"] == "used" and log[0]["after"]["status"] == "unused"
    with client.app.state.context.db.read() as conn:
        status_events = list(conn.execute(select(events).where(events.c.kind == "status")).mappings())
    assert [(e["voucher_id"], e["author"], e["reason"]) for e in status_events] == [
        (vid, ADMIN, "The till crashed mid-sale")
    ]
    assert _snapshot_status(api, till, vid) == "unused"  # the tills get it like any other change
    assert _redeem(api, till, code)["outcome"] == "accepted"  # and accept the code again


def test_a_pending_voucher_is_settled_to_any_status_from_the_voucher_page(client, api):
    batch = api.batch(5, identifier="Workflow", initial_status="pending")
    code = api.claim(batch, "pat@example.com")["code"]
    csrf = _sign_in(client)
    vouchers = client.get(f"/dashboard/batches/{batch['id']}/vouchers")
    assert f'href="/dashboard/vouchers/{code}"' in vouchers.text
    assert 'href="/dashboard/members/pat@example.com"' in vouchers.text
    page = client.get(f"/dashboard/vouchers/{code}")
    assert page.status_code == 200
    options = re.findall(r'<option value="(\w+)"', page.text)
    assert options == ["unused", "used", "issued"]  # pending → any other status (seed 002)
    assert "Claimed by pat@example.com" in _text(page.text)
    done = client.post(
        f"/dashboard/vouchers/{code}/status",
        data={
            "csrf_token": csrf,
            "status": "issued",
            "reason": "Fulfilled by the web shop",
            "back": "voucher",
        },
        follow_redirects=False,
    )
    assert (
        done.status_code == 303
        and done.headers["location"] == f"/dashboard/vouchers/{code}?done=voucher-status"
    )
    assert api.call("GET", f"/vouchers/{code}").json()["status"] == "issued"
    again = client.post(
        f"/dashboard/vouchers/{code}/status",
        data={"csrf_token": csrf, "status": "used", "reason": "again", "back": "voucher"},
    )
    assert again.status_code == 409  # issued is not pending: nothing for staff to change, said in words
    assert "A voucher that is issued cannot be set to used" in _text(again.text)


def test_a_viewer_sees_the_change_it_may_not_make_and_is_refused_it(client, api):
    api.store("leeds")
    till = api.device("leeds")
    batch = api.batch(5)
    code = api.claim(batch, "ann@example.com")["code"]
    _redeem(api, till, code)
    csrf = _sign_in(client, VIEWER)
    page = client.get("/dashboard/members/ann@example.com")
    assert "Changing a voucher's status needs the admin role; yours is viewer." in _text(page.text)
    assert 'class="status-change"' not in page.text
    refused = client.post(
        f"/dashboard/vouchers/{code}/status",
        data={"csrf_token": csrf, "status": "unused", "reason": "why not", "back": "member"},
    )
    assert refused.status_code == 403
    assert api.call("GET", f"/vouchers/{code}").json()["status"] == "used"


def test_vouchers_are_found_by_member_part_of_a_code_and_serial_with_totals(client, api):
    batch = api.batch(60, identifier="Search me")
    codes = {api.claim(batch, f"{who}@example.com")["code"]: who for who in ("ann", "anna", "bob")}
    _sign_in(client)
    url = f"/dashboard/batches/{batch['id']}/vouchers"

    first = _text(client.get(url).text)
    assert "1–50 of 60 vouchers" in first
    cursor = re.search(r'href="\?cursor=(\d+)">Next page', client.get(url).text).group(1)
    assert "51–60 of 60 vouchers" in _text(client.get(f"{url}?cursor={cursor}").text)

    assert "2 vouchers matching these filters" in _text(client.get(f"{url}?member=ANN").text)
    bob = next(c for c, who in codes.items() if who == "bob")
    part = bob.replace("-", "")[3:9].lower()  # the middle of a code, as someone reading it out types it
    found = client.get(f"{url}?code={part}")
    assert bob in found.text
    assert all(c not in found.text for c in codes if part.upper() not in c.replace("-", ""))
    whole = client.get(f"{url}?code={bob.lower()}")
    assert "1 voucher matching" in _text(whole.text) and bob in whole.text
    serial = api.call("GET", f"/vouchers/{bob}").json()["serial"]
    by_serial = _text(client.get(f"{url}?serial={serial}").text)
    assert "1 voucher matching" in by_serial and bob in by_serial
    bad = client.get(f"{url}?code=ab!cd")
    assert bad.status_code == 200 and "'!' is not used in voucher codes." in _text(bad.text)


def _card_titles(html: str) -> list[str]:
    return re.findall(r'<h2 id="title-[^"]+"><a href="[^"]+">([^<]+)</a>', html)


def test_the_batch_list_searches_filters_sorts_and_keeps_an_archive(client, api):
    api.store("leeds")
    till = api.device("leeds")
    email = api.batch(10, identifier="Spring email", channel="email")
    for i in range(4):
        code = api.claim(email, f"e{i}@example.com")["code"]
        if i < 3:
            _redeem(api, till, code)
    social = api.batch(10, identifier="Spring social", channel="social-media")
    api.claim(social, "s0@example.com")
    api.batch(10, identifier="Summer draft", state="configuring")
    api.batch(10, identifier="Old void", state="void")
    api.batch(10, identifier="Ended", valid_until=(date.today() - timedelta(days=2)).isoformat())
    _sign_in(client)

    listed = client.get("/dashboard/batches").text
    assert _card_titles(listed) == ["Summer draft", "Spring social", "Spring email"]
    assert "3 batches" in _text(listed) and "Archive (2): void and ended batches" in _text(listed)
    archive = client.get("/dashboard/batches?show=archived").text
    assert _card_titles(archive) == ["Ended", "Old void"]
    assert "Batches in use (3)" in _text(archive)

    assert _card_titles(client.get("/dashboard/batches?q=spring").text) == ["Spring social", "Spring email"]
    assert _card_titles(client.get("/dashboard/batches?state=configuring").text) == ["Summer draft"]
    assert _card_titles(client.get("/dashboard/batches?channel=email").text) == ["Spring email"]
    assert _card_titles(client.get("/dashboard/batches?channel=none").text) == ["Summer draft"]
    assert _card_titles(client.get("/dashboard/batches?sort=redeemed").text)[0] == "Spring email"
    assert _card_titles(client.get("/dashboard/batches?sort=available").text) == [
        "Spring social",  # 9 available
        "Spring email",  # 6
        "Summer draft",  # none: not generated
    ]
    assert _card_titles(client.get("/dashboard/batches?sort=name&state=bogus").text) == [
        "Spring email",
        "Spring social",
        "Summer draft",
    ]

    def figures(html: str, title: str) -> dict[str, str]:
        card = html[html.index(f">{title}</a>") :]
        card = card[: card.index("</dl>")]
        return dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", card))

    assert figures(listed, "Spring email") == {
        "Total": "10",
        "Claimed": "4",
        "Redeemed": "3",
        "Available": "6",
    }
    assert figures(listed, "Summer draft") == {
        "Planned": "10",
        "Claimed": "0",
        "Redeemed": "0",
        "Available": "0",
    }
    assert figures(archive, "Old void")["Available"] == "0"
    assert "Too few claims to rate" in listed and "Great" not in _text(
        listed
    )  # 3 of 4 is not a rate to judge


def test_the_batch_list_pages_with_totals(client, api):
    for i in range(26):
        api.batch(1, identifier=f"Batch {i:02}", state="configuring")
    _sign_in(client)
    first = client.get("/dashboard/batches")
    assert "1–24 of 26 batches" in _text(first.text) and "Page 1 of 2" in _text(first.text)
    assert len(_card_titles(first.text)) == 24
    second = client.get("/dashboard/batches?page=2")
    assert _card_titles(second.text) == ["Batch 01", "Batch 00"]
    assert "25–26 of 26 batches" in _text(second.text)
