"""Generation progress (issue 14): committed at least every 1 % with the time left estimated from the
rate so far, and after a restart the page says the job is resuming and when. Real Generator objects
on a real SQLite file play the server processes; the page and its poll come from the real app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from support.api import CHEAP_HASHES, Api, make_settings

from central.app import create_app
from central.db.schema import batches, utcnow
from central.services import batches as batch_service
from central.services import staff
from central.services.generation import Generator, chunk_for

ADMIN, PASSWORD = "boss@example.com", "a long password for tests"
LEASE = 30


@pytest.fixture
def client(sqlite_url: str) -> Iterator[TestClient]:
    settings = make_settings(
        sqlite_url, generation_chunk=50_000, generation_lease_seconds=LEASE, office_timezone="Europe/Paris"
    )
    with TestClient(create_app(settings)) as test_client:
        with test_client.app.state.context.db.write() as conn:
            staff.add(conn, ADMIN, PASSWORD, log2_n=CHEAP_HASHES)
        page = test_client.get("/dashboard/sign-in")
        token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
        test_client.post(
            "/dashboard/sign-in", data={"email": ADMIN, "password": PASSWORD, "sign_in_token": token}
        )
        yield test_client


def _row(client: TestClient, batch_id: str):
    with client.app.state.context.db.read() as conn:
        return conn.execute(select(batches).where(batches.c.id == batch_id)).mappings().one()


def _elsewhere(client: TestClient, batch_id: str) -> Generator:
    """Another server process that has started the batch's job (it never runs its own threads)."""
    other = Generator(client.app.state.context.db, chunk=50_000, lease_seconds=LEASE)
    with client.app.state.context.db.write() as conn:
        batch_service.start_generation(conn, batch_id, other.owner, other.lease_until())
    return other


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.mark.parametrize(
    ("total", "chunk", "expected"), [(10_000, 50_000, 100), (10_000_000, 50_000, 50_000), (150, 500, 1)]
)
def test_a_chunk_is_never_more_than_one_percent_of_the_batch(total, chunk, expected):
    assert chunk_for(total, chunk) == expected


def test_progress_is_committed_every_one_percent_with_the_time_left(client):
    batch = Api(client).batch(5_000, state="validated", identifier="Big mailing")
    other = _elsewhere(client, batch["id"])
    seen = []
    for _ in range(5):
        assert other._step(batch["id"])
        seen.append(_row(client, batch["id"])["generated"])
    assert seen == [50, 100, 150, 200, 250]  # 1 % a transaction, though the setting allows 50,000

    start, done_then = other._since[batch["id"]]
    row = _row(client, batch["id"])
    estimate = other.progress(row, now=start + timedelta(seconds=10))  # 250 in 10 s: 4,750 more in 190 s
    assert (estimate.done, estimate.total, estimate.percent, estimate.resumes_at) == (250, 5_000, 5, None)
    assert estimate.seconds_left == pytest.approx(190)

    page = client.get(f"/dashboard/batches/{batch['id']}")  # this server's view: a live job elsewhere
    assert re.search(r"250 of 5,000 vouchers \( ?5 ?%\)", _text(page.text))
    assert "Working out the time left" in _text(page.text)  # timed from when this server first saw it
    seen_at, seen_done = client.app.state.context.generator._seen[batch["id"]]
    assert seen_done == 250
    here = client.app.state.context.generator.progress(_row(client, batch["id"]), now=seen_at)
    assert here.seconds_left is None  # no time has passed: no rate yet
    assert other._step(batch["id"]) and other._step(batch["id"])  # 100 more: 4,650 left
    here = client.app.state.context.generator.progress(
        _row(client, batch["id"]), now=seen_at + timedelta(seconds=4)
    )
    assert here.seconds_left == pytest.approx(186)  # 100 in 4 s
    assert re.search(r"(About \d+ min|Less than a minute) left", _text(client.get(page.url).text))
    poll = client.get(f"/dashboard/batches/{batch['id']}/progress").json()
    assert (poll["state"], poll["done"], poll["total"], poll["percent"], poll["resuming"]) == (
        "generating",
        350,
        5_000,
        7,
        False,
    )
    assert poll["seconds_left"] > 0 and poll["left"].endswith("left")


def test_after_a_restart_the_page_says_the_job_is_resuming_and_when(client):
    batch = Api(client).batch(5_000, state="validated", identifier="Restarted")
    ctx = client.app.state.context
    stopped = Generator(ctx.db, chunk=50_000, lease_seconds=LEASE)
    with ctx.db.write() as conn:
        batch_service.start_generation(conn, batch["id"], stopped.owner, stopped.lease_until())
    assert stopped._step(batch["id"]) and stopped._step(batch["id"])
    # that process died before this server started: its lease, renewed at its last commit, still runs
    lease_until = utcnow() + timedelta(seconds=LEASE - 3)
    with ctx.db.write() as conn:
        conn.execute(
            update(batches).where(batches.c.id == batch["id"]).values(generation_lease_until=lease_until)
        )
    ctx.generator.started_at = utcnow()  # (as a freshly restarted server's generator is)

    progress = ctx.generator.progress(_row(client, batch["id"]))
    assert progress.resumes_at == lease_until and progress.seconds_left is None
    poll = client.get(f"/dashboard/batches/{batch['id']}/progress").json()
    assert poll["resuming"] is True and poll["resumes_at"] == lease_until.isoformat()
    local = lease_until.astimezone(ZoneInfo("Europe/Paris"))
    assert f"resumes from voucher 101 at about {local:%Y-%m-%d %H:%M} CE" in poll["resume"]
    page = _text(client.get(f"/dashboard/batches/{batch['id']}").text)
    assert "Paused: the server process generating this batch has stopped" in page
    assert "left" not in poll["left"]

    # a live process that simply has not committed for a while (less than half its lease) is not paused
    ctx.generator.started_at = utcnow() - timedelta(hours=1)
    with ctx.db.write() as conn:
        conn.execute(
            update(batches)
            .where(batches.c.id == batch["id"])
            .values(generation_lease_until=utcnow() + timedelta(seconds=LEASE - 5))
        )
    assert ctx.generator.progress(_row(client, batch["id"])).resumes_at is None
