"""Signing in and out of the dashboard."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.services import staff
from central.web import session as web_session
from central.web.session import csrf_checked, form_data, safe_next
from central.web.templating import render

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _form(request: Request, ctx: Context, *, email: str = "", error: str | None = None, status: int = 200,
          next_page: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "dashboard/sign_in.html",
                      {"email": email, "error": error, "sign_in_token": token, "next": next_page}, status)
    web_session.set_sign_in_cookie(response, token, ctx)
    return response


@router.get("")
def dashboard_home() -> Response:
    return RedirectResponse("/dashboard/batches", status_code=303)


@router.get("/sign-in")
def sign_in_page(request: Request, ctx: Context = Depends(get_context)) -> Response:
    return _form(request, ctx, next_page=safe_next(request.query_params.get("next")))


@router.post("/sign-in")
def sign_in(request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)) -> Response:
    email = str(form.get("email") or "")[:200]
    password = str(form.get("password") or "")[: staff.MAX_PASSWORD]
    next_page = safe_next(form.get("next"))
    if not web_session.sign_in_token_ok(request, form.get("sign_in_token")):
        return _form(request, ctx, email=email, next_page=next_page, status=403,
                     error="The sign-in form had expired. Sign in again.")
    if not email.strip() or not password:
        return _form(request, ctx, email=email, next_page=next_page, status=422,
                     error="Enter your e-mail address and your password.")
    s = ctx.settings
    with ctx.db.write() as conn:
        outcome = staff.sign_in(conn, email, password, hours=s.session_hours, max_failures=s.sign_in_max_failures,
                                lockout_minutes=s.sign_in_lockout_minutes)
    if outcome.refused is not None:
        return _form(request, ctx, email=email, next_page=next_page, status=outcome.refused.status,
                     error=outcome.refused.detail)
    response = RedirectResponse(next_page, status_code=303)
    web_session.set_session_cookie(response, outcome.token, ctx)
    response.delete_cookie(web_session.SIGN_IN_COOKIE, path=web_session.SIGN_IN_PATH)
    return response


@router.post("/sign-out")
def sign_out(request: Request, _: staff.Session = Depends(csrf_checked), ctx: Context = Depends(get_context)) -> Response:
    with ctx.db.write() as conn:
        staff.sign_out(conn, request.cookies[web_session.SESSION_COOKIE])
    response = RedirectResponse(f"{web_session.SIGN_IN_PATH}?done=signed-out", status_code=303)
    web_session.clear_session_cookie(response, ctx)
    return response
