"""The head-office dashboard: server-rendered pages over central/services, behind a staff sign-in.

`install(app)` adds its pages, its static files and its error pages to the server's app.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from central.language import asked
from central.problems import status_of
from central.web.pages import audit, batch, batches, members, reports, signin, staff, stores, tokens, vouchers
from central.web.security import DashboardHeaders
from central.web.session import SIGN_IN_PATH, SignInRequired
from central.web.templating import ErrorWords, error_words, render, words_of
from vouchers.errors import VoucherError

STATIC = Path(__file__).parent.parent / "static"
PREFIX = "/dashboard"


def install(app: FastAPI) -> None:
    # batches' routes come after batch's, whose /batches/new must win over /batches/{id}
    for module in (signin, batch, batches, vouchers, members, stores, reports, audit, staff, tokens):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(DashboardHeaders, prefix=PREFIX)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    for exc_class in (VoucherError, HTTPException):
        api_handler = app.exception_handlers[exc_class]
        app.add_exception_handler(exc_class, _for_pages(api_handler))


def _is_page(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    if request.method == "GET" and "x-fragment" not in request.headers:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        chosen = asked(request)  # a language chosen with ?lang= is the sign-in page's too
        language = f"&lang={chosen}" if chosen else ""
        return RedirectResponse(f"{SIGN_IN_PATH}?next={quote(target)}{language}", status_code=303)
    words = words_of(request)
    link = Markup('<a href="/dashboard/sign-in">{}</a>').format(words.gettext("Sign in again"))
    text = Markup(escape(words.gettext("Your sign-in has ended. {link}."))).format(link=link)
    return HTMLResponse(Markup('<p class="error" role="alert">{}</p>').format(text), status_code=401)


def _for_pages(api_handler):
    """Errors on dashboard pages become a page in words; the API keeps its problem+json."""

    async def handler(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            return await api_handler(request, exc)
        if isinstance(exc, VoucherError):
            words, status = error_words(exc, words_of(request)), status_of(exc)
        else:
            assert isinstance(exc, HTTPException)  # the other class this handler is installed for
            status = exc.status_code
            detail = exc.detail if isinstance(exc.detail, str) else ""
            said = words_of(request)
            if status == 404:
                words = ErrorWords(said.gettext("Page not found"), said.gettext("There is no such page."))
            else:
                words = ErrorWords(said.gettext("Request refused"), detail)
        if "x-fragment" in request.headers:
            return render(request, "dashboard/_error.html", {"error": words}, status)
        return render(request, "dashboard/error.html", {"error": words}, status)

    return handler
