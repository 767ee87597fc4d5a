"""The member's pages under /my: sign in and out, My vouchers with each voucher's QR code and
Code 128 barcode, and MARK AS USED (asked once more on its own page, then recorded in the ledger)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from central import images
from central.context import Context, get_context
from central.members import session as member_session
from central.members.session import SIGN_IN_PATH, current_member, form_data, form_ok, safe_next
from central.members.templating import render, secured
from central.services import members
from central.services.ledger import MarkUsedRefused
from central.services.members import MemberSession
from vouchers.errors import InvalidInput, NotFound

router = APIRouter(include_in_schema=False)

FORM_EXPIRED = "This form had expired or did not come from this site. Reload the page and try again."


def redirect(url: str) -> Response:
    return secured(RedirectResponse(url, status_code=303))


def to_sign_in(request: Request) -> Response:
    return redirect(f"{SIGN_IN_PATH}?next={quote(request.url.path)}")


def error_page(request: Request, title: str, detail: str, status: int,
               member: MemberSession | None = None) -> Response:
    return render(request, "member/error.html", {"title": title, "detail": detail}, status, member=member)


def sign_in_form(request: Request, ctx: Context, *, email: str = "", error: str | None = None,
                 next_page: str = member_session.HOME, status: int = 200) -> Response:
    token = member_session.sign_in_token(request)
    response = render(request, "member/sign_in.html",
                      {"email": email, "error": error, "sign_in_token": token, "next": next_page}, status)
    member_session.set_sign_in_cookie(response, token, ctx)
    return response


def start_session(ctx: Context, email: str) -> tuple[str, MemberSession] | str:
    """A new member session for this address, or what is wrong with the address."""
    try:
        with ctx.db.write() as conn:
            return members.sign_in(conn, email, days=ctx.settings.member_session_days)
    except InvalidInput:
        return "Enter your e-mail address, such as name@example.com."


@router.get("/my")
def my_home() -> Response:
    return redirect(member_session.HOME)


@router.get(SIGN_IN_PATH)
def sign_in_page(request: Request, ctx: Context = Depends(get_context)) -> Response:
    next_page = safe_next(request.query_params.get("next"))
    if current_member(request, ctx) is not None:
        return redirect(next_page)
    return sign_in_form(request, ctx, next_page=next_page)


@router.post(SIGN_IN_PATH)
def sign_in(request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)) -> Response:
    email = str(form.get("email") or "")[:200]
    next_page = safe_next(form.get("next"))
    if not member_session.sign_in_form_ok(request, ctx, form):
        return sign_in_form(request, ctx, email=email, next_page=next_page, status=403, error=FORM_EXPIRED)
    started = start_session(ctx, email)
    if isinstance(started, str):
        return sign_in_form(request, ctx, email=email, next_page=next_page, status=422, error=started)
    response = redirect(next_page)
    member_session.set_member_cookie(response, started[0], ctx)
    return response


@router.post("/my/sign-out")
def sign_out(request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)) -> Response:
    member = current_member(request, ctx)
    if member is None:
        return redirect(f"{SIGN_IN_PATH}?done=signed-out")
    if not form_ok(request, ctx, form, member):
        return error_page(request, "This form did not come from this site", FORM_EXPIRED, 403, member)
    with ctx.db.write() as conn:
        members.sign_out(conn, request.cookies[member_session.MEMBER_COOKIE])
    response = redirect(f"{SIGN_IN_PATH}?done=signed-out")
    member_session.clear_member_cookie(response, ctx)
    return response


@router.get("/my/vouchers")
def my_vouchers(request: Request, ctx: Context = Depends(get_context)) -> Response:
    member = current_member(request, ctx)
    if member is None:
        return to_sign_in(request)
    with ctx.db.read() as conn:
        wallet = members.wallet(conn, member.member_id)
    return render(request, "member/vouchers.html", {"vouchers": wallet}, member=member)


def _image(request: Request, ctx: Context, vid: str, symbology: str) -> Response:
    member = current_member(request, ctx)
    if member is None:
        return secured(Response("Sign in to see your vouchers.", status_code=401, media_type="text/plain"))
    try:
        with ctx.db.read() as conn:
            code = members.raw_code(conn, member.member_id, vid)
    except NotFound as exc:
        return secured(Response(exc.detail, status_code=404, media_type="text/plain"))
    return secured(Response(images.barcode_png(code, symbology), media_type="image/png"))


@router.get("/my/vouchers/{vid}/qr.png")
def voucher_qr(request: Request, vid: str, ctx: Context = Depends(get_context)) -> Response:
    """The voucher's code as a full QR code (never Micro QR), 500 px: large enough for a till's webcam."""
    return _image(request, ctx, vid, "qr")


@router.get("/my/vouchers/{vid}/code128.png")
def voucher_code128(request: Request, vid: str, ctx: Context = Depends(get_context)) -> Response:
    """The voucher's code as a Code 128 barcode with its text, for a till's USB scanner."""
    return _image(request, ctx, vid, "code128")


def _mark_page(request: Request, member: MemberSession, v: dict, *, error: str | None = None,
               status: int = 200) -> Response:
    return render(request, "member/mark_used.html",
                  {"v": v, "event_id": members.new_event_id(), "error": error}, status, member=member)


@router.get("/my/vouchers/{vid}/mark-used")
def mark_used_page(request: Request, vid: str, ctx: Context = Depends(get_context)) -> Response:
    """Asks once more: marking a voucher used cannot be undone by the member."""
    member = current_member(request, ctx)
    if member is None:
        return to_sign_in(request)
    try:
        with ctx.db.read() as conn:
            v = members.voucher(conn, member.member_id, vid)
    except NotFound as exc:
        return error_page(request, "No such voucher", exc.detail, 404, member)
    return _mark_page(request, member, v)


@router.post("/my/vouchers/{vid}/mark-used")
def mark_used(request: Request, vid: str, form: FormData = Depends(form_data),
              ctx: Context = Depends(get_context)) -> Response:
    member = current_member(request, ctx)
    if member is None:
        return to_sign_in(request)
    if not form_ok(request, ctx, form, member):
        return error_page(request, "This form did not come from this site", FORM_EXPIRED, 403, member)
    try:
        with ctx.db.write() as conn:
            members.mark_used(conn, member.member_id, vid, str(form.get("event_id") or ""))
    except NotFound as exc:
        return error_page(request, "No such voucher", exc.detail, 404, member)
    except MarkUsedRefused as exc:
        with ctx.db.read() as conn:
            v = members.voucher(conn, member.member_id, vid)
        return _mark_page(request, member, v, error=exc.detail, status=409)
    return redirect(f"/my/vouchers?done=marked#{members.anchor(vid)}")
