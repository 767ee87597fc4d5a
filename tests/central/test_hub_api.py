"""Head office's side of a shop's hub (docs/PROTOCOL.md, "A shop's hub"), on the real app over
SQLite and PostgreSQL: enrolment codes with a role, the hub's device list of its own store, events
the hub sends on behalf of its tills recorded under them; and the same through the admin commands
against a real server process and the dashboard's store page."""

from __future__ import annotations

import hashlib
import html
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.api import TEST_ADMIN

from harness import ServerProcess
from vouchers.wire import DevicesResponse, EnrolResponse

NOW = datetime.now(UTC)
CLI = str(Path(sys.executable).parent / "voucher-central")


def redeem(voucher_id: str, seq: int = 1, **extra) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": voucher_id,
        "at": NOW.isoformat(),
        "device_seq": seq,
        **extra,
    }


def enrol(api, store_id: str, name: str, role: str | None = None) -> dict:
    body = None if role is None else {"role": role}
    code = api.call("POST", f"/stores/{store_id}/enrolment-codes", 201, json=body).json()
    assert code["role"] == (role or "till")
    return api.call(
        "POST", "/devices/enrol", 201, json={"enrolment_code": code["code"], "device_name": name}
    ).json()


def push(api, device: dict, *events: dict) -> list[dict]:
    answer = api.call("POST", "/sync/events", 200, token=device["token"], json={"events": list(events)})
    return answer.json()["results"]


def listing(api, device: dict, expect: int = 200):
    return api.call("GET", "/sync/devices", expect, token=device["token"])


@pytest.fixture
def shop(api):
    """Store s1 with a hub and two tills, and store s2 with a till of its own."""
    api.store("s1")
    api.store("s2")
    return {
        "till1": enrol(api, "s1", "till-1"),
        "hub": enrol(api, "s1", "back-office", "hub"),
        "till2": enrol(api, "s1", "till-2", "till"),
        "other": enrol(api, "s2", "till-9"),
    }


def vouchers_of(api, batch: dict, *members: str) -> list[dict]:
    return [api.call("GET", f"/vouchers/{api.claim(batch, m)['code']}", 200).json() for m in members]


def test_an_enrolment_code_makes_a_device_of_its_role_and_the_audit_log_says_which(api, shop):
    assert shop["hub"]["role"] == "hub" and shop["till1"]["role"] == shop["till2"]["role"] == "till"
    assert EnrolResponse.from_wire(shop["hub"]).role == "hub"
    old_answer = {k: v for k, v in shop["till1"].items() if k != "role"}  # a server before roles
    assert EnrolResponse.from_wire(old_answer).role == "till"
    listed = {d["id"]: d["role"] for d in api.call("GET", "/stores/s1", 200).json()["devices"]}
    assert listed == {
        shop["till1"]["device_id"]: "till",
        shop["hub"]["device_id"]: "hub",
        shop["till2"]["device_id"]: "till",
    }
    entries = api.call("GET", "/audit", 200, params={"action": "store.enrolment-code"}).json()
    assert sorted(e["after"]["role"] for e in entries if e["entity_id"] == "s1") == ["hub", "till", "till"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "kiosk"}, "role"),
        ({"role": ""}, "role"),
        ({"role": None}, "role"),
        ({"role": "hub", "x": 1}, "x"),
    ],
)
def test_an_enrolment_code_of_no_known_role_is_refused_in_words(api, body, field):
    api.store("s1")
    refused = api.call("POST", "/stores/s1/enrolment-codes", 422, json=body).json()
    assert refused["type"].endswith("invalid-input")
    assert [e["field"] for e in refused["errors"]] == [field]
    assert refused["detail"].startswith(f"{field}: ") and "Traceback" not in refused["detail"]
    if field == "role":
        assert "'till' or 'hub'" in refused["detail"]
    assert api.call("GET", "/stores/s1", 200).json()["devices"] == []


def test_the_hub_lists_every_device_of_its_own_store_with_token_hashes(api, shop):
    answer = listing(api, shop["hub"]).json()
    parsed = DevicesResponse.from_wire(answer)
    assert parsed.server_time.tzinfo is not None
    by_id = {d.device_id: d for d in parsed.devices}
    assert set(by_id) == {shop[k]["device_id"] for k in ("till1", "hub", "till2")}  # never s2's till
    assert shop["other"]["device_id"] not in str(answer)
    for key, name, role in (
        ("till1", "till-1", "till"),
        ("hub", "back-office", "hub"),
        ("till2", "till-2", "till"),
    ):
        device = by_id[shop[key]["device_id"]]
        assert (device.name, device.role, device.revoked) == (name, role, False)
        assert device.token_hash == hashlib.sha256(shop[key]["token"].encode()).hexdigest()
    assert [d.device_id for d in parsed.devices] == [shop[k]["device_id"] for k in ("till1", "hub", "till2")]
    enrolled = [d.enrolled_at for d in parsed.devices]
    assert None not in enrolled and enrolled == sorted(enrolled)


