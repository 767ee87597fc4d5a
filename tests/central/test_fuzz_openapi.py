"""Schemathesis over /openapi.json against the real ASGI app on SQLite: no input gives a 5xx.

One app for the module, its lifespan (migrations, the generation worker) run by FastAPI's
TestClient. Schemathesis reaches the same app in-process through its ASGI transport; the
`WithoutLifespan` wrapper answers the lifespan protocol itself so that schemathesis does not
start the app a second time. Admin endpoints get the admin token and /sync endpoints a device
token, so every handler runs rather than stopping at 403. Each operation gets freshly seeded rows
(a store, a redeemable batch with a claimed voucher, a configuring batch with a type), and part
of its examples use their ids as path parameters, so handlers get past "not found".

Checks: no 5xx; every error is problem+json with type/title/status/detail; a 2xx body matches
the documented schema. (The document's error responses are FastAPI's defaults, not the
problem+json the server sends, so those are checked by hand rather than against the schema.)

Repeatable: Hypothesis is derandomized with its example database off, and schemathesis' mining
of literals from the app's source is off because their order depends on the hash seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from support.api import Api, make_settings

from central.app import create_app

MAX_EXAMPLES = 60
CONFIG = schemathesis.Config.from_dict({"analysis": {"constants": {"enabled": False}}})
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def _operations() -> list:
    """(METHOD, path) of every operation in the document; building the app opens no database."""
    document = create_app(make_settings("sqlite://")).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


class WithoutLifespan:
    """The app for HTTP, with a lifespan that does nothing: the TestClient runs the real one."""

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
class Server:
    api: Api
    schema: schemathesis.BaseSchema
    stores: Iterator[int]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    app = create_app(make_settings(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'central.db'}"))
    with TestClient(app) as client:
        schema = schemathesis.openapi.from_asgi("/openapi.json", WithoutLifespan(app), config=CONFIG)
        yield Server(api=Api(client), schema=schema, stores=itertools.count(1))


@dataclass
class Seed:
    device_token: str
    path_parameters: dict[str, list[dict[str, str]]]  # a path parameter -> sets of real values


@pytest.fixture
def seed(server: Server) -> Seed:
    """Fresh rows for each operation, so what earlier operations changed or deleted does not matter."""
    api = server.api
    store_id = f"s{next(server.stores)}"
    api.store(store_id)
    victim = api.device(store_id, "till-victim")  # offered to POST /devices/{id}/revoke
    device = api.device(store_id, "till-fuzz")  # drives /sync; never offered for revoking
    redeemable = api.batch(5, state="redeemable", identifier="Fuzz redeemable")
    code = api.claim(redeemable, "member-1")["code"]
    configuring = api.batch(5, state="configuring", identifier="Fuzz configuring")
    return Seed(
        device_token=device["token"],
        path_parameters={
            "batch_id": [{"batch_id": redeemable["id"]}, {"batch_id": configuring["id"]}],
            "type_id": [{"batch_id": configuring["id"], "type_id": configuring["types"][0]["id"]}],
            "store_id": [{"store_id": store_id}],
            "device_id": [{"device_id": victim["device_id"]}],
            "code": [{"code": code}],
        },
    )


def _real(seed: Seed, operation) -> list[dict[str, str]]:
    names = {parameter.name for parameter in operation.path_parameters}
    for name in ("type_id", "batch_id", "store_id", "device_id", "code"):
        if name in names:
            return seed.path_parameters[name]
    return []


def successful_response_conforms(ctx, response, case):
    if 200 <= response.status_code < 300:
        return response_schema_conformance(ctx, response, case)
    return None


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_input_gives_a_server_error(server: Server, seed: Seed, method: str, path: str) -> None:
    operation = server.schema[path][method]
    token = (
        seed.device_token if path.startswith("/api/v1/sync/") else server.api.token
    )  # an admin's own token
    auth = {
        "Authorization": f"Bearer {token}"
    }  # fixed, so negative examples garble the request, not the token
    strategies = [
        operation.as_strategy(mode, headers=auth, path_parameters=fixed)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for fixed in [None, *_real(seed, operation)]
    ]

    def check(case) -> None:
        if (
            isinstance(case.query, dict)
            and isinstance(case.query.get("wait"), int | float)
            and case.query["wait"] > 0.2
        ):
            case.query["wait"] = (
                0.2  # a snapshot that waits for a change does wait: not for the test's whole timeout
            )
        response = case.call()
        case.validate_response(response, checks=[not_a_server_error, successful_response_conforms])
        if response.status_code >= 400:
            content_type = response.headers.get("content-type", [""])[0]
            assert content_type.startswith("application/problem+json"), (
                case.as_curl_command(),
                response.text,
            )
            problem = response.json()
            assert problem.keys() >= PROBLEM_FIELDS and problem["status"] == response.status_code, problem

    test = settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[
            Phase.explicit,
            Phase.generate,
        ],  # no shrinking: a failure is reported at once, with its curl line
        suppress_health_check=list(HealthCheck),
    )(given(case=st.one_of(strategies))(check))
    test()
