"""Channels side by side (seed 000's typical and great rates), and conflicts and rejections to review."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.services import audit, problems, reports
from central.services import batches as batch_service
from central.services.staff import Session
from central.web import charts
from central.web.session import acting, csrf_checked, form_data, signed_in
from central.web.templating import render
from vouchers.errors import Conflict

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/channels")
def channels_page(
    request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    with ctx.db.read() as conn:
        rows = reports.channels(conn)
        batches = batch_service.list_all(conn, ctx.settings.public_url)
    by_channel = {r["channel"]: [b for b in batches if b["channel"] == r["channel"]] for r in rows}
    return render(
        request,
        "dashboard/channels.html",
        {"rows": rows, "chart": charts.channels_chart(rows), "by_channel": by_channel},
    )


@router.get("/review")
def review_page(
    request: Request, show: str = "open", _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    show = show if show in ("open", "reviewed", "all") else "open"
    with ctx.db.read() as conn:
        found = reports.conflicts_and_rejections(conn, reviewed={"open": False, "reviewed": True}.get(show))
    return render(request, "dashboard/review.html", {"problems": found, "show": show})


@router.post("/review/{event_id}")
def review(
    request: Request,
    event_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    """Close a conflict or rejection with a note; the signed-in staff member is its author."""
    note = str(form.get("note") or "").strip()
    back = str(form.get("back") or "/dashboard/review")
    back = back if back.startswith("/dashboard/") else "/dashboard/review"
    if not note:
        return RedirectResponse(f"{back}?done=review-needs-note#problem-{event_id}", status_code=303)
    actor = acting(request, session, "problem.review")
    try:
        with ctx.db.write() as conn, audit.change(conn, actor, "problem.review", "problem", event_id) as box:
            problems.review(conn, event_id, by=session.email, note=note[:2000])
            box["after"] = {"by": session.email, "note": note[:2000]}
    except Conflict:
        return RedirectResponse(f"{back}?done=already-reviewed", status_code=303)
    return RedirectResponse(f"{back}?done=reviewed", status_code=303)