def test_a_revoked_till_is_listed_as_revoked_and_a_revoked_hub_gets_401(api, shop):
    api.call("POST", f"/devices/{shop['till2']['device_id']}/revoke", 200)
    revoked = {d["device_id"]: d["revoked"] for d in listing(api, shop["hub"]).json()["devices"]}
    assert revoked[shop["till2"]["device_id"]] is True and revoked[shop["till1"]["device_id"]] is False
    api.call("POST", f"/devices/{shop['hub']['device_id']}/revoke", 200)
    gone = listing(api, shop["hub"], 401).json()
    assert gone["detail"] and "revoked" in gone["detail"]


def test_a_till_may_not_read_the_device_list(api, shop):
    for key in ("till1", "other"):
        refused = listing(api, shop[key], 403).json()
        assert "only a device enrolled with a hub's enrolment code" in refused["detail"]
        assert "token_hash" not in str(refused)
    assert api.call("GET", "/sync/devices", 401, headers={"Authorization": ""}).json()["detail"]


def test_a_hub_of_another_store_sees_only_its_own(api, shop):
    hub2 = enrol(api, "s2", "hub-2", "hub")
    listed = {d["device_id"] for d in listing(api, hub2).json()["devices"]}
    assert listed == {shop["other"]["device_id"], hub2["device_id"]}


def test_events_the_hub_sends_for_its_tills_are_recorded_under_them(api, shop):
    batch = api.batch(5)
    first, second = vouchers_of(api, batch, "ann", "bob")
    till1, till2 = shop["till1"]["device_id"], shop["till2"]["device_id"]
    by1, by2 = redeem(first["id"], 1, device_id=till1), redeem(second["id"], 1, device_id=till2)
    assert [r["outcome"] for r in push(api, shop["hub"], by1, by2)] == ["accepted", "accepted"]
    for voucher, event, till in ((first, by1, till1), (second, by2, till2)):
        seen = api.call("GET", f"/vouchers/{voucher['code']}", 200).json()
        [recorded] = [e for e in seen["history"] if e["id"] == event["id"]]
        assert (recorded["store_id"], recorded["device_id"]) == ("s1", till)
        assert (seen["redemption"]["store_id"], seen["redemption"]["device_id"]) == ("s1", till)
    again = push(api, shop["hub"], by1)  # the hub sends again after a crash
    assert again[0]["outcome"] == "duplicate" and again[0]["first"]["outcome"] == "accepted"
    assert api.get(batch["id"])["metrics"]["redeemed"] == 2
    # the till itself sending the same event (it pushed to head office before the hub was there)
    assert push(api, shop["till1"], {**by1, "device_id": None})[0]["outcome"] == "duplicate"
    # another store's redemption of the same voucher loses to the till behind the hub
    [lost] = push(api, shop["other"], redeem(first["id"], 1))
    assert lost["outcome"] == "conflict" and lost["winner"]["device_id"] == till1
    assert lost["winner"]["store_id"] == "s1"


def test_a_revoked_tills_events_forwarded_by_the_hub_are_still_decided(api, shop):
    """What the till did at the counter before head office revoked it reached the hub; the hub
    forwards it later, and head office decides it like the till's own journal pushed again."""
    batch = api.batch(5)
    [voucher] = vouchers_of(api, batch, "ann")
    till2 = shop["till2"]["device_id"]
    api.call("POST", f"/devices/{till2}/revoke", 200)
    [result] = push(api, shop["hub"], redeem(voucher["id"], 4, device_id=till2))
    assert result["outcome"] == "accepted"
    seen = api.call("GET", f"/vouchers/{voucher['code']}", 200).json()
    assert seen["redemption"]["device_id"] == till2


def test_the_hub_cannot_name_a_device_of_another_store_a_hub_or_nobody(api, shop):
    batch = api.batch(5)
    [voucher] = vouchers_of(api, batch, "ann")
    hub_b = enrol(api, "s1", "second-hub", "hub")
    names = (shop["other"]["device_id"], hub_b["device_id"], "d_nobody")
    results = push(api, shop["hub"], *(redeem(voucher["id"], n, device_id=d) for n, d in enumerate(names, 1)))
    assert [(r["outcome"], r["reason"]) for r in results] == [("rejected", "UNKNOWN_DEVICE")] * 3
    assert api.get(batch["id"])["metrics"]["redeemed"] == 0
    history = api.call("GET", f"/vouchers/{voucher['code']}", 200).json()["history"]
    assert {e["device_id"] for e in history} == {shop["hub"]["device_id"]}  # kept, under the sender


