"""Devices: enrolment, snapshot pages, event upload and heartbeat (device tokens); a shop's hub
also reads its store's device list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from central import metrics
from central.auth import count_device_in, require_device, require_device_to_write
from central.context import Context, get_context, json
from central.db.schema import utcnow
from central.limits import client_address, limits
from central.problems import DEVICE_ERRORS
from central.services import devices, ledger, ratelimit, snapshot
from central.services.ledger import Device
from vouchers.wire import (
    DevicesResponse,
    EnrolRequest,
    EventsRequest,
    EventsResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    SnapshotPage,
)

router = APIRouter(prefix="/api/v1", tags=["sync"], responses=DEVICE_ERRORS)
MAX_WAIT = 60  # seconds a snapshot request may wait for a change (docs/PROTOCOL.md)


@router.post("/devices/enrol", status_code=201, summary="Trade an enrolment code for a device token")
def enrol(data: EnrolRequest, request: Request, ctx: Context = Depends(get_context)) -> Response:
    ratelimit.hit(ctx.db, limits(ctx.settings).enrolments_address, client_address(request))  # codes are short
    with ctx.db.write() as conn:
        return json(devices.enrol(conn, data).model_dump(), 201)


@router.get("/sync/snapshot", response_model=SnapshotPage, summary="One page of changes after a cursor")
async def snapshot_page(
    cursor: int = Query(0, ge=0, le=2**62),
    limit: int | None = Query(None, ge=1),
    wait: float | None = Query(
        None,
        ge=0,
        le=MAX_WAIT,
        description="With nothing after the cursor, answer as "
        "soon as something changes, or after this many seconds with an empty page.",
    ),
    device: Device = Depends(require_device),
    ctx: Context = Depends(get_context),
) -> Response:
    size = min(limit or ctx.settings.snapshot_page_size, ctx.settings.snapshot_page_max)
    page = await _page(ctx, device.store_id, cursor, size)
    if wait is not None:
        if (
            wait > 0
            and page["complete"]
            and page["next_cursor"] == cursor
            and await ctx.changes.wait_beyond(cursor, wait)
        ):
            page = await _page(ctx, device.store_id, cursor, size)
        page = {**page, "wait": wait}  # says the server waits: a client may ask again at once
    metrics.count_snapshot_page(page)
    return json(page)


async def _page(ctx: Context, store_id: str, cursor: int, size: int) -> dict:
    """The page, built once for the requests of a store that ask for it at the same moment (the
    tills woken by one change); shared, so never changed in place."""
    return await ctx.pages.read(
        (store_id, cursor, size), lambda: run_in_threadpool(_read, ctx, store_id, cursor, size)
    )


def _read(ctx: Context, store_id: str, cursor: int, size: int) -> dict:
    with ctx.db.read_at_head() as (conn, head):
        return snapshot.page(conn, store_id, cursor, size, head)


@router.post(
    "/sync/events", response_model=EventsResponse, summary="Upload up to 1000 events; one result each"
)
def upload_events(
    data: EventsRequest,
    request: Request,
    device: Device = Depends(require_device_to_write),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.write() as conn:  # on SQLite, the device's request counted in it: one commit
        count_device_in(conn, ctx, request, device)
        results = ledger.ingest(conn, device, data.events)
    metrics.count_ingest(results)
    return json({"results": results})


@router.post("/sync/heartbeat", response_model=HeartbeatResponse, summary="Report the device's health")
def heartbeat(
    data: HeartbeatRequest, device: Device = Depends(require_device), ctx: Context = Depends(get_context)
) -> Response:
    with ctx.db.write() as conn:
        now = devices.heartbeat(conn, device, data)
    return json({"server_time": now})


@router.get(
    "/sync/devices",
    response_model=DevicesResponse,
    summary="A hub's view of its store's devices: ids, names, roles, token hashes, revoked or not",
)
def store_devices(device: Device = Depends(require_device), ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        listed = devices.store_devices(conn, device)
    return json({"devices": [d.to_wire() for d in listed], "server_time": utcnow()})
