"""`audit`: the audit log of every change at head office, newest first (admin API)."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial

from central.cli.common import client, client_args, show, when
from central.cli.tree import Group
from words import Words


def add_commands(root: Group) -> None:
    w = root.wording
    p = root.command(
        "audit",
        w.gettext("the audit log: every change at head office, newest first"),
        audit,
        description=w.gettext(
            "Every change at head office (who, when, from which address, what, before and "
            "after), newest first; needs an admin's token."
        ),
    )
    p.add_argument("--actor", help=w.gettext("only this person's (an e-mail address, or 'admin token')"))
    p.add_argument(
        "--entity", help=w.gettext("only changes of this batch, voucher, store, device … (its id)")
    )
    p.add_argument("--action", help=w.gettext("only actions starting so, e.g. batch. or device.revoke"))
    p.add_argument("--since", help=w.gettext("from this time (ISO 8601 with offset)"))
    p.add_argument("--until", help=w.gettext("before this time (ISO 8601 with offset)"))
    p.add_argument("--limit", type=int, default=100, help=w.gettext("how many (default 100)"))
    p.add_argument("--csv", action="store_true", help=w.gettext("print CSV (formula-like cells as text)"))
    client_args(p)


def audit(args: argparse.Namespace) -> int:
    params = {
        k: v
        for k, v in {
            "actor": args.actor,
            "entity": args.entity,
            "action": args.action,
            "since": args.since,
            "until": args.until,
            "limit": args.limit,
        }.items()
        if v
    }
    if args.csv:
        sys.stdout.buffer.write(client(args).get("/audit", params={**params, "format": "csv"}))
        return 0
    return show(args, client(args).get("/audit", params=params), partial(audit_line, args.words))


def audit_line(w: Words, e: dict) -> str:
    def brief(state: object) -> str:
        text = "-" if state is None else json.dumps(state, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 120 else text[:117] + "..."

    # the actor's kind, the action and the entity's kind are the log's own codes, as the API gives them
    address = e["address"] or w.gettext("no address")
    head = (
        f"{when(w, e['at'])}  {e['actor']} ({e['actor_kind']}, {address})  {e['action']}  "
        f"{e['entity_kind']} {e['entity_id'] or ''}"
    )
    before = w.gettext("before {state}", state=brief(e["before"]))
    after = w.gettext("after  {state}", state=brief(e["after"]))
    return f"{head}\n    {before}\n    {after}"
