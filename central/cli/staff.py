"""`staff`: head-office staff accounts and their roles, on the server's host (the database directly)."""

from __future__ import annotations

import argparse

from central.cli import tokens
from central.cli.common import cli_actor, host_args, read_password, staff_conn
from central.cli.tree import Group
from vouchers.roles import Role


def add_commands(root: Group) -> None:
    text = (
        "head-office staff: accounts, roles and personal API tokens (works on the database "
        "directly, on the server's host)"
    )
    staff = root.group("staff", text, description=text)
    p = staff.command(
        "add",
        "add a staff account; the password is prompted for, or read from stdin",
        add,
        description="Add a staff account. The password is asked for twice on a terminal, or "
        "read as the first line of standard input (never give it on the command line). The first "
        "account is an admin; later ones are viewers unless --role says otherwise.",
    )
    p.add_argument("email", help="the person's e-mail address; they sign in with it")
    p.add_argument(
        "--role",
        choices=[r.value for r in Role],
        help="viewer (reads), campaigns (batches: create, edit, walk, pause), admin (also delete, void, "
        "devices, staff); default: admin for the first account, viewer after",
    )
    p = staff.command(
        "password", "set a new password (prompted, or from stdin); signs them out everywhere", password
    )
    p.add_argument("email")
    p = staff.command("role", "change a staff account's role", role)
    p.add_argument("email")
    p.add_argument("role", choices=[r.value for r in Role])
    staff.command("list", "every staff account, with its role and last sign-in", list_accounts)
    p = staff.command("remove", "remove a staff account; its sessions and API tokens end at once", remove)
    p.add_argument("email")
    token = tokens.add_commands(staff)
    for p in [*staff.parsers, *token.parsers]:
        if p is not token.parser:
            host_args(p)


def add(args: argparse.Namespace) -> int:
    from central.services import staff, staff_admin

    staff.check_email(args.email)
    password = read_password()
    with staff_conn(args, write=True) as (conn, settings):
        role = args.role or ("admin" if staff.count(conn) == 0 else "viewer")
        account = staff_admin.add(
            conn, cli_actor(), args.email, password, role=role, log2_n=settings.password_hash_cost
        )
    print(f"Added staff account {account.email} ({role}); they sign in at the dashboard, /dashboard.")
    return 0


def password(args: argparse.Namespace) -> int:
    from central.services import staff, staff_admin

    new_password = read_password()
    with staff_conn(args, write=True) as (conn, settings):
        staff_admin.set_password(
            conn, cli_actor(), args.email, new_password, log2_n=settings.password_hash_cost
        )
    print(f"New password set for {staff.normalise_email(args.email)}; their sessions have ended.")
    return 0


def role(args: argparse.Namespace) -> int:
    from central.services import staff_admin

    with staff_conn(args, write=True) as (conn, _):
        change = staff_admin.set_role(conn, cli_actor(), args.email, args.role)
    print(f"{change.email} is now {change.after} (was {change.before}).")
    return 0


def list_accounts(args: argparse.Namespace) -> int:
    from central.services import staff

    with staff_conn(args, write=False) as (conn, _):
        accounts = staff.list_all(conn)
    if not accounts:
        print("No staff accounts yet: add one with 'voucher-central staff add EMAIL'.")
    for a in accounts:
        last = a.last_sign_in_at.strftime("%Y-%m-%d %H:%M UTC") if a.last_sign_in_at else "never"
        state = f", DISABLED {a.disabled_at:%Y-%m-%d}" if a.disabled_at else ""
        print(f"{a.email:<40} {a.role:<9} added {a.created_at:%Y-%m-%d}, last signed in {last}{state}")
    return 0


def remove(args: argparse.Namespace) -> int:
    from central.services import staff, staff_admin

    with staff_conn(args, write=True) as (conn, _):
        staff_admin.remove(conn, cli_actor(), args.email)
    print(f"Removed staff account {staff.normalise_email(args.email)}.")
    return 0
