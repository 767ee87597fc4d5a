"""API tokens on the dashboard: each staff member's own personal tokens (vks_, for the admin API and
voucher-central), and, for admins, the integration tokens of shops' web sites (vki_). A new token
is shown once, on the page that answers its form; only its hash is kept. Every change goes through
the services the command line and the API use, and so into the audit log with its author."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.problems import status_of
from central.services import integrations, staff, staff_admin
from central.services.audit import Actor
from central.services.staff import Session
from central.web import forms
from central.web.session import acting, csrf_checked, form_data, may_open
from central.web.templating import error_words, render, words_of
from vouchers.errors import FieldError, InvalidInput, VoucherError
from vouchers.wording import N_
from words import Words

router = APIRouter(prefix="/dashboard", include_in_schema=False)


Listed = staff.StaffToken | integrations.IntegrationToken
Made = staff.NewToken | integrations.IssuedToken


@dataclass(frozen=True)
class Kind:
    """One kind of token, as its page lists, makes and revokes it."""

    path: str  # under /dashboard
    template: str
    permission: str  # vouchers/roles.py
    listed: Callable[[Connection, Session], Sequence[Listed]]
    make: Callable[[Connection, Actor, Session, str, int | None], Made]
    revoke: Callable[[Connection, Actor, Session, str], Listed]
    max_days: int
    default_days: int
    empty_days: int | None  # the days of a form that leaves them empty (None: it never expires)
    unnamed: str  # what a form without a name is told
    revoked: str  # the ?done= key of a revocation


PERSONAL_DAYS = 90  # a personal token's days when its form leaves them empty


def _make_personal(conn: Connection, actor: Actor, session: Session, name: str, days: int | None) -> Made:
    """One's own new token (a personal token always expires: `_days` gives PERSONAL_DAYS for none)."""
    return staff_admin.create_token(conn, actor, session.email, name, days or PERSONAL_DAYS)


PERSONAL = Kind(
    "tokens",
    "dashboard/tokens.html",
    "token.own",
    listed=lambda conn, session: staff.list_tokens(conn, session.email),
    make=_make_personal,
    revoke=lambda conn, actor, session, token_id: staff_admin.revoke_token(
        conn, actor, token_id, owner=session.email
    ),
    max_days=staff.MAX_TOKEN_DAYS,
    default_days=PERSONAL_DAYS,
    empty_days=PERSONAL_DAYS,
    unnamed=N_("Say what the token is for, e.g. 'laptop'."),
    revoked="token-revoked",
)
INTEGRATION = Kind(
    "integrations",
    "dashboard/integrations.html",
    "integration.manage",
    listed=lambda conn, session: list(reversed(integrations.list_all(conn))),
    make=lambda conn, actor, session, name, days: integrations.issue(conn, actor, name, days),
    revoke=lambda conn, actor, session, token_id: integrations.withdraw(conn, actor, token_id),
    max_days=3650,
    default_days=365,
    empty_days=None,
    unnamed=N_("Say whose web site uses it, e.g. 'Leeds shop web site'."),
    revoked="integration-revoked",
)


def _values(form: FormData) -> dict[str, str]:
    """A new token's form as typed, to show again beside its errors."""
    return {
        "name": str(form.get("name") or "").strip()[:200],
        "days": str(form.get("days") or "").strip()[:10],
    }


def _days(words: Words, kind: Kind, values: dict[str, str]) -> int | None:
    """The form's days: a whole number 1..max_days, or the kind's default when left empty;
    InvalidInput naming each field that is not right."""
    errors = [] if values["name"] else [FieldError("name", words.gettext(kind.unnamed))]
    text = values["days"]
    if text and (not text.isdigit() or not 1 <= int(text) <= kind.max_days):
        errors.append(
            FieldError("days", words.gettext("Enter a whole number of days, 1 to {max}.", max=kind.max_days))
        )
    if errors:
        raise InvalidInput(errors)
    return int(text) if text else kind.empty_days


def _page(
    request: Request,
    ctx: Context,
    kind: Kind,
    session: Session,
    *,
    made: Made | None = None,
    values: dict[str, str] | None = None,
    errors: Sequence[FieldError] = (),
    error: VoucherError | None = None,
    status: int = 200,
) -> Response:
    with ctx.db.read() as conn:
        tokens = kind.listed(conn, session)
    return render(
        request,
        kind.template,
        {
            "tokens": tokens,
            "made": made,
            "values": values or {"days": kind.default_days},
            "errors": forms.by_field(list(errors), words_of(request)),
            "error": error_words(error, words_of(request)) if error else None,
            "max_days": kind.max_days,
            "server": ctx.settings.public_url,
        },
        status,
    )


def _create(request: Request, ctx: Context, kind: Kind, session: Session, form: FormData) -> Response:
    """A new token, shown on this answer only."""
    actor = acting(request, session, kind.permission)
    values = _values(form)
    try:
        days = _days(words_of(request), kind, values)
        with ctx.db.write() as conn:
            made = kind.make(conn, actor, session, values["name"], days)
    except InvalidInput as exc:
        return _page(request, ctx, kind, session, values=values, errors=exc.errors, status=422)
    return _page(request, ctx, kind, session, made=made, status=201)


def _revoke(request: Request, ctx: Context, kind: Kind, session: Session, token_id: str) -> Response:
    actor = acting(request, session, kind.permission)
    try:
        with ctx.db.write() as conn:
            kind.revoke(conn, actor, session, token_id[:64])
    except VoucherError as exc:  # unknown, or (personal tokens) someone else's
        return _page(request, ctx, kind, session, error=exc, status=status_of(exc))
    return RedirectResponse(f"/dashboard/{kind.path}?done={kind.revoked}", status_code=303)


def _install(kind: Kind) -> None:
    """The kind's page, its form for a new token, and revoking one (a personal token: only one's own,
    another's reads as unknown)."""

    @router.get(f"/{kind.path}")
    def page(
        request: Request,
        session: Session = Depends(may_open(kind.permission)),
        ctx: Context = Depends(get_context),
    ) -> Response:
        return _page(request, ctx, kind, session)

    @router.post(f"/{kind.path}")
    def create(
        request: Request,
        form: FormData = Depends(form_data),
        session: Session = Depends(csrf_checked),
        ctx: Context = Depends(get_context),
    ) -> Response:
        return _create(request, ctx, kind, session, form)

    @router.post(f"/{kind.path}/{{token_id}}/revoke")
    def revoke(
        request: Request,
        token_id: str,
        session: Session = Depends(csrf_checked),
        ctx: Context = Depends(get_context),
    ) -> Response:
        return _revoke(request, ctx, kind, session, token_id)


for _kind in (PERSONAL, INTEGRATION):
    _install(_kind)
