"""The hub's HTTP app (hub/app.py) over httpx's ASGI transport, its lifespan run, on a real
hub.db: who is let in (401, 403, 503 and never 401 on a guess), the enrolment passed on to head
office, the live wait woken by another till's upload, and the upload's validation.

Head office is a closed port on loopback (down) for most tests, and a real `voucher-central
serve` process for those that need it to answer."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from harness import HeadOffice, ServerProcess, free_port
from hub.app import create_app, release_waiting
from hub.settings import HubSettings
from localdb.identity import Identity
from sync.client import SyncClient
from vouchers.wire import SnapshotPage, StoreDevice

T = TypeVar("T")
STORE = "s1"
KEY = "22" * 32
DEADLINE = 30  # for a request that must answer well before its wait: honest on a busy machine
HUB_TOKEN, TILL_TOKEN, OTHER_TILL_TOKEN, REVOKED_TOKEN = "hub-tok", "till-tok", "till2-tok", "gone-tok"


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def devices() -> list[StoreDevice]:
    """The store's devices as head office lists them to its hub."""
    return [
        StoreDevice(
            device_id="hub-1", name="back office", role="hub", token_hash=sha(HUB_TOKEN), revoked=False
        ),
        StoreDevice(
            device_id="till-1", name="till 1", role="till", token_hash=sha(TILL_TOKEN), revoked=False
        ),
        StoreDevice(
            device_id="till-2", name="till 2", role="till", token_hash=sha(OTHER_TILL_TOKEN), revoked=False
        ),
        StoreDevice(
            device_id="till-0", name="old till", role="till", token_hash=sha(REVOKED_TOKEN), revoked=True
        ),
    ]


def head_office_page() -> SnapshotPage:
    """Head office's first (and whole) page of the store: one redeemable batch, two claimed vouchers."""
    return SnapshotPage.from_wire(
        {
            "cursor": 0,
            "next_cursor": 7,
            "complete": True,
            "store": {"id": STORE, "timezone": "Europe/London"},
            "batches": [
                {
                    "id": "b",
                    "identifier": "Spring",
                    "description": "",
                    "state": "redeemable",
                    "claims": "active",
                    "valid_from": None,
                    "valid_until": None,
                    "stores": None,
                }
            ],
            "types": [
                {
                    "id": "t",
                    "batch_id": "b",
                    "name": "Std",
                    "value": "£5 off",
                    "min_purchase": None,
                    "initial_status": "unused",
                }
            ],
            "vouchers": [
                {
                    "id": f"b.{serial}",
                    "batch_id": "b",
                    "type_id": "t",
                    "serial": serial,
                    "code_hash": f"{serial:064x}",
                    "claimed": True,
                    "status": "unused",
                    "used_at": None,
                    "used_store": None,
                }
                for serial in (1, 2)
            ],
            "deleted": {},
        }
    )


def settings_for(tmp_path: Path, server: str) -> HubSettings:
    return HubSettings(
        server=server,
        state_dir=tmp_path / "hub",
        timeout_seconds=3,
        backoff_initial_seconds=0.05,
        backoff_max_seconds=0.5,
    )


def dead_head_office() -> str:
    """A loopback port nothing listens on: head office down (connections refused at once)."""
    return f"http://127.0.0.1:{free_port()}"


