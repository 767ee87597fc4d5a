"""Head-office staff: accounts with roles, passwords (scrypt, per-user salt), sign-in, sessions,
and personal API tokens. (How often a sign-in may fail is the sign-in page's: central/limits.py.)

An account may be disabled (and enabled again): it cannot sign in, its sessions end and its API
tokens stop working while it is. The last enabled admin cannot be demoted, disabled or removed, so
head office always keeps someone who manages staff.

Sessions live in the database, not in a signed cookie: the cookie carries a random token whose
hash is the session's key, so signing out or removing an account ends its sessions at once, in
every server process, and no signing secret has to be shared between processes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from central.db.schema import staff, staff_sessions, staff_tokens, utcnow
from central.services.ids import new_id, new_token, token_hash
from vouchers.emails import check_email as _check_email
from vouchers.emails import fold
from vouchers.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthorized
from vouchers.roles import Role
from vouchers.secrets_hash import LOG2_N, hash_secret, needs_rehash, secret_matches
from vouchers.wording import said

MIN_PASSWORD = 10
MAX_PASSWORD = 1000


class SignInRefused(Unauthorized):
    slug = "sign-in-refused"
    title = "Signing in did not work"


@dataclass(frozen=True)
class Session:
    """A signed-in member of staff, as a dashboard request sees them."""

    staff_id: str
    email: str
    csrf_token: str
    expires_at: datetime
    role: str = Role.VIEWER.value


@dataclass(frozen=True)
class Account:
    """A staff account (never its password's hash); `disabled_at` is set while it is disabled."""

    id: str
    email: str  # case-folded
    role: str  # vouchers/roles.py
    created_at: datetime
    last_sign_in_at: datetime | None = None
    disabled_at: datetime | None = None


@dataclass(frozen=True)
class RoleChange:
    """An account's role before and after a change (the same when it had that role already)."""

    email: str
    before: str
    after: str


@dataclass(frozen=True)
class DisabledChange:
    """Whether an account was disabled before a change, and is after it."""

    email: str
    before: bool
    after: bool


@dataclass(frozen=True)
class StaffToken:
    """A personal API token as listed (never its secret or hash), with its owner's address and whether
    the owner's account is disabled (a disabled account's tokens do not work)."""

    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    email: str
    disabled_at: datetime | None


@dataclass(frozen=True)
class NewToken:
    """A personal API token just made: `token` is its secret, in this answer only."""

    id: str
    email: str
    name: str
    created_at: datetime
    expires_at: datetime
    token: str


def normalise_email(email: str) -> str:
    return fold(email)


def check_email(email: str) -> str:
    return _check_email(email)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            [FieldError("password", said("A password needs at least {n} characters.", n=MIN_PASSWORD))]
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(
            [FieldError("password", said("A password has at most {n} characters.", n=MAX_PASSWORD))]
        )


hash_password = hash_secret
password_matches = secret_matches


# Compared against when the e-mail address has no account, so that both take the same time (one per cost).
_NO_ACCOUNT_HASHES: dict[int, str] = {}


def _no_account_hash(log2_n: int) -> str:
    if log2_n not in _NO_ACCOUNT_HASHES:
        _NO_ACCOUNT_HASHES[log2_n] = hash_password(secrets.token_urlsafe(16), log2_n)
    return _NO_ACCOUNT_HASHES[log2_n]


def add(
    conn: Connection, email: str, password: str, *, role: Role | str = Role.ADMIN, log2_n: int = LOG2_N
) -> Account:
    """A new account with this role; its password hashed at scrypt cost N=2^log2_n (OWASP's 2^17
    unless a test asks less)."""
    email = check_email(email)
    check_password_rules(password)
    account = Account(id=new_id("s"), email=email, role=Role(role).value, created_at=utcnow())
    try:
        with conn.begin_nested():
            conn.execute(
                insert(staff).values(
                    id=account.id,
                    email=email,
                    password_hash=hash_password(password, log2_n),
                    created_at=account.created_at,
                    role=account.role,
                )
            )
    except IntegrityError:
        raise Conflict(f"There is already a staff account for {email}.") from None
    return account


def set_password(conn: Connection, email: str, password: str, *, log2_n: int = LOG2_N) -> None:
    check_password_rules(password)
    row = _by_email(conn, email)
    conn.execute(
        update(staff).where(staff.c.id == row["id"]).values(password_hash=hash_password(password, log2_n))
    )
    conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == row["id"]))


