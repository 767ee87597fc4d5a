"""Who is signed in to the dashboard, and whether a form really came from one of its pages.

The session cookie holds a random token (the session itself is a database row, see
services/staff.py). Every state-changing request carries the session's CSRF token, as a
`csrf_token` form field or an `X-CSRF-Token` header, and, when the browser sends one, an Origin
of this server. The sign-in form, which has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from central.context import Context, get_context
from central.limits import client_address
from central.services import staff
from central.services.audit import Actor
from central.services.staff import Session
from vouchers.errors import Forbidden
from vouchers.roles import require_to
from vouchers.wording import N_

SESSION_COOKIE = "voucher_session"
SIGN_IN_COOKIE = "voucher_sign_in"
COOKIE_PATH = "/dashboard"
SIGN_IN_PATH = "/dashboard/sign-in"


class SignInRequired(Exception):
    """No live session: pages send people to the sign-in form, scripts get 401."""


class CsrfRefused(Forbidden):
    slug = "csrf-refused"
    title = N_("This form did not come from the dashboard")  # worded on the page (error_words)

    def __init__(
        self,
        detail: str = N_(
            "The form's security token is missing or out of date. Go back, reload the page and try again."
        ),
    ) -> None:
        super().__init__(detail)


async def form_data(request: Request) -> FormData:
    """The submitted form (parsed once; Starlette keeps it on the request)."""
    return await request.form()


def signed_in(request: Request, ctx: Context = Depends(get_context)) -> Session:
    token = request.cookies.get(SESSION_COOKIE)
    session = None
    if token:
        with ctx.db.read() as conn:
            session = staff.session_for(conn, token)
    if session is None:
        raise SignInRequired()
    request.state.session = session
    return session


def csrf_checked(
    request: Request,
    form: FormData = Depends(form_data),
    session: Session = Depends(signed_in),
    ctx: Context = Depends(get_context),
) -> Session:
    """The session, for a POST that carries its CSRF token and comes from this server's pages."""
    sent = request.headers.get("x-csrf-token") or form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise CsrfRefused()
    check_origin(request, ctx)
    return session


def require(request: Request, role: str, what: str) -> None:
    """RoleRefused unless this role may do `what` (vouchers/roles.py's NEEDS); its detail is kept
    with its facts, and the error page words it in the page's language."""
    require_to(role, what)


def acting(request: Request, session: Session, what: str) -> Actor:
    """The signed-in staff member as the audit log names them, when their role may do `what` (a
    name of vouchers/roles.py's NEEDS; RoleRefused, a page in words, otherwise)."""
    require(request, session.role, what)
    return Actor(session.email, "staff", session.role, client_address(request))


def may_open(what: str):
    """A dependency for the page of a form (new batch, a type, delete, revoke …): the session, when
    its role may do what the form does; a page in words saying which role is needed otherwise."""

    def dependency(request: Request, session: Session = Depends(signed_in)) -> Session:
        require(request, session.role, what)
        return session

    return dependency


def check_origin(request: Request, ctx: Context) -> None:
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed = {_origin(str(request.base_url)), _origin(ctx.settings.public_url)}
    if origin.rstrip("/").lower() not in allowed:
        from central.web.templating import words_of  # the page's language (templating imports no session)

        raise CsrfRefused(
            words_of(request).gettext(
                "The request came from another site ({origin}); the dashboard only takes forms from its own pages.",
                origin=origin,
            )
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def set_session_cookie(response: Response, token: str, ctx: Context) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ctx.settings.session_hours * 3600,
        path=COOKIE_PATH,
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="lax",
    )


def clear_session_cookie(response: Response, ctx: Context) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, secure=ctx.settings.secure_cookies, samesite="lax"
    )


def set_sign_in_cookie(response: Response, token: str, ctx: Context) -> None:
    """The sign-in form's token, also as a cookie that only the sign-in page sees."""
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path=SIGN_IN_PATH,
        httponly=True,
        secure=ctx.settings.secure_cookies,
        samesite="strict",
    )


def sign_in_token_ok(request: Request, sent: object) -> bool:
    cookie = request.cookies.get(SIGN_IN_COOKIE)
    return bool(cookie and isinstance(sent, str) and hmac.compare_digest(cookie.encode(), sent.encode()))


def safe_next(target: object) -> str:
    """Where to go after signing in: a dashboard page of this server, nothing else."""
    if (
        isinstance(target, str)
        and target.startswith("/dashboard")
        and "//" not in target
        and "\\" not in target
    ):
        return target
    return "/dashboard/batches"
