"""The vouchers of a batch: code, claim, member, status, redemption; filters, search by member, by part
of a code and by serial, pages with their total, CSV export."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse

from central.context import Context, get_context
from central.services import batches as batch_service
from central.services import devices
from central.services import vouchers as service
from central.services.staff import Session
from central.web.pages.members import member_url
from central.web.session import signed_in
from central.web.templating import render
from vouchers.codes import is_code
from vouchers.errors import InvalidInput

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE = 50
STATUSES = ("unused", "used", "issued", "pending")


@dataclass(frozen=True)
class Filters:
    """The filters as the form sent them (text), anything unknown ignored rather than refused."""

    claimed: str = ""
    status: str = ""
    code: str = ""
    member: str = ""
    serial: str = ""

    def query(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}

    def search(self) -> service.Search:
        """A whole code (typed, scanned or a claim URL) finds that voucher; any other text, the codes
        holding it."""
        whole = bool(self.code) and is_code(self.code)
        return service.Search(
            claimed={"yes": True, "no": False}.get(self.claimed),
            status=self.status or None,
            code=self.code if whole else None,
            code_part=None if whole else self.code or None,
            member=self.member or None,
            serial=int(self.serial) if self.serial else None,
        )


def _filters(request: Request) -> Filters:
    q = request.query_params
    claimed, status, serial = q.get("claimed", ""), q.get("status", ""), q.get("serial", "").strip()
    return Filters(
        claimed=claimed if claimed in ("yes", "no") else "",
        status=status if status in STATUSES else "",
        code=q.get("code", "").strip()[:200],
        member=q.get("member", "").strip()[:200],
        serial=serial if serial.isdigit() and len(serial) <= 18 else "",
    )


@router.get("/batches/{batch_id}/vouchers")
def vouchers_page(
    request: Request, batch_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    f = _filters(request)
    raw_cursor = request.query_params.get("cursor", "")
    cursor = int(raw_cursor) if raw_cursor.isdigit() and len(raw_cursor) < 16 else None
    code_error = None
    before = 0
    with ctx.db.read() as conn:
        b = batch_service.load(conn, batch_id, ctx.settings.public_url)
        try:
            found = service.page(
                conn, batch_id, search=f.search(), limit=PAGE, cursor=cursor, with_total=True
            )
            before = service.position(conn, batch_id, f.search(), cursor)
        except InvalidInput as exc:
            code_error = "; ".join(e.message for e in exc.errors)
            found = service.VoucherPage((), None, 0)
        names = devices.device_names(
            conn, {v.redemption.device_id for v in found.vouchers if v.redemption and v.redemption.device_id}
        )
    query = f.query()
    return render(
        request,
        "dashboard/vouchers.html",
        {
            "b": b,
            "vouchers": found.vouchers,
            "total": found.total or 0,
            "first_shown": before + 1,
            "filters": f,
            "code_error": code_error,
            "device_names": names,
            "member_url": member_url,
            "next_url": f"?{urlencode({**query, 'cursor': found.next_cursor})}"
            if found.next_cursor
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
    search = _filters(request).search()
    with ctx.db.read() as conn:  # fail early (unknown batch, bad code) before the download starts
        service.page(conn, batch_id, search=search, limit=1, cursor=None)

    def rows():
        with ctx.db.read() as conn:
            yield from service.export_csv(conn, batch_id, search=search)

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{batch_id}-vouchers.csv"'},
    )
