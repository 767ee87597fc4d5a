"""The dashboard's Jinja2 templates, their filters, and one `render` every page goes through."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from vouchers import roles
from vouchers.lifecycle import CLAIMABLE
from vouchers.errors import VoucherError
from vouchers.verdict import REASONS, Verdict
from vouchers.metrics import BENCHMARKS, Metrics, Rating, rating

TEMPLATES = Path(__file__).parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)

STATE_WORDS = {
    "configuring": "Configuring",
    "validated": "Validated",
    "generating": "Generating",
    "generated": "Generated",
    "distributed": "Distributed",
    "redeemable": "Redeemable",
    "locked": "Locked",
    "void": "Void",
}

# The labels of life-cycle and claims actions, as buttons and menu items show them.
ACTION_LABELS = {
    "validate": "Validate",
    "configure": "Back to configuring",
    "generate": "Generate vouchers",
    "distribute": "Distribute",
    "redeemable": "Make redeemable",
    "lock": "Lock",
    "void": "Void batch",
    "edit": "Edit batch",
    "pause": "Pause batch",
    "resume": "Resume batch",
    "delete": "Delete batch",
}

# What a finished action says at the top of the next page (?done=KEY; n is a count).
DONE = {
    "signed-out": "You are signed out.",
    "created": "Batch created. Add its types, then validate it.",
    "saved": "Batch saved.",
    "type-added": "Type added.",
    "type-saved": "Type saved.",
    "type-removed": "Type removed.",
    "validate": "The batch is valid: it can be generated now.",
    "configure": "The batch is back in configuring: edit it, then validate it again.",
    "generate": "Generating vouchers in the background. You may leave this page and come back.",
    "generated": "Generation finished: the vouchers exist. Distribute the batch when you hand them out.",
    "distribute": "Batch distributed: members may claim its vouchers.",
    "redeemable": "Batch redeemable: tills accept its vouchers.",
    "lock": "Batch locked: tills refuse its vouchers until it is redeemable again.",
    "void": "Batch void: nothing in it can be used any more.",
    "pause": "Batch paused: no new claims; vouchers already claimed stay valid.",
    "resume": "Batch resumed: members may claim again.",
    "deleted": "Batch deleted with its {n} vouchers.",
    "store-created": "Store created.",
    "revoked": "Device revoked: its token stopped working.",
    "reviewed": "Marked as reviewed: both stores' tills see it closed at their next sync.",
    "already-reviewed": "Someone had already reviewed it: their note stands.",
    "review-needs-note": "Write a note to mark it reviewed (what was found, what was done).",
}


def reason_words(code: str | None) -> str:
    """Why the ledger refused an event, in words (the kiosk's verdict reasons, and the ledger's own)."""
    if code is None:
        return ""
    try:
        return REASONS[Verdict(code)]
    except ValueError:
        return LEDGER_REASONS.get(code, code)


LEDGER_REASONS = {
    "ID_IN_USE": "Another till already sent an event with this id.",
    "UNKNOWN_REDEMPTION": "The redemption this undo refers to is unknown.",
    "NOT_REDEEMED": "The voucher was not redeemed by the event this undo refers to.",
}


def when(value: datetime | date | None, empty: str = "—") -> str:
    if value is None:
        return empty
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def number(value: int | float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}"


def percent(value: float) -> str:
    return f"{value:g}%"


def skew(seconds: int | None) -> str:
    if seconds is None:
        return "unknown"
    if abs(seconds) < 2:
        return "in step"
    ahead = "ahead" if seconds > 0 else "behind"
    s = abs(seconds)
    amount = f"{s} s" if s < 120 else f"{s // 60} min" if s < 7200 else f"{s // 3600} h"
    return f"{amount} {ahead}"


def rate_rating(channel: str | None, m: Metrics | dict) -> Rating | None:
    return rating(channel, Metrics(**m) if isinstance(m, dict) else m)


def permitted(actions: list[str], session) -> list[str]:
    """The batch actions the signed-in person's role allows (vouchers/roles.py); the server checks again."""
    role = getattr(session, "role", None)
    return [a for a in actions if role is not None and roles.allows(role, roles.for_batch_action(a))]


templates.env.filters.update(reason=reason_words, when=when, number=number, percent=percent, skew=skew,
                             permitted=permitted)
templates.env.globals.update(
    STATE_WORDS=STATE_WORDS, ACTION_LABELS=ACTION_LABELS, BENCHMARKS=BENCHMARKS, rating=rate_rating,
    CLAIMABLE={s.value for s in CLAIMABLE},
)


def done_message(request: Request) -> str | None:
    key = request.query_params.get("done")
    text = DONE.get(key or "")
    if text is None:
        return None
    n = request.query_params.get("n", "")
    return text.format(n=f"{int(n):,}" if n.isdigit() else "all")


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
    """A dashboard page: the template with the signed-in person, their CSRF token and any message."""
    session = getattr(request.state, "session", None)
    base = {
        "session": session,
        "csrf": session.csrf_token if session else "",
        "done": done_message(request),
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status)


def error_words(exc: VoucherError) -> dict[str, Any]:
    """A domain error as a page shows it: title, detail and, for invalid input, every field."""
    return {"title": exc.title, "detail": exc.detail, "errors": [e.as_dict() for e in getattr(exc, "errors", [])]}
