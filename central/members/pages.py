"""The member's pages under /my: sign in (a mailed one-time link or code) and out, My vouchers with
each voucher's QR code and Code 128 barcode, and MARK AS USED (asked once more on its own page, then
recorded in the ledger)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from central import images, mail
from central.context import Context, get_context
from central.limits import client_address, limits
from central.members import session as member_session
from central.members import wording
from central.members.claiming import claim_batch, claim_for
from central.members.session import SIGN_IN_PATH, current_member, form_data, form_ok, safe_next
from central.members.templating import error_page, redirect, render, secured, words_of
from central.problems import status_of
from central.services import member_sign_in, members, ratelimit
from central.services.ledger import MarkUsedRefused
from central.services.members import MemberSession, MemberVoucher
from central.services.ratelimit import RateLimited
from vouchers.emails import fold, is_email
from vouchers.errors import InvalidInput, NotFound
from vouchers.verdict import Verdict
from words import verdicts as verdict_words
from words import words_for

router = APIRouter(include_in_schema=False)

CODE_PATH = SIGN_IN_PATH + "/code"


def form_expired(request: Request) -> str:
    return words_of(request).gettext(wording.FORM_EXPIRED)


def sign_in_spent(request: Request) -> str:
    return words_of(request).ngettext(
        "This sign-in has been used already, or is older than {n} minute. Sign in again to get a new mail.",
        "This sign-in has been used already, or is older than {n} minutes. Sign in again to get a new mail.",
        member_sign_in.SIGN_IN_MINUTES,
    )


def foreign_form(request: Request) -> str:
    """The title of the page that refuses a form from elsewhere (or an expired one)."""
    return words_of(request).gettext("This form did not come from this site")


def link_spent(request: Request) -> str:
    return words_of(request).gettext("This sign-in link does not work any more")


def no_such_voucher(request: Request) -> tuple[str, str]:
    words = words_of(request)
    return words.gettext("No such voucher"), words.gettext(wording.NOT_YOURS)


def to_sign_in(request: Request) -> Response:
    return redirect(request, f"{SIGN_IN_PATH}?next={quote(request.url.path)}")


def sign_in_form(
    request: Request,
    ctx: Context,
    *,
    email: str = "",
    error: str | None = None,
    next_page: str = member_session.HOME,
    status: int = 200,
) -> Response:
    token = member_session.sign_in_token(request)
    response = render(
        request,
        "member/sign_in.html",
        {"email": email, "error": error, "sign_in_token": token, "next": next_page},
        status,
        chooser_at=f"{SIGN_IN_PATH}?next={quote(next_page)}",
    )
    member_session.set_sign_in_cookie(response, token, ctx)
    return response


@dataclass(frozen=True)
class NotSent:
    """Why no sign-in mail went out, for the form that asked: the words, the status, any headers."""

    message: str
    status: int = 422
    headers: dict[str, str] = field(default_factory=dict)

    def on(self, response: Response) -> Response:
        response.headers.update(self.headers)
        return response


def send_sign_in(
    request: Request, ctx: Context, email: str, next_page: str, claim_token: str | None = None
) -> Response | NotSent:
    """Mail this address a sign-in link and code, for this browser, and show the page that asks for
    the code; or why not. Nothing is signed in until the mail is used; then the claim of
    `claim_token` (asked from its claim page) is made. Mails are rate-limited per client address
    and per e-mail address (central/limits.py)."""
    browser = request.cookies.get(member_session.SIGN_IN_COOKIE, "")
    limit = limits(ctx.settings)
    words = words_of(request)
    refused = "mail"
    try:
        ratelimit.hit(ctx.db, limit.sign_in_mail_address, client_address(request))
        if is_email(email):
            refused = "mail-address"
            ratelimit.hit(ctx.db, limit.sign_in_mail_account, fold(email))
        with ctx.db.write() as conn:
            pending = member_sign_in.start(conn, email, browser, next_page, claim_token)
    except InvalidInput:
        return NotSent(words.gettext("Enter your e-mail address, such as name@example.com."))
    except RateLimited as exc:
        return NotSent(
            wording.too_many(words, refused, exc.retry_after),
            status_of(exc),
            {"Retry-After": str(exc.retry_after)},
        )
    subject, text = member_sign_in.mail_text(ctx.settings.public_url, pending, words)
    try:
        mail.send(ctx.settings, pending.member_id, subject, text, language=words.language)
    except mail.MailNotSent as exc:
        return NotSent(wording.mail_not_sent(words, bool(ctx.settings.smtp_host)), status_of(exc))
    return check_mail_page(request, ctx, pending.member_id, next_page, claiming=claim_token is not None)


def codes_slowed(request: Request, ctx: Context) -> Response | None:
    """The page to answer when this address has tried too many codes and links, else None."""
    try:
        ratelimit.hit(ctx.db, limits(ctx.settings).sign_in_codes_address, client_address(request))
    except RateLimited as exc:
        words = words_of(request)
        response = error_page(
            request,
            words.gettext("Too many tries"),
            wording.too_many(words, "codes", exc.retry_after),
            status_of(exc),
            chooser_at=SIGN_IN_PATH,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return None


def check_mail_page(
    request: Request,
    ctx: Context,
    email: str,
    next_page: str,
    *,
    error: str | None = None,
    status: int = 200,
    claiming: bool = False,
) -> Response:
    token = member_session.sign_in_token(request)
    response = render(
        request,
        "member/check_mail.html",
        {
            "email": email,
            "error": error,
            "sign_in_token": token,
            "next": next_page,
            "minutes": member_sign_in.SIGN_IN_MINUTES,
            "claiming": claiming,
        },
        status,
        chooser_at=CODE_PATH,
    )
    member_session.set_sign_in_cookie(response, token, ctx)
    return response


def signed_in_response(request: Request, ctx: Context, proven: member_sign_in.Proven) -> Response:
    """The new session's cookie, on the way to the page the sign-in was for; a sign-in asked from a
    claim page claims first (for the address just proven), and lands on that claim page."""
    if proven.claim_token is not None:
        response = claim_for(request, ctx, proven.session, proven.claim_token)
    else:
        response = redirect(request, safe_next(proven.next_page))
    member_session.set_member_cookie(response, proven.token, ctx)
    return response


@router.get("/my")
def my_home(request: Request) -> Response:
    return redirect(request, member_session.HOME)


@router.get(SIGN_IN_PATH)
def sign_in_page(request: Request, ctx: Context = Depends(get_context)) -> Response:
    next_page = safe_next(request.query_params.get("next"))
    if current_member(request, ctx) is not None:
        return redirect(request, next_page)
    return sign_in_form(request, ctx, next_page=next_page)


@router.post(SIGN_IN_PATH)
def sign_in(
    request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)
) -> Response:
    """Mail a sign-in link and code to the address typed; the page asks for the code."""
    email = str(form.get("email") or "")[:200]
    next_page = safe_next(form.get("next"))
    if not member_session.sign_in_form_ok(request, ctx, form):
        return sign_in_form(
            request, ctx, email=email, next_page=next_page, status=403, error=form_expired(request)
        )
    sent = send_sign_in(request, ctx, email, next_page)
    if isinstance(sent, NotSent):
        return sent.on(
            sign_in_form(
                request, ctx, email=email, next_page=next_page, status=sent.status, error=sent.message
            )
        )
    return sent


@router.get(CODE_PATH)
def code_page(request: Request, ctx: Context = Depends(get_context)) -> Response:
    """The page that asks for the mail's code, again (in another language, say): for this browser's
    live sign-in; without one, the sign-in form."""
    browser = request.cookies.get(member_session.SIGN_IN_COOKIE, "")
    with ctx.db.read() as conn:
        asked = member_sign_in.pending_for(conn, browser) if browser else None
    if asked is None:
        return sign_in_form(request, ctx)
    return check_mail_page(request, ctx, asked.member_id, safe_next(asked.next_page), claiming=asked.claiming)


@router.post(CODE_PATH)
def sign_in_with_code(
    request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)
) -> Response:
    """The code from the mail, typed into the browser that asked for it."""
    next_page = safe_next(form.get("next"))
    browser = request.cookies.get(member_session.SIGN_IN_COOKIE, "")
    if not member_session.sign_in_form_ok(request, ctx, form):
        return sign_in_form(request, ctx, next_page=next_page, status=403, error=form_expired(request))
    if (slowed := codes_slowed(request, ctx)) is not None:
        return slowed
    with ctx.db.write() as conn:
        proven = member_sign_in.use_code(
            conn, browser, str(form.get("code") or "")[:40], days=ctx.settings.member_session_days
        )
    if proven is not None:
        return signed_in_response(request, ctx, proven)
    with ctx.db.read() as conn:
        asked = member_sign_in.pending_for(conn, browser)
    if asked is None:
        return sign_in_form(request, ctx, next_page=next_page, status=422, error=sign_in_spent(request))
    return check_mail_page(
        request,
        ctx,
        asked.member_id,
        next_page,
        status=422,
        error=words_of(request).gettext("That is not the code in the mail. Check it and type it again."),
        claiming=asked.claiming,
    )


@router.get(SIGN_IN_PATH + "/link/{link_token}")
def sign_in_link_page(request: Request, link_token: str, ctx: Context = Depends(get_context)) -> Response:
    """The mail's link: a page with one button, so that a mail scanner opening links signs no one in."""
    with ctx.db.read() as conn:
        link = member_sign_in.waiting(conn, link_token[:100])
        batch = claim_batch(conn, link.claim_token) if link is not None else None
    if link is None:
        return error_page(
            request, link_spent(request), sign_in_spent(request), 410, current_member(request, ctx)
        )
    token = member_session.sign_in_token(request)
    response = render(
        request,
        "member/sign_in_link.html",
        {"member_id": link.member_id, "link_token": link_token, "sign_in_token": token, "batch": batch},
    )
    member_session.set_sign_in_cookie(response, token, ctx)
    return response


