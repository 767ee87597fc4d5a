"""`store`: stores, their enrolment codes, devices and redemptions, through the admin API."""

from __future__ import annotations

import argparse
from functools import partial

from central.cli.common import client, client_args, show, when
from central.cli.tree import Group
from words import Words


def add_commands(root: Group) -> None:
    w = root.wording
    text = w.gettext("stores, enrolment codes and devices")
    store = root.group("store", text, description=text)
    p = store.command("create", w.gettext("create a store"), create)
    p.add_argument("id", help=w.gettext("short id, e.g. leeds-01 (letters, digits, - and _)"))
    p.add_argument("name", help=w.gettext("the shop's name as people know it"))
    p.add_argument(
        "--timezone",
        default="UTC",
        help=w.gettext("IANA zone, e.g. Europe/London (validity dates use it)"),
    )
    p.add_argument(
        "--locale",
        help=w.gettext("its tills' language and formats: en, fr, de or es, or with a region (de_CH)"),
    )
    p = store.command(
        "locale", w.gettext("set a store's locale: its tills' language and formats"), set_locale
    )
    p.add_argument("id", help=w.gettext("store id"))
    p.add_argument(
        "locale", help=w.gettext("en, fr, de or es, or with a region (de_CH); none: each till's own setting")
    )
    store.command("list", w.gettext("list stores"), list_stores)
    p = store.command(
        "show", w.gettext("a store and its devices (last heartbeat, pending events, clock skew)"), show_store
    )
    p.add_argument("id", help=w.gettext("store id"))
    p = store.command(
        "enrolment-code",
        w.gettext("a one-use code a till's sync agent (or, --hub, the shop's hub) enrols with"),
        enrolment_code,
    )
    p.add_argument("id", help=w.gettext("store id"))
    p.add_argument(
        "--hub",
        action="store_true",
        help=w.gettext(
            "a code for the shop's hub (voucher-hub enrol), which serves the store's tills; default: a till"
        ),
    )
    p = store.command("redemptions", w.gettext("redemptions, reverts and conflicts at a store"), redemptions)
    p.add_argument("id", help=w.gettext("store id"))
    p.add_argument(
        "--from",
        dest="start",
        help=w.gettext("from this time (ISO 8601 with offset, e.g. 2026-03-01T00:00:00+00:00)"),
    )
    p.add_argument("--to", dest="end", help=w.gettext("until this time, exclusive (ISO 8601 with offset)"))
    p.add_argument("--batch", help=w.gettext("only this batch id"))
    for p in store.parsers:
        client_args(p)


def create(args: argparse.Namespace) -> int:
    body = {"id": args.id, "name": args.name, "timezone": args.timezone, "locale": args.locale}
    return show(args, client(args).post("/stores", body), partial(created_line, args.words))


def set_locale(args: argparse.Namespace) -> int:
    locale = None if args.locale.lower() == "none" else args.locale
    return show(args, client(args).patch(f"/stores/{args.id}", {"locale": locale}), store_line)


def list_stores(args: argparse.Namespace) -> int:
    return show(args, client(args).get("/stores"), store_line)


def show_store(args: argparse.Namespace) -> int:
    return show(args, client(args).get(f"/stores/{args.id}"), partial(store_detail, args.words))


def enrolment_code(args: argparse.Namespace) -> int:
    body = {"role": "hub"} if args.hub else None  # a till's code without a body, as before roles
    answer = client(args).post(f"/stores/{args.id}/enrolment-codes", body)
    return show(args, answer, partial(enrolment_code_line, args.words))


def redemptions(args: argparse.Namespace) -> int:
    params = {k: v for k, v in {"from": args.start, "to": args.end, "batch": args.batch}.items() if v}
    data = client(args).get(f"/stores/{args.id}/redemptions", params=params)
    if args.json:
        return show(args, data)
    w: Words = args.words
    s = data["summary"]
    print(
        w.gettext(
            "Store {store}: {accepted} accepted, {conflicts} conflicts, {rejected} rejected, "
            "{reverted} reverted, {won} conflicts won against other stores",
            store=args.id,
            accepted=w.number(s["accepted"]),
            conflicts=w.number(s["conflict"]),
            rejected=w.number(s["rejected"]),
            reverted=w.number(s["reverted"]),
            won=w.number(s.get("conflicts_won", 0)),
        )
    )
    for e in data["events"]:
        r = e["result"]
        extra = (
            " "
            + w.gettext(
                "winner {store}/{device}", store=r["winner"]["store_id"], device=r["winner"]["device_id"]
            )
            if r["winner"]
            else ""
        )
        print(
            f"  {when(w, e['at'])}  {e['kind']:<7} {e['voucher_id']:<24} {r['outcome']:<9} {r['reason'] or ''}{extra}"
        )
    return 0


def created_line(w: Words, s: dict) -> str:
    if s.get("locale"):
        return w.gettext(
            "Created store {id} '{name}' ({timezone}, {locale}).",
            id=s["id"],
            name=s["name"],
            timezone=s["timezone"],
            locale=s["locale"],
        )
    return w.gettext(
        "Created store {id} '{name}' ({timezone}).", id=s["id"], name=s["name"], timezone=s["timezone"]
    )


def store_line(s: dict) -> str:
    return f"{s['id']:<16} {s['name']}  ({s['timezone']}{', ' + s['locale'] if s.get('locale') else ''})"


def store_detail(w: Words, s: dict) -> str:
    count = len(s["devices"])
    lines = [store_line(s), "  " + w.ngettext("{n} device", "{n} devices", count)]
    for d in s["devices"]:
        if d["revoked_at"]:
            state = w.gettext("revoked")
        else:
            state = w.gettext("last heartbeat {when}", when=when(w, d["last_heartbeat_at"]))
        pending = w.number(d["pending"]) if d["pending"] is not None else "?"
        facts = w.gettext(
            "{state}; pending {pending}; cursor {cursor}; clock skew {skew} s",
            state=state,
            pending=pending,
            cursor=d["snapshot_cursor"] or 0,
            skew=d["clock_skew_seconds"] or 0,
        )
        lines.append(f"  {d['id']}  {d['name']:<20} {d.get('role', 'till'):<4}  {facts}")
    return "\n".join(lines)


def enrolment_code_line(w: Words, r: dict) -> str:
    expires = when(w, r["expires_at"])
    if r.get("role") == "hub":
        return w.gettext(
            "{code}  (store {store}, for the shop's hub: voucher-hub enrol, expires {expires})",
            code=r["code"],
            store=r["store_id"],
            expires=expires,
        )
    return w.gettext(
        "{code}  (store {store}, expires {expires})", code=r["code"], store=r["store_id"], expires=expires
    )
