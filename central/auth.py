"""Who is asking: bearer tokens (staff members' personal API tokens, the admin token of the
configuration, device tokens issued at enrolment, integration tokens of shops' web sites), and for
claims a member's session.

Staff tokens carry their holder's role (vouchers/roles.py): every admin endpoint needs at least
viewer, and each change the role it names. The shared admin token only bootstraps the first staff
account (POST /api/v1/staff/bootstrap); anywhere else it is refused with 403 and words."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection

from central.context import Context, get_context
from central.db.schema import utcnow
from central.limits import client_address, limits
from central.members.session import current_member, origin_ok
from central.services import integrations, ratelimit, staff
from central.services.audit import Actor
from central.services.devices import device_for_token
from central.services.ledger import Device
from vouchers.errors import Forbidden, Unauthorized
from vouchers.roles import Role, RoleRefused, allows, require_to
from vouchers.wording import said

bearer = HTTPBearer(
    auto_error=False,
    description="A staff member's API token (voucher-central staff token create), "
    "a device token for /sync endpoints, or an integration token for claims.",
)

ADMIN_TOKEN_ONLY_BOOTSTRAPS = said(
    "The shared admin token only bootstraps the first staff account "
    "(POST /api/v1/staff/bootstrap). Use a personal API token: "
    "voucher-central staff token create EMAIL, on the server's host."
)


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized(said("Send 'Authorization: Bearer TOKEN'."))
    return credentials.credentials


def is_admin_token(ctx: Context, token: str) -> bool:
    admin = ctx.settings.admin_token
    return admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode())


def _device(ctx: Context, token: str) -> Device | None:
    with ctx.db.read() as conn:
        return device_for_token(conn, token)


def _staff_actor(request: Request, ctx: Context, token: str) -> Actor:
    with ctx.db.read() as conn:
        holder = staff.holder_of(conn, token)
    return _actor_of(request, ctx, token, holder)


def _actor_of(request: Request, ctx: Context, token: str, holder: staff.TokenHolder | None) -> Actor:
    """The staff member holding `token` (`holder`, looked up already), or the error saying why not."""
    if holder is not None:
        if _stale(holder):
            note_token_use(ctx, holder.token_id)
        actor = Actor(holder.email, "staff", holder.role, client_address(request))
        request.state.actor = actor
        return actor
    if is_admin_token(ctx, token):
        raise Forbidden(ADMIN_TOKEN_ONLY_BOOTSTRAPS, title="The admin token only bootstraps")
    if _device(ctx, token) is not None:
        raise Forbidden(said("A device token cannot use admin endpoints."))
    raise Unauthorized(said("The token is not valid, expired or was revoked."))


def _stale(holder: staff.TokenHolder) -> bool:
    """'staff token list' says when a token was last used, to 5 minutes: is a newer use to note?"""
    return holder.last_used_at is None or holder.last_used_at < utcnow() - timedelta(minutes=5)


def require_role(needed: Role):
    """A dependency: the staff member of this request's token, when their role allows `needed`."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        ctx: Context = Depends(get_context),
    ) -> Actor:
        actor = _staff_actor(request, ctx, bearer_token(credentials))
        assert actor.role is not None  # a staff member's actor has their role
        if not allows(actor.role, needed):
            raise RoleRefused(actor.role, needed, f"{request.method} {request.url.path}")
        return actor

    dependency.__name__ = f"require_{needed.value}"
    return dependency


require_viewer = require_role(Role.VIEWER)
require_campaigns = require_role(Role.CAMPAIGNS)
require_staff_admin = require_role(Role.ADMIN)
require_admin = (
    require_viewer  # (the name routers used before roles: every admin endpoint needs a staff token)
)


def require_admin_token(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer), ctx: Context = Depends(get_context)
) -> None:
    """The bootstrap endpoint's: the shared admin token and nothing else."""
    if not is_admin_token(ctx, bearer_token(credentials)):
        raise Unauthorized(
            said("Bootstrapping takes the server's admin token (admin_token in its settings).")
        )


def require_device(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: Context = Depends(get_context),
) -> Device:
    """The device of this request's token, its request counted against its rate limits."""
    device = _known_device(ctx, bearer_token(credentials))
    limit = limits(ctx.settings)
    ratelimit.hit(ctx.db, limit.device_requests, device.id)
    ratelimit.hit(ctx.db, limit.device_address, client_address(request))
    return device