@router.post(SIGN_IN_PATH + "/link/{link_token}")
def sign_in_with_link(
    request: Request,
    link_token: str,
    form: FormData = Depends(form_data),
    ctx: Context = Depends(get_context),
) -> Response:
    if not member_session.sign_in_form_ok(request, ctx, form):
        return error_page(request, foreign_form(request), form_expired(request), 403)
    if (slowed := codes_slowed(request, ctx)) is not None:
        return slowed
    with ctx.db.write() as conn:
        proven = member_sign_in.use_link(conn, link_token[:100], days=ctx.settings.member_session_days)
    if proven is None:
        return error_page(request, link_spent(request), sign_in_spent(request), 410)
    return signed_in_response(request, ctx, proven)


@router.post("/my/sign-out")
def sign_out(
    request: Request, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)
) -> Response:
    member = current_member(request, ctx)
    if member is None:
        return redirect(request, f"{SIGN_IN_PATH}?done=signed-out")
    if not form_ok(request, ctx, form, member):
        return error_page(
            request, foreign_form(request), form_expired(request), 403, member, chooser_at=member_session.HOME
        )
    with ctx.db.write() as conn:
        members.sign_out(conn, request.cookies[member_session.MEMBER_COOKIE])
    response = redirect(request, f"{SIGN_IN_PATH}?done=signed-out")
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
    words = words_of(request)
    if member is None:
        refused = words.gettext("Sign in to see your vouchers.")
        return secured(request, Response(refused, status_code=401, media_type="text/plain"))
    try:
        with ctx.db.read() as conn:
            code = members.raw_code(conn, member.member_id, vid)
    except NotFound:
        missing = words.gettext(wording.NOT_YOURS)
        return secured(request, Response(missing, status_code=404, media_type="text/plain"))
    return secured(request, Response(images.barcode_png(code, symbology), media_type="image/png"))


