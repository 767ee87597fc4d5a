"""Campaigns > Batches: the cards, their actions (life cycle, pause, resume, delete) and the claim QR."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central import images
from central.context import Context, get_context, json
from central.db.schema import utcnow
from central.problems import status_of
from central.services import audit
from central.services import batches as service
from central.services.audit import Actor
from central.services.staff import Session
from central.web.pages.batch import detail_page, progress_words
from central.web.phrases import SORT_WORDS, STATE_WORDS
from central.web.session import acting, csrf_checked, form_data, may_open, signed_in
from central.web.templating import error_words, render, words_of
from vouchers.errors import DeleteNotConfirmed, NotFound, VoucherError
from vouchers.lifecycle import Action, State
from vouchers.metrics import BENCHMARKS, CHANNELS

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE = 24
ACTIONS = {"validate", "configure", "generate", "distribute", "redeemable", "lock", "void", "pause", "resume"}


def _load(ctx: Context, batch_id: str) -> dict:
    with ctx.db.read() as conn:
        return service.load(conn, batch_id, ctx.settings.public_url)


def _list_filter(request: Request) -> service.BatchFilter:
    """The list's filters as the form sent them; anything unknown is ignored rather than refused."""
    q = request.query_params
    state, channel, sort = q.get("state", ""), q.get("channel", ""), q.get("sort", "")
    return service.BatchFilter(
        text=q.get("q", "").strip()[:200],
        state=state if state in {s.value for s in State} else "",
        channel=channel if channel in (*CHANNELS, "none") else "",
        sort=sort if sort in service.SORTS else "newest",
        archived=q.get("show") == "archived",
    )


