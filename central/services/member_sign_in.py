"""A member proves their e-mail address before a session starts (issue 13).

Signing in sends a mail with a one-time link and a short code. The link opens a page that signs in
whichever browser opens it (a phone's mail app may open another browser than the one that asked);
the code is typed into the browser that asked, and only there (the sign-in is tied to that
browser's sign-in cookie). Either works once, within SIGN_IN_MINUTES; a code typed wrong
MAX_CODE_FAILURES times spends the sign-in. Link and code are stored hashed.

A sign-in asked from a claim page's "Sign in to claim" keeps that claim (its claim token) with it,
on the server: the claim is made for the proven address when the link or code is used, in the
request that starts the session. Nothing in a URL asks for a claim."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, delete, insert, select, update

from central.db.schema import member_sign_ins, utcnow
from central.services import members
from central.services.ids import new_id, new_token, token_hash
from central.services.members import MemberSession
from vouchers.emails import check_email
from words import Words

SIGN_IN_MINUTES = 15
MAX_CODE_FAILURES = 5
CODE_DIGITS = 6


@dataclass(frozen=True)
class Pending:
    """A sign-in just asked for: what the mail carries (shown to no one else)."""

    member_id: str
    link_token: str
    code: str


@dataclass(frozen=True)
class Proven:
    """A sign-in used: the new session's cookie token, the session, where to go next, and the claim
    to make for the member (from the claim page they signed in on), if any."""

    token: str
    session: MemberSession
    next_page: str
    claim_token: str | None = None


@dataclass(frozen=True)
class Waiting:
    """A live sign-in link, for its page: whom it signs in, and whether it claims too."""

    member_id: str
    claim_token: str | None


def _code_hash(sign_in_id: str, code: str) -> str:
    return hashlib.sha256(f"{sign_in_id}:{code}".encode()).hexdigest()


def start(
    conn: Connection, email: str, browser_token: str, next_page: str, claim_token: str | None = None
) -> Pending:
    """A new pending sign-in for this address (InvalidInput if it is not one), for this browser,
    with the claim to make once it is used (if asked from a claim page). An earlier one of this
    browser that was not used is spent: only the newest mail works."""
    member_id = check_email(email)
    now = utcnow()
    conn.execute(delete(member_sign_ins).where(member_sign_ins.c.expires_at < now - timedelta(days=1)))
    conn.execute(
        update(member_sign_ins)
        .where(
            member_sign_ins.c.browser_hash == token_hash(browser_token), member_sign_ins.c.used_at.is_(None)
        )
        .values(used_at=now)
    )
    sign_in_id, link = new_id("m"), new_token()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    conn.execute(
        insert(member_sign_ins).values(
            id=sign_in_id,
            member_id=member_id,
            link_hash=token_hash(link),
            code_hash=_code_hash(sign_in_id, code),
            browser_hash=token_hash(browser_token),
            next_page=next_page,
            claim_token=claim_token,
            created_at=now,
            expires_at=now + timedelta(minutes=SIGN_IN_MINUTES),
            used_at=None,
            failures=0,
        )
    )
    return Pending(member_id, link, code)


def waiting(conn: Connection, link_token: str) -> Waiting | None:
    """What a live link would do (for its page), or None when it is used, old or unknown."""
    row = conn.execute(
        select(member_sign_ins.c.member_id, member_sign_ins.c.claim_token).where(
            member_sign_ins.c.link_hash == token_hash(link_token),
            member_sign_ins.c.used_at.is_(None),
            member_sign_ins.c.expires_at > utcnow(),
        )
    ).first()
    return Waiting(row.member_id, row.claim_token) if row else None


def _use(conn: Connection, sign_in_id: str, days: int) -> Proven | None:
    """Spend the sign-in (once: the UPDATE's condition decides between two racing requests)."""
    now = utcnow()
    spent = conn.execute(
        update(member_sign_ins)
        .where(
            member_sign_ins.c.id == sign_in_id,
            member_sign_ins.c.used_at.is_(None),
            member_sign_ins.c.expires_at > now,
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        return None
    row = conn.execute(select(member_sign_ins).where(member_sign_ins.c.id == sign_in_id)).mappings().one()
    token, session = members.start_session(conn, row["member_id"], days=days)
    return Proven(token, session, row["next_page"], row["claim_token"])


def use_link(conn: Connection, link_token: str, *, days: int) -> Proven | None:
    """Sign in with the mail's link; None when it is used, older than SIGN_IN_MINUTES or unknown."""
    row = conn.execute(
        select(member_sign_ins.c.id).where(member_sign_ins.c.link_hash == token_hash(link_token))
    ).first()
    return _use(conn, row.id, days) if row else None


def use_code(conn: Connection, browser_token: str, code: str, *, days: int) -> Proven | None:
    """Sign in with the mail's code, in the browser that asked; a wrong code counts against it."""
    now = utcnow()
    row = (
        conn.execute(
            select(member_sign_ins)
            .where(
                member_sign_ins.c.browser_hash == token_hash(browser_token),
                member_sign_ins.c.used_at.is_(None),
                member_sign_ins.c.expires_at > now,
            )
            .order_by(member_sign_ins.c.created_at.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    typed = "".join(c for c in code if c.isdigit())[:CODE_DIGITS]
    if hmac.compare_digest(_code_hash(row["id"], typed), row["code_hash"]):
        return _use(conn, row["id"], days)
    failures = row["failures"] + 1
    conn.execute(
        update(member_sign_ins)
        .where(member_sign_ins.c.id == row["id"])
        .values(failures=failures, used_at=now if failures >= MAX_CODE_FAILURES else None)
    )
    return None


@dataclass(frozen=True)
class Asked:
    """A live sign-in of this browser, for the page that asks for its code: the address it waits
    for, where it goes next, and whether it claims too."""

    member_id: str
    next_page: str
    claiming: bool


def pending_for(conn: Connection, browser_token: str) -> Asked | None:
    """The newest live sign-in this browser asked for, if any."""
    row = conn.execute(
        select(member_sign_ins.c.member_id, member_sign_ins.c.next_page, member_sign_ins.c.claim_token)
        .where(
            member_sign_ins.c.browser_hash == token_hash(browser_token),
            member_sign_ins.c.used_at.is_(None),
            member_sign_ins.c.expires_at > utcnow(),
        )
        .order_by(member_sign_ins.c.created_at.desc())
        .limit(1)
    ).first()
    return Asked(row.member_id, row.next_page, row.claim_token is not None) if row else None


def mail_text(public_url: str, pending: Pending, words: Words) -> tuple[str, str]:
    """The subject and text of the sign-in mail, in the language of the page that asked for it
    (`words`, of the members domain); the link opens its page in that language too. The code ends
    its line after a colon, in every language, for a reader of the mail that looks for it."""
    link = f"{public_url.rstrip('/')}/my/sign-in/link/{pending.link_token}?lang={words.language}"
    paragraphs = [
        words.gettext(
            "Someone (we hope you) asked to sign in to their vouchers as {member_id}.",
            member_id=pending.member_id,
        ),
        words.gettext("Open this link to sign in:") + f"\n{link}",
        # TRANSLATORS: keep the code at the end of the line, after the colon
        words.gettext("Or type this code on the page that asked for it: {code}", code=pending.code),
        words.ngettext(
            "The link and the code work once, within {n} minute.",
            "The link and the code work once, within {n} minutes.",
            SIGN_IN_MINUTES,
        )
        + " "
        + words.gettext("If you did not ask to sign in, ignore this mail: nobody can sign in without it."),
    ]
    return words.gettext("Your sign-in link for your vouchers"), "\n\n".join(paragraphs) + "\n"
