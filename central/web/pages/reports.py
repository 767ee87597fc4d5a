"""Channels side by side (seed 000's typical and great rates), redemptions per store and day, refused
scans per store, reason and day (each a page with a chart and a CSV), and conflicts and rejections."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response, StreamingResponse

from central.context import Context, get_context
from central.services import audit, devices, problems, reports
from central.services import batches as batch_service
from central.services.staff import Session
from central.web import charts, localtime, phrases
from central.web.phrases import DOMAIN
from central.web.session import acting, csrf_checked, form_data, signed_in
from central.web.templating import render, words_of
from vouchers.csvsafe import safe_row
from vouchers.errors import Conflict
from words import Words, words_for

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/channels")
def channels_page(
    request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    with ctx.db.read() as conn:
        rows = reports.channels(conn)
        batches = batch_service.list_all(conn, ctx.settings.public_url)
    by_channel = {r.channel: [b for b in batches if b["channel"] == r.channel] for r in rows}
    return render(
        request,
        "dashboard/channels.html",
        {"rows": rows, "chart": charts.channels_chart(words_of(request), rows), "by_channel": by_channel},
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


def _period(
    words: Words, ctx: Context, first: str | None, last: str | None
) -> tuple[reports.Period, str | None]:
    """The days asked for (?from=&to=, ISO dates), by default the 28 days to today in head office's
    zone; with a note when the request was cut to the longest period or could not be read."""
    today = datetime.now(localtime.zone(ctx.settings.office_timezone)).date()
    try:
        end = date.fromisoformat(last) if last else today
        start = date.fromisoformat(first) if first else None
    except ValueError:
        return reports.Period.ending(today), words.gettext(
            "Dates are written 2026-03-31; showing the last 28 days."
        )
    if start and start > end:  # the two days the wrong way round: the days between them all the same
        start, end = end, start
    period = reports.Period(start, end) if start else reports.Period.ending(end)
    fitted = period.clamped()
    if fitted != period:
        return fitted, words.gettext(
            "A report covers {n} days at most: showing the last of them.",
            n=words.number(reports.MAX_REPORT_DAYS),
        )
    return fitted, None


def _csv(rows: Iterable[list[str | int]], filename: str) -> Response:
    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(safe_row(row))
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _query(period: reports.Period, store: str | None = None) -> str:
    q = f"from={period.first.isoformat()}&to={period.last.isoformat()}"
    return q + (f"&store={store}" if store else "")


@router.get("/reports/redemptions")
def redemptions_page(
    request: Request,
    store: str | None = None,
    first: str | None = Query(None, alias="from"),
    last: str | None = Query(None, alias="to"),
    _: Session = Depends(signed_in),
    ctx: Context = Depends(get_context),
) -> Response:
    words = words_of(request)
    period, note = _period(words, ctx, first, last)
    with ctx.db.read() as conn:
        report = reports.redemptions_per_store(conn, period)
    chosen = next((s for s in report.stores if s.store_id == store), None)
    days = report.per_day(chosen.store_id if chosen else None)
    between = {"first": words.date(period.first), "last": words.date(period.last)}
    if chosen:
        title = words.gettext(
            "Redemptions per day at {store}, {first} to {last}", store=chosen.name, **between
        )
    else:
        title = words.gettext("Redemptions per day at every store, {first} to {last}", **between)
    return render(
        request,
        "dashboard/report_redemptions.html",
        {
            "report": report,
            "period": period,
            "note": note,
            "chosen": chosen,
            "days": days,
            "chart": charts.redemptions_chart(words, days, title=title),
            "csv_url": f"/dashboard/reports/redemptions.csv?{_query(period)}",
            "query": _query(period),
        },
    )


@router.get("/reports/redemptions.csv")
def redemptions_csv(
    first: str | None = Query(None, alias="from"),
    last: str | None = Query(None, alias="to"),
    _: Session = Depends(signed_in),
    ctx: Context = Depends(get_context),
) -> Response:
    period, _note = _period(words_for(None, DOMAIN), ctx, first, last)
    with ctx.db.read() as conn:
        report = reports.redemptions_per_store(conn, period)
    return _csv(reports.redemptions_csv_rows(report), f"redemptions-{period.first}-{period.last}.csv")


@router.get("/reports/refused")
def refused_page(
    request: Request,
    store: str | None = None,
    reason: str | None = None,
    first: str | None = Query(None, alias="from"),
    last: str | None = Query(None, alias="to"),
    _: Session = Depends(signed_in),
    ctx: Context = Depends(get_context),
) -> Response:
    words = words_of(request)
    period, note = _period(words, ctx, first, last)
    with ctx.db.read() as conn:
        report = reports.refused_scans(conn, period)
        store_names = {s.id: s.name for s in devices.list_stores(conn)}
    store = store if store in store_names else None
    reasons = sorted({c.verdict for c in report.counts})
    reason = reason if reason in reasons else None
    days = report.per_day(store, reason)
    facts = {"first": words.date(period.first), "last": words.date(period.last)}
    if store:
        facts["store"] = store_names[store]
    if reason:
        facts["why"] = phrases.verdict_label(words, reason)
    if store and reason:
        title = words.gettext("Refused scans per day at {store} ({why}), {first} to {last}", **facts)
    elif store:
        title = words.gettext("Refused scans per day at {store}, {first} to {last}", **facts)
    elif reason:
        title = words.gettext("Refused scans per day at every store ({why}), {first} to {last}", **facts)
    else:
        title = words.gettext("Refused scans per day at every store, {first} to {last}", **facts)
    return render(
        request,
        "dashboard/report_refused.html",
        {
            "report": report,
            "period": period,
            "note": note,
            "store": store,
            "store_names": store_names,
            "reason": reason,
            "reasons": [(r, phrases.verdict_label(words, r)) for r in reasons],
            "verdict_label": lambda verdict: phrases.verdict_label(words, verdict),
            "days": days,
            "chart": charts.redemptions_chart(
                words, days, title=title, chart_id="refused-chart", refused=True
            ),
            "csv_url": f"/dashboard/reports/refused.csv?{_query(period)}",
            "query": _query(period),
        },
    )


@router.get("/reports/refused.csv")
def refused_csv(
    first: str | None = Query(None, alias="from"),
    last: str | None = Query(None, alias="to"),
    _: Session = Depends(signed_in),
    ctx: Context = Depends(get_context),
) -> Response:
    period, _note = _period(words_for(None, DOMAIN), ctx, first, last)
    with ctx.db.read() as conn:
        report = reports.refused_scans(conn, period)
    return _csv(reports.refused_csv_rows(report), f"refused-scans-{period.first}-{period.last}.csv")
