"""Members: claim a voucher (API), and the claim page behind the claim URL (HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.responses import Response

from central.problems import PUBLIC_ERRORS
from central.context import Context, get_context, json
from central.schemas import ClaimRequest
from central.services import claims as service
from vouchers.errors import ClaimRefused, NotFound
from vouchers.lifecycle import CLAIMABLE, Claims, State

router = APIRouter(tags=["claims"], responses=PUBLIC_ERRORS)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


@router.post("/api/v1/claims", status_code=201, summary="A member claims a voucher from a batch")
def claim(data: ClaimRequest, ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.write() as conn:
        return json(service.claim(conn, data.claim_token, data.member_id), 201)


def _notice(batch) -> str | None:
    """What the claim page says instead of offering a claim, if anything."""
    if State(batch["state"]) not in CLAIMABLE:
        return "This promotion is not open for claims."
    if batch["claims"] == Claims.PAUSED:
        return "Promotion temporarily paused"
    if batch["total"] - batch["claimed"] <= 0:
        return "No vouchers available"
    return None


def _page(request: Request, batch, *, message=None, code=None, email="", error=None, status=200) -> Response:
    context = {"batch": batch, "message": message, "code": code, "email": email, "error": error,
               "open": message is None and not code}
    return templates.TemplateResponse(request, "claim.html", context, status_code=status)


@router.get("/claim/{claim_token}", include_in_schema=False)
def claim_page(request: Request, claim_token: str, ctx: Context = Depends(get_context)) -> Response:
    try:
        with ctx.db.read() as conn:
            batch = service.batch_by_token(conn, claim_token)
    except NotFound as exc:
        return _page(request, None, message=exc.detail, status=404)
    return _page(request, batch, message=_notice(batch))


@router.post("/claim/{claim_token}", include_in_schema=False)
def claim_form(
    request: Request, claim_token: str, email: Annotated[str, Form(max_length=200)] = "",
    ctx: Context = Depends(get_context),
) -> Response:
    """The member signs in with an e-mail address and claims; a second claim shows the same code."""
    try:
        with ctx.db.read() as conn:
            batch = service.batch_by_token(conn, claim_token)
    except NotFound as exc:
        return _page(request, None, message=exc.detail, status=404)
    try:
        data = ClaimRequest(claim_token=claim_token, member_id=email.strip().lower())
        if "@" not in data.member_id:
            raise ValueError("not an e-mail address")
    except (ValidationError, ValueError):
        return _page(request, batch, email=email, error="Enter your e-mail address to claim.", status=422)
    try:
        with ctx.db.write() as conn:
            code = service.claim(conn, claim_token, data.member_id)["code"]
    except ClaimRefused as exc:
        if exc.slug == "already-claimed":
            return _page(request, batch, code=exc.extra["code"], email=data.member_id)
        return _page(request, batch, message=exc.title, status=409)
    return _page(request, batch, code=code, email=data.member_id, status=201)