@router.get("/my/vouchers/{vid}/qr.png")
def voucher_qr(request: Request, vid: str, ctx: Context = Depends(get_context)) -> Response:
    """The voucher's code as a full QR code (never Micro QR), 500 px: large enough for a till's webcam."""
    return _image(request, ctx, vid, "qr")


@router.get("/my/vouchers/{vid}/code128.png")
def voucher_code128(request: Request, vid: str, ctx: Context = Depends(get_context)) -> Response:
    """The voucher's code as a Code 128 barcode with its text, for a till's USB scanner."""
    return _image(request, ctx, vid, "code128")


def _mark_page(
    request: Request,
    member: MemberSession,
    v: MemberVoucher,
    *,
    refused: str | None = None,
    status: int = 200,
) -> Response:
    """The page that asks once more; after a refused MARK AS USED, why (in the page's words)."""
    return render(
        request,
        "member/mark_used.html",
        {"v": v, "event_id": members.new_event_id(), "refused": refused},
        status,
        member=member,
    )


def why_not_marked(request: Request, refused: MarkUsedRefused, v: MemberVoucher) -> str:
    """Why the ledger refused a MARK AS USED: the till's verdict, the voucher's status, or a form
    sent again for another voucher."""
    words = words_of(request)
    if (verdict := refused.extra.get("verdict")) is not None:
        return verdict_words.reason(words_for(words.language, verdict_words.DOMAIN), Verdict(verdict))
    if v.status in wording.NOT_UNUSED:
        return words.gettext(wording.NOT_UNUSED[v.status])
    return words.gettext(wording.FORM_REUSED)


@router.get("/my/vouchers/{vid}/mark-used")
def mark_used_page(request: Request, vid: str, ctx: Context = Depends(get_context)) -> Response:
    """Asks once more: marking a voucher used cannot be undone by the member."""
    member = current_member(request, ctx)
    if member is None:
        return to_sign_in(request)
    try:
        with ctx.db.read() as conn:
            v = members.voucher(conn, member.member_id, vid)
    except NotFound:
        return error_page(request, *no_such_voucher(request), 404, member)
    return _mark_page(request, member, v)


@router.post("/my/vouchers/{vid}/mark-used")
def mark_used(
    request: Request, vid: str, form: FormData = Depends(form_data), ctx: Context = Depends(get_context)
) -> Response:
    member = current_member(request, ctx)
    if member is None:
        return to_sign_in(request)
    if not form_ok(request, ctx, form, member):
        return error_page(request, foreign_form(request), form_expired(request), 403, member)
    try:
        with ctx.db.write() as conn:
            members.mark_used(conn, member.member_id, vid, str(form.get("event_id") or ""))
    except NotFound:
        return error_page(request, *no_such_voucher(request), 404, member)
    except MarkUsedRefused as exc:
        with ctx.db.read() as conn:
            v = members.voucher(conn, member.member_id, vid)
        return _mark_page(request, member, v, refused=why_not_marked(request, exc, v), status=409)
    return redirect(request, f"/my/vouchers?done=marked#{members.anchor(vid)}")
