"""The vouchers of a batch: code, claim, member, status, redemption; filters, search by code, CSV export."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from central.context import Context, get_context
from central.services import batches as batch_service
from central.services import devices
from central.services import vouchers as service
from central.services.staff import Session
from central.web.session import signed_in
from central.web.templating import render
from vouchers.errors import InvalidInput

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE = 50
STATUSES = ("unused", "used", "issued", "pending")


def _filters(request: Request) -> dict[str, str]:
    """The filters as the form sent them; anything unknown is ignored rather than refused."""
    q = request.query_params
    claimed = q.get("claimed", "")
    status = q.get("status", "")
    return {
        "claimed": claimed if claimed in ("yes", "no") else "",
        "status": status if status in STATUSES else "",
        "code": q.get("code", "").strip()[:200],
    }


def _service_args(f: dict[str, str]) -> dict:
    return {
        "claimed": {"yes": True, "no": False}.get(f["claimed"]),
        "status": f["status"] or None,
        "code": f["code"] or None,
    }


@router.get("/batches/{batch_id}/vouchers")
def vouchers_page(
    request: Request, batch_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    f = _filters(request)
    raw_cursor = request.query_params.get("cursor", "")
    cursor = int(raw_cursor) if raw_cursor.isdigit() and len(raw_cursor) < 16 else None
    code_error = None
    with ctx.db.read() as conn:
        b = batch_service.load(conn, batch_id, ctx.settings.public_url)
        try:
            found = service.page(conn, batch_id, **_service_args(f), limit=PAGE, cursor=cursor)
        except InvalidInput as exc:
            code_error = "; ".join(e.message for e in exc.errors)
            found = {"vouchers": [], "next_cursor": None}
        names = devices.device_names(
            conn,
            {
                v["redemption"]["device_id"]
                for v in found["vouchers"]
                if v["redemption"] and v["redemption"]["device_id"]
            },
        )
    query = {k: v for k, v in f.items() if v}
    return render(
        request,
        "dashboard/vouchers.html",
        {
            "b": b,
            "vouchers": found["vouchers"],
            "filters": f,
            "code_error": code_error,
            "device_names": names,
            "next_url": f"?{urlencode({**query, 'cursor': found['next_cursor']})}"
            if found["next_cursor"]
            else None,
            "first_url": f"?{urlencode(query)}" if cursor is not None else None,
            "csv_url": f"/dashboard/batches/{batch_id}/vouchers.csv"
            + (f"?{urlencode(query)}" if query else ""),
            "statuses": STATUSES,
            "filtered": bool(query),
        },
    )


@router.get("/batches/{batch_id}/vouchers.csv")
def vouchers_csv(
    request: Request, batch_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    args = _service_args(_filters(request))
    with ctx.db.read() as conn:  # fail early (unknown batch, bad code) before the download starts
        service.page(conn, batch_id, **args, limit=1, cursor=None)

    def rows():
        with ctx.db.read() as conn:
            yield from service.export_csv(conn, batch_id, **args)

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{batch_id}-vouchers.csv"'},
    )
