"""Signing in and out of the dashboard."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.limits import client_address, limits
from central.problems import status_of
from central.services import ratelimit, staff
from central.services.ratelimit import RateLimited
from central.web import session as web_session
from central.web.session import csrf_checked, form_data, safe_next
from central.web.templating import render, words_of
from vouchers.emails import fold
from words import language_of

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _form(
    request: Request,
    ctx: Context,
    *,
    email: str = "",
    error: str | None = None,
    status: int = 200,
    next_page: str = "",
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "dashboard/sign_in.html",
        {"email": email, "error": error, "sign_in_token": token, "next": next_page},
        status,
    )
    web_session.set_sign_in_cookie(response, token, ctx)
    return response


def _slowed(request: Request, ctx: Context, email: str, next_page: str, exc: RateLimited) -> Response:
    response = _form(request, ctx, email=email, next_page=next_page, status=status_of(exc), error=exc.detail)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("")
def dashboard_home(request: Request) -> Response:
    """The batches; a language chosen on the way (?lang=) goes along."""
    chosen = language_of(request.query_params.get("lang"))
    return RedirectResponse("/dashboard/batches" + (f"?lang={chosen}" if chosen else ""), status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, ctx: Context = Depends(get_context)) -> Response:
    return _form(request, ctx, next_page=safe_next(request.query_params.get("next")))


@router.post("/sign-in")
def sign_in(
    request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)
) -> Response:
    email = str(form.get("email") or "")[:200]
    password = str(form.get("password") or "")[: staff.MAX_PASSWORD]
    next_page = safe_next(form.get("next"))
    if not web_session.sign_in_token_ok(request, form.get("sign_in_token")):
        return _form(
            request,
            ctx,
            email=email,
            next_page=next_page,
            status=403,
            error=words_of(request).gettext("The sign-in form had expired. Sign in again."),
        )
    if not email.strip() or not password:
        return _form(
            request,
            ctx,
            email=email,
            next_page=next_page,
            status=422,
            error=words_of(request).gettext("Enter your e-mail address and your password."),
        )
    s = ctx.settings
    limit, address = limits(s), client_address(request)
    mine = (
        f"{fold(email)}|{address}"  # failures count per account *and* address: a stranger slows only theirs
    )
    try:
        ratelimit.check(ctx.db, limit.staff_failures_account, mine)
        ratelimit.check(ctx.db, limit.staff_failures_address, address)
    except RateLimited as exc:
        return _slowed(request, ctx, email, next_page, exc)
    with ctx.db.write() as conn:
        outcome = staff.sign_in(conn, email, password, hours=s.session_hours, log2_n=s.password_hash_cost)
    if outcome.refused is not None:
        for which, subject in ((limit.staff_failures_address, address), (limit.staff_failures_account, mine)):
            try:
                ratelimit.hit(ctx.db, which, subject)
            except RateLimited:
                pass  # the next attempt from here is slowed
        return _form(
            request,
            ctx,
            email=email,
            next_page=next_page,
            status=status_of(outcome.refused),
            error=outcome.refused.detail,
        )
    ratelimit.clear(ctx.db, limit.staff_failures_account, mine)
    assert outcome.token is not None  # a sign-in not refused has its session's token
    response = RedirectResponse(next_page, status_code=303)
    web_session.set_session_cookie(response, outcome.token, ctx)
    response.delete_cookie(web_session.SIGN_IN_COOKIE, path=web_session.SIGN_IN_PATH)
    return response


@router.post("/sign-out")
def sign_out(
    request: Request, _: staff.Session = Depends(csrf_checked), ctx: Context = Depends(get_context)
) -> Response:
    with ctx.db.write() as conn:
        staff.sign_out(conn, request.cookies[web_session.SESSION_COOKIE])
    response = RedirectResponse(f"{web_session.SIGN_IN_PATH}?done=signed-out", status_code=303)
    web_session.clear_session_cookie(response, ctx)
    return response