def list_all(conn: Connection) -> list[Account]:
    rows = conn.execute(
        select(
            staff.c.id,
            staff.c.email,
            staff.c.role,
            staff.c.created_at,
            staff.c.last_sign_in_at,
            staff.c.disabled_at,
        ).order_by(staff.c.email)
    ).mappings()
    return [Account(**r) for r in rows]


class LastAdmin(Conflict):
    slug = "last-admin"
    title = "Head office needs an admin"


def _keep_an_admin(conn: Connection, row, doing: str) -> None:
    """LastAdmin when `row` is the only enabled admin (the admins' rows are locked meanwhile, so two
    admins demoting each other at once cannot both succeed on PostgreSQL)."""
    if row["role"] != Role.ADMIN.value or row["disabled_at"] is not None:
        return
    admins = (
        conn.execute(
            select(staff.c.id)
            .where(staff.c.role == Role.ADMIN.value, staff.c.disabled_at.is_(None))
            .with_for_update()
        )
        .scalars()
        .all()
    )
    if set(admins) <= {row["id"]}:
        raise LastAdmin(
            f"{row['email']} is the last enabled admin: {doing} would leave nobody to manage staff. "
            "Make another account admin first."
        )


def remove(conn: Connection, email: str) -> None:
    """Delete the account and end its sessions and API tokens (never the last admin's)."""
    row = _by_email(conn, email)
    _keep_an_admin(conn, row, "removing the account")
    conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == row["id"]))
    conn.execute(delete(staff_tokens).where(staff_tokens.c.staff_id == row["id"]))
    conn.execute(delete(staff).where(staff.c.id == row["id"]))


def _by_email(conn: Connection, email: str):
    row = conn.execute(select(staff).where(staff.c.email == normalise_email(email))).mappings().first()
    if row is None:
        raise NotFound(f"There is no staff account for {normalise_email(email)}.")
    return row


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the new session's cookie token and session, or why not."""

    token: str | None = None
    session: Session | None = None
    refused: SignInRefused | None = None


def sign_in(conn: Connection, email: str, password: str, *, hours: int, log2_n: int = LOG2_N) -> SignIn:
    """A new session, or the refusal (returned, not raised). An address without an account takes as
    long and reads the same as a wrong password. A hash of an older, cheaper cost is upgraded."""
    now = utcnow()
    row = conn.execute(select(staff).where(staff.c.email == normalise_email(email))).mappings().first()
    ok = password_matches(password, row["password_hash"] if row is not None else _no_account_hash(log2_n))
    if row is None or not ok:
        return SignIn(refused=SignInRefused("The e-mail address or the password is wrong."))
    if row["disabled_at"] is not None:  # (said only to whoever knows the password)
        return SignIn(
            refused=SignInRefused("This account is disabled. Ask an admin of head office to enable it.")
        )
    conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at < now))
    upgraded = (
        {"password_hash": hash_password(password, log2_n)}
        if needs_rehash(row["password_hash"], log2_n)
        else {}
    )
    conn.execute(update(staff).where(staff.c.id == row["id"]).values(last_sign_in_at=now, **upgraded))
    token, csrf = new_token(), new_token(24)
    expires = now + timedelta(hours=hours)
    conn.execute(
        insert(staff_sessions).values(
            token_hash=token_hash(token),
            staff_id=row["id"],
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    return SignIn(
        token,
        Session(
            staff_id=row["id"], email=row["email"], csrf_token=csrf, expires_at=expires, role=row["role"]
        ),
    )


def session_for(conn: Connection, token: str) -> Session | None:
    """The live session this cookie token stands for, if any."""
    row = conn.execute(
        select(
            staff_sessions.c.staff_id,
            staff_sessions.c.csrf_token,
            staff_sessions.c.expires_at,
            staff.c.email,
            staff.c.role,
        )
        .join(staff, staff.c.id == staff_sessions.c.staff_id)
        .where(staff_sessions.c.token_hash == token_hash(token), staff.c.disabled_at.is_(None))
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return Session(
        staff_id=row.staff_id,
        email=row.email,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
        role=row.role,
    )


def sign_out(conn: Connection, token: str) -> None:
    conn.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token)))


# --- roles and personal API tokens -------------------------------------------------------------------

TOKEN_PREFIX = "vks_"  # a staff member's own token (integration tokens start vki_)
MAX_TOKEN_DAYS = 366