def test_a_till_names_only_an_earlier_till_of_its_store(api, shop):
    """till-2, enrolled after till-1, may push till-1's events (a till enrolled again pushes its old
    journal); till-1 may not push till-2's, nor any till the hub's."""
    batch = api.batch(5)
    first, second, third = vouchers_of(api, batch, "ann", "bob", "cy")
    till1, till2, hub = (shop[k]["device_id"] for k in ("till1", "till2", "hub"))
    [earlier] = push(api, shop["till2"], redeem(first["id"], 1, device_id=till1))
    assert earlier["outcome"] == "accepted"
    later = push(
        api, shop["till1"], redeem(second["id"], 1, device_id=till2), redeem(third["id"], 2, device_id=hub)
    )
    assert [(r["outcome"], r["reason"]) for r in later] == [("rejected", "UNKNOWN_DEVICE")] * 2
    assert api.get(batch["id"])["metrics"]["redeemed"] == 1


def test_a_tills_heartbeat_passed_through_by_the_hub_is_the_tills(api, shop):
    """The hub forwards a till's heartbeat with the till's own token: head office records it as the
    till's, and the hub's own heartbeat as the hub's."""
    for key, pending in (("till1", 2), ("hub", 7)):
        api.call(
            "POST",
            "/sync/heartbeat",
            200,
            token=shop[key]["token"],
            json={"version": "1", "pending": pending, "snapshot_cursor": 3},
        )
    devices = {d["id"]: d for d in api.call("GET", "/stores/s1", 200).json()["devices"]}
    assert devices[shop["till1"]["device_id"]]["pending"] == 2
    assert (devices[shop["hub"]["device_id"]]["pending"], devices[shop["hub"]["device_id"]]["role"]) == (
        7,
        "hub",
    )
    assert devices[shop["till2"]["device_id"]]["last_heartbeat_at"] is None


def test_the_store_page_issues_a_hub_code_and_shows_roles(client, api, shop):
    page = client.get("/dashboard/sign-in")
    token = re.search(r'name="sign_in_token" value="([^"]+)"', page.text).group(1)
    done = client.post(
        "/dashboard/sign-in",
        data={
            "email": TEST_ADMIN,
            "password": "a password nobody types",
            "sign_in_token": token,
            "next": "/dashboard/stores/s1",
        },
    )
    assert done.status_code == 200, done.text
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', done.text).group(1)
    roles = re.findall(r'data-col="role">(\w+)<', done.text)
    assert roles == ["Till", "Hub", "Till"]
    issued = client.post("/dashboard/stores/s1/enrolment-codes", data={"csrf_token": csrf, "role": "hub"})
    assert (
        issued.status_code == 201 and 'data-role="hub"' in issued.text and "voucher-hub enrol" in issued.text
    )
    code = re.search(r"data-enrolment-code[^>]*>([^<]+)<", issued.text).group(1)
    hub = api.call(
        "POST", "/devices/enrol", 201, json={"enrolment_code": code, "device_name": "hub-b"}
    ).json()
    assert hub["role"] == "hub"
    till = client.post("/dashboard/stores/s1/enrolment-codes", data={"csrf_token": csrf})
    assert till.status_code == 201 and 'data-role="till"' in till.text and "voucher-sync enrol" in till.text
    wrong = client.post("/dashboard/stores/s1/enrolment-codes", data={"csrf_token": csrf, "role": "kiosk"})
    assert wrong.status_code == 422 and "Choose a till or the shop's hub" in html.unescape(wrong.text)
    assert "data-enrolment-code" not in wrong.text


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ServerProcess(f"sqlite:///{tmp_path_factory.mktemp('hub-cli') / 'central.db'}") as process:
        yield process


def run(server, *args: str) -> str:
    env = {**os.environ, "VOUCHER_TOKEN": server.staff_token(), "VOUCHER_SERVER": server.url}
    result = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_admin_commands_make_a_hub_code_and_list_roles(server):
    run(server, "store", "create", "york", "York Stonegate")
    assert "No devices at store york." in run(server, "device", "list", "--store", "york")
    hub_line = run(server, "store", "enrolment-code", "york", "--hub")
    assert re.match(r"^[0-9A-Z]{4}-[0-9A-Z]{4}  \(store york, for the shop's hub", hub_line)
    till_code = run(server, "store", "enrolment-code", "york").split()[0]
    with server.client() as http:
        for code, name in ((hub_line.split()[0], "york-hub"), (till_code, "york-till")):
            enrolled = http.post("/devices/enrol", json={"enrolment_code": code, "device_name": name})
            assert enrolled.status_code == 201, enrolled.text
            assert enrolled.json()["role"] == ("hub" if name == "york-hub" else "till")
    lines = run(server, "device", "list").splitlines()
    assert [(line.split()[1], line.split()[2], line.split()[3]) for line in lines] == [
        ("york", "hub", "york-hub"),
        ("york", "till", "york-till"),
    ]
    assert "active, last heartbeat never" in lines[0]
    assert " hub " in run(server, "store", "show", "york")
