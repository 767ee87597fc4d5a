"""`staff`: head-office staff accounts and their roles, on the server's host (the database directly)."""

from __future__ import annotations

import argparse

from central.cli import tokens
from central.cli.common import at, cli_actor, host_args, read_password, staff_conn
from central.cli.tree import Group
from vouchers.roles import Role
from words import Words


def add_commands(root: Group) -> None:
    w = root.wording
    text = w.gettext(
        "head-office staff: accounts, roles and personal API tokens (works on the database "
        "directly, on the server's host)"
    )
    staff = root.group("staff", text, description=text)
    p = staff.command(
        "add",
        w.gettext("add a staff account; the password is prompted for, or read from stdin"),
        add,
        description=w.gettext(
            "Add a staff account. The password is asked for twice on a terminal, or "
            "read as the first line of standard input (never give it on the command line). The first "
            "account is an admin; later ones are viewers unless --role says otherwise."
        ),
    )
    p.add_argument("email", help=w.gettext("the person's e-mail address; they sign in with it"))
    p.add_argument(
        "--role",
        choices=[r.value for r in Role],
        help=w.gettext(
            "viewer (reads), campaigns (batches: create, edit, walk, pause), admin (also delete, void, "
            "devices, staff); default: admin for the first account, viewer after"
        ),
    )
    p = staff.command(
        "password",
        w.gettext("set a new password (prompted, or from stdin); signs them out everywhere"),
        password,
    )
    p.add_argument("email")
    p = staff.command("role", w.gettext("change a staff account's role"), role)
    p.add_argument("email")
    p.add_argument("role", choices=[r.value for r in Role])
    staff.command("list", w.gettext("every staff account, with its role and last sign-in"), list_accounts)
    p = staff.command(
        "remove", w.gettext("remove a staff account; its sessions and API tokens end at once"), remove
    )
    p.add_argument("email")
    token = tokens.add_commands(staff)
    for p in [*staff.parsers, *token.parsers]:
        if p is not token.parser:
            host_args(p)


def add(args: argparse.Namespace) -> int:
    from central.services import staff, staff_admin

    w: Words = args.words
    staff.check_email(args.email)
    password = read_password(w)
    with staff_conn(args, write=True) as (conn, settings):
        role = args.role or ("admin" if staff.count(conn) == 0 else "viewer")
        account = staff_admin.add(
            conn, cli_actor(), args.email, password, role=role, log2_n=settings.password_hash_cost
        )
    print(
        w.gettext(
            "Added staff account {email} ({role}); they sign in at the dashboard, /dashboard.",
            email=account.email,
            role=role,
        )
    )
    return 0


def password(args: argparse.Namespace) -> int:
    from central.services import staff, staff_admin

    w: Words = args.words
    new_password = read_password(w)
    with staff_conn(args, write=True) as (conn, settings):
        staff_admin.set_password(
            conn, cli_actor(), args.email, new_password, log2_n=settings.password_hash_cost
        )
    print(
        w.gettext(
            "New password set for {email}; their sessions have ended.",
            email=staff.normalise_email(args.email),
        )
    )
    return 0


def role(args: argparse.Namespace) -> int:
    from central.services import staff_admin

    w: Words = args.words
    with staff_conn(args, write=True) as (conn, _):
        change = staff_admin.set_role(conn, cli_actor(), args.email, args.role)
    print(
        w.gettext(
            "{email} is now {role} (was {before}).",
            email=change.email,
            role=change.after,
            before=change.before,
        )
    )
    return 0


def list_accounts(args: argparse.Namespace) -> int:
    from central.services import staff

    w: Words = args.words
    with staff_conn(args, write=False) as (conn, _):
        accounts = staff.list_all(conn)
    if not accounts:
        print(w.gettext("No staff accounts yet: add one with 'voucher-central staff add EMAIL'."))
    for a in accounts:
        last = at(w, a.last_sign_in_at) if a.last_sign_in_at else w.gettext("never")
        facts = w.gettext("added {day}, last signed in {when}", day=w.date(a.created_at), when=last)
        if a.disabled_at:
            facts += ", " + w.gettext("DISABLED {day}", day=w.date(a.disabled_at))
        print(f"{a.email:<40} {a.role:<9} {facts}")
    return 0


def remove(args: argparse.Namespace) -> int:
    from central.services import staff, staff_admin

    w: Words = args.words
    with staff_conn(args, write=True) as (conn, _):
        staff_admin.remove(conn, cli_actor(), args.email)
    print(w.gettext("Removed staff account {email}.", email=staff.normalise_email(args.email)))
    return 0
