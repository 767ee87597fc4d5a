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

from central.context import Context, get_context
from central.db.schema import utcnow
from central.limits import client_address, limits
from central.members.session import current_member, origin_ok
from central.services import integrations, ratelimit, staff
from central.services.audit import Actor
from central.services.devices import device_for_token
from central.services.ledger import Device
from vouchers.errors import Forbidden, Unauthorized
from vouchers.roles import Role, RoleRefused, allows

bearer = HTTPBearer(
    auto_error=False,
    description="A staff member's API token (voucher-central staff token create), "
    "a device token for /sync endpoints, or an integration token for claims.",
)

ADMIN_TOKEN_ONLY_BOOTSTRAPS = (
    "The shared admin token only bootstraps the first staff account "
    "(POST /api/v1/staff/bootstrap). Use a personal API token: "
    "voucher-central staff token create EMAIL, on the server's host."
)


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Send 'Authorization: Bearer TOKEN'.")
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
        if holder.last_used_at is None or holder.last_used_at < utcnow() - timedelta(minutes=5):
            with ctx.db.counter() as conn:  # 'staff token list' says when a token was last used, to 5 minutes
                staff.note_use(conn, holder.token_id)
        actor = Actor(holder.email, "staff", holder.role, client_address(request))
        request.state.actor = actor
        return actor
    if is_admin_token(ctx, token):
        raise Forbidden(ADMIN_TOKEN_ONLY_BOOTSTRAPS, title="The admin token only bootstraps")
    if _device(ctx, token) is not None:
        raise Forbidden("A device token cannot use admin endpoints.")
    raise Unauthorized("The token is not valid, expired or was revoked.")


def require_role(needed: Role):
    """A dependency: the staff member of this request's token, when their role allows `needed`."""

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        ctx: Context = Depends(get_context),
    ) -> Actor:
        actor = _staff_actor(request, ctx, _token(credentials))
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
    if not is_admin_token(ctx, _token(credentials)):
        raise Unauthorized("Bootstrapping takes the server's admin token (admin_token in its settings).")


def require_device(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: Context = Depends(get_context),
) -> Device:
    token = _token(credentials)
    device = _device(ctx, token)
    if device is not None:
        limit = limits(ctx.settings)
        ratelimit.hit(ctx.db, limit.device_requests, device.id)
        ratelimit.hit(ctx.db, limit.device_address, client_address(request))
        return device
    if is_admin_token(ctx, token):
        raise Forbidden("The admin token cannot be used as a device; enrol a device first.")
    raise Unauthorized(
        "The device token is not valid or the device was revoked.", title="Device not recognised"
    )


@dataclass(frozen=True)
class Claimant:
    """Who claims a voucher: a signed-in member for themselves (`member_id`), or an integration or
    staff token on behalf of a member named in the request (`member_id` None)."""

    kind: str  # member, integration, staff
    name: str
    member_id: str | None = None
    actor: Actor | None = None  # for the audit log: who claimed on behalf


def claimant(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: Context = Depends(get_context),
) -> Claimant:
    """A member's session (the claim page's cookie), an integration token issued by head office, or
    a staff token of the campaigns role; nobody else claims (a claim token from a poster and a
    made-up address are not enough)."""
    if credentials is not None:
        token = _token(credentials)
        with ctx.db.read() as conn:  # one read for whichever holds the token
            integration = integrations.for_token(conn, token)
            device = None if integration is not None else device_for_token(conn, token)
            holder = None if integration is not None or device is not None else staff.holder_of(conn, token)
        if integration is not None:
            return Claimant(
                "integration",
                integration.id,
                actor=Actor(f"integration {integration.name}", "integration", None, client_address(request)),
            )
        if device is not None:
            raise Forbidden("A device token cannot claim vouchers.")
        actor = _actor_of(request, ctx, token, holder)
        assert actor.role is not None  # a staff member's actor has their role
        if not allows(actor.role, Role.CAMPAIGNS):
            raise RoleRefused(actor.role, Role.CAMPAIGNS, "a claim on behalf of a member")
        return Claimant("staff", actor.name, actor=actor)
    member = current_member(request, ctx)
    if member is None:
        raise Unauthorized(
            "Claiming needs a signed-in member (sign in on the claim page: a link is mailed to the "
            "address) or an integration token issued by head office.",
            title="Sign in to claim",
        )
    if not origin_ok(request, ctx):
        raise Forbidden("A member's claim is taken only from this server's own pages.")
    return Claimant("member", member.member_id, member.member_id)
