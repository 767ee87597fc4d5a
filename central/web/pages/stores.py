"""Stores and their devices: create stores, issue enrolment codes, watch heartbeats, revoke devices."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.problems import status_of
from central.schemas import StoreCreate, StoreLocale
from central.services import audit, reports
from central.services import devices as service
from central.services.staff import Session
from central.web import forms
from central.web.session import acting, csrf_checked, form_data, may_open, signed_in
from central.web.templating import error_words, render, words_of
from vouchers.errors import Conflict, FieldError
from words import Words

router = APIRouter(prefix="/dashboard", include_in_schema=False)
SKEW_WARNING_SECONDS = 120  # a till's clock this far off is flagged
ZONES = ("Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin", "America/New_York", "UTC")
# the locales a store's form suggests (any of the four languages with a region Babel knows is taken)
LOCALES = (
    "en",
    "en_GB",
    "en_IE",
    "fr",
    "fr_FR",
    "fr_BE",
    "fr_CH",
    "de",
    "de_DE",
    "de_AT",
    "de_CH",
    "es",
    "es_ES",
)


def _stores_page(
    request: Request,
    ctx: Context,
    values: Mapping[str, object] | None = None,
    errors: Sequence[FieldError] = (),
    status: int = 200,
) -> Response:
    with ctx.db.read() as conn:
        store_list = service.stores_overview(conn)
    return render(
        request,
        "dashboard/stores.html",
        {
            "stores": store_list,
            "values": values or {"timezone": "Europe/London"},
            "errors": forms.by_field(list(errors), words_of(request)),
            "zones": ZONES,
            "locales": LOCALES,
            "label": forms.label,
        },
        status,
    )


@router.get("/stores")
def stores_page(
    request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    return _stores_page(request, ctx)


@router.post("/stores")
def create_store(
    request: Request,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    actor = acting(request, session, "store.create")
    values = forms.fields(form, ("id", "name", "timezone", "locale"))
    data, errors = forms.parse(
        StoreCreate, {**values, "locale": values.get("locale") or None}, words_of(request)
    )
    if data is None:
        return _stores_page(request, ctx, values, errors, 422)
    try:
        with (
            ctx.db.write() as conn,
            audit.change(conn, actor, "store.create", "store", data.id, audit.store_state),
        ):
            service.create_store(conn, data)
    except Conflict as exc:
        return _stores_page(request, ctx, values, [FieldError("id", exc.detail)], 422)
    return RedirectResponse(f"/dashboard/stores/{data.id}?done=store-created", status_code=303)


def _locale_name(locale: str | None, words: Words) -> Markup | None:
    """A store's locale as the page's language names it, its code beside: 'Deutsch (Schweiz) (de_CH)'."""
    if locale is None:
        return None
    try:
        name = Locale.parse(locale).get_display_name(words.locale) or locale
    except (ValueError, UnknownLocaleError):
        name = locale
    return Markup('{} (<span class="code">{}</span>)').format(name, locale)


def _store_page(
    request: Request,
    ctx: Context,
    store_id: str,
    enrolment: service.EnrolmentCode | None = None,
    status: int = 200,
    enrolment_error: str | None = None,
    locale_value: str | None = None,
    locale_errors: Sequence[FieldError] = (),
) -> Response:
    with ctx.db.read() as conn:
        store = service.store_with_devices(conn, store_id)
        problems = reports.conflicts_and_rejections(conn, store_id)
    return render(
        request,
        "dashboard/store.html",
        {
            "store": store,
            "devices": store.devices,
            "problems": problems,
            "enrolment": enrolment,
            "enrolment_error": enrolment_error,
            "skew_limit": SKEW_WARNING_SECONDS,
            "server": ctx.settings.public_url,
            "locales": LOCALES,
            "locale_value": store.locale if locale_value is None else locale_value,
            "locale_name": _locale_name(store.locale, words_of(request)),
            "errors": forms.by_field(list(locale_errors), words_of(request)),
        },
        status,
    )


@router.get("/stores/{store_id}")
def store_page(
    request: Request, store_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    return _store_page(request, ctx, store_id)


@router.post("/stores/{store_id}/locale")
def set_locale(
    request: Request,
    store_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    """The store's locale (empty: none), which its tills take with their next page."""
    actor = acting(request, session, "store.locale")
    value = str(form.get("locale") or "").strip()
    data, errors = forms.parse(StoreLocale, {"locale": value or None}, words_of(request))
    if data is None:
        return _store_page(request, ctx, store_id, status=422, locale_value=value, locale_errors=errors)
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "store.locale", "store", store_id, audit.store_state),
    ):
        service.set_store_locale(conn, store_id, data.locale)
    return RedirectResponse(f"/dashboard/stores/{store_id}?done=store-locale", status_code=303)


@router.post("/stores/{store_id}/enrolment-codes")
def enrolment_code(
    request: Request,
    store_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    """A one-use code for a till or (role=hub) the shop's hub, shown once on the page that answers
    (not kept anywhere in clear)."""
    actor = acting(request, session, "store.enrolment-code")
    role = form.get("role") or "till"
    if role not in ("till", "hub"):
        return _store_page(
            request,
            ctx,
            store_id,
            status=422,
            enrolment_error=words_of(request).gettext("Choose a till or the shop's hub, and issue again."),
        )
    with ctx.db.write() as conn, audit.change(conn, actor, "store.enrolment-code", "store", store_id) as box:
        code = service.create_enrolment_code(
            conn, store_id, ctx.settings.enrolment_code_minutes, "hub" if role == "hub" else "till"
        )
        box["after"] = {"expires_at": code.expires_at, "role": code.role}  # never the code itself
    return _store_page(request, ctx, store_id, enrolment=code, status=201)


@router.get("/devices/{device_id}/revoke")
def revoke_page(
    request: Request,
    device_id: str,
    _: Session = Depends(may_open("device.revoke")),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        device = service.get_device(conn, device_id)
    return render(request, "dashboard/device_revoke.html", {"d": device})


@router.post("/devices/{device_id}/revoke")
def revoke(
    request: Request,
    device_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    """With the number of events not yet pushed that the page showed as confirmation: when a
    heartbeat changed it meanwhile, the page is shown again with the new figure."""
    raw = form.get("confirm")
    confirm = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 10 else None
    actor = acting(request, session, "device.revoke")
    try:
        with (
            ctx.db.write() as conn,
            audit.change(conn, actor, "device.revoke", "device", device_id, audit.device_state),
        ):
            device = service.get_device(conn, device_id)
            service.revoke(conn, device_id, confirm)
    except service.RevokeNotConfirmed as exc:
        with ctx.db.read() as conn:
            device = service.get_device(conn, device_id)
        return render(
            request,
            "dashboard/device_revoke.html",
            {"d": device, "error": error_words(exc, words_of(request))},
            status_of(exc),
        )
    return RedirectResponse(f"/dashboard/stores/{device.store_id}?done=revoked", status_code=303)
