"""The dashboard's Jinja2 templates, their filters, and one `render` every page goes through."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from starlette.responses import Response

from central.web import localtime
from vouchers import roles
from vouchers.errors import FieldError, VoucherError
from vouchers.lifecycle import CLAIMABLE
from vouchers.metrics import BENCHMARKS, Metrics, Rating, rating
from vouchers.verdict import Verdict
from words import verdicts as verdict_words

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
    "voucher-reverted": "Voucher reverted to unused: the tills accept it again from their next sync.",
    "voucher-status": "Voucher status changed: the tills have it from their next sync.",
}


def reason_words(code: str | None) -> str:
    """Why the ledger refused an event, in words (the kiosk's verdict reasons, and the ledger's own)."""
    if code is None:
        return ""
    try:
        return verdict_words.reason(verdict_words.english(), Verdict(code))
    except ValueError:
        return LEDGER_REASONS.get(code, code)


LEDGER_REASONS = {
    "ID_IN_USE": "Another till already sent an event with this id.",
    "UNKNOWN_REDEMPTION": "The redemption this undo refers to is unknown.",
    "NOT_REDEEMED": "The voucher was not redeemed by the event this undo refers to.",
}


@pass_context
def when(context, value: datetime | date | None, empty: str = "—") -> Markup | str:
    """Head office's own times (staff actions, sign-ins, tokens) in the office's zone, zone shown."""
    return localtime.element(value, context.get("office_zone") or UTC, empty)


@pass_context
def store_when(
    context, value: datetime | date | None, store_id: str | None, empty: str = "—"
) -> Markup | str:
    """A store's event (a scan, a till's heartbeat) in that store's zone; the office's without a store."""
    zones = context.get("store_zones")
    where = (zones(store_id) if zones else None) or context.get("office_zone") or UTC
    return localtime.element(value, where, empty)


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
    reason=reason_words,
    when=when,
    store_when=store_when,
    number=number,
    percent=percent,
    skew=skew,
    permitted=permitted,
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


def render(
    request: Request, name: str, context: Mapping[str, object] | None = None, status: int = 200
) -> Response:
    """A dashboard page: the template with the signed-in person, their CSRF token and any message."""
    session = getattr(request.state, "session", None)
    ctx = getattr(request.app.state, "context", None)
    base = {
        "office_zone": localtime.zone(ctx.settings.office_timezone) if ctx else UTC,
        "store_zones": localtime.StoreZones(ctx.db if ctx else None),
        "session": session,
        "csrf": session.csrf_token if session else "",
        "done": done_message(request),
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status)


@dataclass(frozen=True)
class ErrorWords:
    """An error as a page shows it (dashboard/_error.html): title, detail and, for invalid input,
    what is wrong with each field."""

    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)


def error_words(exc: VoucherError) -> ErrorWords:
    """A domain error as a page shows it."""
    return ErrorWords(exc.title, exc.detail, list(getattr(exc, "errors", [])))
