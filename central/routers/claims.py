"""Members: claim a voucher (API), and the claim page behind the claim URL (HTML).

The claim page shows the batch's title and description and, when a claim is not possible, why
("Promotion temporarily paused", "No vouchers available"), with no claim button. Claiming needs a
signed-in member: a member who is not signed in types an e-mail address and is signed in and
given a voucher by one tap. A member who has claimed from the batch sees that voucher again.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import Response

from central.context import Context, get_context, json
from central.members import session as member_session
from central.members.pages import FORM_EXPIRED, error_page, redirect, start_session
from central.members.session import current_member, form_data, form_ok
from central.members.templating import render
from central.problems import PUBLIC_ERRORS
from central.schemas import ClaimRequest
from central.services import claims as service
from central.services import members
from central.services.members import MemberSession
from vouchers.errors import ClaimRefused, NotFound
from vouchers.lifecycle import CLAIMABLE, Claims, State

router = APIRouter(tags=["claims"], responses=PUBLIC_ERRORS)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")  # the home page's


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


def _page(request: Request, ctx: Context, batch, member: MemberSession | None, *, email: str = "",
          error: str | None = None, status: int = 200) -> Response:
    voucher = None
    if member is not None:
        with ctx.db.read() as conn:
            voucher = members.voucher_in_batch(conn, member.member_id, batch["id"])
    message = None if voucher else _notice(batch)
    token = member_session.sign_in_token(request) if member is None and message is None else None
    context = {"batch": batch, "voucher": voucher, "message": message, "email": email, "error": error,
               "sign_in_token": token}
    response = render(request, "claim.html", context, status, member=member)
    if token:
        member_session.set_sign_in_cookie(response, token, ctx)
    return response


def _not_found(request: Request, exc: NotFound, member: MemberSession | None) -> Response:
    return error_page(request, "Claim a voucher", exc.detail, 404, member)


@router.get("/claim/{claim_token}", include_in_schema=False)
def claim_page(request: Request, claim_token: str, ctx: Context = Depends(get_context)) -> Response:
    member = current_member(request, ctx)
    try:
        with ctx.db.read() as conn:
            batch = service.batch_by_token(conn, claim_token)
    except NotFound as exc:
        return _not_found(request, exc, member)
    return _page(request, ctx, batch, member)


@router.post("/claim/{claim_token}", include_in_schema=False)
def claim_form(request: Request, claim_token: str, form: FormData = Depends(form_data),
               ctx: Context = Depends(get_context)) -> Response:
    """Claim for the signed-in member, or sign in with the e-mail address typed and claim at once;
    then back to the claim page, which shows the voucher (a second claim shows the same one)."""
    member = current_member(request, ctx)
    try:
        with ctx.db.read() as conn:
            batch = service.batch_by_token(conn, claim_token)
    except NotFound as exc:
        return _not_found(request, exc, member)
    new_token = None
    if member is not None:
        if not form_ok(request, ctx, form, member):
            return error_page(request, "This form did not come from this site", FORM_EXPIRED, 403, member)
    else:
        email = str(form.get("email") or "")[:200]
        if not member_session.sign_in_form_ok(request, ctx, form):
            return _page(request, ctx, batch, None, email=email, error=FORM_EXPIRED, status=403)
        started = start_session(ctx, email)
        if isinstance(started, str):
            return _page(request, ctx, batch, None, email=email, error=started, status=422)
        new_token, member = started
    done = "claimed"
    try:
        with ctx.db.write() as conn:
            service.claim(conn, claim_token, member.member_id)
    except ClaimRefused:
        done = ""  # the claim page says why (or shows the voucher claimed before)
    response = redirect(f"/claim/{claim_token}" + (f"?done={done}" if done else ""))
    if new_token:
        member_session.set_member_cookie(response, new_token, ctx)
    return response
