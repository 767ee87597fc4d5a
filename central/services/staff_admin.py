"""Changes to staff accounts and their API tokens, each written to the audit log with its author in
the same transaction: the one path of the dashboard's Staff and API tokens pages, of
`voucher-central staff ...` and of the API's bootstrap. Secrets (passwords, tokens) never reach the log."""

from __future__ import annotations

from sqlalchemy import Connection

from central.services import audit, staff
from central.services.audit import Actor
from vouchers.roles import Role
from vouchers.secrets_hash import LOG2_N


def add(
    conn: Connection, actor: Actor, email: str, password: str, *, role: Role | str, log2_n: int = LOG2_N
) -> staff.Account:
    account = staff.add(conn, email, password, role=role, log2_n=log2_n)
    audit.record(conn, actor, "staff.add", "staff", account.email, None, {"role": account.role})
    return account


def set_role(conn: Connection, actor: Actor, email: str, role: Role | str) -> staff.RoleChange:
    change = staff.set_role(conn, email, role)
    if change.before != change.after:
        audit.record(
            conn, actor, "staff.role", "staff", change.email, {"role": change.before}, {"role": change.after}
        )
    return change


def set_disabled(conn: Connection, actor: Actor, email: str, disabled: bool) -> staff.DisabledChange:
    change = staff.set_disabled(conn, email, disabled)
    if change.before != change.after:
        audit.record(
            conn,
            actor,
            "staff.disable" if disabled else "staff.enable",
            "staff",
            change.email,
            {"disabled": change.before},
            {"disabled": change.after},
        )
    return change


def set_password(conn: Connection, actor: Actor, email: str, password: str, *, log2_n: int = LOG2_N) -> None:
    staff.set_password(conn, email, password, log2_n=log2_n)
    audit.record(conn, actor, "staff.password", "staff", staff.normalise_email(email))


def remove(conn: Connection, actor: Actor, email: str) -> None:
    staff.remove(conn, email)
    audit.record(conn, actor, "staff.remove", "staff", staff.normalise_email(email))


def create_token(conn: Connection, actor: Actor, email: str, name: str, days: int) -> staff.NewToken:
    """A new personal API token; its secret is in the answer only."""
    token = staff.create_token(conn, email, name, days)
    audit.record(
        conn,
        actor,
        "token.create",
        "token",
        token.id,
        None,
        {"email": token.email, "name": token.name, "expires_at": token.expires_at},
    )
    return token


def revoke_token(conn: Connection, actor: Actor, token_id: str, owner: str | None = None) -> staff.StaffToken:
    """Revoke a token: any (an admin on the server's host), or only one of `owner`'s."""
    token = staff.revoke_token(conn, token_id, owner)
    audit.record(
        conn,
        actor,
        "token.revoke",
        "token",
        token.id,
        {"revoked_at": None},
        {"email": token.email, "revoked_at": token.revoked_at},
    )
    return token
