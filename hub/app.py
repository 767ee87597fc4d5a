"""The hub's HTTP app: docs/PROTOCOL.md's device endpoints, served to the shop's tills as head
office serves them, from hub.db (hub/store.py), with the same answer classes and problem+json.

    POST /api/v1/devices/enrol     passed on to head office as it came (503 when unreachable)
    GET  /api/v1/sync/snapshot     the hub's own change feed, with the live-changes extension
    POST /api/v1/sync/events       decided at once by the hub (first wins among the shop's tills)
    POST /api/v1/sync/heartbeat    recorded, answered at once, passed on to head office
    GET  /healthz

A till's token is checked against the store's device list from head office (sha256 of the
token). A token the hub does not know sends it to head office for a fresh list first (a till
enrolled a moment ago); when head office cannot be reached the answer is 503, never 401, since a
401 makes a till wipe its snapshot and stop.

Live changes: every write that adds to the hub's change feed (a till's events, a page of head
office's, head office's answers) moves the feed's head (`LiveChanges.changed`, callable from any
thread), which wakes the snapshot requests waiting past their cursor. Stopping wakes them all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

from configfile.version import installed_version
from hub.settings import HubSettings
from hub.store import HubDevice, HubStore, NotReady
from hub.upstream import Upstream
from localdb.errors import LocalDatabaseError
from localdb.identity import Identity
from sync.errors import SyncError
from vouchers.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    VoucherError,
)
from vouchers.wire import EventsRequest, HeartbeatRequest

log = logging.getLogger("voucher-hub")
MEDIA_TYPE = "application/problem+json"
MAX_WAIT = 60  # seconds a snapshot request may wait for a change (docs/PROTOCOL.md)
RETRY_AFTER = 5  # seconds, in a 503's Retry-After
T = TypeVar("T")

STATUSES: dict[type[VoucherError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    InvalidInput: 422,
}


class Unavailable(Exception):
    """503 with words and Retry-After: the hub cannot answer this now (head office unreachable for
    a token check or an enrolment, the hub revoked, no snapshot from head office yet)."""

    def __init__(self, title: str, detail: str) -> None:
        super().__init__(detail)
        self.title, self.detail = title, detail


class LiveChanges:
    """The head of the hub's change feed as this process knows it, and the requests waiting for
    it to pass their cursor (an asyncio condition on the app's event loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, head: int) -> None:
        self.head = head
        self._loop = loop
        self._condition = asyncio.Condition()
        self._closing = False
        self.waiting = 0  # requests waiting now

    def changed(self, head: int) -> None:
        """A commit moved the feed to `head` (any thread)."""
        self._call(lambda: self._advance(head))

    def release_all(self) -> None:
        """Stopping: every waiting request answers now, and any later one at once (any thread)."""
        self._call(self._close)

    def _call(self, what: Callable[[], None]) -> None:
        try:
            self._loop.call_soon_threadsafe(what)
        except RuntimeError:  # the loop has closed: nobody waits any more
            pass

    def _advance(self, head: int) -> None:
        if head > self.head:
            self.head = head
            self._loop.create_task(self._notify())

    def _close(self) -> None:
        self._closing = True
        self._loop.create_task(self._notify())

    async def _notify(self) -> None:
        async with self._condition:
            self._condition.notify_all()

    async def wait_beyond(self, cursor: int, timeout: float) -> bool:
        """True as soon as the feed's head passes `cursor` (or the hub stops); False after `timeout`."""
        self.waiting += 1
        try:
            async with self._condition:
                await asyncio.wait_for(
                    self._condition.wait_for(lambda: self._closing or self.head > cursor), timeout
                )
                return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1


@dataclass
class Hub:
    """What the routes share: settings, hub.db, the feed and the loops towards head office."""

    settings: HubSettings
    identity: Identity
    store: HubStore
    feed: LiveChanges
    upstream: Upstream

    def moved(self) -> None:
        """After a write: the feed's head as hub.db has it now (call from a worker thread)."""
        self.feed.changed(self.store.head())

    def check_serving(self) -> None:
        if self.upstream.revoked is not None:
            raise Unavailable("The hub was revoked", self.upstream.revoked)


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail, **extra}
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE)


