"""Operations: /metrics after real requests, who may read it, /healthz on a broken database,
/readyz before and after migrations, the server's log lines (journal priorities, JSON), the
Quiet tills page, and /metrics summed over several server processes."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alembic import command
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from support.api import CHEAP_HASHES, Api, make_settings, sign_in_token

from central.app import create_app
from central.db.engine import Database
from central.db.migrate import alembic_config, upgrade
from central.db.schema import devices
from central.services import staff
from central.services.generation import Generator
from harness import ServerProcess, wait_for

METRICS_TOKEN = "metrics-token-for-the-tests-0123"
LOOPBACK = ("127.0.0.1", 40000)
ELSEWHERE = ("192.0.2.10", 40000)
BEAT = {"version": "test-till 1", "pending": 0, "snapshot_cursor": 0}


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of a /metrics answer: (name, sorted labels) → value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def ops(database_url, mail_server) -> Iterator[TestClient]:
    settings = make_settings(
        database_url, **mail_server.settings(), metrics_token=METRICS_TOKEN, generation_lease_seconds=2
    )
    with TestClient(create_app(settings), client=ELSEWHERE) as client:
        yield client


def scrape(client: TestClient) -> dict:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def redeem(voucher_id: str) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher_id,
        "at": datetime.now(UTC).isoformat(),
        "device_seq": 1,
    }


def test_metrics_count_requests_ingest_outcomes_and_snapshot_pages(ops):
    api = Api(ops)
    api.store("s1")
    api.store("s2")
    till, other = api.device("s1", "till-1"), api.device("s2", "till-2")
    batch = api.batch(5)
    code = api.claim(batch, "ann")["code"]
    voucher = api.call("GET", f"/vouchers/{code}", 200).json()
    before = scrape(ops)

    first = redeem(voucher["id"])
    answers = [
        api.call("POST", "/sync/events", 200, token=t["token"], json={"events": [e]}).json()["results"][0]
        for t, e in (
            (till, first),
            (till, first),
            (other, redeem(voucher["id"])),
            (till, redeem("no-such-voucher")),
        )
    ]
    assert [a["outcome"] for a in answers] == ["accepted", "duplicate", "conflict", "rejected"]
    pages = 0
    cursor = 0
    while True:  # a till's first sync, page by page
        page = api.call("GET", f"/sync/snapshot?cursor={cursor}&limit=3", 200, token=till["token"]).json()
        pages += 1
        cursor = page["next_cursor"]
        if page["complete"]:
            break
    api.call("GET", "/vouchers/NO-SUCH-CODE", 422)  # not a code: refused in words
    after = scrape(ops)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    for outcome in ("accepted", "duplicate", "conflict", "rejected"):
        assert moved("voucher_ingest_events_total", outcome=outcome) == 1, outcome
    assert pages > 1 and moved("voucher_snapshot_pages_total") == pages
    assert moved("voucher_snapshot_vouchers_total") >= 1  # the claimed voucher (a till holds no other)
    route = {"method": "POST", "route": "/api/v1/sync/events"}
    assert moved("voucher_http_requests_total", **route, status="200") == 4
    assert moved("voucher_http_request_duration_seconds_count", **route) == 4
    assert moved("voucher_http_request_duration_seconds_bucket", **route, le="+Inf") == 4
    assert moved("voucher_http_request_duration_seconds_sum", **route) > 0
    # a route template, never the path: no voucher code, claim token or device token in the text
    assert (
        moved("voucher_http_requests_total", method="GET", route="/api/v1/vouchers/{code}", status="422") == 1
    )
    text = ops.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    for secret in (code, "NO-SUCH-CODE", batch["claim_token"], till["token"], voucher["id"]):
        assert secret not in text


def _age(client: TestClient, device_id: str, **values) -> None:
    with client.app.state.context.db.write() as conn:
        conn.execute(update(devices).where(devices.c.id == device_id).values(**values))


def test_metrics_count_devices_by_heartbeat_age_from_the_database(ops):
    api = Api(ops)
    api.store("s1")
    fresh, old, silent, revoked = (api.device("s1", name) for name in ("fresh", "old", "silent", "revoked"))
    for device in (fresh, old, revoked):
        api.call("POST", "/sync/heartbeat", 200, token=device["token"], json=BEAT)
    _age(ops, old["device_id"], last_heartbeat_at=datetime.now(UTC) - timedelta(hours=3))
    api.call("POST", f"/devices/{revoked['device_id']}/revoke", 200)
    found = scrape(ops)
    ages = {labels[0][1]: v for (name, labels), v in found.items() if name == "voucher_devices"}
    assert ages == {"under_5m": 1, "5m_to_15m": 0, "15m_to_1h": 0, "1h_to_1d": 1, "over_1d": 0, "never": 1}


def test_metrics_follow_a_running_generation_from_the_database(ops):
    """The server's own generator is stopped, so the batch waits in generating with nothing made;
    another generator (as a second server process would) takes it over once its lease runs out."""
    api = Api(ops)
    ctx = ops.app.state.context
    ctx.generator.stop()
    batch = api.batch(1500, state="validated")
    api.call("POST", f"/batches/{batch['id']}/generate", 202)
    found = scrape(ops)
    assert value(found, "voucher_generation_vouchers_total", batch=batch["id"]) == 1500
    assert value(found, "voucher_generation_vouchers_done", batch=batch["id"]) == 0
    other = Generator(ctx.db, chunk=100, lease_seconds=2, poll_seconds=0.1)
    other.start()
    try:
        seen = []

        def finished() -> bool:
            now = scrape(ops)
            if ("voucher_generation_vouchers_done", (("batch", batch["id"]),)) not in now:
                return True
            seen.append(value(now, "voucher_generation_vouchers_done", batch=batch["id"]))
            return False

        wait_for(finished, 60, "generation finished")
    finally:
        other.stop()
    assert api.get(batch["id"])["state"] == "generated"
    assert seen == sorted(seen) and all(0 <= n <= 1500 for n in seen)


def test_only_an_operator_may_read_metrics(database_url, mail_server):
    def status(settings, address, **headers) -> int:
        with TestClient(create_app(settings), client=address) as client:
            return client.get("/metrics", headers=headers).status_code

    open_host = make_settings(database_url, **mail_server.settings())
    assert status(open_host, LOOPBACK) == 200
    assert status(open_host, ELSEWHERE) == 403
    assert status(open_host, LOOPBACK, **{"X-Forwarded-For": "203.0.113.9"}) == 403  # a proxy on this host
    with_token = make_settings(database_url, **mail_server.settings(), metrics_token=METRICS_TOKEN)
    assert status(with_token, ELSEWHERE, Authorization=f"Bearer {METRICS_TOKEN}") == 200
    assert status(with_token, ELSEWHERE, Authorization="Bearer wrong") == 403
    assert status(with_token, LOOPBACK) == 403  # with a token set, everyone shows it


def test_healthz_answers_503_in_words_when_the_database_is_broken(sqlite_url, tmp_path, mail_server):
    with TestClient(create_app(make_settings(sqlite_url, **mail_server.settings()))) as client:
        healthy = client.get("/healthz")
        assert healthy.status_code == 200 and healthy.json()["ok"] is True and healthy.json()["version"]
        for name in ("central.db", "central.db-wal", "central.db-shm"):  # the disk returns rubbish
            path = tmp_path / name
            if path.exists():
                path.write_bytes(b"\0" * path.stat().st_size)
        broken = client.get("/healthz")
        assert broken.status_code == 503
        body = broken.json()
        assert body["ok"] is False and body["version"] == healthy.json()["version"]
        assert (
            body["database"].startswith("the database does not answer: ")
            and "not a database" in body["database"]
        )
        assert "Traceback" not in broken.text
        assert client.get("/readyz").status_code == 503


def test_readyz_answers_200_only_when_the_schema_is_at_head(database_url, mail_server):
    with TestClient(create_app(make_settings(database_url, **mail_server.settings()))) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        head = ready.json()["head"]
        db = Database(database_url)
        try:
            with db.engine.connect() as conn:  # as a restore of an older copy, or a failed upgrade, leaves it
                config = alembic_config(db)
                config.attributes["connection"] = conn
                command.downgrade(config, "-1")
                conn.commit()
            behind = client.get("/readyz")
            assert behind.status_code == 503 and behind.json()["revision"] != head
            assert "run 'voucher-central migrate'" in behind.json()["schema"]
            assert client.get("/healthz").status_code == 200  # alive, only not ready
            upgrade(db)
        finally:
            db.dispose()
        again = client.get("/readyz")
        assert again.status_code == 200 and again.json() == ready.json()


def _dashboard(client: TestClient, email: str = "ops@example.com") -> None:
    with client.app.state.context.db.write() as conn:
        staff.add(conn, email, "a long password for ops", role="viewer", log2_n=CHEAP_HASHES)
    page = client.get("/dashboard/sign-in")
    done = client.post(
        "/dashboard/sign-in",
        data={
            "email": email,
            "password": "a long password for ops",
            "sign_in_token": sign_in_token(page.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def test_quiet_tills_page_lists_devices_not_heard_from_past_the_limit(database_url, mail_server):
    settings = make_settings(database_url, **mail_server.settings(), stale_device_minutes=30)
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        api.store("leeds")
        names = ("quiet-one", "fresh-one", "never-old", "never-new", "revoked-one", "quiet-long")
        made = {name: api.device("leeds", name) for name in names}
        for name in ("quiet-one", "fresh-one", "revoked-one", "quiet-long"):
            api.call("POST", "/sync/heartbeat", 200, token=made[name]["token"], json={**BEAT, "pending": 7})
        now = datetime.now(UTC)
        _age(client, made["quiet-one"]["device_id"], last_heartbeat_at=now - timedelta(minutes=45))
        _age(client, made["quiet-long"]["device_id"], last_heartbeat_at=now - timedelta(days=3, hours=1))
        _age(client, made["revoked-one"]["device_id"], last_heartbeat_at=now - timedelta(hours=2))
        _age(client, made["never-old"]["device_id"], enrolled_at=now - timedelta(hours=5))
        api.call("POST", f"/devices/{made['revoked-one']['device_id']}/revoke", 200, params={"confirm": 7})

        signed_out = client.get("/dashboard/devices/stale", follow_redirects=False)
        assert signed_out.status_code == 303 and "/dashboard/sign-in" in signed_out.headers["location"]
        _dashboard(client)
        page = client.get("/dashboard/devices/stale")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-device="([^"]+)">(.*?)</tr>', page.text, re.DOTALL)
    listed = [device_id for device_id, _ in rows]
    assert listed == [
        made[n]["device_id"] for n in ("quiet-long", "never-old", "quiet-one")
    ]  # longest quiet first
    cells = {device_id: " ".join(re.sub(r"<[^>]+>", " ", html).split()) for device_id, html in rows}
    assert cells[made["quiet-long"]["device_id"]].startswith("Store leeds quiet-long")
    assert "3 days ago 7" in cells[made["quiet-long"]["device_id"]]
    assert "45 minutes ago 7" in cells[made["quiet-one"]["device_id"]]
    assert "never (enrolled 5 hours ago) unknown" in cells[made["never-old"]["device_id"]]
    assert "30 minutes or longer" in page.text
    assert '<a href="/dashboard/devices/stale" aria-current="page">Quiet tills</a>' in page.text


def test_the_servers_log_keeps_journal_priorities_and_names_routes_not_paths(sqlite_url, tmp_path):
    log = tmp_path / "journal"
    log.touch()
    stat = log.stat()
    with ServerProcess(sqlite_url, log=log, JOURNAL_STREAM=f"{stat.st_dev}:{stat.st_ino}") as server:
        secret = "a-sign-in-link-token-nobody-may-log"
        httpx.get(f"{server.url}/my/sign-in/link/{secret}")
        httpx.get(f"{server.url}/healthz")
    lines = log.read_text().splitlines()
    assert lines and all(re.match(r"<[0-7]>", line) for line in lines), lines
    assert "<6>central.access: GET /healthz 200 " in log.read_text()
    assert "GET /my/sign-in/link/{link_token} " in log.read_text()
    assert secret not in log.read_text()


def test_the_servers_log_is_json_lines_when_configured(sqlite_url, tmp_path):
    log = tmp_path / "server.log"
    with ServerProcess(sqlite_url, log=log, VOUCHER_LOG_FORMAT="json") as server:
        httpx.get(f"{server.url}/no/such/page")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    access = [e for e in entries if e["logger"] == "central.access"]
    assert {"time", "level", "priority", "logger", "message"} <= set(entries[0])
    assert any(
        e["message"].startswith("GET unmatched 404 ") and e["level"] == "info" and e["priority"] == 6
        for e in access
    ), access


@pytest.mark.postgres
def test_metrics_add_up_over_several_server_processes(postgres_server, tmp_path):
    """Two `voucher-central serve` on one PostgreSQL, sharing $PROMETHEUS_MULTIPROC_DIR: either
    answers /metrics with both processes' requests, and the database's figures once."""
    name = f"ops{os.getpid()}"
    postgres_server.create_database(name)
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared), "VOUCHER_METRICS_TOKEN": METRICS_TOKEN}
    try:
        with (
            ServerProcess(postgres_server.url(name), log=tmp_path / "a.log", **env) as a,
            ServerProcess(postgres_server.url(name), log=tmp_path / "b.log", **env) as b,
        ):
            for server, count in ((a, 3), (b, 5)):
                for _ in range(count):
                    assert httpx.get(f"{server.url}/api/v1/vouchers/NOPE", timeout=10).status_code == 401
            admin = a.client()
            admin.post("/stores", json={"id": "s1", "name": "S1", "timezone": "UTC"}).raise_for_status()
            code = admin.post("/stores/s1/enrolment-codes").json()["code"]
            httpx.post(
                f"{b.url}/api/v1/devices/enrol", json={"enrolment_code": code, "device_name": "t"}, timeout=10
            ).raise_for_status()
            answers = [
                samples(
                    httpx.get(
                        f"{s.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
                    ).text
                )
                for s in (a, b)
            ]
    finally:
        postgres_server.drop_database(name)
    for found in answers:
        assert (
            value(
                found,
                "voucher_http_requests_total",
                method="GET",
                route="/api/v1/vouchers/{code}",
                status="401",
            )
            == 8
        )
        assert value(found, "voucher_devices", heartbeat_age="never") == 1
    assert len(list(shared.glob("*.db"))) >= 2  # each process's own files


def test_a_traceback_keeps_its_priority_on_every_line_and_json_is_one_line():
    from configfile import logs

    try:
        raise RuntimeError("the database went away\nsecond line")
    except RuntimeError:
        record = logging.LogRecord(
            "central.app", logging.ERROR, __file__, 1, "failed: %s", ("x",), sys.exc_info()
        )
    text = logs.formatter("text", journal=True).format(record)
    assert len(text.splitlines()) > 3 and all(line.startswith("<3>") for line in text.splitlines())
    assert text.splitlines()[0] == "<3>central.app: failed: x"
    entry = json.loads(logs.formatter("json", journal=True).format(record))  # one line, no prefix
    assert entry["priority"] == 3 and entry["level"] == "error" and "RuntimeError" in entry["exception"]
    assert [
        logs.prefix(level) for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.CRITICAL)
    ] == ["<7>", "<6>", "<4>", "<2>"]
