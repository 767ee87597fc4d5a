"""`staff token`: personal API tokens of staff accounts, on the server's host (the database directly)."""

from __future__ import annotations

import argparse
import sys

from central.cli.common import at, cli_actor, staff_conn
from central.cli.tree import Group
from central.services.staff import MAX_TOKEN_DAYS
from words import Words


def add_commands(staff: Group) -> Group:
    """The `staff token` group; `staff` gives its commands --config and --database."""
    w = staff.wording
    token = staff.group("token", w.gettext("personal API tokens for the admin API and these commands"))
    p = token.command(
        "create",
        w.gettext("a new API token for a staff account, shown once"),
        create,
        description=w.gettext(
            "Print a new personal API token for this account, once (only its hash is "
            "kept). Export it as VOUCHER_TOKEN for the admin commands; it carries the account's role."
        ),
    )
    p.add_argument("email")
    p.add_argument(
        "--name",
        default="command line",
        help=w.gettext("what it is for, e.g. 'laptop' (shown in 'token list')"),
    )
    p.add_argument(
        "--days",
        type=int,
        default=90,
        help=w.gettext("days until it expires, 1 to {most} (default 90)", most=MAX_TOKEN_DAYS),
    )
    p = token.command(
        "list", w.gettext("API tokens (never their secrets): expiry, revoked, last used"), list_tokens
    )
    p.add_argument("email", nargs="?", help=w.gettext("only this account's"))
    p = token.command("revoke", w.gettext("revoke an API token: it stops working at once"), revoke)
    p.add_argument("id", help=w.gettext("the token's id (see 'staff token list')"))
    return token


def create(args: argparse.Namespace) -> int:
    from central.services import staff_admin

    w: Words = args.words
    with staff_conn(args, write=True) as (conn, _):
        token = staff_admin.create_token(conn, cli_actor(), args.email, args.name, args.days)
    print(token.token)
    print(
        w.gettext(
            "API token {id} for {email} ('{name}'), expires {expires}. "
            "It is shown this once: export VOUCHER_TOKEN=<it>.",
            id=token.id,
            email=token.email,
            name=token.name,
            expires=at(w, token.expires_at),
        ),
        file=sys.stderr,
    )
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    from central.services import staff

    w: Words = args.words
    with staff_conn(args, write=False) as (conn, _):
        tokens = staff.list_tokens(conn, args.email)
    if not tokens:
        print(w.gettext("No API tokens: make one with 'voucher-central staff token create EMAIL'."))
    for t in tokens:
        state = (
            w.gettext("revoked {day}", day=w.date(t.revoked_at))
            if t.revoked_at
            else w.gettext("expires {day}", day=w.date(t.expires_at))
        )
        used = (
            w.gettext("last used {day}", day=w.date(t.last_used_at))
            if t.last_used_at
            else w.gettext("never used")
        )
        print(f"{t.id}  {t.email:<32} {t.name:<20} {state}, {used}")
    return 0


def revoke(args: argparse.Namespace) -> int:
    from central.services import staff_admin

    w: Words = args.words
    with staff_conn(args, write=True) as (conn, _):
        token = staff_admin.revoke_token(conn, cli_actor(), args.id)
    print(w.gettext("Revoked API token {id} of {email}.", id=token.id, email=token.email))
    return 0
