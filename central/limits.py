"""The rate limits of the server, from its settings (each documented in central/settings.py and
docs/PROTOCOL.md), and the client address a request counts against.

The client address is the connection's, or, behind the TLS proxy, the one the proxy put in
X-Forwarded-For (uvicorn takes it from proxies it trusts: 127.0.0.1 by default)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from central.services.ratelimit import Limit
from central.settings import CentralSettings

QUARTER = 15 * 60


@dataclass(frozen=True)
class Limits:
    sign_in_mail_address: Limit
    sign_in_mail_account: Limit
    sign_in_codes_address: Limit
    claims_address: Limit
    claims_member: Limit
    claims_token: Limit
    staff_failures_account: Limit
    staff_failures_address: Limit
    enrolments_address: Limit
    device_requests: Limit
    device_address: Limit


def limits(s: CentralSettings) -> Limits:
    return Limits(
        sign_in_mail_address=Limit(
            "member-mail.address",
            s.member_sign_in_per_address,
            QUARTER,
            "sign-in mails asked for from this address",
        ),
        sign_in_mail_account=Limit(
            "member-mail.account",
            s.member_sign_in_per_account,
            QUARTER,
            "sign-in mails to this e-mail address",
        ),
        sign_in_codes_address=Limit(
            "member-code.address",
            s.member_codes_per_address,
            QUARTER,
            "sign-in codes and links tried from this address",
        ),
        claims_address=Limit("claims.address", s.claims_per_address, 3600, "claims from this address"),
        claims_member=Limit("claims.member", s.claims_per_member, 3600, "claims by this member"),
        claims_token=Limit("claims.token", s.claims_per_token_per_minute, 60, "claims with this token"),
        staff_failures_account=Limit(
            "staff-failures.account",
            s.sign_in_max_failures,
            s.sign_in_lockout_minutes * 60,
            "wrong passwords for this account from this address",
        ),
        staff_failures_address=Limit(
            "staff-failures.address",
            s.staff_sign_in_failures_per_address,
            s.sign_in_lockout_minutes * 60,
            "wrong passwords from this address",
        ),
        enrolments_address=Limit(
            "enrol.address", s.enrolments_per_address, QUARTER, "enrolment attempts from this address"
        ),
        device_requests=Limit("device.token", s.device_requests_per_minute, 60, "requests from this device"),
        device_address=Limit(
            "device.address",
            s.device_requests_per_address_per_minute,
            60,
            "device requests from this address",
        ),
    )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
