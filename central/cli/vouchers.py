"""`voucher`: one voucher, to look at or to change its status by hand (admin API)."""

from __future__ import annotations

import argparse

from central.cli.common import client, client_args, show
from central.cli.tree import Group


def add_commands(root: Group) -> None:
    w = root.wording
    text = w.gettext("one voucher: show, change status")
    voucher = root.group("voucher", text, description=text)
    p = voucher.command("show", w.gettext("a voucher with its history"), show_voucher)
    p.add_argument("code", help=w.gettext("the voucher code, any case, dashes optional"))
    p = voucher.command(
        "status", w.gettext("staff change: pending → any, used → unused (revert)"), set_status
    )
    p.add_argument("code", help=w.gettext("the voucher code"))
    p.add_argument(
        "status", choices=["unused", "used", "issued", "pending"], help=w.gettext("the new status")
    )
    p.add_argument("--reason", required=True, help=w.gettext("why, for the ledger (e.g. 'till mistake')"))
    for p in voucher.parsers:
        client_args(p)


def show_voucher(args: argparse.Namespace) -> int:
    return show(args, client(args).get(f"/vouchers/{args.code}"))


def set_status(args: argparse.Namespace) -> int:
    body = {"status": args.status, "reason": args.reason}
    return show(args, client(args).post(f"/vouchers/{args.code}/status", body))
