"""Channels side by side (seed 000's typical and great rates), and conflicts and rejections to review."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from central.context import Context, get_context
from central.services import batches as batch_service
from central.services import reports
from central.services.staff import Session
from central.web import charts
from central.web.session import signed_in
from central.web.templating import render

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/channels")
def channels_page(request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        rows = reports.channels(conn)
        batches = batch_service.list_all(conn, ctx.settings.public_url)
    by_channel = {r["channel"]: [b for b in batches if b["channel"] == r["channel"]] for r in rows}
    return render(request, "dashboard/channels.html",
                  {"rows": rows, "chart": charts.channels_chart(rows), "by_channel": by_channel})


@router.get("/review")
def review_page(request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        problems = reports.conflicts_and_rejections(conn)
    return render(request, "dashboard/review.html", {"problems": problems})
