"""`device`: the devices enrolled at stores (tills and shops' hubs): list them, revoke one, through
the admin API."""

from __future__ import annotations

import argparse
import sys

from central.cli.common import client, client_args, show
from central.cli.tree import Group
from central.client import ApiError


def add_commands(root: Group) -> None:
    text = "devices enrolled at stores (tills and shops' hubs): list them, revoke one"
    device = root.group("device", text, description=text)
    p = device.command(
        "list",
        "every device with its store, role (till or hub) and state",
        list_devices,
        description="Every device enrolled at a store (or at --store only), the earliest first in each "
        "store: its id, store, name, role (a till, or the shop's hub) and whether it is revoked.",
    )
    p.add_argument("--store", help="only this store's devices")
    client_args(p)
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


def list_devices(args: argparse.Namespace) -> int:
    api = client(args)
    ids = [args.store] if args.store else [s["id"] for s in api.get("/stores")]
    found = [d for store_id in ids for d in api.get(f"/stores/{store_id}")["devices"]]
    if not found and not args.json:
        print(f"No devices at store {args.store}." if args.store else "No devices at any store.")
        return 0
    return show(args, found, device_line)


def device_line(d: dict) -> str:
    state = (
        f"revoked {d['revoked_at']}"
        if d["revoked_at"]
        else f"active, last heartbeat {d['last_heartbeat_at'] or 'never'}"
    )
    return f"{d['id']:<14} {d['store_id']:<16} {d['role']:<4}  {d['name']:<20} {state}"


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
