"""Who is signed in on the member pages, and whether a member's form really came from them.

The member cookie (`voucher_member`, path /) is apart from the dashboard's (`voucher_session`,
path /dashboard): each is looked up in its own table, so neither opens the other's pages. Forms
of a signed-in member carry the session's CSRF token; the sign-in forms (the claim page's and
/my/sign-in), which have no session yet, carry a double-submit token that is also in a
SameSite=Strict cookie. When the browser sends an Origin, it must be this server's.
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

from central.context import Context
from central.services import members
from central.services.members import MemberSession

MEMBER_COOKIE = "voucher_member"
SIGN_IN_COOKIE = "voucher_member_sign_in"
SIGN_IN_PATH = "/my/sign-in"
HOME = "/my/vouchers"
_NEXT = re.compile(r"^/(claim/[A-Za-z0-9_-]{1,100}|my(/[A-Za-z0-9_.-]*)*)(\?[A-Za-z0-9=&_-]*)?$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


async def form_data(request: Request) -> FormData:
    """The submitted form (parsed once; Starlette keeps it on the request)."""
    return await request.form()


def current_member(request: Request, ctx: Context) -> MemberSession | None:
    """The signed-in member of this request, if the member cookie stands for a live session."""
    token = request.cookies.get(MEMBER_COOKIE)
    if not token:
        return None
    with ctx.db.read() as conn:
        return members.session_for(conn, token)


def _same(a: object, b: object) -> bool:
    return (
        isinstance(a, str) and isinstance(b, str) and bool(a) and hmac.compare_digest(a.encode(), b.encode())
    )


def origin_ok(request: Request, ctx: Context) -> bool:
    """No Origin header (not a browser's cross-site request), or this server's own."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    allowed = {_origin(str(request.base_url)), _origin(ctx.settings.public_url)}
    return origin.rstrip("/").lower() in allowed


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def form_ok(request: Request, ctx: Context, form: FormData, session: MemberSession) -> bool:
    """A signed-in member's form: it carries the session's CSRF token and comes from this server."""
    return _same(form.get("csrf_token"), session.csrf_token) and origin_ok(request, ctx)


def sign_in_form_ok(request: Request, ctx: Context, form: FormData) -> bool:
    """A sign-in form: its token matches the sign-in cookie and it comes from this server."""
    return _same(form.get("sign_in_token"), request.cookies.get(SIGN_IN_COOKIE)) and origin_ok(request, ctx)


def sign_in_token(request: Request) -> str:
    """The token for a sign-in form: the browser's current one, so that two open tabs both work."""
    current = request.cookies.get(SIGN_IN_COOKIE, "")
    return current if _TOKEN.match(current) else secrets.token_urlsafe(24)


def set_sign_in_cookie(response: Response, token: str, ctx: Context) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=24 * 3600,
        path="/",
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="strict",
    )


def set_member_cookie(response: Response, token: str, ctx: Context) -> None:
    response.set_cookie(
        MEMBER_COOKIE,
        token,
        max_age=ctx.settings.member_session_days * 86400,
        path="/",
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="lax",
    )
    response.delete_cookie(
        SIGN_IN_COOKIE, path="/", httponly=True, secure=ctx.settings.secure_cookies, samesite="strict"
    )


def clear_member_cookie(response: Response, ctx: Context) -> None:
    response.delete_cookie(
        MEMBER_COOKIE, path="/", httponly=True, secure=ctx.settings.secure_cookies, samesite="lax"
    )


def safe_next(target: object) -> str:
    """Where to go after signing in: a claim page or a My vouchers page of this server, nothing else."""
    if isinstance(target, str) and _NEXT.match(target) and "//" not in target and ".." not in target:
        return target
    return HOME
