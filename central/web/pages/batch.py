"""One batch: its page (state, actions, progress, types, errors), and creating and editing it and its types."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central.context import Context, get_context
from central.problems import status_of
from central.schemas import BatchCreate, BatchPatch, TypeCreate, TypePatch
from central.services import audit, devices, reports
from central.services import batches as service
from central.services.generation import Progress
from central.services.staff import Session
from central.web import charts, forms, localtime
from central.web.session import acting, csrf_checked, form_data, may_open, signed_in
from central.web.templating import error_words, render, words_of
from vouchers.errors import FieldError, NotFound, VoucherError
from vouchers.lifecycle import EDITABLE, State
from vouchers.status import Status
from vouchers.wording import N_
from words import Words

router = APIRouter(prefix="/dashboard", include_in_schema=False)

STATUS_HELP = {
    Status.UNUSED: N_("Unused: the till marks it used when it is redeemed (in-person redemptions)."),
    Status.USED: N_("Used: already used when claimed (perks fulfilled elsewhere)."),
    Status.ISSUED: N_("Issued: shown as valid, nothing to mark; the code is the perk (online codes)."),
    Status.PENDING: N_("Pending: waits for processing elsewhere; only the API changes it."),
}


def time_left(words: Words, seconds: float | None) -> str:
    """'About 3 min left' from the rate so far; 'Working out the time left…' before there is one."""
    if seconds is None:
        return words.gettext("Working out the time left…")
    if seconds < 60:
        return words.gettext("Less than a minute left")
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return words.gettext("About {minutes} min left", minutes=words.number(minutes))
    hours, rest = divmod(minutes, 60)
    return words.gettext(
        "About {hours} h {minutes} min left", hours=words.number(hours), minutes=str(rest).zfill(2)
    )


def progress_words(words: Words, ctx: Context, p: Progress) -> dict[str, object]:
    """The progress as the page and its poll show it (the poll sends the same words)."""
    resume = ""
    if p.resumes_at is not None:
        at = localtime.text(p.resumes_at, localtime.zone(ctx.settings.office_timezone), words)
        resume = words.gettext(
            "Paused: the server process generating this batch has stopped (a restart?). Generation "
            "resumes from voucher {n} at about {at}, when that process's hold on the job runs out.",
            n=words.number(p.done + 1),
            at=at,
        )
    return {
        "state": p.state,
        "done": p.done,
        "total": p.total,
        "percent": p.percent,
        "error": p.error,
        "seconds_left": None
        if p.seconds_left is None
        else math.ceil(p.seconds_left),  # never 0 with work left
        "left": "" if resume else time_left(words, p.seconds_left),
        "resuming": bool(resume),
        "resumes_at": p.resumes_at.isoformat() if p.resumes_at else None,
        "resume": resume,
    }


def detail_page(
    request: Request, ctx: Context, batch_id: str, *, error: VoucherError | None = None
) -> Response:
    with ctx.db.read() as conn:
        b = service.load(conn, batch_id, ctx.settings.public_url)
        row = service.get_row(conn, batch_id)
        days = reports.redemptions_by_day(conn, batch_id)
        # the last validation's problems, found again so they are worded in the page's language
        found = (
            service.validation_errors(conn, row, ctx.settings.max_batch_size)
            if b["validation_errors"]
            else []
        )
    words = words_of(request)
    kept = [FieldError(**e) for e in b["validation_errors"] or []]
    problems = forms.worded(found or kept, words)
    context: dict[str, object] = {
        "b": b,
        "editable": State(b["state"]) in EDITABLE,
        "problems": problems,
        "problems_by_field": forms.by_field(problems, words),
        "label": forms.label,
        "chart": charts.redemptions_chart(
            words, days, title=words.gettext("Redemptions of {batch} per day", batch=b["identifier"])
        ),
        "days": days,
        "progress": progress_words(words, ctx, ctx.generator.progress(row)),
        "error": error_words(error, words) if error else None,
    }
    return render(request, "dashboard/batch.html", context, status_of(error) if error else 200)


@router.get("/batches/new")
def new_batch(
    request: Request, _: Session = Depends(may_open("batch.create")), ctx: Context = Depends(get_context)
) -> Response:
    return _batch_form(request, ctx, None, {"serial_start": 1, "serial_end": 1000, "description": ""}, [])


@router.get("/batches/{batch_id}")
def batch_page(
    request: Request, batch_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    return detail_page(request, ctx, batch_id)


def _batch_form(
    request: Request,
    ctx: Context,
    b: dict | None,
    values: dict,
    errors: list[FieldError],
    error: VoucherError | None = None,
    status: int = 200,
) -> Response:
    with ctx.db.read() as conn:
        store_list = devices.list_stores(conn)
    return render(
        request,
        "dashboard/batch_form.html",
        {
            "b": b,
            "values": values,
            "errors": forms.by_field(errors, words_of(request)),
            "all_errors": forms.worded(errors, words_of(request)),
            "stores": store_list,
            "label": forms.label,
            "error": error_words(error, words_of(request)) if error else None,
        },
        status,
    )


def _batch_values(form: FormData) -> dict[str, object]:
    values = forms.fields(form, forms.BATCH_FIELDS, forms.BATCH_OPTIONAL)
    chosen = [s for s in form.getlist("stores") if isinstance(s, str) and s]
    values["stores"] = chosen or None
    return values


def _check_batch(
    request: Request, ctx: Context, batch_id: str | None, values: dict
) -> tuple[BatchCreate | None, list[FieldError]]:
    data, errors = forms.parse(BatchCreate, values, words_of(request))
    if data is not None:
        with ctx.db.read() as conn:
            errors = service.draft_errors(conn, batch_id, data, ctx.settings.max_batch_size)
    return data, errors


@router.post("/batches")
def create_batch(
    request: Request,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    actor = acting(request, session, "batch.create")
    values = _batch_values(form)
    data, errors = _check_batch(request, ctx, None, values)
    if errors or data is None:
        return _batch_form(request, ctx, None, values, errors, status=422)
    with (
        ctx.db.write() as conn,
        audit.change(conn, actor, "batch.create", "batch", None, audit.batch_state) as box,
    ):
        batch_id = box["id"] = service.create(conn, data)
    return RedirectResponse(f"/dashboard/batches/{batch_id}?done=created", status_code=303)


@router.get("/batches/{batch_id}/edit")
def edit_batch(
    request: Request,
    batch_id: str,
    _: Session = Depends(may_open("batch.edit")),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        b = service.load(conn, batch_id, ctx.settings.public_url)
    return _batch_form(request, ctx, b, {k: b[k] for k in (*forms.BATCH_FIELDS, "stores")}, [])


@router.post("/batches/{batch_id}/edit")
def save_batch(
    request: Request,
    batch_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    actor = acting(request, session, "batch.edit")
    with ctx.db.read() as conn:
        b = service.load(conn, batch_id, ctx.settings.public_url)
    values = _batch_values(form)
    data, errors = _check_batch(request, ctx, batch_id, values)
    if errors or data is None:
        return _batch_form(request, ctx, b, values, errors, status=422)
    try:
        with (
            ctx.db.write() as conn,
            audit.change(conn, actor, "batch.edit", "batch", batch_id, audit.batch_state),
        ):
            service.patch(conn, batch_id, BatchPatch.model_validate(data.model_dump()))
    except VoucherError as exc:
        return _batch_form(request, ctx, b, values, [], error=exc, status=status_of(exc))
    return RedirectResponse(f"/dashboard/batches/{batch_id}?done=saved", status_code=303)


def _type_form(
    request: Request,
    ctx: Context,
    b: dict,
    t: dict | None,
    values: dict,
    errors: list[FieldError],
    error: VoucherError | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "dashboard/type_form.html",
        {
            "b": b,
            "t": t,
            "values": values,
            "errors": forms.by_field(errors, words_of(request)),
            "all_errors": forms.worded(errors, words_of(request)),
            "statuses": STATUS_HELP,
            "label": forms.label,
            "error": error_words(error, words_of(request)) if error else None,
        },
        status,
    )


def _type(words: Words, b: dict, type_id: str) -> dict:
    for t in b["types"]:
        if t["id"] == type_id:
            return t
    raise NotFound(words.gettext("Batch '{batch}' has no type '{type}'.", batch=b["id"], type=type_id))


@router.get("/batches/{batch_id}/types/new")
def new_type(
    request: Request,
    batch_id: str,
    _: Session = Depends(may_open("batch.types")),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        b = service.load(conn, batch_id, ctx.settings.public_url)
    # a new type covers the batch's whole range (seed 001), narrowed by hand if needed
    values = {"serial_start": b["serial_start"], "serial_end": b["serial_end"], "initial_status": "unused"}
    return _type_form(request, ctx, b, None, values, [])


@router.get("/batches/{batch_id}/types/{type_id}/edit")
def edit_type(
    request: Request,
    batch_id: str,
    type_id: str,
    _: Session = Depends(may_open("batch.types")),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        b = service.load(conn, batch_id, ctx.settings.public_url)
    t = _type(words_of(request), b, type_id)
    return _type_form(request, ctx, b, t, dict(t), [])


def _save_type(
    request: Request, ctx: Context, batch_id: str, type_id: str | None, form: FormData, session: Session
) -> Response:
    actor = acting(request, session, "batch.types")
    with ctx.db.read() as conn:
        b = service.load(conn, batch_id, ctx.settings.public_url)
    t = _type(words_of(request), b, type_id) if type_id else None
    values = forms.fields(form, forms.TYPE_FIELDS, forms.TYPE_OPTIONAL)
    data, errors = forms.parse(TypeCreate, values, words_of(request))
    if data is not None:
        with ctx.db.read() as conn:
            errors = service.type_draft_errors(conn, batch_id, type_id, data, ctx.settings.max_batch_size)
    if errors or data is None:
        return _type_form(request, ctx, b, t, values, errors, status=422)
    try:
        action = "batch.type-add" if type_id is None else "batch.type-edit"
        with ctx.db.write() as conn, audit.change(conn, actor, action, "batch", batch_id, audit.batch_state):
            if type_id is None:
                service.add_type(conn, batch_id, data)
            else:
                changes = data.model_dump()
                changes["serial_start"] = (
                    changes["serial_start"] if changes["serial_start"] is not None else b["serial_start"]
                )
                changes["serial_end"] = (
                    changes["serial_end"] if changes["serial_end"] is not None else b["serial_end"]
                )
                service.patch_type(conn, batch_id, type_id, TypePatch.model_validate(changes))
    except VoucherError as exc:
        return _type_form(request, ctx, b, t, values, [], error=exc, status=status_of(exc))
    done = "type-added" if type_id is None else "type-saved"
    return RedirectResponse(f"/dashboard/batches/{batch_id}?done={done}#types", status_code=303)


@router.post("/batches/{batch_id}/types")
def add_type(
    request: Request,
    batch_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    return _save_type(request, ctx, batch_id, None, form, session)


@router.post("/batches/{batch_id}/types/{type_id}/edit")
def save_type(
    request: Request,
    batch_id: str,
    type_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    return _save_type(request, ctx, batch_id, type_id, form, session)


@router.post("/batches/{batch_id}/types/{type_id}/remove")
def remove_type(
    request: Request,
    batch_id: str,
    type_id: str,
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    actor = acting(request, session, "batch.types")
    try:
        with (
            ctx.db.write() as conn,
            audit.change(conn, actor, "batch.type-remove", "batch", batch_id, audit.batch_state),
        ):
            service.delete_type(conn, batch_id, type_id)
    except VoucherError as exc:
        return detail_page(request, ctx, batch_id, error=exc)
    return RedirectResponse(f"/dashboard/batches/{batch_id}?done=type-removed#types", status_code=303)
