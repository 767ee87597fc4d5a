"""Members: claim a voucher (API), and the claim page behind the claim URL (HTML).

The claim page shows the batch's title and description and, when a claim is not possible, why
("Promotion temporarily paused", "No vouchers available"), with no claim button. The home page (/)
is here too. Both are member pages in the member's language (central/members/templating.py); the
API's answers stay in English, for developers. Claiming needs a
signed-in member: a member who is not signed in types an e-mail address, gets a sign-in link and
code by mail, and the claim is made as the link or code signs them in (central/members/claiming.py):
they land on this page with their voucher. A member who has claimed from the batch sees that
voucher again. The API claims for a signed-in member, or for a member an
integration token of head office names (a shop's own web site).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from central.auth import Claimant, bearer, bearer_token, member_claimant, note_token_use, token_claimant
from central.context import Context, get_context, json
from central.limits import client_address, limits
from central.members import session as member_session
from central.members import templating, wording
from central.members.claiming import claim_for, count_member_claim
from central.members.pages import NotSent, error_page, foreign_form, form_expired, send_sign_in
from central.members.session import current_member, form_data, form_ok
from central.members.templating import render, words_of
from central.problems import PUBLIC_ERRORS
from central.schemas import ClaimRequest
from central.services import audit, members, ratelimit
from central.services import claims as service
from central.services.members import MemberSession
from vouchers.emails import check_email, fold
from vouchers.errors import FieldError, Forbidden, InvalidInput, NotFound
from vouchers.lifecycle import CLAIMABLE, Claims, State
from vouchers.wording import N_

router = APIRouter(tags=["claims"], responses=PUBLIC_ERRORS)
templates = templating.templates  # the home page's (the member pages' templates, in the member's language)


@router.post(
    "/api/v1/claims",
    status_code=201,
    summary="A member claims a voucher from a batch",
    description="For the signed-in member (the claim page's session cookie), or, with an integration "
    "token issued by head office, for the member (an e-mail address) the body names. `already-claimed` "
    "carries the code only to the member's own session.",
)
async def claim(
    data: ClaimRequest,
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Response:
    """A claim with a token runs on the event loop and in its group commit only: the token's holder is
    found in the group's transaction (db/batcher.py), so a claim costs no thread of the pool and no
    transaction of its own (claims come by the thousand a second after a campaign mail)."""
    ctx = get_context(request)
    if credentials is None:
        return json(await run_in_threadpool(_members_claim, data, request, ctx), 201)
    token, address = bearer_token(credentials), client_address(request)
    to_note: list[str] = []

    def claim_it(conn: Connection) -> service.Claimed:
        held = token_claimant(conn, ctx, token, address)
        if held.note_use is not None:
            to_note.append(held.note_use)
        who = held.allowed()
        return _claim(conn, ctx, who, _member_for(who, data.member_id), data.claim_token)

    try:  # committed with the claims arriving at the same moment: one flush for them all
        return json(await ctx.grouped.run_async(claim_it), 201)
    finally:
        if to_note:  # the token was used, whether or not the claim was made
            await run_in_threadpool(note_token_use, ctx, to_note[0])


def _members_claim(data: ClaimRequest, request: Request, ctx: Context) -> service.Claimed:
    """A signed-in member's claim for themselves, counted per address and per member."""
    who = member_claimant(request, ctx)
    member_id = _member_for(who, data.member_id)
    assert who.member_id is not None  # a member claims for themselves
    count_member_claim(request, ctx, who.member_id)
    return ctx.grouped.run(lambda conn: _claim(conn, ctx, who, member_id, data.claim_token))


def _claim(
    conn: Connection, ctx: Context, who: Claimant, member_id: str, claim_token: str
) -> service.Claimed:
    """The claim, in a group's transaction: a token's claims counted with the claims of its group."""
    if who.kind != "member":
        ratelimit.hit_in_group(conn, limits(ctx.settings).claims_token, f"{who.kind}:{who.name}")
    answer = service.claim(conn, claim_token, member_id, show_code=who.kind == "member")
    if who.actor is not None:  # on behalf of a member: head office's record of who did it
        audit.record(
            conn,
            who.actor,
            "claim.on-behalf",
            "voucher",
            answer.voucher_id,
            None,
            {"member_id": member_id, "batch_id": answer.batch_id},
        )
    return answer


