"""`device`: the devices enrolled at stores (tills and shops' hubs): list them, revoke one, through
the admin API."""

from __future__ import annotations

import argparse
import sys
from functools import partial

from central.cli.common import client, client_args, show, when
from central.cli.tree import Group
from central.client import ApiError
from words import Words


def add_commands(root: Group) -> None:
    w = root.wording
    text = w.gettext("devices enrolled at stores (tills and shops' hubs): list them, revoke one")
    device = root.group("device", text, description=text)
    p = device.command(
        "list",
        w.gettext("every device with its store, role (till or hub) and state"),
        list_devices,
        description=w.gettext(
            "Every device enrolled at a store (or at --store only), the earliest first in each "
            "store: its id, store, name, role (a till, or the shop's hub) and whether it is revoked."
        ),
    )
    p.add_argument("--store", help=w.gettext("only this store's devices"))
    client_args(p)
    p = device.command(
        "revoke",
        w.gettext("revoke a device; its token stops working at once"),
        revoke,
        description=w.gettext(
            "Revoke a device: its token stops working at once. When its last heartbeat "
            "said events were still to be pushed, says how many and asks first (in a terminal), or "
            "takes --confirm N; the till keeps them and pushes them once enrolled again."
        ),
    )
    p.add_argument("id", help=w.gettext("device id (see 'store show')"))
    p.add_argument(
        "--confirm",
        type=int,
        metavar="N",
        help=w.gettext("revoke without asking: N is the events it had not pushed at its last heartbeat"),
    )
    client_args(p)


def list_devices(args: argparse.Namespace) -> int:
    w: Words = args.words
    api = client(args)
    ids = [args.store] if args.store else [s["id"] for s in api.get("/stores")]
    found = [d for store_id in ids for d in api.get(f"/stores/{store_id}")["devices"]]
    if not found and not args.json:
        print(
            w.gettext("No devices at store {store}.", store=args.store)
            if args.store
            else w.gettext("No devices at any store.")
        )
        return 0
    return show(args, found, partial(device_line, w))


def device_line(w: Words, d: dict) -> str:
    state = (
        w.gettext("revoked {when}", when=when(w, d["revoked_at"]))
        if d["revoked_at"]
        else w.gettext("active, last heartbeat {when}", when=when(w, d["last_heartbeat_at"]))
    )
    return f"{d['id']:<14} {d['store_id']:<16} {d['role']:<4}  {d['name']:<20} {state}"


# the answers a person gives to a yes-or-no question, in any of the languages (and English's)
YES = ("y", "yes")


def revoke(args: argparse.Namespace) -> int:
    w: Words = args.words
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
            print(
                w.gettext("error: not revoked. Give --confirm {pending} to revoke anyway.", pending=pending),
                file=sys.stderr,
            )
            return 1
        question = w.gettext("Revoke anyway, with {n} event(s) not yet pushed? [y/N] ", n=pending)
        # TRANSLATORS: the answers that mean yes, separated by commas (English's y and yes always count)
        yes = {a.strip().lower() for a in w.gettext("y,yes").split(",")} | set(YES)
        if input(question).strip().lower() not in yes:
            print(w.gettext("Not revoked."))
            return 1
        answer = api.post(f"/devices/{args.id}/revoke", params={"confirm": pending})
    return show(args, answer, partial(revoked_line, w))


def revoked_line(w: Words, r: dict) -> str:
    if not r.get("pending"):
        return w.gettext(
            "Device {device} revoked; nothing was waiting to be pushed at its last heartbeat.", device=r["id"]
        )
    return w.gettext(
        "Device {device} revoked with {n} event(s) not yet pushed at its last heartbeat "
        "({when}): the till keeps them, and pushes them once enrolled again.",
        n=r["pending"],
        device=r["id"],
        when=when(w, r["last_heartbeat_at"]),
    )
