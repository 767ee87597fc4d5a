"""Reports per store and day and local times, over HTTP on the real app (its ASGI app, a real SQLite
file): redemptions and refused scans counted on each store's own calendar (a scan at 23:30 UTC is the
next day in Paris and the same day in New York), each as a page with its chart and as a CSV with ISO
times and offsets; a store's events in its zone, head office's own in office_timezone."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from html import unescape
from itertools import count

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from support.api import CHEAP_HASHES, Api, make_settings

from central.app import create_app
from central.services import staff

ADMIN, PASSWORD = "boss@example.com", "a long password for tests"
SEQ = count(1)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The app on SQLite and on PostgreSQL (the reports count by the hour in SQL, differently on each)."""
    settings = make_settings(database_url, office_timezone="America/New_York")
    with TestClient(create_app(settings)) as test_client:
        with test_client.app.state.context.db.write() as conn:
            staff.add(conn, ADMIN, PASSWORD, log2_n=CHEAP_HASHES)
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


def _sign_in(client: TestClient) -> str:
    page = client.get("/dashboard/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/dashboard/sign-in", data={"email": ADMIN, "password": PASSWORD, "sign_in_token": token}
    )
    assert done.status_code == 200, done.text
    return re.search(r'name="csrf-token" content="([^"]+)"', done.text).group(1)


def _text(html: str) -> str:
    main = re.search(r"<main.*?</main>", html, re.DOTALL)
    assert main, html[:500]
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", main.group(0)))).strip()


def _push(api: Api, device: dict, at: str, *, code: str | None = None, verdict: str | None = None) -> str:
    """One event from a till: a redemption of `code`, or a refused scan with the till's verdict."""
    event: dict = {"id": str(uuid.uuid4()), "kind": "refused" if verdict else "redeem", "at": at}
    event["device_seq"] = next(SEQ)
    if code is not None:
        event["voucher_id"] = api.call("GET", f"/vouchers/{code}").json()["id"]
    if verdict:
        event["verdict"] = verdict
    answer = api.call("POST", "/sync/events", 200, token=device["token"], json={"events": [event]})
    return answer.json()["results"][0]["outcome"]


@pytest.fixture
def scans(api: Api) -> dict:
    """Paris (UTC+1 in March) and New York (UTC-4 from 8 March 2026): redemptions and refusals
    either side of midnight."""
    api.store("paris", timezone="Europe/Paris")
    api.store("nyc", timezone="America/New_York")
    paris, nyc = api.device("paris", "till-p"), api.device("nyc", "till-n")
    batch = api.batch(10, identifier="Spring")
    codes = [api.claim(batch, f"m{i}@example.com")["code"] for i in range(4)]
    assert _push(api, paris, "2026-03-10T12:00:00+00:00", code=codes[0]) == "accepted"  # Paris, 10th
    assert _push(api, paris, "2026-03-10T23:30:00+00:00", code=codes[1]) == "accepted"  # Paris, 11th
    assert _push(api, nyc, "2026-03-11T02:00:00+00:00", code=codes[2]) == "accepted"  # New York, 10th
    assert _push(api, paris, "2026-03-10T23:40:00+00:00", code=codes[0], verdict="ALREADY_USED") == "accepted"
    assert _push(api, paris, "2026-03-10T12:05:00+00:00", verdict="INVALID_CODE") == "accepted"
    assert _push(api, paris, "2026-03-10T12:06:00+00:00", verdict="INVALID_CODE") == "accepted"
    assert _push(api, nyc, "2026-03-11T03:00:00+00:00", code=codes[3], verdict="WRONG_STORE") == "accepted"
    return {"codes": codes, "batch": batch["id"]}


