"""`staff token`: personal API tokens of staff accounts, on the server's host (the database directly)."""

from __future__ import annotations

import argparse
import sys

from central.cli.common import cli_actor, staff_conn
from central.cli.tree import Group
from central.services.staff import MAX_TOKEN_DAYS


def add_commands(staff: Group) -> Group:
    """The `staff token` group; `staff` gives its commands --config and --database."""
    token = staff.group("token", "personal API tokens for the admin API and these commands")
    p = token.command(
        "create",
        "a new API token for a staff account, shown once",
        create,
        description="Print a new personal API token for this account, once (only its hash is "
        "kept). Export it as VOUCHER_TOKEN for the admin commands; it carries the account's role.",
    )
    p.add_argument("email")
    p.add_argument(
        "--name", default="command line", help="what it is for, e.g. 'laptop' (shown in 'token list')"
    )
    p.add_argument(
        "--days", type=int, default=90, help=f"days until it expires, 1 to {MAX_TOKEN_DAYS} (default 90)"
    )
    p = token.command("list", "API tokens (never their secrets): expiry, revoked, last used", list_tokens)
    p.add_argument("email", nargs="?", help="only this account's")
    p = token.command("revoke", "revoke an API token: it stops working at once", revoke)
    p.add_argument("id", help="the token's id (see 'staff token list')")
    return token


def create(args: argparse.Namespace) -> int:
    from central.services import staff_admin

    with staff_conn(args, write=True) as (conn, _):
        token = staff_admin.create_token(conn, cli_actor(), args.email, args.name, args.days)
    print(token.token)
    print(
        f"API token {token.id} for {token.email} ('{token.name}'), expires "
        f"{token.expires_at:%Y-%m-%d %H:%M UTC}. It is shown this once: export VOUCHER_TOKEN=<it>.",
        file=sys.stderr,
    )
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    from central.services import staff

    with staff_conn(args, write=False) as (conn, _):
        tokens = staff.list_tokens(conn, args.email)
    if not tokens:
        print("No API tokens: make one with 'voucher-central staff token create EMAIL'.")
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else f"expires {t.expires_at:%Y-%m-%d}"
        used = f"last used {t.last_used_at:%Y-%m-%d}" if t.last_used_at else "never used"
        print(f"{t.id}  {t.email:<32} {t.name:<20} {state}, {used}")
    return 0


def revoke(args: argparse.Namespace) -> int:
    from central.services import staff_admin

    with staff_conn(args, write=True) as (conn, _):
        token = staff_admin.revoke_token(conn, cli_actor(), args.id)
    print(f"Revoked API token {token.id} of {token.email}.")
    return 0