@dataclass(frozen=True)
class TokenHolder:
    """The staff member a personal API token stands for."""

    staff_id: str
    email: str
    role: str
    token_id: str
    last_used_at: datetime | None = None


def set_role(conn: Connection, email: str, role: Role | str) -> RoleChange:
    """Change an account's role; the answer has the role before and after."""
    row = _by_email(conn, email)
    if Role(role) is not Role.ADMIN:
        _keep_an_admin(conn, row, f"making it {Role(role).value}")
    conn.execute(update(staff).where(staff.c.id == row["id"]).values(role=Role(role).value))
    return RoleChange(email=row["email"], before=row["role"], after=Role(role).value)


def set_disabled(conn: Connection, email: str, disabled: bool) -> DisabledChange:
    """Disable the account (its sessions end; it cannot sign in and its API tokens do not work) or
    enable it again; the answer has whether it was disabled before and after."""
    row = _by_email(conn, email)
    was = row["disabled_at"] is not None
    if disabled and not was:
        _keep_an_admin(conn, row, "disabling it")
        conn.execute(update(staff).where(staff.c.id == row["id"]).values(disabled_at=utcnow()))
        conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == row["id"]))
    elif was and not disabled:
        conn.execute(update(staff).where(staff.c.id == row["id"]).values(disabled_at=None))
    return DisabledChange(email=row["email"], before=was, after=disabled)


def create_token(conn: Connection, email: str, name: str, days: int) -> NewToken:
    """A new personal API token for this account, shown once (only its hash is kept)."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput([FieldError("days", said("A token lasts 1 to {n} days.", n=MAX_TOKEN_DAYS))])
    row = _by_email(conn, email)
    now = utcnow()
    token = TOKEN_PREFIX + new_token()
    made = NewToken(
        id=new_id("k"),
        email=row["email"],
        name=name.strip()[:200] or "token",
        created_at=now,
        expires_at=now + timedelta(days=days),
        token=token,
    )
    conn.execute(
        insert(staff_tokens).values(
            id=made.id,
            staff_id=row["id"],
            name=made.name,
            token_hash=token_hash(token),
            created_at=made.created_at,
            expires_at=made.expires_at,
        )
    )
    return made


def list_tokens(conn: Connection, email: str | None = None) -> list[StaffToken]:
    query = (
        select(
            staff_tokens.c.id,
            staff_tokens.c.name,
            staff_tokens.c.created_at,
            staff_tokens.c.expires_at,
            staff_tokens.c.revoked_at,
            staff_tokens.c.last_used_at,
            staff.c.email,
            staff.c.disabled_at,
        )
        .join(staff, staff.c.id == staff_tokens.c.staff_id)
        .order_by(staff.c.email, staff_tokens.c.created_at)
    )
    if email is not None:
        query = query.where(staff.c.email == normalise_email(email))
    return [StaffToken(**r) for r in conn.execute(query).mappings()]


def revoke_token(conn: Connection, token_id: str, owner: str | None = None) -> StaffToken:
    """Revoke a token (any, or only one of `owner`'s: another's reads as unknown)."""
    found = [t for t in list_tokens(conn, owner) if t.id == token_id]
    if not found:
        raise NotFound(f"There is no API token '{token_id}'" + (" of yours." if owner else "."))
    now = utcnow()
    conn.execute(
        update(staff_tokens)
        .where(staff_tokens.c.id == token_id, staff_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return replace(found[0], revoked_at=found[0].revoked_at or now)


def holder_of(conn: Connection, token: str) -> TokenHolder | None:
    """The live token's account (not revoked, not expired, account not removed or disabled), if any."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(
        select(
            staff_tokens.c.id,
            staff_tokens.c.expires_at,
            staff_tokens.c.revoked_at,
            staff_tokens.c.last_used_at,
            staff.c.id.label("staff_id"),
            staff.c.email,
            staff.c.role,
        )
        .join(staff, staff.c.id == staff_tokens.c.staff_id)
        .where(staff_tokens.c.token_hash == token_hash(token), staff.c.disabled_at.is_(None))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return TokenHolder(
        staff_id=row.staff_id, email=row.email, role=row.role, token_id=row.id, last_used_at=row.last_used_at
    )


def note_use(conn: Connection, token_id: str) -> None:
    conn.execute(update(staff_tokens).where(staff_tokens.c.id == token_id).values(last_used_at=utcnow()))


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(staff)).scalar_one()