def status_of(exc: VoucherError) -> int:
    return next((STATUSES[k] for k in type(exc).__mro__ if k in STATUSES), 400)


def answer(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "query", "path", "header")) or "body"


def install_problems(app: FastAPI) -> None:
    """Every error as application/problem+json, in the words head office uses."""

    @app.exception_handler(VoucherError)
    async def _voucher_error(request: Request, exc: VoucherError) -> Response:
        if isinstance(exc, LocalDatabaseError):  # hub.db cannot be written (a full disk): the till retries
            log.error("hub.db: %s", exc)
            return await _unavailable(request, Unavailable(exc.title, exc.detail))
        return problem(status_of(exc), exc.slug, exc.title, exc.detail)

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, exc: Unavailable) -> Response:
        response = problem(503, "unavailable", exc.title, exc.detail, retry_after=RETRY_AFTER)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response

    @app.exception_handler(NotReady)  # head office's snapshot has not come whole yet: a till retries
    async def _not_ready(request: Request, exc: NotReady) -> Response:
        return await _unavailable(request, Unavailable(exc.title, exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        raw = exc.errors()
        bad_json = [e for e in raw if e.get("type") == "json_invalid"]
        if bad_json:
            where = bad_json[0].get("loc", ("body", "?"))[-1]
            detail = f"The body is not valid JSON (error at character {where}). Send a JSON object."
            errors = [{"field": "body", "message": detail}]
            return problem(422, "malformed-json", "The body is not valid JSON", detail, errors=errors)
        if any(tuple(e.get("loc", ())) == ("body",) for e in raw) and "json" not in request.headers.get(
            "content-type", ""
        ):
            detail = "Send the body as JSON, with the header 'Content-Type: application/json'."
            return problem(
                422,
                "not-json",
                "The body must be JSON",
                detail,
                errors=[{"field": "body", "message": detail}],
            )
        errors = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in raw]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        return problem(422, "invalid-input", "Some fields are not valid", detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Missing or wrong token"}
        title = titles.get(exc.status_code, "Request refused")
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(exc.status_code, title.lower().replace(" ", "-"), title, detail)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500, "internal", "Internal server error", "Something went wrong in the hub; it is logged."
        )


bearer = HTTPBearer(auto_error=False, description="A till's device token, from its enrolment.")


def hub_of(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def require_till(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> HubDevice:
    """The till of this request's token: known to the hub, or to head office a moment ago."""
    hub = hub_of(request)
    hub.check_serving()
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Send 'Authorization: Bearer TOKEN'.")
    token, asked = credentials.credentials, time.monotonic()
    device = await run_in_threadpool(hub.store.device_for_token, token)
    if device is None:
        if not await run_in_threadpool(hub.upstream.devices_known_since, asked):
            hub.check_serving()
            raise Unavailable(
                "Head office cannot be reached",
                "The hub does not know this device token yet and cannot ask head office now; "
                "try again in a moment.",
            )
        device = await run_in_threadpool(hub.store.device_for_token, token)
    if device is None:
        raise Unauthorized(
            "The device token is not valid or the device was revoked.", title="Device not recognised"
        )
    if device.revoked:
        raise Unauthorized(f"Device {device.id} was revoked at head office.", title="Device revoked")
    if device.role == "hub":
        raise Forbidden(
            "A hub's token cannot be used as a till's: enrol the till with a till enrolment code."
        )
    return device


async def _run(what: Callable[[], T]) -> T:
    return await run_in_threadpool(what)


def install_routes(app: FastAPI) -> None:
    @app.post("/api/v1/devices/enrol", status_code=201, summary="Trade an enrolment code for a device token")
    async def enrol(request: Request) -> Response:
        hub = hub_of(request)
        body, asked = await request.body(), time.monotonic()
        try:
            passed = await _run(
                lambda: hub.upstream.pass_enrolment(body, request.headers.get("content-type"))
            )
        except SyncError as exc:
            log.warning("enrolment not passed on: head office cannot be reached (%s)", exc.detail)
            raise Unavailable(
                "Head office cannot be reached",
                "Enrolment goes through to head office, which cannot be reached from the hub now; "
                "try again when the shop is on line.",
            ) from None
        if passed.status < 300:  # the new till's token, known to the hub before its first request
            await _run(lambda: hub.upstream.devices_known_since(asked))
        return Response(passed.body, status_code=passed.status, media_type=passed.content_type)

    @app.get("/api/v1/sync/snapshot", summary="One page of the hub's changes after a cursor")
    async def snapshot(
        request: Request,
        cursor: int = Query(0, ge=0, le=2**62),
        limit: int | None = Query(None, ge=1),
        wait: float | None = Query(
            None,
            ge=0,
            le=MAX_WAIT,
            description="With nothing after the cursor, answer as soon as something changes, "
            "or after this many seconds with an empty page.",
        ),
        device: HubDevice = Depends(require_till),
    ) -> Response:
        hub = hub_of(request)
        size = min(limit or hub.settings.till_page_size, hub.settings.till_page_max)
        page = await _run(lambda: hub.store.page(cursor, size))
        if wait is not None:
            if (
                wait > 0
                and page["complete"]
                and page["next_cursor"] == cursor
                and await hub.feed.wait_beyond(cursor, wait)
            ):
                page = await _run(lambda: hub.store.page(cursor, size))
            page = {**page, "wait": wait}
        return answer(page)

    @app.post("/api/v1/sync/events", summary="Upload up to 1000 events; one result each")
    async def events(
        request: Request, data: EventsRequest, device: HubDevice = Depends(require_till)
    ) -> Response:
        hub = hub_of(request)

        def ingest() -> list[dict]:
            results = hub.store.ingest(device, data.events)  # durable before the answer
            hub.moved()
            return [r.to_wire() for r in results]

        results = await _run(ingest)
        hub.upstream.wake_push()
        return answer({"results": results})

    @app.post("/api/v1/sync/heartbeat", summary="Report the till's health")
    async def heartbeat(
        request: Request, data: HeartbeatRequest, device: HubDevice = Depends(require_till)
    ) -> Response:
        hub = hub_of(request)
        await _run(lambda: hub.store.record_heartbeat(device, data))
        hub.upstream.relay(device.id, request.headers["authorization"], data)
        return answer({"server_time": datetime.now(UTC)})

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> Response:
        hub = hub_of(request)
        return answer({"status": "revoked" if hub.upstream.revoked else "ok", "waiting": hub.feed.waiting})


def create_app(
    settings: HubSettings, identity: Identity, *, store: HubStore | None = None, upstream_loops: bool = True
) -> FastAPI:
    """The hub for these settings and this identity, on `store` (or hub.db, opened when it starts),
    running the loops towards head office while it serves (unless `upstream_loops` is False, for a
    test of the app alone). The store is closed when the app stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal store
        if store is None:
            store = HubStore(settings.database_path)
        try:
            feed = LiveChanges(asyncio.get_running_loop(), store.head())
            upstream = Upstream(
                settings,
                identity,
                store,
                on_change=lambda: feed.changed(store.head()),
                version=installed_version(),
            )
            app.state.hub = Hub(settings, identity, store, feed, upstream)
            if upstream_loops:
                upstream.start()
            try:
                yield
            finally:
                feed.release_all()
                await run_in_threadpool(upstream.stop)
        finally:
            store.close()

    app = FastAPI(
        title="voucher-hub",
        version="1",
        summary="The shop's hub: head office's sync API for the shop's tills, deciding among them at once.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_problems(app)
    install_routes(app)
    return app


def release_waiting(app: FastAPI) -> None:
    """Stopping (a signal handler may call this): the tills waiting for a change answer now."""
    hub = getattr(app.state, "hub", None)
    if hub is not None:
        hub.feed.release_all()
