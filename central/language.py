"""Which language a web page answers in: the person's own choice, else their browser's.

A page's language chooser links to the same page with `?lang=fr`; that choice is kept in a cookie
(`lang`, a year, the whole site) so the next pages, the member pages and the dashboard alike, stay
in it. Without a choice, the browser's `Accept-Language` decides (words.negotiate); English when it
names none of the product's languages.
"""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from words import LANGUAGES, language_of, negotiate

COOKIE = "lang"
PARAMETER = "lang"
KEEP_SECONDS = 365 * 24 * 3600

# Each language's own name, as a chooser shows it (never translated: a person finds their own).
NAMES: dict[str, str] = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español"}


def asked(request: Request) -> str | None:
    """The language this request asks for by the chooser (`?lang=`), if it is one of the product's."""
    return language_of(request.query_params.get(PARAMETER))


def request_language(request: Request) -> str:
    """The language to answer this request in: `?lang=`, else the `lang` cookie, else Accept-Language."""
    return (
        asked(request)
        or language_of(request.cookies.get(COOKIE))
        or negotiate(request.headers.get("accept-language"))
    )


def remember(request: Request, response: Response) -> Response:
    """Keep a choice made with `?lang=` for the next pages (nothing when the request made none)."""
    chosen = asked(request)
    if chosen is not None and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=KEEP_SECONDS,
            path="/",
            samesite="lax",
            secure=request.url.scheme == "https",
            httponly=True,
        )
    return response


def choices(request: Request) -> list[tuple[str, str, str, bool]]:
    """The chooser's links: (language, its own name, this page's URL in it, whether it is the current one)."""
    current = request_language(request)
    return [
        (code, NAMES[code], str(request.url.include_query_params(**{PARAMETER: code})), code == current)
        for code in LANGUAGES
    ]
