"""Channels side by side and redemptions over time, as server-rendered SVG charts."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import expect

from central.services.reports import ChannelFigures, redemptions_by_day
from central.web import charts
from vouchers.metrics import BENCHMARKS, metrics
from words import words_for

ENGLISH = words_for("en", "dashboard")


def _redeem(server, device, codes, at: datetime) -> None:
    events = [
        {
            "id": str(uuid.uuid4()),
            "kind": "redeem",
            "at": at.isoformat(),
            "device_seq": i,
            "voucher_id": server.api.call("GET", f"/vouchers/{c}").json()["id"],
        }
        for i, c in enumerate(codes)
    ]
    server.api.call("POST", "/sync/events", 200, token=device["token"], json={"events": events})


def _campaign(server, device, identifier, channel, claimed, redeemed, at):
    batch = server.api.batch(40, identifier=identifier, channel=channel)
    codes = [server.api.claim(batch, f"{identifier}-{i}@example.com")["code"] for i in range(claimed)]
    _redeem(server, device, codes[:redeemed], at)
    return batch, codes


def test_channels_compared_with_their_typical_and_great_rates(page, server, shot):
    server.api.store("s1")
    device = server.api.device("s1")
    now = datetime.now(UTC)
    # 30 claims or more each: fewer are too few to rate (vouchers/metrics.py)
    _campaign(server, device, "Summer 2025 - Email List", "email", 40, 4, now)  # 10%: typical
    _campaign(server, device, "Summer 2025 - Instagram Post", "social-media", 30, 6, now)  # 20%: great
    _campaign(server, device, "Summer 2025 - Store Signage", "in-store-qr", 30, 3, now)  # 10%: below
    page.goto("/dashboard/batches")
    page.get_by_role("link", name="Channels").click()
    chart = page.get_by_role("img", name="Redemption rate by channel")
    expect(chart).to_be_visible()
    rows = chart.locator("g.channel-row")
    expect(rows).to_have_count(3)
    assert [(r.get_attribute("data-channel"), r.get_attribute("data-rate")) for r in rows.all()] == [
        ("email", "10"),
        ("in-store-qr", "10"),
        ("social-media", "20"),
    ]
    expect(chart.locator("rect.typical")).to_have_count(3)
    expect(chart.locator("line.great")).to_have_count(3)
    for channel, verdict in (
        ("email", "Typical"),
        ("social-media", "Great"),
        ("in-store-qr", "Below typical"),
    ):
        row = page.locator(f'table.channels tr[data-channel="{channel}"]')
        expect(row.locator(".rating")).to_have_text(verdict)
        expect(row).to_contain_text(BENCHMARKS[channel].typical_text)
    expect(page.locator('table.channels tr[data-channel="events"]')).to_contain_text("No batches")
    shot(page, "channels")


def test_a_batch_page_charts_its_redemptions_per_day(page, server, shot):
    server.api.store("s2")
    device = server.api.device("s2")
    batch = server.api.batch(30, identifier="Chart me", channel="events")
    codes = [server.api.claim(batch, f"c{i}@example.com")["code"] for i in range(9)]
    today = datetime.now(UTC).replace(hour=12)
    _redeem(server, device, codes[:2], today - timedelta(days=3))
    _redeem(server, device, codes[2:7], today)
    page.goto(f"/dashboard/batches/{batch['id']}")
    chart = page.get_by_role("img", name="Redemptions of Chart me per day")
    expect(chart).to_be_visible()
    bars = chart.locator("rect.bar")
    expect(bars).to_have_count(4)  # the days between count as none
    assert [b.get_attribute("data-count") for b in bars.all()] == ["2", "0", "0", "5"]
    assert bars.last.get_attribute("data-day") == today.date().isoformat()
    heights = [float(b.get_attribute("height")) for b in bars.all()]
    assert heights[3] > heights[0] > heights[1] == 0
    expect(page.locator("[data-figure=rate]")).to_have_text("77.8%")  # 7 of 9
    expect(page.locator(".benchmark")).to_contain_text("Events: typical 30–50%, great 60%+")
    expect(page.locator(".benchmark .rating")).to_have_text("Too few claims to rate")  # 9 claims
    shot(page, "batch")


def test_redemptions_per_day_fill_gaps_and_turn_weekly_over_long_spans(server):
    server.api.store("s3")
    device = server.api.device("s3")
    batch = server.api.batch(10, identifier="Long campaign")
    codes = [server.api.claim(batch, f"l{i}@example.com")["code"] for i in range(3)]
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)  # a Monday
    _redeem(server, device, codes[:1], start)
    _redeem(server, device, codes[1:], start + timedelta(days=120))
    with server.db.read() as conn:
        weeks = redemptions_by_day(conn, batch["id"])
    assert weeks[0] == (date(2026, 1, 5), 1) and weeks[-1][1] == 2
    assert all((b[0] - a[0]).days == 7 for a, b in itertools.pairwise(weeks))


def test_charts_escape_names_and_say_what_they_show():
    svg = charts.redemptions_chart(
        ENGLISH, [(date(2026, 3, 1), 3), (date(2026, 3, 2), 0)], title="<script>x</script>"
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "3 redemptions from 01 Mar 2026 to 02 Mar 2026, per day" in svg
    assert charts.redemptions_chart(ENGLISH, [], title="none") == ""
    rows = [ChannelFigures("email", "Email", BENCHMARKS["email"], batches=1, metrics=metrics(100, 50, 5))]
    svg = charts.channels_chart(ENGLISH, rows)
    assert "Email: 10% (typical 5–15%, great 20%+)" in svg and 'data-rate="10"' in svg
