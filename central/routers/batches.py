"""Admin: batches, their types, life-cycle actions, vouchers and the claim QR."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from central import images
from central.auth import require_admin, require_campaigns, require_staff_admin
from central.context import Context, get_context, json
from central.problems import ADMIN_ERRORS, PNG
from central.schemas import BatchCreate, BatchPatch, TypeCreate, TypePatch
from central.services import audit
from central.services import batches as service
from central.services import vouchers as voucher_service
from central.services.audit import Actor
from vouchers import roles
from vouchers.errors import BatchInvalid
from vouchers.lifecycle import Action

router = APIRouter(
    prefix="/api/v1", tags=["batches"], dependencies=[Depends(require_admin)], responses=ADMIN_ERRORS
)

PlainAction = Literal["configure", "distribute", "redeemable", "lock", "void"]


def _batch(ctx: Context, batch_id: str, status: int = 200) -> Response:
    with ctx.db.read() as conn:
        return json(service.load(conn, batch_id, ctx.settings.public_url), status)


@router.post("/batches", status_code=201, summary="Create a batch (state configuring, claims active)")
def create_batch(
    data: BatchCreate, actor: Actor = Depends(require_campaigns), ctx: Context = Depends(get_context)
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.create", "batch", None, audit.batch_state) as box,
    ):
        batch_id = box["id"] = service.create(conn, data)
    return _batch(ctx, batch_id, 201)


@router.get("/batches", summary="Every batch with its metrics")
def list_batches(ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        return json(service.list_all(conn, ctx.settings.public_url))


@router.get("/batches/{batch_id}", summary="One batch: state, claims, types, metrics, generation progress")
def get_batch(batch_id: str, ctx: Context = Depends(get_context)) -> Response:
    return _batch(ctx, batch_id)


@router.patch(
    "/batches/{batch_id}", summary="Edit a batch (configuring, or validated which returns to configuring)"
)
def patch_batch(
    batch_id: str,
    data: BatchPatch,
    actor: Actor = Depends(require_campaigns),
    ctx: Context = Depends(get_context),
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.edit", "batch", batch_id, audit.batch_state),
    ):
        service.patch(conn, batch_id, data)
    return _batch(ctx, batch_id)


@router.delete(
    "/batches/{batch_id}", status_code=204, summary="Delete a batch and all its vouchers, for good"
)
def delete_batch(
    batch_id: str,
    confirm: int | None = Query(None, description="The number of vouchers in the batch, as confirmation."),
    actor: Actor = Depends(require_staff_admin),
    ctx: Context = Depends(get_context),
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.delete", "batch", batch_id, audit.batch_state),
    ):
        service.delete_batch(conn, batch_id, confirm)
    return Response(status_code=204)


@router.post("/batches/{batch_id}/types", status_code=201, summary="Add a batch type")
def add_type(
    batch_id: str,
    data: TypeCreate,
    actor: Actor = Depends(require_campaigns),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.write() as conn:
        with audit.change(conn, actor, "batch.type-add", "batch", batch_id, audit.batch_state):
            type_id = service.add_type(conn, batch_id, data)
        row = service.get_type_row(conn, batch_id, type_id)
        return json(service.type_dict(row), 201)


@router.patch("/batches/{batch_id}/types/{type_id}", summary="Edit a batch type")
def patch_type(
    batch_id: str,
    type_id: str,
    data: TypePatch,
    actor: Actor = Depends(require_campaigns),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.write() as conn:
        with audit.change(conn, actor, "batch.type-edit", "batch", batch_id, audit.batch_state):
            service.patch_type(conn, batch_id, type_id, data)
        return json(service.type_dict(service.get_type_row(conn, batch_id, type_id)))


@router.delete("/batches/{batch_id}/types/{type_id}", status_code=204, summary="Remove a batch type")
def delete_type(
    batch_id: str,
    type_id: str,
    actor: Actor = Depends(require_campaigns),
    ctx: Context = Depends(get_context),
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.type-remove", "batch", batch_id, audit.batch_state),
    ):
        service.delete_type(conn, batch_id, type_id)
    return Response(status_code=204)


@router.post("/batches/{batch_id}/validate", summary="Validate: to validated, or 422 with every error")
def validate_batch(
    batch_id: str, actor: Actor = Depends(require_campaigns), ctx: Context = Depends(get_context)
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.validate", "batch", batch_id, audit.batch_state),
    ):
        errors = service.validate(conn, batch_id, ctx.settings.max_batch_size)
    if errors:
        raise BatchInvalid(errors, detail=f"{len(errors)} problem(s) stop this batch from being validated.")
    return _batch(ctx, batch_id)


@router.post(
    "/batches/{batch_id}/generate", status_code=202, summary="Start generating vouchers in the background"
)
def generate(
    batch_id: str, actor: Actor = Depends(require_campaigns), ctx: Context = Depends(get_context)
) -> Response:
    generator = ctx.generator
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.generate", "batch", batch_id, audit.batch_state),
    ):
        service.start_generation(conn, batch_id, generator.owner, generator.lease_until())
    generator.kick(batch_id)
    return _batch(ctx, batch_id, 202)


@router.post("/batches/{batch_id}/pause", summary="Pause claims (claimed vouchers stay valid)")
def pause(
    batch_id: str, actor: Actor = Depends(require_campaigns), ctx: Context = Depends(get_context)
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.pause", "batch", batch_id, audit.batch_state),
    ):
        service.set_claims(conn, batch_id, Action.PAUSE)
    return _batch(ctx, batch_id)


@router.post("/batches/{batch_id}/resume", summary="Resume claims")
def resume(
    batch_id: str, actor: Actor = Depends(require_campaigns), ctx: Context = Depends(get_context)
) -> Response:
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.resume", "batch", batch_id, audit.batch_state),
    ):
        service.set_claims(conn, batch_id, Action.RESUME)
    return _batch(ctx, batch_id)


@router.post("/batches/{batch_id}/{action}", summary="configure, distribute, redeemable, lock or void")
def act(
    batch_id: str,
    action: PlainAction,
    actor: Actor = Depends(require_campaigns),
    ctx: Context = Depends(get_context),
) -> Response:
    assert actor.role is not None  # require_campaigns gives a staff member's actor, with their role
    roles.require_to(actor.role, f"batch.{action}")
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, f"batch.{action}", "batch", batch_id, audit.batch_state),
    ):
        service.act(conn, batch_id, Action(action))
    return _batch(ctx, batch_id)


@router.get(
    "/batches/{batch_id}/vouchers", summary="Vouchers of a batch; CSV with ?format=csv or Accept: text/csv"
)
def list_vouchers(
    request: Request,
    batch_id: str,
    claimed: bool | None = None,
    status: str | None = Query(None, description="unused, used, issued or pending"),
    code: str | None = Query(None, max_length=200, description="Find one voucher by its code"),
    limit: int = Query(100, ge=1, le=10_000),
    cursor: int | None = Query(None, ge=0, le=10**15, description="next_cursor of the previous page"),
    format: Literal["json", "csv"] | None = None,
    ctx: Context = Depends(get_context),
) -> Response:
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        with ctx.db.read() as conn:  # fail early (unknown batch, bad filter) before streaming starts
            voucher_service.page(
                conn, batch_id, claimed=claimed, status=status, code=code, limit=1, cursor=None
            )
        return StreamingResponse(
            _csv_stream(ctx, batch_id, claimed, status, code),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{batch_id}-vouchers.csv"'},
        )
    with ctx.db.read() as conn:
        return json(
            voucher_service.page(
                conn, batch_id, claimed=claimed, status=status, code=code, limit=limit, cursor=cursor
            )
        )


def _csv_stream(ctx: Context, batch_id: str, claimed, status, code):
    with ctx.db.read() as conn:
        yield from voucher_service.export_csv(conn, batch_id, claimed=claimed, status=status, code=code)


@router.get(
    "/batches/{batch_id}/claim-qr.png",
    summary="The claim URL as a print-ready QR code PNG",
    response_class=Response,
    responses=PNG,
)
def claim_qr(
    batch_id: str,
    size: int = Query(1024, ge=images.MIN_QR_SIZE, le=images.MAX_QR_SIZE),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        row = service.get_row(conn, batch_id)
    png = images.qr_png(service.claim_url(ctx.settings.public_url, row["claim_token"]), size)
    return Response(
        png,
        media_type="image/png",
        headers={"Content-Disposition": f'inline; filename="{batch_id}-claim-qr.png"'},
    )
