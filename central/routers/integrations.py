"""Admin: integration tokens for shops' own web sites, which claim on behalf of their customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints
from starlette.responses import Response

from central.auth import require_staff_admin
from central.context import Context, get_context, json
from central.problems import ADMIN_ERRORS
from central.services import integrations as service
from central.services.audit import Actor
from vouchers.wire import Strict

router = APIRouter(
    prefix="/api/v1",
    tags=["integrations"],
    dependencies=[Depends(require_staff_admin)],
    responses=ADMIN_ERRORS,
)


class IntegrationCreate(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] = Field(
        description="Whose web site uses it, e.g. 'Leeds shop web site'."
    )
    days: int | None = Field(365, ge=1, le=3650, description="Days until it expires; null: never.")


@router.post("/integration-tokens", status_code=201, summary="Issue an integration token (shown once)")
def create(
    data: IntegrationCreate, actor: Actor = Depends(require_staff_admin), ctx: Context = Depends(get_context)
) -> Response:
    with ctx.db.write() as conn:
        return json(service.issue(conn, actor, data.name, data.days), 201)


@router.get("/integration-tokens", summary="Every integration token (never their secrets)")
def list_all(ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.read() as conn:
        return json(service.list_all(conn))


@router.post("/integration-tokens/{token_id}/revoke", summary="Revoke an integration token: it stops at once")
def revoke(
    token_id: str, actor: Actor = Depends(require_staff_admin), ctx: Context = Depends(get_context)
) -> Response:
    with ctx.db.write() as conn:
        return json(service.withdraw(conn, actor, token_id))
