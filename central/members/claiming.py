"""A signed-in member's claim from a claim page: the claim page's Claim button, and the claim a
sign-in asked from a claim page makes once the mail's link or code is used (so the member does not
have to find and tap Claim again). Either way the claim is for the session's own member, counted by
the claims' rate limits, and the member lands on the claim page, which shows the voucher or why not."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import Connection
from starlette.responses import Response

from central.context import Context
from central.limits import client_address, limits
from central.members import wording
from central.members.templating import error_page, redirect, words_of
from central.services import claims, ratelimit
from central.services.members import MemberSession
from central.services.ratelimit import RateLimited
from vouchers.errors import ClaimRefused, NotFound


def count_member_claim(request: Request, ctx: Context, member_id: str) -> None:
    """A member's claim counts per client address and per member (RateLimited past the limits)."""
    limit = limits(ctx.settings)
    ratelimit.hit(ctx.db, limit.claims_address, client_address(request))
    ratelimit.hit(ctx.db, limit.claims_member, member_id)


def claim_batch(conn: Connection, claim_token: str | None):
    """The batch a claim token names, or None (no token, or its batch is gone)."""
    if claim_token is None:
        return None
    try:
        return claims.batch_by_token(conn, claim_token)
    except NotFound:
        return None


def claim_for(request: Request, ctx: Context, member: MemberSession, claim_token: str) -> Response:
    """Claim for this signed-in member, then to the claim page: it shows the voucher ('Claimed!'),
    the one claimed before, or why there is none (paused, sold out, a batch deleted meanwhile)."""
    page = f"/claim/{claim_token}"
    try:
        count_member_claim(request, ctx, member.member_id)
        with ctx.db.write() as conn:
            claims.claim(conn, claim_token, member.member_id)
    except RateLimited as exc:
        words = words_of(request)
        title, detail = words.gettext("Too many claims"), wording.too_many(words, "claims", exc.retry_after)
        response = error_page(request, title, detail, 429, member, chooser_at=page)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except (ClaimRefused, NotFound):
        return redirect(request, page)
    return redirect(request, f"{page}?done=claimed")
