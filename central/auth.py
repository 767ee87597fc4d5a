"""Bearer tokens: the admin token from configuration, device tokens issued at enrolment."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central.context import Context, get_context
from central.services.devices import device_for_token
from central.services.ledger import Device
from vouchers.errors import Forbidden, Unauthorized

bearer = HTTPBearer(auto_error=False, description="The admin token, or a device token for /sync endpoints.")


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("Send 'Authorization: Bearer TOKEN'.")
    return credentials.credentials


def _is_admin(ctx: Context, token: str) -> bool:
    admin = ctx.settings.admin_token
    return admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode())


def _device(ctx: Context, token: str) -> Device | None:
    with ctx.db.read() as conn:
        return device_for_token(conn, token)


def require_admin(
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer), ctx: Context = Depends(get_context)
) -> None:
    token = _token(credentials)
    if _is_admin(ctx, token):
        return
    if _device(ctx, token) is not None:
        raise Forbidden("A device token cannot use admin endpoints.")
    raise Unauthorized("The token is not valid.")


def require_device(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: Context = Depends(get_context),
) -> Device:
    token = _token(credentials)
    device = _device(ctx, token)
    if device is not None:
        return device
    if _is_admin(ctx, token):
        raise Forbidden("The admin token cannot be used as a device; enrol a device first.")
    raise Unauthorized("The device token is not valid or the device was revoked.", title="Device not recognised")
