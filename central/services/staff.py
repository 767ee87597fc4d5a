"""Head-office staff: accounts, passwords (scrypt, per-user salt), sign-in with a throttle, sessions.

Sessions live in the database, not in a signed cookie: the cookie carries a random token whose
hash is the session's key, so signing out or removing an account ends its sessions at once, in
every server process, and no signing secret has to be shared between processes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from central.db.schema import sign_in_throttle, staff, staff_sessions, utcnow
from central.services.ids import new_id, new_token, token_hash
from vouchers.errors import Conflict, FieldError, InvalidInput, NotFound, Unauthorized
from vouchers.secrets_hash import hash_secret, secret_matches

MIN_PASSWORD = 10
MAX_PASSWORD = 1000


class SignInRefused(Unauthorized):
    slug = "sign-in-refused"
    title = "Signing in did not work"


class SignInLocked(SignInRefused):
    status = 429
    slug = "sign-in-locked"
    title = "Too many wrong passwords"


@dataclass(frozen=True)
class Session:
    """A signed-in member of staff, as a dashboard request sees them."""

    staff_id: str
    email: str
    csrf_token: str
    expires_at: datetime


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    email = normalise_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 200 or any(c.isspace() for c in email):
        raise InvalidInput([FieldError("email", f"'{email}' is not an e-mail address.")])
    return email


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput([FieldError("password", f"A password needs at least {MIN_PASSWORD} characters.")])
    if len(password) > MAX_PASSWORD:
        raise InvalidInput([FieldError("password", f"A password has at most {MAX_PASSWORD} characters.")])


hash_password = hash_secret
password_matches = secret_matches


# Compared against when the e-mail address has no account, so that both take the same time.
_NO_ACCOUNT_HASH = hash_password(secrets.token_urlsafe(16))


def add(conn: Connection, email: str, password: str) -> dict[str, Any]:
    email = check_email(email)
    check_password_rules(password)
    values = {"id": new_id("s"), "email": email, "password_hash": hash_password(password), "created_at": utcnow()}
    try:
        with conn.begin_nested():
            conn.execute(insert(staff).values(**values))
    except IntegrityError:
        raise Conflict(f"There is already a staff account for {email}.") from None
    return {k: values[k] for k in ("id", "email", "created_at")}


def set_password(conn: Connection, email: str, password: str) -> None:
    check_password_rules(password)
    row = _by_email(conn, email)
    conn.execute(update(staff).where(staff.c.id == row["id"]).values(password_hash=hash_password(password)))
    conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == row["id"]))


def list_all(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(staff.c.id, staff.c.email, staff.c.created_at, staff.c.last_sign_in_at).order_by(staff.c.email)
    ).mappings()
    return [dict(r) for r in rows]


def remove(conn: Connection, email: str) -> None:
    """Delete the account and end its sessions."""
    row = _by_email(conn, email)
    conn.execute(delete(staff_sessions).where(staff_sessions.c.staff_id == row["id"]))
    conn.execute(delete(staff).where(staff.c.id == row["id"]))


def _by_email(conn: Connection, email: str):
    row = conn.execute(select(staff).where(staff.c.email == normalise_email(email))).mappings().first()
    if row is None:
        raise NotFound(f"There is no staff account for {normalise_email(email)}.")
    return row


def _throttle_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the new session's cookie token and session, or why not."""

    token: str | None = None
    session: Session | None = None
    refused: SignInRefused | None = None


def sign_in(
    conn: Connection, email: str, password: str, *, hours: int, max_failures: int, lockout_minutes: int
) -> SignIn:
    """A new session, or the refusal (returned, not raised, so that the count of wrong passwords
    is committed with the transaction).

    Wrong passwords are counted per e-mail address, known or not; after `max_failures` within
    `lockout_minutes` the address is locked for `lockout_minutes`."""
    now = utcnow()
    key = _throttle_key(email)
    throttle = conn.execute(select(sign_in_throttle).where(sign_in_throttle.c.key == key)).mappings().first()
    if throttle is not None and throttle["locked_until"] is not None and throttle["locked_until"] > now:
        minutes = max(1, round((throttle["locked_until"] - now).total_seconds() / 60))
        return SignIn(refused=SignInLocked(
            "Signing in with this e-mail address is locked after too many wrong passwords. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        ))
    row = conn.execute(select(staff).where(staff.c.email == normalise_email(email))).mappings().first()
    ok = password_matches(password, row["password_hash"] if row is not None else _NO_ACCOUNT_HASH)
    if row is None or not ok:
        locked = _count_failure(conn, key, throttle, now, max_failures, lockout_minutes)
        if locked:
            return SignIn(refused=SignInLocked(
                f"Too many wrong passwords in a row: signing in with this e-mail address is locked for "
                f"{lockout_minutes} minutes."
            ))
        return SignIn(refused=SignInRefused("The e-mail address or the password is wrong."))
    conn.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key == key))
    conn.execute(delete(staff_sessions).where(staff_sessions.c.expires_at < now))
    conn.execute(update(staff).where(staff.c.id == row["id"]).values(last_sign_in_at=now))
    token, csrf = new_token(), new_token(24)
    expires = now + timedelta(hours=hours)
    conn.execute(insert(staff_sessions).values(
        token_hash=token_hash(token), staff_id=row["id"], csrf_token=csrf, created_at=now, expires_at=expires
    ))
    return SignIn(token, Session(staff_id=row["id"], email=row["email"], csrf_token=csrf, expires_at=expires))


def _count_failure(conn: Connection, key: str, throttle, now: datetime, max_failures: int, minutes: int) -> bool:
    """Count one wrong password; True when that locks the address."""
    window = timedelta(minutes=minutes)
    if throttle is None or throttle["first_failure_at"] + window < now:
        failures, first = 1, now
        conn.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key == key))
        conn.execute(insert(sign_in_throttle).values(key=key, failures=0, first_failure_at=now))
    else:
        failures, first = throttle["failures"] + 1, throttle["first_failure_at"]
    locked = now + window if failures >= max_failures else None
    conn.execute(
        update(sign_in_throttle)
        .where(sign_in_throttle.c.key == key)
        .values(failures=failures, first_failure_at=first, locked_until=locked)
    )
    return locked is not None


def session_for(conn: Connection, token: str) -> Session | None:
    """The live session this cookie token stands for, if any."""
    row = conn.execute(
        select(staff_sessions.c.staff_id, staff_sessions.c.csrf_token, staff_sessions.c.expires_at, staff.c.email)
        .join(staff, staff.c.id == staff_sessions.c.staff_id)
        .where(staff_sessions.c.token_hash == token_hash(token))
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return Session(staff_id=row.staff_id, email=row.email, csrf_token=row.csrf_token, expires_at=row.expires_at)


def sign_out(conn: Connection, token: str) -> None:
    conn.execute(delete(staff_sessions).where(staff_sessions.c.token_hash == token_hash(token)))
