"""Admin: staff accounts (bootstrapping the first one with the shared admin token), and the audit log."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StringConstraints
from starlette.responses import Response, StreamingResponse

from central.auth import require_admin_token, require_staff_admin
from central.context import Context, get_context, json
from central.limits import client_address
from central.problems import ADMIN_ERRORS
from central.services import audit, staff, staff_admin
from central.services.audit import Actor
from vouchers.errors import Conflict
from vouchers.wire import Instant, Strict

router = APIRouter(prefix="/api/v1", tags=["staff"], responses=ADMIN_ERRORS)


class Bootstrap(Strict):
    email: Annotated[str, StringConstraints(min_length=3, max_length=200, strip_whitespace=True)] = Field(
        description="The first staff member's e-mail address: they become an admin."
    )
    token_name: Annotated[str, StringConstraints(max_length=200)] = "bootstrap"
    days: int = Field(30, ge=1, le=staff.MAX_TOKEN_DAYS, description="Days the API token lasts.")


@router.post(
    "/staff/bootstrap",
    status_code=201,
    dependencies=[Depends(require_admin_token)],
    summary="With the shared admin token, while there is no staff account: the first admin and their token",
)
def bootstrap(data: Bootstrap, request: Request, ctx: Context = Depends(get_context)) -> Response:
    actor = Actor("admin token", "admin-token", None, client_address(request))
    with ctx.db.write() as conn:
        if staff.count(conn) > 0:
            raise Conflict(
                "There are staff accounts already: the admin token bootstraps only the first. An admin "
                "makes the others (voucher-central staff add, staff token create).",
                title="Already bootstrapped",
            )
        account = staff_admin.add(
            conn,
            actor,
            data.email,
            secrets.token_urlsafe(24),
            role="admin",
            log2_n=ctx.settings.password_hash_cost,
        )
        token = staff_admin.create_token(conn, actor, account.email, data.token_name, data.days)
    return json({**asdict(token), "role": "admin"}, 201)


@router.get("/staff", summary="Every staff account with its role (admin)")
def list_staff(_: Actor = Depends(require_staff_admin), ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        return json(staff.list_all(conn))


@router.get("/audit", summary="The audit log, newest first (admin); CSV with ?format=csv")
def audit_log(
    actor: str | None = Query(None, max_length=200, description="Only this person's (or token's) changes"),
    entity: str | None = Query(
        None, max_length=200, description="Only changes of this batch, voucher, store, device…"
    ),
    action: str | None = Query(None, max_length=64, description="Only actions starting so, e.g. 'batch.'"),
    since: Instant | None = Query(None, description="From this time (ISO 8601 with offset)"),
    until: Instant | None = Query(None, description="Before this time (ISO 8601 with offset)"),
    limit: int = Query(500, ge=1, le=10_000),
    before_id: int | None = Query(None, ge=1, le=2**62, description="Entries older than this id (paging)"),
    format: str | None = Query(None, pattern="^(json|csv)$"),
    _: Actor = Depends(require_staff_admin),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        rows = audit.entries(
            conn,
            actor=actor,
            entity=entity,
            action=action,
            since=since,
            until=until,
            limit=limit,
            before_id=before_id,
        )
    if format == "csv":
        return StreamingResponse(
            audit.as_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
        )
    return json(rows)