def require_device_to_write(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: Context = Depends(get_context),
) -> Device:
    """`require_device` for a request that writes: on SQLite its counts go into the request's own
    write transaction (count_device_in), so that the one writer flushes once for the request, not
    three times; on PostgreSQL they are counted here, in commits that do not wait for the disk."""
    if not ctx.db.is_sqlite:
        return require_device(request, credentials, ctx)
    return _known_device(ctx, bearer_token(credentials))


def count_device_in(conn: Connection, ctx: Context, request: Request, device: Device) -> None:
    """Count a request of `device` (found by require_device_to_write) in `conn`, on SQLite."""
    if ctx.db.is_sqlite:
        limit = limits(ctx.settings)
        ratelimit.hit_in(conn, limit.device_requests, device.id)
        ratelimit.hit_in(conn, limit.device_address, client_address(request))


def _known_device(ctx: Context, token: str) -> Device:
    """The live device of `token`, or the error saying why not."""
    device = _device(ctx, token)
    if device is not None:
        return device
    if is_admin_token(ctx, token):
        raise Forbidden(said("The admin token cannot be used as a device; enrol a device first."))
    raise Unauthorized(
        said("The device token is not valid or the device was revoked."), title="Device not recognised"
    )


@dataclass(frozen=True)
class Claimant:
    """Who claims a voucher: a signed-in member for themselves (`member_id`), or an integration or
    staff token on behalf of a member named in the request (`member_id` None)."""

    kind: str  # member, integration, staff
    name: str
    member_id: str | None = None
    actor: Actor | None = None  # for the audit log: who claimed on behalf


@dataclass(frozen=True)
class TokenClaimant:
    """Who holds a claim's bearer token, found in the claim's own transaction; `note_use` names a
    staff token whose use is to be noted ('staff token list' says when it was last used)."""

    claimant: Claimant
    note_use: str | None = None

    def allowed(self) -> Claimant:
        """The claimant, when they may claim on behalf of a member (staff: the campaigns role)."""
        actor = self.claimant.actor
        if actor is not None and actor.role is not None:
            require_to(actor.role, "claim.on-behalf")
        return self.claimant


def token_claimant(conn: Connection, ctx: Context, token: str, address: str) -> TokenClaimant:
    """The integration or the staff member that `token` stands for, read in `conn`: the claim's own
    write transaction, so a token revoked before the claim is refused by it. A live token is found
    by one indexed query on its own table (integration and staff tokens carry their prefix); a
    device's is looked for only to say why it is refused."""
    integration = integrations.for_token(conn, token)
    if integration is not None:
        actor = Actor(f"integration {integration.name}", "integration", None, address)
        return TokenClaimant(Claimant("integration", integration.id, actor=actor))
    holder = staff.holder_of(conn, token)
    if holder is None:
        if device_for_token(conn, token) is not None:
            raise Forbidden(said("A device token cannot claim vouchers."))
        if is_admin_token(ctx, token):
            raise Forbidden(ADMIN_TOKEN_ONLY_BOOTSTRAPS, title="The admin token only bootstraps")
        raise Unauthorized(said("The token is not valid, expired or was revoked."))
    actor = Actor(holder.email, "staff", holder.role, address)
    return TokenClaimant(
        Claimant("staff", actor.name, actor=actor), holder.token_id if _stale(holder) else None
    )


def note_token_use(ctx: Context, token_id: str) -> None:
    """Note that a staff token was used now (its own short write, see Database.counter)."""
    with ctx.db.counter() as conn:
        staff.note_use(conn, token_id)


def member_claimant(request: Request, ctx: Context) -> Claimant:
    """A member's session (the claim page's cookie), for themselves."""
    member = current_member(request, ctx)
    if member is None:
        raise Unauthorized(
            said(
                "Claiming needs a signed-in member (sign in on the claim page: a link is mailed to the "
                "address) or an integration token issued by head office."
            ),
            title="Sign in to claim",
        )
    if not origin_ok(request, ctx):
        raise Forbidden(said("A member's claim is taken only from this server's own pages."))
    return Claimant("member", member.member_id, member.member_id)
