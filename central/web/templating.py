"""The dashboard's Jinja2 templates, their filters, and one `render` every page goes through, in the
request's language (Jinja's i18n extension, the "dashboard" catalogue)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup, escape
from starlette.responses import Response

from central.language import choices, remember, request_language
from central.web import localtime, phrases
from central.web.phrases import ACTION_LABELS, DOMAIN, STATE_WORDS
from vouchers import roles
from vouchers.errors import FieldError, VoucherError
from vouchers.lifecycle import CLAIMABLE
from vouchers.metrics import BENCHMARKS, Metrics, Rating, rating
from vouchers.verdict import Verdict
from vouchers.wording import N_
from words import Words, words_for
from words import verdicts as verdict_words

TEMPLATES = Path(__file__).parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)
templates.env.add_extension("jinja2.ext.i18n")


# --- the page's language ----------------------------------------------------------------------------
# Each render's context carries `words` (the request's language, domain "dashboard"); the gettext
# callables and the filters read it from the context they are called in, so one shared environment
# words concurrent pages in their own languages. Macros are imported `with context` to see it.


def office_zone(request: Request) -> tzinfo:
    ctx = getattr(request.app.state, "context", None)
    return localtime.zone(ctx.settings.office_timezone) if ctx else UTC


def words_of(request: Request) -> Words:
    """The words of the dashboard for this request: its language (central/language.py), in the
    office's time zone."""
    return words_for(request_language(request), DOMAIN, office_zone(request))


def _words(context) -> Words:
    words = context.get("words")
    return words if isinstance(words, Words) else words_for(None, DOMAIN)


def _worded(context, text: str, source: str, facts: dict[str, object]) -> str:
    """A translated template filled with its facts; escaped for an HTML page (a fact that is Markup,
    a link, stays markup), the source's words when a translation's placeholders do not fit."""
    if not facts:
        return text
    autoescape = context.eval_ctx.autoescape
    for template in (text, source):
        try:
            return Markup(escape(template)).format(**facts) if autoescape else template.format(**facts)
        except (KeyError, IndexError, ValueError):
            continue
    return source


@pass_context
def _gettext(context, message: str, /, **facts: object) -> str:
    if not message:  # an empty text (an error without detail), never the catalogue's header
        return message
    return _worded(context, _words(context).catalogue.gettext(message), message, facts)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int, /, **facts: object) -> str:
    words = _words(context)
    source = singular if n == 1 else plural
    return _worded(
        context, words.catalogue.ngettext(singular, plural, n), source, {"n": words.number(n), **facts}
    )


@pass_context
def _pgettext(context, where: str, message: str, /, **facts: object) -> str:
    return _worded(context, _words(context).catalogue.pgettext(where, message), message, facts)


templates.env.install_gettext_callables(  # type: ignore[attr-defined]  # the i18n extension's
    _gettext, _ngettext, newstyle=False, pgettext=_pgettext
)


def reason_words(words: Words, code: str | None) -> str:
    """Why the ledger refused an event, in words (the kiosk's verdict reasons, and the ledger's own)."""
    if code is None:
        return ""
    try:
        verdict = Verdict(code)
    except ValueError:
        own = LEDGER_REASONS.get(code)
        return words.gettext(own) if own else code
    return verdict_words.reason(words_for(words.language, verdict_words.DOMAIN, words.tz), verdict)


LEDGER_REASONS = {
    "ID_IN_USE": N_("Another till already sent an event with this id."),
    "UNKNOWN_REDEMPTION": N_("The redemption this undo refers to is unknown."),
    "NOT_REDEEMED": N_("The voucher was not redeemed by the event this undo refers to."),
}


@pass_context
def reason(context, code: str | None) -> str:
    return reason_words(_words(context), code)


@pass_context
def when(context, value: datetime | date | None, empty: str = "—") -> Markup | str:
    """Head office's own times (staff actions, sign-ins, tokens) in the office's zone, zone shown."""
    return localtime.element(value, context.get("office_zone") or UTC, _words(context), empty)