def test_redemptions_per_store_and_day_on_each_stores_calendar_with_a_chart_and_a_csv(client, scans):
    _sign_in(client)
    page = client.get("/dashboard/reports/redemptions?from=2026-03-09&to=2026-03-12")
    assert page.status_code == 200
    text = _text(page.text)
    assert "3 redemptions at every store, 2026-03-09 to 2026-03-12" in text
    assert re.search(r'<tr data-store="paris".*?data-col="total">2<', page.text, re.DOTALL)
    assert re.search(r'<tr data-store="nyc".*?data-col="total">1<', page.text, re.DOTALL)
    bars = dict(re.findall(r'<rect class="bar"[^>]*data-day="([\d-]+)" data-count="(\d+)"', page.text))
    assert bars == {"2026-03-09": "0", "2026-03-10": "2", "2026-03-11": "1", "2026-03-12": "0"}
    assert '<svg class="chart" id="redemptions-chart"' in page.text and "Redemptions per day" in page.text

    one = client.get("/dashboard/reports/redemptions?from=2026-03-09&to=2026-03-12&store=paris")
    assert "2 redemptions at Store paris" in _text(one.text)
    bars = dict(re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', one.text))
    assert bars == {"2026-03-09": "0", "2026-03-10": "1", "2026-03-11": "1", "2026-03-12": "0"}

    exported = client.get("/dashboard/reports/redemptions.csv?from=2026-03-09&to=2026-03-12")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 8  # two stores, four days each
    found = {(r["store_id"], r["day"]): r for r in rows}
    assert found[("paris", "2026-03-11")]["redemptions"] == "1"
    assert found[("paris", "2026-03-11")]["day_starts"] == "2026-03-11T00:00:00+01:00"
    assert found[("nyc", "2026-03-10")]["redemptions"] == "1"
    assert found[("nyc", "2026-03-10")]["day_starts"] == "2026-03-10T00:00:00-04:00"
    assert found[("nyc", "2026-03-11")]["redemptions"] == "0"


def test_refused_scans_per_store_reason_and_day_with_a_chart_and_a_csv(client, scans):
    _sign_in(client)
    page = client.get("/dashboard/reports/refused?from=2026-03-09&to=2026-03-12")
    assert page.status_code == 200
    text = _text(page.text)
    assert "4 refused scans, 2026-03-09 to 2026-03-12" in text
    reasons = re.findall(
        r'<tr data-store="(\w+)" data-verdict="(\w+)">.*?data-label="Refused">(\d+)<', page.text, re.DOTALL
    )
    assert sorted(reasons) == [
        ("nyc", "WRONG_STORE", "1"),
        ("paris", "ALREADY_USED", "1"),
        ("paris", "INVALID_CODE", "2"),
    ]
    assert "Invalid code" in text and "Wrong store" in text
    bars = dict(re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', page.text))
    assert bars == {"2026-03-09": "0", "2026-03-10": "3", "2026-03-11": "1", "2026-03-12": "0"}
    assert "4 refused scans from" in page.text  # the chart's description says what it counts

    one = client.get(
        "/dashboard/reports/refused?from=2026-03-09&to=2026-03-12&store=paris&reason=INVALID_CODE"
    )
    assert "2 refused scans" in _text(one.text)

    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/dashboard/reports/refused.csv?from=2026-03-09&to=2026-03-12").text)
        )
    )
    got = sorted((r["store_id"], r["day"], r["verdict"], r["refused"], r["day_starts"]) for r in rows)
    assert got == [
        ("nyc", "2026-03-10", "WRONG_STORE", "1", "2026-03-10T00:00:00-04:00"),
        ("paris", "2026-03-10", "INVALID_CODE", "2", "2026-03-10T00:00:00+01:00"),
        ("paris", "2026-03-11", "ALREADY_USED", "1", "2026-03-11T00:00:00+01:00"),
    ]


def test_csv_exports_carry_iso_times_with_their_offset(client, scans):
    _sign_in(client)
    exported = client.get(f"/dashboard/batches/{scans['batch']}/vouchers.csv")
    rows = [r for r in csv.DictReader(io.StringIO(exported.text)) if r["member_id"]]
    assert len(rows) == 4
    for r in rows:
        assert datetime.fromisoformat(r["claimed_at"]).utcoffset() == timedelta(0), r["claimed_at"]
        assert r["claimed_at"].endswith("+00:00")
    used = {r["redeemed_at"] for r in rows if r["redeemed_at"]}
    assert used == {"2026-03-10T12:00:00+00:00", "2026-03-10T23:30:00+00:00", "2026-03-11T02:00:00+00:00"}
    audit = client.get("/dashboard/audit.csv").text
    at = next(csv.DictReader(io.StringIO(audit)))["at"]
    assert datetime.fromisoformat(at).tzinfo is not None and at.endswith("+00:00")


def test_a_report_says_when_it_cut_the_period_or_could_not_read_it(client, scans):
    _sign_in(client)
    long = client.get("/dashboard/reports/redemptions?from=2025-01-01&to=2026-03-12")
    assert "covers 92 days at most" in _text(long.text)
    assert len(re.findall(r'<rect class="bar"', long.text)) == 92
    backwards = client.get("/dashboard/reports/redemptions?from=2026-03-12&to=2026-03-09")
    assert "3 redemptions at every store, 2026-03-09 to 2026-03-12" in _text(backwards.text)
    bad = client.get("/dashboard/reports/refused?from=yesterday")
    assert bad.status_code == 200 and "Dates are written 2026-03-31" in _text(bad.text)


def test_a_stores_events_in_its_zone_and_head_offices_own_in_the_office_zone(client, api, scans):
    csrf = _sign_in(client)
    code = scans["codes"][1]  # used in Paris at 23:30 UTC
    page = client.get(f"/dashboard/vouchers/{code}")
    text = _text(page.text)
    assert "2026-03-11 00:30 CET" in text  # the redemption, in Paris's time
    assert '<time datetime="2026-03-10T23:30:00+00:00" title="2026-03-10 23:30 UTC">' in page.text
    done = client.post(
        f"/dashboard/vouchers/{code}/status",
        data={"csrf_token": csrf, "status": "unused", "reason": "Till crashed", "back": "voucher"},
    )
    assert done.status_code == 200
    # the staff change, in head office's zone (New York: EST in winter, EDT in summer)
    assert re.search(
        r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T Status set to unused by boss@example.com", _text(done.text)
    )
    audit = _text(client.get("/dashboard/audit").text)
    assert re.search(r"\d\d:\d\d E[SD]T", audit) and " UTC " not in audit
    store = client.get("/dashboard/stores/paris")  # its till's enrolment, in Paris's time
    assert re.search(r"till-p .*?\d\d:\d\d CES?T", _text(store.text))


def test_an_unknown_office_time_zone_is_refused_with_its_name(sqlite_url):
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        make_settings(sqlite_url, office_timezone="Mars/Olympus")
