"""Members: claim a voucher (API) and the claim page behind the claim URL (HTML)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from central.context import Context, get_context, json
from central.schemas import ClaimRequest
from central.services import claims as service
from vouchers.errors import NotFound
from vouchers.lifecycle import CLAIMABLE, Claims, State

router = APIRouter(tags=["claims"])
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.post("/api/v1/claims", status_code=201, summary="A member claims a voucher from a batch")
def claim(data: ClaimRequest, ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.write() as conn:
        return json(service.claim(conn, data.claim_token, data.member_id), 201)


@router.get("/claim/{claim_token}", include_in_schema=False)
def claim_page(request: Request, claim_token: str, ctx: Context = Depends(get_context)) -> Response:
    try:
        with ctx.db.read() as conn:
            batch = service.batch_by_token(conn, claim_token)
    except NotFound as exc:
        return templates.TemplateResponse(
            request, "claim.html", {"batch": None, "message": exc.detail, "open": False}, status_code=404
        )
    state = State(batch["state"])
    message = None
    if state not in CLAIMABLE:
        message = "This promotion is not open for claims."
    elif batch["claims"] == Claims.PAUSED:
        message = "Promotion temporarily paused"
    elif batch["total"] - batch["claimed"] <= 0:
        message = "No vouchers available"
    return templates.TemplateResponse(
        request, "claim.html", {"batch": batch, "message": message, "open": message is None}
    )
