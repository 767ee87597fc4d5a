"""Staff (admins): every account with its role and state; add one, change a role, disable and enable.
Each change goes through central/services/staff_admin.py, as `voucher-central staff ...` does, so it
is in the audit log with its author; the last enabled admin cannot be demoted or disabled."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.problems import status_of
from central.services import staff, staff_admin
from central.services.staff import Session
from central.web import forms
from central.web.session import acting, csrf_checked, form_data, may_open
from central.web.templating import error_words, render, words_of
from vouchers.errors import FieldError, InvalidInput, VoucherError
from vouchers.roles import Role
from vouchers.wording import N_

router = APIRouter(prefix="/dashboard", include_in_schema=False)
ROLE_WORDS = {
    Role.VIEWER: N_("viewer: reads everything, changes nothing"),
    Role.CAMPAIGNS: N_("campaigns: also creates, edits and walks batches, pauses and resumes them"),
    Role.ADMIN: N_("admin: also deletes and voids, stores, devices, staff and integrations"),
}


def _page(
    request: Request,
    ctx: Context,
    *,
    values: dict[str, str] | None = None,
    errors: Sequence[FieldError] = (),
    error: VoucherError | None = None,
    status: int = 200,
) -> Response:
    with ctx.db.read() as conn:
        accounts = staff.list_all(conn)
    return render(
        request,
        "dashboard/staff.html",
        {
            "accounts": accounts,
            "roles": ROLE_WORDS,
            "values": values or {"role": Role.VIEWER.value},
            "errors": forms.by_field(list(errors), words_of(request)),
            "error": error_words(error, words_of(request)) if error else None,
        },
        status,
    )


@router.get("/staff")
def staff_page(
    request: Request, _: Session = Depends(may_open("staff.manage")), ctx: Context = Depends(get_context)
) -> Response:
    return _page(request, ctx)


def _role(form: FormData) -> Role | None:
    try:
        return Role(str(form.get("role") or ""))
    except ValueError:
        return None


@router.post("/staff")
def add_account(
    request: Request,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    """A new account with the password the admin typed (they hand it over; it is never shown again)."""
    actor = acting(request, session, "staff.manage")
    values = {"email": str(form.get("email") or "").strip()[:200], "role": str(form.get("role") or "")}
    password = str(form.get("password") or "")[: staff.MAX_PASSWORD]
    role = _role(form)
    try:
        if role is None:
            raise InvalidInput([FieldError("role", words_of(request).gettext("Choose one of the roles."))])
        with ctx.db.write() as conn:
            account = staff_admin.add(
                conn, actor, values["email"], password, role=role, log2_n=ctx.settings.password_hash_cost
            )
    except InvalidInput as exc:
        return _page(request, ctx, values=values, errors=exc.errors, status=422)
    except VoucherError as exc:  # an account for this address exists
        return _page(
            request, ctx, values=values, errors=[FieldError("email", exc.detail)], status=status_of(exc)
        )
    return RedirectResponse(f"/dashboard/staff?done=staff-added#staff-{account.id}", status_code=303)


def _change(request: Request, ctx: Context, session: Session, form: FormData, change) -> Response:
    """Run `change(conn, actor, email)` on the account the form names; its page again, saying so."""
    actor = acting(request, session, "staff.manage")
    email = str(form.get("email") or "")[:200]
    try:
        with ctx.db.write() as conn:
            done = change(conn, actor, email)
    except VoucherError as exc:  # the last admin, an account removed meanwhile, a made-up role
        return _page(request, ctx, error=exc, status=status_of(exc))
    return RedirectResponse(f"/dashboard/staff?done={done}", status_code=303)


@router.post("/staff/role")
def change_role(
    request: Request,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    role = _role(form)

    def change(conn, actor, email) -> str:
        if role is None:
            choose = words_of(request).gettext("Choose one of the roles.")
            raise InvalidInput([FieldError("role", choose)], choose)
        moved = staff_admin.set_role(conn, actor, email, role)
        return "staff-role" if moved.before != moved.after else "unchanged"

    return _change(request, ctx, session, form, change)


@router.post("/staff/state")
def change_state(
    request: Request,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    disable = form.get("disabled") == "yes"

    def change(conn, actor, email) -> str:
        moved = staff_admin.set_disabled(conn, actor, email, disable)
        if moved.before == moved.after:
            return "unchanged"
        return "staff-disabled" if disable else "staff-enabled"

    return _change(request, ctx, session, form, change)