def _member_for(who: Claimant, named: str | None) -> str:
    """The member a claim is for: the session's own, or the one an integration names."""
    if who.member_id is not None:
        if named is not None and fold(named) != who.member_id:
            raise Forbidden("A signed-in member claims for themselves only: leave member_id out.")
        return who.member_id
    if named is None:
        raise InvalidInput([FieldError("member_id", "Name the member (their e-mail address) you claim for.")])
    return check_email(named, "member_id")


@router.get("/", include_in_schema=False)
def home(request: Request, ctx: Context = Depends(get_context)) -> Response:
    """Head office's home page: how to claim, and the way to My vouchers."""
    return render(request, "home.html", member=current_member(request, ctx))


def _notice(batch) -> str | None:
    """What the claim page says instead of offering a claim, if anything (in English: the page words it)."""
    if State(batch["state"]) not in CLAIMABLE:
        return N_("This promotion is not open for claims.")
    if batch["claims"] == Claims.PAUSED:
        return N_("Promotion temporarily paused")
    if batch["total"] - batch["claimed"] <= 0:
        return N_("No vouchers available")
    return None


def _page(
    request: Request,
    ctx: Context,
    batch,
    member: MemberSession | None,
    *,
    email: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    voucher = None
    if member is not None:
        with ctx.db.read() as conn:
            voucher = members.voucher_in_batch(conn, member.member_id, batch["id"])
    notice = None if voucher else _notice(batch)
    message = words_of(request).gettext(notice) if notice else None
    token = member_session.sign_in_token(request) if member is None and message is None else None
    context = {
        "batch": batch,
        "voucher": voucher,
        "message": message,
        "email": email,
        "error": error,
        "sign_in_token": token,
    }
    response = render(request, "claim.html", context, status, member=member)
    if token:
        member_session.set_sign_in_cookie(response, token, ctx)
    return response


def _not_found(request: Request, member: MemberSession | None) -> Response:
    words = words_of(request)
    return error_page(
        request, words.gettext("Claim a voucher"), words.gettext(wording.BAD_CLAIM_LINK), 404, member
    )


@router.get("/claim/{claim_token}", include_in_schema=False)
def claim_page(request: Request, claim_token: str, ctx: Context = Depends(get_context)) -> Response:
    member = current_member(request, ctx)
    try:
        with ctx.db.read() as conn:
            batch = service.batch_by_token(conn, claim_token)
    except NotFound:
        return _not_found(request, member)
    return _page(request, ctx, batch, member)


@router.post("/claim/{claim_token}", include_in_schema=False)
def claim_form(
    request: Request,
    claim_token: str,
    form: FormData = Depends(form_data),
    ctx: Context = Depends(get_context),
) -> Response:
    """Claim for the signed-in member, then back to the claim page, which shows the voucher (a second
    claim shows the same one); or, not signed in, mail a sign-in link and code to the address typed."""
    member = current_member(request, ctx)
    try:
        with ctx.db.read() as conn:
            batch = service.batch_by_token(conn, claim_token)
    except NotFound:
        return _not_found(request, member)
    if member is None:  # mail a sign-in link and code; using it claims, and the member comes back here
        email = str(form.get("email") or "")[:200]
        if not member_session.sign_in_form_ok(request, ctx, form):
            return _page(request, ctx, batch, None, email=email, error=form_expired(request), status=403)
        sent = send_sign_in(request, ctx, email, f"/claim/{batch['claim_token']}", batch["claim_token"])
        if isinstance(sent, NotSent):
            return sent.on(
                _page(request, ctx, batch, None, email=email, error=sent.message, status=sent.status)
            )
        return sent
    if not form_ok(request, ctx, form, member):
        return error_page(request, foreign_form(request), form_expired(request), 403, member)
    return claim_for(request, ctx, member, batch["claim_token"])
