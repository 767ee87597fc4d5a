"""Schemathesis over /openapi.json against the real ASGI app (SQLite): no input gives a 5xx.

One app per module, its lifespan run by FastAPI's TestClient (it migrates the database and
starts the generator). Schemathesis reaches the same app in-process through its ASGI transport;
the wrapper below answers the lifespan protocol itself, so schemathesis does not start the
app a second time. Admin endpoints are called with the admin token, /sync endpoints with a
device token, so every handler runs. Some examples use the ids of seeded rows (a store, a
redeemable batch with a claimed voucher, a configuring batch with a type) so handlers get past
their "not found" checks. Generation is derandomized and the Hypothesis database is off, so a
run is repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from central.app import create_app
from support.api import ADMIN_TOKEN, Api, make_settings

MAX_EXAMPLES = 25


def _operations() -> list[tuple[str, str]]:
    """Every (METHOD, path) in the app's OpenAPI document; building the app touches no database."""
    document = create_app(make_settings("sqlite://")).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


class WithoutLifespan:
    """The app for HTTP, with a no-op lifespan: the TestClient already runs the real one."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


@dataclass
class Fuzz:
    schema: Any
    device_token: str
    real_ids: dict[str, list[dict[str, str]]]  # path parameter name -> sets of real values


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory) -> Iterator[Fuzz]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'central.db'}"
    app = create_app(make_settings(url))
    with TestClient(app) as client:
        api = Api(client)
        api.store("s1")
        victim = api.device("s1", "till-victim")  # its id is offered to POST /devices/{id}/revoke
        device = api.device("s1", "till-fuzz")  # its token drives /sync; never offered for revoking
        redeemable = api.batch(5, state="redeemable", identifier="Fuzz redeemable")
        code = api.claim(redeemable, "member-1")["code"]
        configuring = api.batch(5, state="configuring", identifier="Fuzz configuring")
        type_id = configuring["types"][0]["id"]
        schema = schemathesis.openapi.from_asgi("/openapi.json", WithoutLifespan(app), config=schemathesis.Config())
        real_ids = {
            "batch_id": [{"batch_id": redeemable["id"]}, {"batch_id": configuring["id"]}],
            "type_id": [{"batch_id": configuring["id"], "type_id": type_id}],
            "store_id": [{"store_id": "s1"}],
            "device_id": [{"device_id": victim["device_id"]}],
            "code": [{"code": code}],
        }
        yield Fuzz(schema=schema, device_token=device["token"], real_ids=real_ids)


def _real_path_parameters(fuzz: Fuzz, operation) -> list[dict[str, str]]:
    names = {p.name for p in operation.path_parameters}
    if not names:
        return []
    key = "type_id" if "type_id" in names else next(iter(sorted(names & fuzz.real_ids.keys())), None)
    return [] if key is None else fuzz.real_ids[key]


def successful_response_conforms(ctx, response, case):
    """The documented schema of 2xx answers holds; error answers are problem+json (checked below)."""
    if 200 <= response.status_code < 300:
        return response_schema_conformance(ctx, response, case)
    return None


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_input_gives_a_server_error(fuzz: Fuzz, method: str, path: str) -> None:
    operation = fuzz.schema[path][method]
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(generation_mode=mode))
        for fixed in _real_path_parameters(fuzz, operation):
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    token = fuzz.device_token if path.startswith("/api/v1/sync/") else ADMIN_TOKEN

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        import os
        with open(os.environ["FUZZLOG"], "a") as f:
            f.write(f"{case.method} {case.formatted_path} {case.query} {case.headers} {case.body!r:.200} -> {response.status_code}\n")
        case.validate_response(response, checks=[not_a_server_error, successful_response_conforms])
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", [""])[0]
            assert content_type.startswith("application/problem+json"), response.text
            body = response.json()
            assert {"type", "title", "status", "detail"} <= body.keys(), body
            assert body["status"] == response.status_code

    run()
