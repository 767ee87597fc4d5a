"""The server as real processes: killed mid-generation, and two processes on one PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from harness import ServerProcess


def _poll(client, batch_id, until, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.get(f"/batches/{batch_id}").json()
        if until(batch):
            return batch
        time.sleep(0.02)
    raise AssertionError(f"condition not reached; batch is {batch['state']} {batch.get('generation')}")


@pytest.mark.slow
def test_generation_survives_sigkill_and_resumes(database_url, tmp_path):
    env = {"VOUCHER_GENERATION_CHUNK": "2000", "VOUCHER_GENERATION_LEASE_SECONDS": "2"}
    first = ServerProcess(database_url, log=tmp_path / "server.log", **env).start()
    try:
        client = first.client()
        bid = client.post(
            "/batches", json={"identifier": "Big", "serial_start": 1, "serial_end": 60_000}
        ).json()["id"]
        client.post(f"/batches/{bid}/types", json={"name": "All", "value": "£1"}).raise_for_status()
        client.post(f"/batches/{bid}/validate").raise_for_status()
        assert client.post(f"/batches/{bid}/generate").status_code == 202
        partial = _poll(client, bid, lambda b: b.get("generation", {}).get("done", 0) >= 10_000)
        assert partial["state"] == "generating"
    finally:
        first.kill()
    with ServerProcess(database_url, log=tmp_path / "server.log", **env) as second:
        client = second.client()
        during = client.get(f"/batches/{bid}").json()
        assert during["state"] in ("generating", "generated")
        done = _poll(client, bid, lambda b: b["state"] == "generated")
        assert done["metrics"]["total"] == 60_000
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count, distinct_serials, distinct_codes, lo, hi = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT serial), count(DISTINCT code), min(serial), max(serial) "
                "FROM vouchers WHERE batch_id = :b"
            ),
            {"b": bid},
        ).one()
    engine.dispose()
    assert (count, distinct_serials, distinct_codes, lo, hi) == (60_000, 60_000, 60_000, 1, 60_000)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_on_postgresql_give_one_winner_per_voucher(postgres_server, tmp_path):
    name = f"race_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(name)
    url = postgres_server.url(name)
    servers = [ServerProcess(url, log=tmp_path / f"s{i}.log").start() for i in range(2)]
    try:
        admin = servers[0].client()
        admin.post("/stores", json={"id": "s1", "name": "One", "timezone": "UTC"}).raise_for_status()
        bid = admin.post(
            "/batches", json={"identifier": "Race", "serial_start": 1, "serial_end": 100}
        ).json()["id"]
        admin.post(f"/batches/{bid}/types", json={"name": "All", "value": "£1"}).raise_for_status()
        for step in ("validate", "generate"):
            admin.post(f"/batches/{bid}/{step}").raise_for_status()
        _poll(admin, bid, lambda b: b["state"] == "generated")
        for step in ("distribute", "redeemable"):
            admin.post(f"/batches/{bid}/{step}").raise_for_status()
        token = admin.get(f"/batches/{bid}").json()["claim_token"]
        for i in range(100):
            admin.post(
                "/claims", json={"claim_token": token, "member_id": f"m{i}@example.com"}
            ).raise_for_status()
        ids = [
            v["id"] for v in admin.get(f"/batches/{bid}/vouchers", params={"limit": 1000}).json()["vouchers"]
        ]
        tokens = []
        for i in range(8):
            code = admin.post("/stores/s1/enrolment-codes").json()["code"]
            tokens.append(
                admin.post("/devices/enrol", json={"enrolment_code": code, "device_name": f"t{i}"}).json()[
                    "token"
                ]
            )
        outcomes: list[str] = []
        lock = threading.Lock()

        def till(i: int) -> None:
            client = servers[i % 2].client(tokens[i])
            order = ids[i * 13 % 100 :] + ids[: i * 13 % 100]
            for start in range(0, 100, 25):
                events = [
                    {
                        "id": str(uuid.uuid4()),
                        "kind": "redeem",
                        "voucher_id": vid,
                        "at": datetime.now(UTC).isoformat(),
                        "device_seq": start + n,
                    }
                    for n, vid in enumerate(order[start : start + 25])
                ]
                results = client.post("/sync/events", json={"events": events}).json()["results"]
                with lock:
                    outcomes.extend(r["outcome"] for r in results)

        threads = [threading.Thread(target=till, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(outcomes) == 800
        assert outcomes.count("accepted") == 100 and outcomes.count("conflict") == 700
        assert admin.get(f"/batches/{bid}").json()["metrics"]["redeemed"] == 100
    finally:
        for s in servers:
            s.stop()
        postgres_server.drop_database(name)
