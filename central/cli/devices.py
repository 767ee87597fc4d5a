"""`device`: the tills enrolled at stores; revoke one, through the admin API."""

from __future__ import annotations

import argparse
import sys

from central.cli.common import client, client_args, show
from central.cli.tree import Group
from central.client import ApiError


def add_commands(root: Group) -> None:
    text = "devices (tills) enrolled at stores: revoke one"
    device = root.group("device", text, description=text)
    p = device.command(
        "revoke",
        "revoke a device; its token stops working at once",
        revoke,
        description="Revoke a device: its token stops working at once. When its last heartbeat "
        "said events were still to be pushed, says how many and asks first (in a terminal), or "
        "takes --confirm N; the till keeps them and pushes them once enrolled again.",
    )
    p.add_argument("id", help="device id (see 'store show')")
    p.add_argument(
        "--confirm",
        type=int,
        metavar="N",
        help="revoke without asking: N is the events it had not pushed at its last heartbeat",
    )
    client_args(p)


def revoke(args: argparse.Namespace) -> int:
    api = client(args)
    try:
        answer = api.post(
            f"/devices/{args.id}/revoke", params={} if args.confirm is None else {"confirm": args.confirm}
        )
    except ApiError as exc:
        pending = exc.problem.get("pending")
        if exc.status != 409 or pending is None or args.confirm is not None:
            raise
        print(exc.detail, file=sys.stderr)
        if not sys.stdin.isatty():
            print(f"error: not revoked. Give --confirm {pending} to revoke anyway.", file=sys.stderr)
            return 1
        if input(f"Revoke anyway, with {pending} event(s) not yet pushed? [y/N] ").strip().lower() not in (
            "y",
            "yes",
        ):
            print("Not revoked.")
            return 1
        answer = api.post(f"/devices/{args.id}/revoke", params={"confirm": pending})
    return show(args, answer, revoked_line)


def revoked_line(r: dict) -> str:
    if not r.get("pending"):
        return f"Device {r['id']} revoked; nothing was waiting to be pushed at its last heartbeat."
    return (
        f"Device {r['id']} revoked with {r['pending']} event(s) not yet pushed at its last heartbeat "
        f"({r['last_heartbeat_at']}): the till keeps them, and pushes them once enrolled again."
    )