@asynccontextmanager
async def running(
    settings: HubSettings, identity: Identity, *, loops: bool = False, seeded: bool = True
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The app with its lifespan (hub.db opened, closed after), and a client of it."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, identity, upstream_loops=loops)
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        if seeded:
            hub.store.set_devices(devices())
            hub.store.apply_upstream(head_office_page(), hub.store.begin_pull())
            hub.moved()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test/api/v1") as client:
            yield app, client


def run(test: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(test())  # type: ignore[arg-type]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def heartbeat_body() -> dict:
    return {"version": "1", "pending": 0, "last_pull_at": None, "last_push_at": None, "snapshot_cursor": 0}


def redeem(voucher_id: str, seq: int = 1) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher_id,
        "at": datetime.now(UTC).isoformat(),
        "device_seq": seq,
    }


async def waiting_at_hub(client: httpx.AsyncClient, count: int) -> None:
    """Until `count` requests wait at the hub for a change (its /healthz says how many)."""
    deadline = time.monotonic() + DEADLINE
    while (await client.get("http://hub.test/healthz")).json()["waiting"] != count:
        assert time.monotonic() < deadline, f"{count} request(s) not waiting within {DEADLINE} s"
        await asyncio.sleep(0.01)


def is_problem(answer: httpx.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict = answer.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.fixture
def identity() -> Identity:
    return Identity(
        server="http://unused.test", device_id="hub-1", store_id=STORE, token=HUB_TOKEN, code_hash_key=KEY
    )


# --- who is let in -------------------------------------------------------------------------------------


def test_tills_of_the_store_are_let_in_and_a_revoked_till_or_a_hubs_token_are_not(tmp_path, identity):
    async def test() -> None:
        async with running(settings_for(tmp_path, dead_head_office()), identity) as (_, client):
            ok = await client.post("/sync/heartbeat", json=heartbeat_body(), headers=auth(TILL_TOKEN))
            assert ok.status_code == 200 and "server_time" in ok.json()
            missing = await client.post("/sync/heartbeat", json=heartbeat_body())
            assert "Bearer" in is_problem(missing, 401)["detail"]
            revoked = await client.get("/sync/snapshot", headers=auth(REVOKED_TOKEN))
            assert "revoked" in is_problem(revoked, 401)["detail"]
            hub = await client.get("/sync/snapshot", headers=auth(HUB_TOKEN))
            assert "hub" in is_problem(hub, 403)["detail"]

    run(test)


def test_an_unknown_token_while_head_office_is_down_is_503_never_401(tmp_path, identity):
    """A 401 makes a till wipe its snapshot: the hub says so only when head office said so."""

    async def test() -> None:
        async with running(settings_for(tmp_path, dead_head_office()), identity) as (_, client):
            started = time.monotonic()
            answer = await client.get("/sync/snapshot", headers=auth("a-till-enrolled-a-moment-ago"))
            body = is_problem(answer, 503)
            assert answer.headers["retry-after"].isdigit()
            assert "head office" in body["detail"].lower()
            assert time.monotonic() - started < DEADLINE

    run(test)


def test_an_enrolment_with_head_office_down_is_503_in_words(tmp_path, identity):
    async def test() -> None:
        async with running(settings_for(tmp_path, dead_head_office()), identity, seeded=False) as (_, client):
            answer = await client.post(
                "/devices/enrol", json={"enrolment_code": "ABCD-EFGH", "device_name": "till 3"}
            )
            body = is_problem(answer, 503)
            assert "head office" in body["title"].lower() and "try again" in body["detail"]
            assert "Traceback" not in answer.text

    run(test)


def test_no_snapshot_is_served_before_head_offices_has_come(tmp_path, identity):
    async def test() -> None:
        async with running(settings_for(tmp_path, dead_head_office()), identity, seeded=False) as (
            app,
            client,
        ):
            app.state.hub.store.set_devices(devices())
            answer = await client.get("/sync/snapshot", headers=auth(TILL_TOKEN))
            assert "head office" in is_problem(answer, 503)["detail"]

    run(test)


# --- live changes --------------------------------------------------------------------------------------


def test_a_waiting_till_is_answered_when_another_till_redeems(tmp_path, identity):
    async def test() -> None:
        async with running(settings_for(tmp_path, dead_head_office()), identity) as (_, client):
            first = (await client.get("/sync/snapshot", headers=auth(TILL_TOKEN))).json()
            assert first["complete"] and {v["id"] for v in first["vouchers"]} == {"b.1", "b.2"}
            assert "wait" not in first  # a till that does not ask to wait sees no difference
            cursor = first["next_cursor"]

            started = time.monotonic()
            waiting = asyncio.create_task(
                client.get("/sync/snapshot", params={"cursor": cursor, "wait": 50}, headers=auth(TILL_TOKEN))
            )
            await waiting_at_hub(client, 1)
            upload = await client.post(
                "/sync/events", json={"events": [redeem("b.1")]}, headers=auth(OTHER_TILL_TOKEN)
            )
            assert [r["outcome"] for r in upload.json()["results"]] == ["accepted"]
            page = (await asyncio.wait_for(waiting, DEADLINE)).json()
            assert time.monotonic() - started < DEADLINE  # woken, not timed out after 50 s
            assert page["wait"] == 50 and page["next_cursor"] > cursor
            assert [(v["id"], v["status"]) for v in page["vouchers"]] == [("b.1", "used")]

            # nothing changes: the empty page after the wait, saying the hub waits
            quiet = await client.get(
                "/sync/snapshot",
                params={"cursor": page["next_cursor"], "wait": 0.5},
                headers=auth(TILL_TOKEN),
            )
            assert quiet.json()["vouchers"] == [] and quiet.json()["wait"] == 0.5

    run(test)


def test_a_stopping_hub_answers_its_waiting_tills_at_once(tmp_path, identity):
    async def test() -> None:
        async with running(settings_for(tmp_path, dead_head_office()), identity) as (app, client):
            head = (await client.get("/sync/snapshot", headers=auth(TILL_TOKEN))).json()["next_cursor"]
            waiting = asyncio.create_task(
                client.get("/sync/snapshot", params={"cursor": head, "wait": 60}, headers=auth(TILL_TOKEN))
            )
            await waiting_at_hub(client, 1)
            started = time.monotonic()
            release_waiting(app)  # what SIGTERM does before the server stops (hub/cli.py)
            answer = await asyncio.wait_for(waiting, DEADLINE)
            assert answer.status_code == 200 and answer.json()["vouchers"] == []
            assert time.monotonic() - started < DEADLINE

    run(test)


# --- uploads -------------------------------------------------------------------------------------------


def test_uploads_are_validated_as_head_office_validates_them(tmp_path, identity):
    async def test() -> None:
        async with running(settings_for(tmp_path, dead_head_office()), identity) as (_, client):
            till = auth(TILL_TOKEN)
            not_json = await client.post(
                "/sync/events", content=b"{not json", headers={**till, "Content-Type": "application/json"}
            )
            assert is_problem(not_json, 422)["type"].endswith("malformed-json")
            no_voucher = {**redeem("b.1"), "voucher_id": None}
            bad = await client.post("/sync/events", json={"events": [no_voucher]}, headers=till)
            body = is_problem(bad, 422)
            assert body["errors"] and "voucher_id" in body["detail"]
            too_many = await client.post(
                "/sync/events", json={"events": [redeem("b.2", i) for i in range(1001)]}, headers=till
            )
            assert is_problem(too_many, 422)["errors"][0]["field"].startswith("events")
            unknown = await client.post("/sync/events", json={"events": [], "extra": 1}, headers=till)
            is_problem(unknown, 422)
            # none of them was taken: the voucher is still unused for the next upload
            good = await client.post("/sync/events", json={"events": [redeem("b.2")]}, headers=till)
            assert [r["outcome"] for r in good.json()["results"]] == ["accepted"]

    run(test)


# --- with head office answering --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def head_office_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("central")
    with ServerProcess(f"sqlite:///{root / 'central.db'}", log=root / "central.log") as server:
        with HeadOffice(server) as office:
            office.store(STORE)
        yield server


@pytest.fixture
def head_office(head_office_server):
    """The module's head office, with a client of this test's own (a connection kept alive from an
    earlier test may be closed by the server just as it is used again)."""
    with HeadOffice(head_office_server) as office:
        yield head_office_server, office


def enrolled_hub(server: ServerProcess, office: HeadOffice) -> Identity:
    code = office.api.post(f"/stores/{STORE}/enrolment-codes", {"role": "hub"})["code"]
    client = SyncClient(server.url)
    try:
        answer = client.enrol(code, "back office")
    finally:
        client.close()
    return Identity(server.url, answer.device_id, answer.store_id, answer.token, answer.code_hash_key)


def test_a_till_enrolled_through_the_hub_is_let_in_at_once_and_a_made_up_token_is_401(tmp_path, head_office):
    server, office = head_office

    async def test() -> None:
        identity = enrolled_hub(server, office)
        async with running(settings_for(tmp_path, server.url), identity, seeded=False) as (_, client):
            code = office.enrolment_code(STORE)
            enrolled = await client.post(
                "/devices/enrol", json={"enrolment_code": code, "device_name": "till 9"}
            )
            assert enrolled.status_code == 201, enrolled.text
            till = enrolled.json()
            assert till["store_id"] == STORE and till["token"]
            beat = await client.post("/sync/heartbeat", json=heartbeat_body(), headers=auth(till["token"]))
            assert beat.status_code == 200, beat.text
            again = await client.post(
                "/devices/enrol", json={"enrolment_code": code, "device_name": "till 10"}
            )
            assert again.status_code >= 400 and again.json()["detail"]  # head office's own answer, as it is
            made_up = await client.post("/sync/heartbeat", json=heartbeat_body(), headers=auth("made-up"))
            assert is_problem(made_up, 401)["title"] == "Device not recognised"

    run(test)


def test_a_hub_revoked_at_head_office_answers_its_tills_503_in_words(tmp_path, head_office):
    server, office = head_office

    async def test() -> None:
        identity = enrolled_hub(server, office)
        async with running(settings_for(tmp_path, server.url), identity, seeded=False) as (_, client):
            code = office.enrolment_code(STORE)
            till = (
                await client.post("/devices/enrol", json={"enrolment_code": code, "device_name": "t"})
            ).json()
            assert (
                await client.post("/sync/heartbeat", json=heartbeat_body(), headers=auth(till["token"]))
            ).status_code == 200
            office.api.post(f"/devices/{identity.device_id}/revoke")
            answer = await client.post(
                "/sync/heartbeat", json=heartbeat_body(), headers=auth("unknown-to-the-hub")
            )
            body = is_problem(answer, 503)
            assert "revoked" in body["detail"]
            known = await client.post("/sync/heartbeat", json=heartbeat_body(), headers=auth(till["token"]))
            assert "revoked" in is_problem(known, 503)["detail"]  # not a 401: the till keeps its snapshot

    run(test)
