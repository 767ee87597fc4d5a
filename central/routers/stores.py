"""Admin: stores, enrolment codes, devices and store redemption reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from starlette.responses import Response

from central.auth import require_admin, require_campaigns, require_staff_admin
from central.context import Context, get_context, json
from central.problems import ADMIN_ERRORS
from central.schemas import ProblemReview, StoreCreate, StoreLocale
from central.services import audit, ledger, problems
from central.services import devices as service
from central.services.audit import Actor
from vouchers.wire import EnrolmentCodeRequest, Instant

router = APIRouter(
    prefix="/api/v1", tags=["stores"], dependencies=[Depends(require_admin)], responses=ADMIN_ERRORS
)


@router.post("/stores", status_code=201, summary="Create a store")
def create_store(
    data: StoreCreate, actor: Actor = Depends(require_staff_admin), ctx: Context = Depends(get_context)
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "store.create", "store", data.id, audit.store_state),
    ):
        return json(service.create_store(conn, data), 201)


@router.patch("/stores/{store_id}", summary="Set a store's locale (its tills' language and formats)")
def set_store_locale(
    store_id: str,
    data: StoreLocale,
    actor: Actor = Depends(require_staff_admin),
    ctx: Context = Depends(get_context),
) -> Response:
    """The store's tills take it with their next page (within a second or two when they are on
    line), unless a till's own `language` setting says otherwise."""
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "store.locale", "store", store_id, audit.store_state),
    ):
        return json(service.set_store_locale(conn, store_id, data.locale))


@router.get("/stores", summary="Every store")
def list_stores(ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        return json(service.list_stores(conn))


@router.get("/stores/{store_id}", summary="One store and its devices")
def get_store(store_id: str, ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        return json(service.store_with_devices(conn, store_id))


@router.post(
    "/stores/{store_id}/enrolment-codes", status_code=201, summary="A one-use, short-lived enrolment code"
)
def enrolment_code(
    store_id: str,
    data: Annotated[
        EnrolmentCodeRequest | None,
        Body(description='Optional: {"role": "hub"} for a shop\'s hub; without it the code enrols a till.'),
    ] = None,
    actor: Actor = Depends(require_staff_admin),
    ctx: Context = Depends(get_context),
) -> Response:
    role = data.role if data is not None else "till"
    with ctx.db.write() as conn, audit.change(conn, actor, "store.enrolment-code", "store", store_id) as box:
        code = service.create_enrolment_code(conn, store_id, ctx.settings.enrolment_code_minutes, role)
        box["after"] = {"expires_at": code.expires_at, "role": code.role}  # never the code itself
        return json(code, 201)


@router.post("/devices/{device_id}/revoke", summary="Revoke a device: its token stops working at once")
def revoke_device(
    device_id: str,
    confirm: int | None = Query(
        None,
        ge=0,
        le=2**31 - 1,
        description="When its last heartbeat said events were "
        "still to be pushed: that number, as confirmation (409 without it).",
    ),
    actor: Actor = Depends(require_staff_admin),
    ctx: Context = Depends(get_context),
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "device.revoke", "device", device_id, audit.device_state),
    ):
        return json(service.revoke(conn, device_id, confirm))


@router.get("/stores/{store_id}/redemptions", summary="Redemptions, reverts and conflicts at a store")
def redemptions(
    store_id: str,
    start: Instant | None = Query(None, alias="from"),
    end: Instant | None = Query(None, alias="to"),
    batch: str | None = Query(None, max_length=64),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        service.get_store(conn, store_id)
        return json(ledger.store_report(conn, store_id, start, end, batch))


@router.get("/problems", summary="Conflicts and rejections to review (a store's own and those it won)")
def list_problems(
    store: str | None = Query(None, max_length=64),
    reviewed: bool | None = Query(None, description="true: reviewed only; false: open only; absent: both"),
    limit: int = Query(500, ge=1, le=5000),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        if store is not None:
            service.get_store(conn, store)
        return json(problems.listing(conn, store_id=store, reviewed=reviewed, limit=limit))


@router.post(
    "/problems/{event_id}/review", summary="Mark a conflict or rejection reviewed, with a note and who"
)
def review_problem(
    event_id: str,
    data: ProblemReview,
    actor: Actor = Depends(require_campaigns),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.write() as conn, audit.change(conn, actor, "problem.review", "problem", event_id) as box:
        reviewed = problems.review(conn, event_id, by=data.by, note=data.note)
        box["after"] = {"by": data.by, "note": data.note}
        return json(reviewed)
