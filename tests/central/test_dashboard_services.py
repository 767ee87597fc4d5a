"""The services the dashboard adds, on SQLite and PostgreSQL: reports, and checking drafts of batches
and types before they are saved."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from central.schemas import BatchCreate, TypeCreate
from central.services import batches, devices, reports


def _db(client):
    return client.app.state.context.db


def _redeem(api, device, codes, at):
    events = [
        {
            "id": str(uuid.uuid4()),
            "kind": "redeem",
            "at": at.isoformat(),
            "device_seq": i,
            "voucher_id": api.call("GET", f"/vouchers/{c}").json()["id"],
        }
        for i, c in enumerate(codes)
    ]
    return api.call("POST", "/sync/events", 200, token=device["token"], json={"events": events}).json()[
        "results"
    ]


def test_redemptions_per_day_channels_and_problems(api, client):
    api.store("s1")
    till, other = api.device("s1", "till-1"), api.device("s1", "till-2")
    batch = api.batch(20, channel="events")
    codes = [api.claim(batch, f"m{i}@example.com")["code"] for i in range(6)]
    noon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    _redeem(api, till, codes[:1], noon - timedelta(days=2))
    _redeem(api, till, codes[1:4], noon)
    assert _redeem(api, other, codes[:1], noon)[0]["outcome"] == "conflict"
    api.batch(5, identifier="No channel")
    with _db(client).read() as conn:
        days = reports.redemptions_by_day(conn, batch["id"])
        by_channel = {r.channel: r for r in reports.channels(conn)}
        problems = reports.conflicts_and_rejections(conn)
        names = devices.device_names(conn, {till["device_id"]})
        overview = devices.stores_overview(conn)
    assert days == [(date(2026, 2, 28), 1), (date(2026, 3, 1), 0), (date(2026, 3, 2), 3)]
    assert by_channel["events"].batches == 1 and by_channel["events"].metrics.redemption_rate == 66.7
    assert by_channel["email"].batches == 0 and by_channel[None].label == "No channel"
    assert [(p.outcome, p.device_name, p.winner_device_name) for p in problems] == [
        ("conflict", "till-2", "till-1")
    ]
    assert problems[0].batch_identifier == "Test batch" and problems[0].winner.store_id == "s1"
    assert names == {till["device_id"]: "till-1"}
    assert (overview[0].id, overview[0].devices, overview[0].active) == ("s1", 2, 2)
    assert overview[0].last_heartbeat_at is None


def test_drafts_report_every_problem_they_would_bring(api, client):
    api.store("s1")
    draft = BatchCreate(identifier=" ", serial_start=10, serial_end=5, stores=["s1", "nowhere"])
    with _db(client).read() as conn:
        errors = batches.draft_errors(conn, None, draft, 1000)
    assert {e.field for e in errors} == {"identifier", "serial_end", "stores"}
    assert "There is no store 'nowhere'." in [e.message for e in errors]

    batch = api.batch(100, state="configuring")
    type_id = batch["types"][0]["id"]
    with _db(client).read() as conn:
        narrower = batches.draft_errors(
            conn, batch["id"], BatchCreate(identifier="X", serial_start=1, serial_end=50), 1000
        )
        fine = batches.draft_errors(
            conn, batch["id"], BatchCreate(identifier="X", serial_start=1, serial_end=100), 1000
        )
        overlapping = batches.type_draft_errors(
            conn, batch["id"], None, TypeCreate(name="B", serial_start=90, serial_end=120, value="£1"), 1000
        )
        itself = batches.type_draft_errors(
            conn,
            batch["id"],
            type_id,
            TypeCreate(name="Std", serial_start=1, serial_end=60, value="£5"),
            1000,
        )
    assert [e.message for e in narrower] == [
        "Type 'Std' (1–100) lies outside the batch's serial range (1–50)."
    ]
    assert fine == []
    messages = " ".join(e.message for e in overlapping)
    assert (
        "lies outside the batch's serial range (1–100)" in messages
        and "overlaps type 'Std' (1–100)" in messages
    )
    assert itself == []  # a type does not overlap itself
