"""Admin: one voucher, its barcode image, and staff status changes."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from central import images
from central.auth import require_admin, require_staff_admin
from central.context import Context, get_context, json
from central.problems import ADMIN_ERRORS, PNG
from central.schemas import StatusChange
from central.services import ledger
from central.services import vouchers as service
from central.services.audit import Actor
from vouchers.codes import normalise

router = APIRouter(
    prefix="/api/v1", tags=["vouchers"], dependencies=[Depends(require_admin)], responses=ADMIN_ERRORS
)
CodePath = Path(max_length=200, description="The voucher code, in any case, with or without dashes")


@router.get("/vouchers/{code}", summary="One voucher with its history of events")
def get_voucher(code: str = CodePath, ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        return json(service.one(conn, code))


@router.get(
    "/vouchers/{code}/barcode.png",
    summary="The voucher's code as an image",
    response_class=Response,
    responses=PNG,
)
def barcode(
    code: str = CodePath,
    symbology: Literal["qr", "code128", "datamatrix", "pdf417", "aztec"] = "qr",
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        voucher = ledger.voucher_by_code(conn, code)
    return Response(images.barcode_png(voucher["code"], symbology), media_type="image/png")


@router.post("/vouchers/{code}/status", summary="Staff change: pending → any, used → unused (revert)")
def change_status(
    data: StatusChange,
    code: str = CodePath,
    actor: Actor = Depends(require_staff_admin),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.write() as conn:
        service.change_status(conn, actor, code, data.status, data.reason)
    with ctx.db.read() as conn:
        return json(service.one(conn, normalise(code)))
