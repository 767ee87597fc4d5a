"""The dashboard's Jinja2 templates, their filters, and one `render` every page goes through."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.responses import Response

from vouchers import roles
from vouchers.errors import VoucherError
from vouchers.lifecycle import CLAIMABLE
from vouchers.metrics import BENCHMARKS, Metrics, Rating, rating
from vouchers.verdict import REASONS, Verdict

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
    "staff-added": "Staff account added. Give them their password in person; they sign in at /dashboard.",
    "staff-role": "Role changed: it applies at once, to their sessions and API tokens.",
    "staff-disabled": "Account disabled: its sessions ended and its API tokens stopped working.",
    "staff-enabled": "Account enabled: they can sign in again, and their unexpired API tokens work again.",
    "unchanged": "Nothing to change: it was so already.",
    "token-revoked": "API token revoked: it stopped working at once.",
    "integration-revoked": "Integration token revoked: the web site's claims with it are refused from now on.",
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


def number(value: float | None) -> str:
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


# --- what the signed-in person's role allows (vouchers/roles.py); the server checks again -------------


def _role(context) -> str | None:
    return getattr(context.get("session"), "role", None)


@pass_context
def can(context, what: str) -> bool:
    """Whether the signed-in person may do `what` (a name of vouchers/roles.py's NEEDS)."""
    return roles.may(_role(context), what)


@pass_context
def needs_words(context, what: str) -> str:
    """Why an action is not offered: 'Voiding a batch needs the admin role; yours is campaigns.'"""
    words = roles.NEEDS[what][1]
    return f"{words[:1].upper()}{words[1:]} needs the {roles.needed(what).value} role; yours is {_role(context)}."


@pass_context
def permitted(context, actions: list[str]) -> list[str]:
    """The batch actions the signed-in person's role allows."""
    return [a for a in actions if can(context, f"batch.{a}")]


@pass_context
def refused_words(context, actions: list[str]) -> str:
    """The batch actions the life cycle offers now that the role does not, in one sentence ('' if none):
    'Lock and Pause batch need the campaigns role, Void batch the admin role; yours is viewer.'"""
    by_role: dict[roles.Role, list[str]] = {}
    for a in actions:
        if not can(context, f"batch.{a}"):
            by_role.setdefault(roles.for_batch_action(a), []).append(ACTION_LABELS[a])
    if not by_role:
        return ""
    parts = []
    for i, (role, labels) in enumerate(sorted(by_role.items(), key=lambda kv: list(roles.Role).index(kv[0]))):
        listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        verb = ("needs " if len(labels) == 1 else "need ") if i == 0 else ""
        parts.append(f"{listed} {verb}the {role.value} role")
    return f"{', '.join(parts)}; yours is {_role(context)}."


templates.env.filters.update(
    reason=reason_words, when=when, number=number, percent=percent, skew=skew, permitted=permitted
)
templates.env.globals.update(
    STATE_WORDS=STATE_WORDS,
    ACTION_LABELS=ACTION_LABELS,
    BENCHMARKS=BENCHMARKS,
    rating=rate_rating,
    CLAIMABLE={s.value for s in CLAIMABLE},
    can=can,
    needs_words=needs_words,
    refused_words=refused_words,
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
    return {
        "title": exc.title,
        "detail": exc.detail,
        "errors": [e.as_dict() for e in getattr(exc, "errors", [])],
    }
