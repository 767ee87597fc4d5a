"""Member pages: their Jinja2 templates in the member's language, filters, and the security headers
every one gets.

A page's language is the request's (central/language.py: the chooser's `?lang=`, kept in a cookie,
else the browser's Accept-Language). The environment is shared by every request at once, so nothing
of a language is installed in it: each render's own context carries the words (`page_words`, a
context processor), and Jinja's i18n extension finds `gettext` there. Templates word their text with
`_("…", name=value)` (also `gettext`, `ngettext`, `pgettext`), messages being `str.format` templates
like the Python side's; the translation is trusted as HTML, the facts are escaped. Imported macros
that word anything are imported `with context`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from central.language import choices, remember, request_language
from central.members import wording
from central.services.members import MemberSession
from vouchers.verdict import Verdict
from words import Words, words_for
from words import verdicts as verdict_words

DOMAIN = "members"

# Scripts and styles only from this server (one script: times in the phone's zone), no framing, nothing
# cached: the pages show voucher codes.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # (no-referrer would make form POSTs send Origin: null)
    "Cache-Control": "no-store",
    "Vary": "Accept-Language, Cookie",
}


def words_of(request: Request) -> Words:
    """The member pages' words in this request's language."""
    return words_for(request_language(request), DOMAIN)


def _escaped(facts: dict[str, object]) -> dict[str, object]:
    return {name: escape(value) for name, value in facts.items()}


def template_words(words: Words) -> dict[str, Callable[..., Markup]]:
    """gettext, ngettext and pgettext for one render, as Jinja's i18n extension calls them: the
    translation (trusted, as the template's own text is) with its facts escaped."""

    def gettext(message: str, /, **facts: object) -> Markup:
        return Markup(words.gettext(message, **_escaped(facts)))

    def ngettext(singular: str, plural: str, n: int, /, **facts: object) -> Markup:
        return Markup(words.ngettext(singular, plural, n, **_escaped(facts)))

    def pgettext(context: str, message: str, /, **facts: object) -> Markup:
        return Markup(words.pgettext(context, message, **_escaped(facts)))

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "pgettext": pgettext}


def page_words(request: Request) -> dict[str, Any]:
    """What every member template words itself with, for this request only (a context processor):
    the language, its words, the verdicts' words, and the chooser's links."""
    words = words_of(request)
    chooser_at = getattr(request.state, "chooser_at", None)
    return {
        "lang": words.language,
        "words": words,
        "verdict_words": words_for(words.language, verdict_words.DOMAIN),
        "languages": _chooser(request, chooser_at),
        **template_words(words),
    }


def _chooser(request: Request, at: str | None) -> list[tuple[str, str, str, bool]]:
    """The chooser's links: to this page (`choices`); for the answer of a form's POST, whose URL is
    no page, to `at`."""
    links = choices(request)
    if at is None or request.method in ("GET", "HEAD"):
        return links
    return [(code, name, str(URL(at).include_query_params(lang=code)), now) for code, name, _, now in links]


templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    ),
    context_processors=[page_words],
)


@pass_context
def when(context: Context, value: datetime | date | None, empty: str = "—") -> Markup | str:
    """A time as a member reads it (2 mars 2026 à 14:03 UTC), in a <time> element that
    /static/localtime.js writes again in the phone's own zone with the same words (`data-format`,
    filled from the browser's Intl in the page's language); without scripts the UTC text stays. A day
    is written alone."""
    if value is None:
        return empty
    words: Words = context["words"]
    if not isinstance(value, datetime):
        parts = _day(words, value)
        return Markup('<time datetime="{}">{}</time>').format(
            value.isoformat(), words.gettext(wording.DAY, **parts)
        )
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    pattern = words.gettext(wording.MOMENT)
    moment = {
        **_day(words, value),
        "hour": words.time(value, "HH"),
        "minute": words.time(value, "mm"),
        "zone": "UTC",
    }
    return Markup('<time datetime="{}" data-local data-format="{}">{}</time>').format(
        value.isoformat(timespec="seconds"), pattern, words.gettext(wording.MOMENT, **moment)
    )


def _day(words: Words, value: date | datetime) -> dict[str, str]:
    return {"day": words.date(value, "d"), "month": words.date(value, "MMM"), "year": words.date(value, "y")}


@pass_context
def reason(context: Context, verdict: Verdict | str | None) -> str:
    """A verdict's reason (why a voucher cannot be marked used), in the page's language."""
    if verdict is None:
        return ""
    return verdict_words.reason(context["verdict_words"], Verdict(verdict))


templates.env.filters.update(when=when, reason=reason)
templates.env.globals.update(status_name=wording.STATUS_NAMES, status_meaning=wording.STATUS_MEANINGS)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    *,
    member: MemberSession | None = None,
    chooser_at: str | None = None,
) -> Response:
    """A member page in the request's language: the template with the signed-in member, their CSRF
    token and any message; `chooser_at` is the page the language chooser links to when this answer's
    own URL is none (a form's POST)."""
    if chooser_at is not None:
        request.state.chooser_at = chooser_at
    done = wording.DONE.get(request.query_params.get("done", ""))
    base = {
        "member": member,
        "csrf": member.csrf_token if member else "",
        "done": words_of(request).gettext(done) if done else None,
        "path": request.url.path,
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status)
    return secured(request, response)


def secured(request: Request, response: Response) -> Response:
    """Any member response (a page, a redirect, an image) with the security headers, and the
    language a `?lang=` chose kept for the next pages."""
    response.headers.update(HEADERS)
    return remember(request, response)


def redirect(request: Request, url: str) -> Response:
    return secured(request, RedirectResponse(url, status_code=303))


def error_page(
    request: Request,
    title: str,
    detail: str,
    status: int,
    member: MemberSession | None = None,
    *,
    chooser_at: str | None = None,
) -> Response:
    """A page that says what went wrong: `title` and `detail` already in the page's words."""
    return render(
        request,
        "member/error.html",
        {"title": title, "detail": detail},
        status,
        member=member,
        chooser_at=chooser_at,
    )


NOT_PAGES = ("/api/", "/dashboard", "/static/", "/metrics", "/healthz", "/readyz")
"""Paths whose errors are not the member pages' to word (the API's problem+json, the dashboard's)."""


def install_not_found(app: FastAPI) -> None:
    """A browser asking for a page that does not exist (/my/nothing, a mistyped link) gets a page in
    its language, not the API's problem+json; the API and the dashboard keep their own."""
    api_handler = app.exception_handlers[HTTPException]

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        if (
            exc.status_code == 404
            and request.method in ("GET", "HEAD")
            and "text/html" in request.headers.get("accept", "")
            and not path.startswith(NOT_PAGES)
        ):
            words = words_of(request)
            return error_page(
                request, words.gettext("Page not found"), words.gettext("There is no such page."), 404
            )
        answer = api_handler(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(HTTPException, handler)