@router.get("/batches")
def cards(request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)) -> Response:
    """The cards, newest first: searched by name, filtered by state and channel, sorted by a figure;
    archived batches (void, or past their last valid day) in a list of their own."""
    f = _list_filter(request)
    raw = request.query_params.get("page", "")
    number = int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1
    with ctx.db.read() as conn:
        found = service.find(
            conn, ctx.settings.public_url, f, now=utcnow(), limit=PAGE, offset=(number - 1) * PAGE
        )
    query = {
        k: v
        for k, v in {
            "q": f.text,
            "state": f.state,
            "channel": f.channel,
            "sort": "" if f.sort == "newest" else f.sort,
            "show": "archived" if f.archived else "",
        }.items()
        if v
    }
    pages = max(1, (found.total + PAGE - 1) // PAGE)
    other = {k: v for k, v in query.items() if k != "show"} | ({} if f.archived else {"show": "archived"})

    def page_url(n: int) -> str:
        return "?" + urlencode({**query, "page": n}) if n > 1 else ("?" + urlencode(query) if query else "?")

    return render(
        request,
        "dashboard/batches.html",
        {
            "batches": found.batches,
            "found": found,
            "filters": f,
            "sorts": {key: SORT_WORDS.get(key, words) for key, words in service.SORTS.items()},
            "states": STATE_WORDS,
            "channels": BENCHMARKS,
            "filtered": bool(f.text or f.state or f.channel),
            "page": number,
            "pages": pages,
            "first_shown": (number - 1) * PAGE + 1,
            "prev_url": page_url(number - 1) if number > 1 else None,
            "next_url": page_url(number + 1) if number < pages else None,
            "other_url": "/dashboard/batches" + ("?" + urlencode(other) if other else ""),
            "clear_url": "/dashboard/batches" + ("?show=archived" if f.archived else ""),
        },
    )


def run_action(ctx: Context, batch_id: str, action: Action, actor: Actor) -> bool:
    """Carry out one action, in the audit log; False when validation found problems (recorded on the batch)."""

    def logged(conn):
        return audit.change(conn, actor, f"batch.{action.value}", "batch", batch_id, audit.batch_state)

    if action is Action.VALIDATE:
        with ctx.db.write() as conn, logged(conn):
            return not service.validate(conn, batch_id, ctx.settings.max_batch_size)
    if action is Action.GENERATE:
        generator = ctx.generator
        with ctx.db.write() as conn, logged(conn):
            service.start_generation(conn, batch_id, generator.owner, generator.lease_until())
        generator.kick(batch_id)
        return True
    with ctx.db.write() as conn, logged(conn):
        if action in (Action.PAUSE, Action.RESUME):
            service.set_claims(conn, batch_id, action)
        else:
            service.act(conn, batch_id, action)
    return True


@router.post("/batches/{batch_id}/actions/{action}")
def act(
    request: Request,
    batch_id: str,
    action: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    """A life-cycle or claims action. Scripts (X-Fragment: card) get the card back, pages a redirect."""
    fragment = request.headers.get("x-fragment") == "card"
    try:
        if action not in ACTIONS:
            raise NotFound(words_of(request).gettext("There is no batch action '{action}'.", action=action))
        actor = acting(request, session, f"batch.{action}")
        ok = run_action(ctx, batch_id, Action(action), actor)
    except VoucherError as exc:
        if fragment:
            return render(
                request,
                "dashboard/_error.html",
                {"error": error_words(exc, words_of(request))},
                status_of(exc),
            )
        return detail_page(request, ctx, batch_id, error=exc)
    if fragment:
        return render(request, "dashboard/_card.html", {"b": _load(ctx, batch_id)})
    if not ok or form.get("back") != "list":
        done = f"?done={action}" if ok else ""
        return RedirectResponse(f"/dashboard/batches/{batch_id}{done}", status_code=303)
    return RedirectResponse(f"/dashboard/batches?done={action}#batch-{batch_id}", status_code=303)


@router.get("/batches/{batch_id}/delete")
def delete_page(
    request: Request,
    batch_id: str,
    _: Session = Depends(may_open("batch.delete")),
    ctx: Context = Depends(get_context),
) -> Response:
    with ctx.db.read() as conn:
        b = service.load(conn, batch_id, ctx.settings.public_url)
        count = service.voucher_total(conn, batch_id)
    return render(
        request, "dashboard/standalone.html", {"b": b, "count": count, "partial": "dashboard/_delete.html"}
    )


@router.post("/batches/{batch_id}/delete")
def delete(
    request: Request,
    batch_id: str,
    form: FormData = Depends(form_data),
    session: Session = Depends(csrf_checked),
    ctx: Context = Depends(get_context),
) -> Response:
    actor = acting(request, session, "batch.delete")
    raw = form.get("confirm")
    confirm = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 16 else None
    try:
        with (
            ctx.db.write() as conn,
            audit.change(conn, actor, "batch.delete", "batch", batch_id, audit.batch_state),
        ):
            service.delete_batch(conn, batch_id, confirm)
    except DeleteNotConfirmed as exc:
        b = _load(ctx, batch_id)
        return render(
            request,
            "dashboard/standalone.html",
            {
                "b": b,
                "count": exc.count,
                "partial": "dashboard/_delete.html",
                "error": error_words(exc, words_of(request)),
            },
            status_of(exc),
        )
    return RedirectResponse(f"/dashboard/batches?done=deleted&n={confirm}", status_code=303)


@router.get("/batches/{batch_id}/void")
def void_page(
    request: Request,
    batch_id: str,
    _: Session = Depends(may_open("batch.void")),
    ctx: Context = Depends(get_context),
) -> Response:
    return render(
        request, "dashboard/standalone.html", {"b": _load(ctx, batch_id), "partial": "dashboard/_void.html"}
    )


@router.get("/batches/{batch_id}/qr")
def qr_page(
    request: Request, batch_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    return render(
        request, "dashboard/standalone.html", {"b": _load(ctx, batch_id), "partial": "dashboard/_qr.html"}
    )


@router.get("/batches/{batch_id}/claim-qr.png")
def claim_qr(
    batch_id: str,
    size: int = Query(1024, ge=images.MIN_QR_SIZE, le=images.MAX_QR_SIZE),
    download: bool = False,
    _: Session = Depends(signed_in),
    ctx: Context = Depends(get_context),
) -> Response:
    """The claim URL's QR code, exactly size × size pixels; as a file to save with download=1."""
    with ctx.db.read() as conn:
        row = service.get_row(conn, batch_id)
    png = images.qr_png(service.claim_url(ctx.settings.public_url, row["claim_token"]), size)
    disposition = "attachment" if download else "inline"
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": f'{disposition}; filename="{batch_id}-claim-qr-{size}px.png"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/batches/{batch_id}/progress")
def progress(
    request: Request, batch_id: str, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    """Generation progress for the page's progress bar (it polls this while the batch is generating)."""
    with ctx.db.read() as conn:
        row = service.get_row(conn, batch_id)
    return json(progress_words(words_of(request), ctx, ctx.generator.progress(row)))