@pass_context
def store_when(
    context, value: datetime | date | None, store_id: str | None, empty: str = "—"
) -> Markup | str:
    """A store's event (a scan, a till's heartbeat) in that store's zone; the office's without a store."""
    zones = context.get("store_zones")
    where = (zones(store_id) if zones else None) or context.get("office_zone") or UTC
    return localtime.element(value, where, _words(context), empty)


@pass_context
def number(context, value: float | None) -> str:
    return "—" if value is None else _words(context).number(value)


@pass_context
def percent(context, value: float) -> str:
    return phrases.percent(_words(context), value)


@pass_context
def skew(context, seconds: int | None) -> str:
    return phrases.skew(_words(context), seconds)


@pass_context
def day(context, value: date) -> str:
    """A calendar day as the page's language writes it ('2026-03-02', '02.03.2026')."""
    return localtime.day(value, _words(context))


@pass_context
def weekday(context, value: date) -> str:
    """A day's short weekday name in the page's language ('Mon', 'lun.', 'Mo.')."""
    return _words(context).date(value, "EEE")


@pass_context
def channel_label(context, code: str | None) -> str:
    return phrases.channel(_words(context), code)


@pass_context
def typical(context, bench) -> str:
    return phrases.typical(_words(context), bench)


@pass_context
def great(context, bench) -> str:
    return phrases.great(_words(context), bench)


@pass_context
def rating_words(context, r: Rating) -> str:
    return _words(context).gettext(phrases.RATING_WORDS[r])


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
    return phrases.needs(_words(context), what, _role(context))


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
    ordered = sorted(by_role.items(), key=lambda kv: list(roles.Role).index(kv[0]))
    return phrases.refused(_words(context), ordered, _role(context))


templates.env.filters.update(
    reason=reason,
    when=when,
    store_when=store_when,
    number=number,
    percent=percent,
    skew=skew,
    day=day,
    weekday=weekday,
    permitted=permitted,
    channel_label=channel_label,
    typical=typical,
    great=great,
    rating_words=rating_words,
)
templates.env.globals.update(
    STATE_WORDS=STATE_WORDS,
    STATUS_WORDS=phrases.STATUS_WORDS,
    ACTION_LABELS=ACTION_LABELS,
    BENCHMARKS=BENCHMARKS,
    rating=rate_rating,
    CLAIMABLE={s.value for s in CLAIMABLE},
    can=can,
    needs_words=needs_words,
    refused_words=refused_words,
)


def done_message(request: Request, words: Words) -> str | None:
    return phrases.done(words, request.query_params.get("done"), request.query_params.get("n", ""))


def render(
    request: Request, name: str, context: Mapping[str, object] | None = None, status: int = 200
) -> Response:
    """A dashboard page in the request's language: the template with the signed-in person, their CSRF
    token, any message and the language chooser; a choice made with ?lang= is kept in a cookie."""
    session = getattr(request.state, "session", None)
    ctx = getattr(request.app.state, "context", None)
    words = words_of(request)
    base = {
        "words": words,
        "languages": choices(request),
        "office_zone": office_zone(request),
        "store_zones": localtime.StoreZones(ctx.db if ctx else None),
        "session": session,
        "csrf": session.csrf_token if session else "",
        "done": done_message(request, words),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status)
    response.headers.append("Content-Language", words.language)
    return remember(request, response)


@dataclass(frozen=True)
class ErrorWords:
    """An error as a page shows it (dashboard/_error.html): title, detail and, for invalid input,
    what is wrong with each field."""

    title: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)


def error_words(exc: VoucherError, words: Words) -> ErrorWords:
    """A domain error as a page shows it: its detail, and each field's, worded in the page's
    language when they were kept with their facts (vouchers.wording.said); the title is worded
    by the page (dashboard/_error.html)."""
    detail = words.say(exc.said) if exc.said is not None else exc.detail
    errors = [FieldError(e.field, words.say(e.said)) if e.said else e for e in getattr(exc, "errors", [])]
    return ErrorWords(exc.title, detail, errors)
