"""The audit log page: every change at head office, filtered by who, what, action and day; CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import Response, StreamingResponse

from central.context import Context, get_context
from central.db.schema import audit_log
from central.services import audit
from central.services.staff import Session
from central.web.session import may_open
from central.web.templating import render
from vouchers.wording import N_

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PAGE = 100
ACTION_GROUPS = (
    ("batch.", N_("Batches and types")),
    ("voucher.", N_("Vouchers")),
    ("store.", N_("Stores")),
    ("device.", N_("Devices")),
    ("problem.", N_("Conflicts")),
    ("staff.", N_("Staff")),
    ("token.", N_("API tokens")),
    ("integration.", N_("Integrations")),
    ("claim.", N_("Claims on behalf")),
    ("member.", N_("Members")),
)

ACTION_WORDS = {
    "batch.create": N_("Batch created"),
    "batch.edit": N_("Batch edited"),
    "batch.delete": N_("Batch deleted"),
    "batch.validate": N_("Batch validated"),
    "batch.configure": N_("Batch back to configuring"),
    "batch.generate": N_("Vouchers generated"),
    "batch.distribute": N_("Batch distributed"),
    "batch.redeemable": N_("Batch made redeemable"),
    "batch.lock": N_("Batch locked"),
    "batch.void": N_("Batch voided"),
    "batch.pause": N_("Claims paused"),
    "batch.resume": N_("Claims resumed"),
    "batch.type-add": N_("Type added"),
    "batch.type-edit": N_("Type edited"),
    "batch.type-remove": N_("Type removed"),
    "voucher.status": N_("Voucher status changed"),
    "store.create": N_("Store created"),
    "store.enrolment-code": N_("Enrolment code made"),
    "store.locale": N_("Store language set"),
    "device.revoke": N_("Device revoked"),
    "problem.review": N_("Conflict or rejection reviewed"),
    "staff.add": N_("Staff member added"),
    "staff.disable": N_("Staff member disabled"),
    "staff.enable": N_("Staff member enabled"),
    "staff.remove": N_("Staff member removed"),
    "staff.role": N_("Role changed"),
    "staff.password": N_("Password changed"),
    "token.create": N_("API token created"),
    "token.revoke": N_("API token revoked"),
    "integration.create": N_("Integration added"),
    "integration.revoke": N_("Integration revoked"),
    "claim.on-behalf": N_("Voucher claimed for a member"),
}
"""The audit log's actions as the page names them (the code itself stays in the CSV and the filter)."""
ENTITY_WORDS = {
    "batch": N_("batch"),
    "voucher": N_("voucher"),
    "store": N_("store"),
    "device": N_("device"),
    "problem": N_("conflict or rejection"),
    "staff": N_("staff member"),
    "token": N_("API token"),
    "integration": N_("integration"),
    "member": N_("member"),
}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    action = q.get("action", "")
    return {
        "actor": q.get("actor", "").strip()[:200],
        "entity": q.get("entity", "").strip()[:200],
        "action": action if action in dict(ACTION_GROUPS) else "",
        "since": q.get("since", "") if _day(q.get("since", "")) else "",
        "until": q.get("until", "") if _day(q.get("until", "")) else "",
    }


def _query(f: dict[str, str]) -> dict:
    since, until = _day(f["since"]), _day(f["until"])
    return {
        "actor": f["actor"] or None,
        "entity": f["entity"] or None,
        "action": f["action"] or None,
        "since": datetime.combine(since, datetime.min.time(), UTC) if since else None,
        "until": datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC) if until else None,
    }


@router.get("/audit")
def audit_page(
    request: Request, _: Session = Depends(may_open("audit.read")), ctx: Context = Depends(get_context)
) -> Response:
    f = _filters(request)
    raw = request.query_params.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 18 else None
    with ctx.db.read() as conn:
        rows = audit.entries(conn, **_query(f), limit=PAGE + 1, before_id=before)
        actors = sorted(set(conn.execute(select(audit_log.c.actor).distinct().limit(500)).scalars()))
    more, rows = len(rows) > PAGE, rows[:PAGE]
    query = {k: v for k, v in f.items() if v}
    return render(
        request,
        "dashboard/audit.html",
        {
            "entries": rows,
            "filters": f,
            "filtered": bool(query),
            "actors": actors,
            "action_groups": ACTION_GROUPS,
            "action_words": ACTION_WORDS,
            "entity_words": ENTITY_WORDS,
            "csv_url": "/dashboard/audit.csv" + (f"?{urlencode(query)}" if query else ""),
            "next_url": f"?{urlencode({**query, 'before': rows[-1].id})}" if more else None,
        },
    )


@router.get("/audit.csv")
def audit_csv(
    request: Request, _: Session = Depends(may_open("audit.read")), ctx: Context = Depends(get_context)
) -> Response:
    with ctx.db.read() as conn:
        rows = audit.entries(conn, **_query(_filters(request)), limit=100_000)
    return StreamingResponse(
        audit.as_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
