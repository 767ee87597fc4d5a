"""Bad input gets a clear problem+json answer (docs/PROTOCOL.md) and changes nothing.

Each refused request is wrapped in `unchanged`, which compares every row of every table of the
server's database before and after. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from support.api import ADMIN_TOKEN, Api

from central.db.schema import metadata
from vouchers.codes import ALPHABET, check_character, format_code, new_code

PROBLEM = "application/problem+json"
LIFECYCLE = ["validate", "configure", "generate", "distribute", "redeemable", "lock", "void"]


def json_header() -> dict:
    return {"Content-Type": "application/json"}  # a new dict each time: Api.call adds to the one it gets


# ---------------------------------------------------------------------------------------------
# The world each test starts from, what "nothing changed" means, and what a problem looks like


@dataclass
class World:
    api: Api
    device: dict  # enrolled at store s1: device_id, token
    batch: dict  # redeemable, vouchers 1..3, the first claimed by member-1
    draft: dict  # configuring, with one type
    code: str  # the claimed voucher's code
    voucher_id: str  # and its id

    @property
    def type_id(self) -> str:
        return self.draft["types"][0]["id"]

    @property
    def token(self) -> str:
        return self.device["token"]


@pytest.fixture
def world(api: Api) -> World:
    api.store("s1")
    device = api.device("s1")
    batch = api.batch(3)
    code = api.claim(batch, "member-1")["code"]
    draft = api.batch(3, state="configuring", identifier="Draft")
    voucher_id = api.vouchers(batch["id"], claimed="true")[0]["id"]
    return World(api, device, api.get(batch["id"]), draft, code, voucher_id)


@dataclass
class Till:
    api: Api
    token: str  # a device enrolled at store s1


@pytest.fixture
def till(api: Api) -> Till:
    """A store and an enrolled device, no batches: for tests that need no more."""
    api.store("s1")
    return Till(api, api.device("s1")["token"])


def everything(api: Api) -> dict[str, list[tuple]]:
    """Every row of every table, read straight from the server's database: batches, vouchers,
    the ledger, stores, devices and their heartbeats, enrolment codes, tombstones, the change
    counter. (Stronger and much faster than reading it all back through the API.) Not the rate-limit
    counters, nor when an API token was last used: every request counts there, refused or not."""
    db = api.client.app.state.context.db
    with db.read() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
            if table.name not in ("rate_limits", "staff_tokens")
        }


@contextmanager
def unchanged(api: Api, what: str) -> Iterator[None]:
    before = everything(api)
    yield
    assert everything(api) == before, f"{what} changed the server's state"


def problem(response: httpx.Response, status: int | None, *fields: str) -> dict:
    """The answer is problem+json with `status` (any 4xx when None); a 422 carries `errors`, a
    list of {field, message} naming each of `fields` (in `field`, or at least in `message`)."""
    where = f"{response.request.method} {str(response.request.url)[:200]}"
    if status is None:
        assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    else:
        assert response.status_code == status, f"{where}: {response.status_code} {response.text[:300]}"
    assert response.headers.get("content-type", "").startswith(PROBLEM), f"{where}: {response.headers}"
    body = response.json()
    for key in ("type", "title", "detail"):
        assert isinstance(body.get(key), str) and body[key], f"{where}: no {key} in {body}"
    assert body.get("status") == response.status_code, f"{where}: {body}"
    if status == 422:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, f"{where}: no errors list in {body}"
        for error in errors:
            assert isinstance(error.get("field"), str) and isinstance(error.get("message"), str), (
                f"{where}: {error}"
            )
        for name in fields:
            assert any(
                name in (e["field"], *e["field"].split("."))
                or e["field"].startswith(f"{name}.")
                or name in e["message"]
                for e in errors
            ), f"{where}: {name} is not named in {errors}"
    return body


def send(api: Api, method: str, path: str, authorization: str | None, **kw) -> httpx.Response:
    """A request with exactly this Authorization header (none when None)."""
    headers = {
        **kw.pop("headers", {}),
        **({"Authorization": authorization} if authorization is not None else {}),
    }
    return api.client.request(method, f"/api/v1{path}", headers=headers, **kw)


def now() -> str:
    return datetime.now(UTC).isoformat()


def redeem(w: World, **extra) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "kind": "redeem",
        "voucher_id": w.voucher_id,
        "at": now(),
        "device_seq": 1,
        **extra,
    }


def refused_scan(seq: int) -> dict:
    return {"id": str(uuid.uuid4()), "kind": "refused", "at": now(), "device_seq": seq, "verdict": "UNKNOWN"}


def without(body: dict, *keys: str) -> dict:
    return {k: v for k, v in body.items() if k not in keys}


# ---------------------------------------------------------------------------------------------
# Bodies: malformed, not an object, unknown fields, wrong types, missing or null fields


@dataclass
class Endpoint:
    method: str
    path: str
    valid: dict  # a body the server takes (or refuses only for the state it finds)
    wrong: dict  # fields with a value of the wrong type
    required: tuple[str, ...] = ()
    not_null: tuple[str, ...] = ()  # optional in a PATCH, but not nullable
    device: bool = False  # a /sync endpoint: sent with the device token


ENDPOINTS: dict[str, Callable[[World], Endpoint]] = {
    "POST /stores": lambda w: Endpoint(
        "POST",
        "/stores",
        {"id": "s9", "name": "Store 9", "timezone": "UTC"},
        {"name": ["Store 9"]},
        required=("id", "name"),
    ),
    "POST /batches": lambda w: Endpoint(
        "POST",
        "/batches",
        {"identifier": "New", "serial_start": 1, "serial_end": 5},
        {"serial_start": "one", "serial_end": 5.5},
        required=("identifier", "serial_start", "serial_end"),
    ),
    "PATCH /batches/{id}": lambda w: Endpoint(
        "PATCH",
        f"/batches/{w.draft['id']}",
        {"identifier": "Renamed"},
        {"serial_end": "ten"},
        not_null=("identifier", "serial_start"),
    ),
    "POST /batches/{id}/types": lambda w: Endpoint(
        "POST",
        f"/batches/{w.draft['id']}/types",
        {"name": "Gold", "value": "£10 off"},
        {"initial_status": 3},
        required=("name", "value"),
    ),
    "PATCH /batches/{id}/types/{type}": lambda w: Endpoint(
        "PATCH",
        f"/batches/{w.draft['id']}/types/{w.type_id}",
        {"name": "Renamed"},
        {"serial_start": [1]},
        not_null=("name", "value"),
    ),
    "POST /vouchers/{code}/status": lambda w: Endpoint(
        "POST",
        f"/vouchers/{w.code}/status",
        {"status": "pending", "reason": "checking"},
        {"status": 1},
        required=("status", "reason"),
    ),
    "POST /claims": lambda w: Endpoint(
        "POST",
        "/claims",
        {"claim_token": w.batch["claim_token"], "member_id": "member-2@example.com"},
        {"member_id": 42},
        required=("claim_token",),  # member_id: required for a token, tested in test_claims.py
    ),
    "POST /devices/enrol": lambda w: Endpoint(
        "POST",
        "/devices/enrol",
        {
            "enrolment_code": w.api.call("POST", "/stores/s1/enrolment-codes", 201).json()["code"],
            "device_name": "till-2",
        },
        {"device_name": {"name": "till-2"}},
        required=("enrolment_code", "device_name"),
    ),
    "POST /sync/events": lambda w: Endpoint(
        "POST",
        "/sync/events",
        {"events": [redeem(w)]},
        {"events": "all of them"},
        required=("events",),
        device=True,
    ),
    "POST /sync/heartbeat": lambda w: Endpoint(
        "POST",
        "/sync/heartbeat",
        {"version": "1.0", "pending": 0, "snapshot_cursor": 0},
        {"pending": "none"},
        required=("version", "pending", "snapshot_cursor"),
        device=True,
    ),
}


def bad_bodies(e: Endpoint) -> list[tuple[str, dict, tuple[str, ...]]]:
    """(what is wrong, request arguments, the fields the errors must name)."""
    cases = [
        ("malformed JSON", {"content": b'{"name": "x", ', "headers": json_header()}, ()),
        ("a JSON array", {"json": [e.valid]}, ()),
        ("a JSON string", {"json": "an object, please"}, ()),
        ("an empty body", {"content": b"", "headers": json_header()}, ()),
        ("an unknown field", {"json": {**e.valid, "surprise": 1}}, ("surprise",)),
        ("wrong types", {"json": {**e.valid, **e.wrong}}, tuple(e.wrong)),
    ]
    if e.required:
        cases.append(("missing required fields", {"json": without(e.valid, *e.required)}, e.required))
    cases += [(f"null {name}", {"json": {**e.valid, name: None}}, (name,)) for name in e.not_null]
    return cases


def test_a_bad_body_is_refused_with_422_and_changes_nothing(world: World, subtests) -> None:
    for name, make in ENDPOINTS.items():  # one world for all, each endpoint reported on its own
        with subtests.test(endpoint=name):
            endpoint = make(world)
            token = world.token if endpoint.device else None
            for what, kwargs, fields in bad_bodies(endpoint):
                with unchanged(world.api, f"{name} with {what}"):
                    problem(
                        world.api.call(endpoint.method, endpoint.path, token=token, **kwargs), 422, *fields
                    )


@pytest.mark.parametrize(
    "chunked",
    [
        False,
        True,
    ],
    ids=["content-length", "chunked"],
)
@pytest.mark.parametrize(
    ("path", "device", "valid"),
    [
        ("/batches", False, {"identifier": "New", "serial_start": 1, "serial_end": 5}),
        ("/sync/events", True, {"events": [refused_scan(1)]}),
    ],
    ids=["POST /batches", "POST /sync/events"],
)
def test_a_body_over_the_limit_is_refused_with_413(
    till: Till, path: str, device: bool, valid: dict, chunked: bool
) -> None:
    limit = till.api.client.app.state.context.settings.max_body_bytes
    body = json.dumps({**valid, "padding": "x" * limit}).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    with unchanged(till.api, f"POST {path} with {len(body)} bytes"):
        response = till.api.call(
            "POST",
            path,
            token=till.token if device else None,
            content=pieces() if chunked else body,
            headers=json_header(),
        )
        assert ("content-length" in response.request.headers) is not chunked
        problem(response, 413)


# ---------------------------------------------------------------------------------------------
# Event uploads


def test_1001_events_are_refused_and_none_of_them_is_recorded(world: World) -> None:
    events = [redeem(world)] + [refused_scan(seq) for seq in range(1, 1001)]
    with unchanged(world.api, "an upload of 1001 events"):
        response = world.api.call("POST", "/sync/events", token=world.token, json={"events": events})
        problem(response, 422, "events")
    results = world.api.call(
        "POST", "/sync/events", 200, token=world.token, json={"events": events[:1000]}
    ).json()
    assert [r["outcome"] for r in results["results"]] == ["accepted"] * 1000
    last = world.api.call(
        "POST", "/sync/events", 200, token=world.token, json={"events": events[1000:]}
    ).json()
    assert last["results"][0]["outcome"] == "accepted"


BAD_EVENTS: dict[str, Callable[[World], dict]] = {
    "a redeem without voucher_id": lambda w: without(redeem(w), "voucher_id"),
    "a revert without reverts": lambda w: redeem(w, kind="revert", reason="wrong item"),
    "a revert without a reason": lambda w: redeem(w, kind="revert", reverts=str(uuid.uuid4())),
    "a revert with a blank reason": lambda w: redeem(
        w, kind="revert", reverts=str(uuid.uuid4()), reason="  "
    ),
    "a refused scan without its verdict": lambda w: without(refused_scan(2), "verdict"),
    "a refused scan whose verdict is ACCEPTED": lambda w: {**refused_scan(2), "verdict": "ACCEPTED"},
    "a refused scan with an unknown verdict": lambda w: {**refused_scan(2), "verdict": "MAYBE"},
    "a redeem carrying a verdict": lambda w: redeem(w, verdict="UNKNOWN"),
    "a redeem carrying reverts and a reason": lambda w: redeem(w, reverts=str(uuid.uuid4()), reason="oops"),
    "an unknown kind": lambda w: redeem(w, kind="steal"),
    "no id": lambda w: without(redeem(w), "id"),
    "an id that is not a UUID": lambda w: redeem(w, id="17"),
    "no kind": lambda w: without(redeem(w), "kind"),
    "no time": lambda w: without(redeem(w), "at"),
    "a time without an offset": lambda w: redeem(w, at="2026-03-02T14:03:00"),
    "a time that is not a time": lambda w: redeem(w, at="yesterday"),
    "no device_seq": lambda w: without(redeem(w), "device_seq"),
    "an unknown field": lambda w: redeem(w, colour="red"),
}


def test_an_event_with_wrong_fields_for_its_kind_spoils_the_whole_upload(world: World) -> None:
    good = redeem(world)
    for what, make in BAD_EVENTS.items():
        with unchanged(world.api, f"an upload with {what}"):
            response = world.api.call(
                "POST", "/sync/events", token=world.token, json={"events": [good, make(world)]}
            )
            problem(response, 422, "events.1")
    results = world.api.call("POST", "/sync/events", 200, token=world.token, json={"events": [good]}).json()
    assert results["results"][0]["outcome"] == "accepted"


def test_an_event_for_an_unknown_long_voucher_id_is_kept_as_rejected(till: Till) -> None:
    event = {**refused_scan(1), "kind": "redeem", "verdict": None, "voucher_id": "b_" + "X" * 150 + ".1"}
    response = till.api.call("POST", "/sync/events", token=till.token, json={"events": [event]})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["outcome"] == "rejected"


# ---------------------------------------------------------------------------------------------
# Unknown ids and garbage in paths and queries


def test_unknown_ids_are_404_and_change_nothing(world: World) -> None:
    draft, type_id, code = world.draft["id"], world.type_id, format_code(new_code())
    requests = [
        ("GET", "/batches/b_NOPE", None),
        ("PATCH", "/batches/b_NOPE", {"identifier": "x"}),
        ("DELETE", "/batches/b_NOPE?confirm=0", None),
        ("POST", "/batches/b_NOPE/types", {"name": "Gold", "value": "£1 off"}),
        ("PATCH", f"/batches/b_NOPE/types/{type_id}", {"name": "x"}),
        ("PATCH", f"/batches/{draft}/types/t_NOPE", {"name": "x"}),
        ("DELETE", f"/batches/{draft}/types/t_NOPE", None),
        *[("POST", f"/batches/b_NOPE/{action}", None) for action in [*LIFECYCLE, "pause", "resume"]],
        ("GET", "/batches/b_NOPE/vouchers", None),
        ("GET", "/batches/b_NOPE/vouchers?format=csv", None),
        ("GET", "/batches/b_NOPE/claim-qr.png", None),
        ("GET", f"/vouchers/{code}", None),
        ("GET", f"/vouchers/{code}/barcode.png", None),
        ("POST", f"/vouchers/{code}/status", {"status": "unused", "reason": "x"}),
        ("GET", "/stores/nope", None),
        ("POST", "/stores/nope/enrolment-codes", None),
        ("GET", "/stores/nope/redemptions", None),
        ("POST", "/devices/d_NOPE/revoke", None),
        ("POST", "/claims", {"claim_token": "nope", "member_id": "member-9@example.com"}),
    ]
    for method, path, body in requests:
        with unchanged(world.api, f"{method} {path}"):
            problem(world.api.call(method, path, json=body), 404)


GARBAGE = {  # already percent-encoded, as it goes on the wire
    "NUL and an invalid UTF-8 byte": "%00%ff",
    "invalid UTF-8": "%ff%fe%fd",
    "10,000 characters": "A" * 10_000,
    "SQL": "'%20OR%20'1'%3D'1'%20--",
    "more SQL": "1%3B%20DROP%20TABLE%20vouchers%3B",
    "unicode": "%C3%84%C3%96-%C3%9F-%F0%9F%98%80-%EF%AC%80",
    "a right-to-left override": "%E2%80%AEABCD-EFGH",
    "an encoded slash": "..%2F..%2Fetc%2Fpasswd",
    "a space": "%20",
    "a percent sign": "%25",
    "a code with a wrong check character": format_code(
        "ABCDEFGHJKMNP" + next(c for c in ALPHABET if c != check_character("ABCDEFGHJKMNP"))
    ),
}


def test_garbage_in_paths_and_queries_gets_a_4xx_never_a_500(world: World) -> None:
    batch = world.batch["id"]
    templates = [
        ("GET", "/vouchers/{}", None),
        ("GET", "/vouchers/{}/barcode.png", None),
        ("POST", "/vouchers/{}/status", {"status": "unused", "reason": "x"}),
        ("GET", f"/batches/{batch}/vouchers?code={{}}", None),
        ("GET", f"/batches/{batch}/vouchers?format=csv&code={{}}", None),
        ("GET", "/batches/{}", None),
        ("POST", "/batches/{}/lock", None),
        ("GET", "/stores/{}/redemptions", None),
        ("POST", "/devices/{}/revoke", None),
    ]
    for what, garbage in GARBAGE.items():
        with unchanged(world.api, what):
            for method, template, body in templates:
                problem(world.api.call(method, template.format(garbage), json=body), None)
            # a filter that matches nothing is a fine answer too
            report = world.api.call("GET", f"/stores/s1/redemptions?batch={garbage}")
            if report.status_code != 200:
                problem(report, None)
            else:
                assert report.json()["events"] == []


def test_a_malformed_code_in_a_path_is_a_validation_error_naming_the_field(api: Api) -> None:
    problem(api.call("GET", "/vouchers/NOT-A-CODE"), 422, "code")


# ---------------------------------------------------------------------------------------------
# Tokens: 401 without a valid one, 403 with one of the wrong kind


def _admin_requests(w: World) -> list[tuple[str, str, dict | None]]:
    """Admin requests, several of which would change something if they were let through."""
    return [
        ("GET", "/batches", None),
        ("POST", "/batches", {"identifier": "New", "serial_start": 1, "serial_end": 5}),
        ("PATCH", f"/batches/{w.draft['id']}", {"identifier": "Renamed"}),
        ("POST", f"/batches/{w.draft['id']}/types", {"name": "Gold", "value": "£10 off"}),
        ("POST", f"/batches/{w.batch['id']}/void", None),
        ("POST", f"/batches/{w.batch['id']}/pause", None),
        ("DELETE", f"/batches/{w.batch['id']}?confirm=3", None),
        ("GET", f"/batches/{w.batch['id']}/vouchers?format=csv", None),
        ("GET", f"/vouchers/{w.code}", None),
        ("POST", f"/vouchers/{w.code}/status", {"status": "pending", "reason": "x"}),
        ("POST", "/stores", {"id": "s9", "name": "Store 9"}),
        ("POST", "/stores/s1/enrolment-codes", None),
        ("POST", f"/devices/{w.device['device_id']}/revoke", None),
    ]


def _sync_requests(w: World) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "/sync/snapshot", None),
        ("POST", "/sync/events", {"events": [redeem(w)]}),
        ("POST", "/sync/heartbeat", {"version": "1.0", "pending": 0, "snapshot_cursor": 0}),
    ]


def test_no_token_or_a_wrong_one_gets_401(world: World) -> None:
    revoked = world.api.device("s1", "till-revoked")
    world.api.call("POST", f"/devices/{revoked['device_id']}/revoke", 200)
    authorizations = {
        "no Authorization header": None,
        "an empty header": "",
        "a wrong token": "Bearer wrong-token",
        "another scheme": f"Basic {ADMIN_TOKEN}",
        "Bearer and nothing": "Bearer ",
        "the admin token with a character more": f"Bearer {ADMIN_TOKEN}x",
        "a revoked device's token": f"Bearer {revoked['token']}",
    }
    for what, authorization in authorizations.items():
        with unchanged(world.api, f"requests with {what}"):
            for method, path, body in _admin_requests(world) + _sync_requests(world):
                problem(send(world.api, method, path, authorization, json=body), 401)


def test_a_device_token_on_admin_endpoints_gets_403(world: World) -> None:
    with unchanged(world.api, "admin requests with a device token"):
        for method, path, body in _admin_requests(world):
            problem(send(world.api, method, path, f"Bearer {world.token}", json=body), 403)


def test_the_admin_token_on_sync_endpoints_gets_403(world: World) -> None:
    with unchanged(world.api, "sync requests with the admin token"):
        for method, path, body in _sync_requests(world):
            problem(send(world.api, method, path, f"Bearer {ADMIN_TOKEN}", json=body), 403)


# ---------------------------------------------------------------------------------------------
# Life cycle and deletion


@pytest.mark.parametrize("state", ["configuring", "validated", "generated", "redeemable", "void"])
def test_a_move_the_current_state_does_not_allow_is_409_with_the_allowed_ones(api: Api, state: str) -> None:
    batch = api.batch(3, state=state)
    bid, allowed = batch["id"], batch["allowed_actions"]
    requests = [("POST", f"/batches/{bid}/{action}", None) for action in LIFECYCLE if action not in allowed]
    if "edit" not in allowed:
        type_path = f"/batches/{bid}/types/{batch['types'][0]['id']}"
        requests += [
            ("PATCH", f"/batches/{bid}", {"identifier": "Renamed"}),
            ("POST", f"/batches/{bid}/types", {"name": "Gold", "value": "£10 off"}),
            ("PATCH", type_path, {"name": "Renamed"}),
            ("DELETE", type_path, None),
        ]
    if "pause" not in allowed and "resume" not in allowed:
        requests += [("POST", f"/batches/{bid}/pause", None), ("POST", f"/batches/{bid}/resume", None)]
    assert requests
    for method, path, body in requests:
        with unchanged(api, f"{method} {path} on a {state} batch"):
            answer = problem(api.call(method, path, json=body), 409)
            assert answer["current_state"] == state
            assert answer["allowed"] == allowed


def test_delete_without_the_right_confirmation_is_409_saying_how_many_vouchers(world: World) -> None:
    path = f"/batches/{world.batch['id']}"
    for confirm in [None, 0, 2, 4, -1, 10**30]:
        with unchanged(world.api, f"DELETE with confirm={confirm}"):
            params = {} if confirm is None else {"confirm": confirm}
            answer = problem(world.api.call("DELETE", path, params=params), 409)
            assert "3 vouchers" in answer["detail"], answer
    with unchanged(world.api, "DELETE with confirm=three"):
        problem(world.api.call("DELETE", path, params={"confirm": "three"}), 422, "confirm")
    world.api.call("DELETE", path, 204, params={"confirm": 3})
    problem(world.api.call("GET", path), 404)


# ---------------------------------------------------------------------------------------------
# Numbers out of range


def test_negative_and_huge_numbers_are_refused_with_422(world: World) -> None:
    batch, draft = world.batch["id"], world.draft["id"]
    new_batch = {"identifier": "New", "serial_start": 1, "serial_end": 5}
    new_type = {"name": "Gold", "value": "£10 off"}
    heartbeat = {"version": "1.0", "pending": 0, "snapshot_cursor": 0}
    cases = [
        # (field, method, path, token, request arguments)
        ("serial_start", "POST", "/batches", None, {"json": {**new_batch, "serial_start": -1}}),
        ("serial_end", "POST", "/batches", None, {"json": {**new_batch, "serial_end": 10**15 + 1}}),
        ("serial_end", "POST", "/batches", None, {"json": {**new_batch, "serial_end": 10**30}}),
        ("serial_end", "POST", "/batches", None, {"json": {**new_batch, "serial_end": 1e308}}),
        ("serial_start", "PATCH", f"/batches/{draft}", None, {"json": {"serial_start": -5}}),
        ("serial_start", "POST", f"/batches/{draft}/types", None, {"json": {**new_type, "serial_start": -1}}),
        ("serial_end", "POST", f"/batches/{draft}/types", None, {"json": {**new_type, "serial_end": 10**30}}),
        *[
            (name, "GET", f"/batches/{batch}/vouchers", None, {"params": {name: value}})
            for name, value in [
                ("limit", 0),
                ("limit", -1),
                ("limit", 10_001),
                ("limit", 10**30),
                ("limit", "ten"),
                ("cursor", -1),
                ("cursor", 10**15 + 1),
                ("cursor", 2**63),
                ("cursor", 10**30),
                ("cursor", "next"),
            ]
        ],
        *[
            ("size", "GET", f"/batches/{batch}/claim-qr.png", None, {"params": {"size": size}})
            for size in [0, -1, 499, 4097, 10**30, "big"]
        ],
        *[
            (name, "GET", "/sync/snapshot", world.token, {"params": {name: value}})
            for name, value in [
                ("cursor", -1),
                ("cursor", 2**62 + 1),
                ("cursor", 10**30),
                ("limit", 0),
                ("limit", -5),
            ]
        ],
        (
            "device_seq",
            "POST",
            "/sync/events",
            world.token,
            {"json": {"events": [redeem(world, device_seq=-1)]}},
        ),
        (
            "device_seq",
            "POST",
            "/sync/events",
            world.token,
            {"json": {"events": [redeem(world, device_seq=2**62 + 1)]}},
        ),
        ("pending", "POST", "/sync/heartbeat", world.token, {"json": {**heartbeat, "pending": -1}}),
        (
            "snapshot_cursor",
            "POST",
            "/sync/heartbeat",
            world.token,
            {"json": {**heartbeat, "snapshot_cursor": -1}},
        ),
    ]
    for name, method, path, token, kwargs in cases:
        with unchanged(world.api, f"{method} {path} with {kwargs}"):
            problem(world.api.call(method, path, token=token, **kwargs), 422, name)
    # a device asking for a huge snapshot page gets the largest page the server gives, not an error
    page = world.api.call("GET", "/sync/snapshot", 200, token=world.token, params={"limit": 10**30}).json()
    assert page["complete"] is True


@pytest.mark.parametrize(
    ("name", "value"), [("pending", 2**31), ("pending", 2**63), ("snapshot_cursor", 2**63)]
)
def test_a_heartbeat_number_no_database_can_hold_is_refused_with_422(
    till: Till, name: str, value: int
) -> None:
    body = {"version": "1.0", "pending": 0, "snapshot_cursor": 0, name: value}
    with unchanged(till.api, f"a heartbeat with {name}={value}"):
        problem(till.api.call("POST", "/sync/heartbeat", token=till.token, json=body), 422, name)


def test_a_heartbeat_from_a_clock_centuries_off_is_recorded(till: Till) -> None:
    body = {"version": "1.0", "pending": 0, "snapshot_cursor": 0, "device_time": "8999-01-01T00:00:00+00:00"}
    till.api.call("POST", "/sync/heartbeat", 200, token=till.token, json=body)


def test_a_time_zone_name_too_long_for_a_file_is_refused_with_422(api: Api) -> None:
    with unchanged(api, "a store with a 300-character time zone"):
        body = {"id": "s9", "name": "Store 9", "timezone": "Europe/" + "A" * 300}
        problem(api.call("POST", "/stores", json=body), 422, "timezone")


# ---------------------------------------------------------------------------------------------
# Enrolment


def test_an_enrolment_code_works_once(till: Till) -> None:
    code = till.api.call("POST", "/stores/s1/enrolment-codes", 201).json()["code"]
    till.api.call("POST", "/devices/enrol", 201, json={"enrolment_code": code, "device_name": "till-2"})
    for again in [code, code.lower(), code.replace("-", "")]:
        with unchanged(till.api, f"enrolling again with {again}"):
            body = {"enrolment_code": again, "device_name": "till-3"}
            answer = problem(till.api.call("POST", "/devices/enrol", json=body), 401)
            assert "token" not in answer
