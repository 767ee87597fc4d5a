"""Member pages: their Jinja2 templates, filters, words, and the security headers every one gets."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from central.services.members import MemberSession

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

# Scripts and styles only from this server (one script: times in the phone's zone), no framing, nothing
# cached: the pages show voucher codes.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # (no-referrer would make form POSTs send Origin: null)
    "Cache-Control": "no-store",
}

# What a finished action says at the top of the next page (?done=KEY).
DONE = {
    "signed-out": "You are signed out.",
    "claimed": "Claimed! Your voucher is below, and always in My vouchers.",
    "marked": "Marked as used. Thank you!",
}


def when(value: datetime | date | None, empty: str = "—") -> Markup | str:
    """A time as a member reads it: 2 Mar 2026 at 14:03 UTC, in a <time> element that
    /static/localtime.js rewrites into the phone's own zone (2 Mar 2026 at 15:03 CET); without
    scripts the UTC text stays."""
    if value is None:
        return empty
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return Markup('<time datetime="{}" data-local>{}</time>').format(
            value.isoformat(timespec="seconds"), f"{value.day} {value:%b %Y} at {value:%H:%M} UTC"
        )
    return f"{value.day} {value:%b %Y}"


templates.env.filters.update(member_when=when)


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    *,
    member: MemberSession | None = None,
) -> Response:
    """A member page: the template with the signed-in member, their CSRF token and any message."""
    base = {
        "member": member,
        "csrf": member.csrf_token if member else "",
        "done": DONE.get(request.query_params.get("done", "")),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status)
    response.headers.update(HEADERS)
    return response


def secured(response: Response) -> Response:
    """Any other member response (a redirect, an image) with the same headers."""
    response.headers.update(HEADERS)
    return response


def redirect(url: str) -> Response:
    return secured(RedirectResponse(url, status_code=303))


def error_page(
    request: Request, title: str, detail: str, status: int, member: MemberSession | None = None
) -> Response:
    return render(request, "member/error.html", {"title": title, "detail": detail}, status, member=member)
