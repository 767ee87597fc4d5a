"""Integration tokens: issued by head office to a shop's own web site, which claims vouchers on
behalf of its customers (their e-mail addresses) through POST /api/v1/claims. Shown once, stored
hashed; revoked ones stop working at once and stay listed."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from central.db.schema import integration_tokens, utcnow
from central.services import audit
from central.services.audit import Actor
from central.services.ids import new_id, new_token, token_hash
from vouchers.errors import NotFound
from vouchers.wording import said

PREFIX = "vki_"  # tells an integration token from a staff one at a glance (and in a leaked log)


@dataclass(frozen=True)
class Integration:
    id: str
    name: str


@dataclass(frozen=True)
class IntegrationToken:
    """An integration token as listed (never its secret or hash); `expires_at` None: it never expires."""

    id: str
    name: str
    created_at: datetime
    created_by: str  # who issued it
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class IssuedToken(IntegrationToken):
    """An integration token just issued: `token` is its secret, in this answer only."""

    token: str


def create(conn: Connection, name: str, created_by: str, days: int | None) -> IssuedToken:
    """A new token; its secret is in the answer only."""
    now = utcnow()
    token = PREFIX + new_token()
    made = IssuedToken(
        id=new_id("i"),
        name=name.strip(),
        created_at=now,
        created_by=created_by,
        expires_at=now + timedelta(days=days) if days else None,
        revoked_at=None,
        token=token,
    )
    conn.execute(
        insert(integration_tokens).values(
            id=made.id,
            name=made.name,
            token_hash=token_hash(token),
            created_at=made.created_at,
            created_by=made.created_by,
            expires_at=made.expires_at,
        )
    )
    return made


_LISTED = [integration_tokens.c[f.name] for f in fields(IntegrationToken)]


def list_all(conn: Connection) -> list[IntegrationToken]:
    rows = conn.execute(select(*_LISTED).order_by(integration_tokens.c.created_at)).mappings()
    return [IntegrationToken(**r) for r in rows]


def get(conn: Connection, token_id: str) -> IntegrationToken:
    row = conn.execute(select(*_LISTED).where(integration_tokens.c.id == token_id)).mappings().first()
    if row is None:
        raise NotFound(said("There is no integration token '{id}'.", id=token_id))
    return IntegrationToken(**row)


def revoke(conn: Connection, token_id: str) -> IntegrationToken:
    get(conn, token_id)
    conn.execute(
        update(integration_tokens)
        .where(integration_tokens.c.id == token_id, integration_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return get(conn, token_id)


def issue(conn: Connection, actor: Actor, name: str, days: int | None) -> IssuedToken:
    """`create`, written to the audit log with its author (never the secret): the API's and the dashboard's."""
    with audit.change(conn, actor, "integration.create", "integration", None) as box:
        made = create(conn, name, actor.name, days)
        box["id"], box["after"] = made.id, {"name": made.name, "expires_at": made.expires_at}
    return made


def withdraw(conn: Connection, actor: Actor, token_id: str) -> IntegrationToken:
    """`revoke`, written to the audit log with its author."""
    with audit.change(
        conn,
        actor,
        "integration.revoke",
        "integration",
        token_id,
        lambda c, i: {"revoked_at": get(c, i).revoked_at},
    ):
        return revoke(conn, token_id)


def for_token(conn: Connection, token: str) -> Integration | None:
    """The live integration this bearer token stands for, if any."""
    if not token.startswith(PREFIX):
        return None
    row = conn.execute(
        select(integration_tokens).where(integration_tokens.c.token_hash == token_hash(token))
    ).first()
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and row.expires_at <= utcnow())
    ):
        return None
    return Integration(row.id, row.name)
