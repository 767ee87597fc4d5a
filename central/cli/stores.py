"""`store`: stores, their enrolment codes, devices and redemptions, through the admin API."""

from __future__ import annotations

import argparse

from central.cli.common import client, client_args, show
from central.cli.tree import Group


def add_commands(root: Group) -> None:
    text = "stores, enrolment codes and devices"
    store = root.group("store", text, description=text)
    p = store.command("create", "create a store", create)
    p.add_argument("id", help="short id, e.g. leeds-01 (letters, digits, - and _)")
    p.add_argument("name", help="the shop's name as people know it")
    p.add_argument("--timezone", default="UTC", help="IANA zone, e.g. Europe/London (validity dates use it)")
    p.add_argument(
        "--locale", help="its tills' language and formats: en, fr, de or es, or with a region (de_CH)"
    )
    p = store.command("locale", "set a store's locale: its tills' language and formats", set_locale)
    p.add_argument("id", help="store id")
    p.add_argument("locale", help="en, fr, de or es, or with a region (de_CH); none: each till's own setting")
    store.command("list", "list stores", list_stores)
    p = store.command(
        "show", "a store and its devices (last heartbeat, pending events, clock skew)", show_store
    )
    p.add_argument("id", help="store id")
    p = store.command(
        "enrolment-code",
        "a one-use code a till's sync agent (or, --hub, the shop's hub) enrols with",
        enrolment_code,
    )
    p.add_argument("id", help="store id")
    p.add_argument(
        "--hub",
        action="store_true",
        help="a code for the shop's hub (voucher-hub enrol), which serves the store's tills; default: a till",
    )
    p = store.command("redemptions", "redemptions, reverts and conflicts at a store", redemptions)
    p.add_argument("id", help="store id")
    p.add_argument(
        "--from", dest="start", help="from this time (ISO 8601 with offset, e.g. 2026-03-01T00:00:00+00:00)"
    )
    p.add_argument("--to", dest="end", help="until this time, exclusive (ISO 8601 with offset)")
    p.add_argument("--batch", help="only this batch id")
    for p in store.parsers:
        client_args(p)


def create(args: argparse.Namespace) -> int:
    body = {"id": args.id, "name": args.name, "timezone": args.timezone, "locale": args.locale}
    return show(args, client(args).post("/stores", body))


def set_locale(args: argparse.Namespace) -> int:
    locale = None if args.locale.lower() == "none" else args.locale
    return show(args, client(args).patch(f"/stores/{args.id}", {"locale": locale}), store_line)


def list_stores(args: argparse.Namespace) -> int:
    return show(args, client(args).get("/stores"), store_line)


def show_store(args: argparse.Namespace) -> int:
    return show(args, client(args).get(f"/stores/{args.id}"), store_detail)


def enrolment_code(args: argparse.Namespace) -> int:
    body = {"role": "hub"} if args.hub else None  # a till's code without a body, as before roles
    return show(args, client(args).post(f"/stores/{args.id}/enrolment-codes", body), enrolment_code_line)


def redemptions(args: argparse.Namespace) -> int:
    params = {k: v for k, v in {"from": args.start, "to": args.end, "batch": args.batch}.items() if v}
    data = client(args).get(f"/stores/{args.id}/redemptions", params=params)
    if args.json:
        return show(args, data)
    s = data["summary"]
    print(
        f"Store {args.id}: {s['accepted']} accepted, {s['conflict']} conflicts, {s['rejected']} rejected, "
        f"{s['reverted']} reverted, {s.get('conflicts_won', 0)} conflicts won against other stores"
    )
    for e in data["events"]:
        r = e["result"]
        extra = f" winner {r['winner']['store_id']}/{r['winner']['device_id']}" if r["winner"] else ""
        print(
            f"  {e['at']}  {e['kind']:<7} {e['voucher_id']:<24} {r['outcome']:<9} {r['reason'] or ''}{extra}"
        )
    return 0


def store_line(s: dict) -> str:
    return f"{s['id']:<16} {s['name']}  ({s['timezone']}{', ' + s['locale'] if s.get('locale') else ''})"


def store_detail(s: dict) -> str:
    lines = [store_line(s), f"  {len(s['devices'])} device(s)"]
    for d in s["devices"]:
        state = "revoked" if d["revoked_at"] else f"last heartbeat {d['last_heartbeat_at'] or 'never'}"
        lines.append(
            f"  {d['id']}  {d['name']:<20} {d.get('role', 'till'):<4}  {state}; pending {d['pending'] if d['pending'] is not None else '?'}"
            f"; cursor {d['snapshot_cursor'] or 0}; clock skew {d['clock_skew_seconds'] or 0}s"
        )
    return "\n".join(lines)


def enrolment_code_line(r: dict) -> str:
    hub = ", for the shop's hub: voucher-hub enrol" if r.get("role") == "hub" else ""
    return f"{r['code']}  (store {r['store_id']}{hub}, expires {r['expires_at']})"
