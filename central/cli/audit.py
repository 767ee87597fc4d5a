"""`audit`: the audit log of every change at head office, newest first (admin API)."""

from __future__ import annotations

import argparse
import json
import sys

from central.cli.common import client, client_args, show
from central.cli.tree import Group


def add_commands(root: Group) -> None:
    p = root.command(
        "audit",
        "the audit log: every change at head office, newest first",
        audit,
        description="Every change at head office (who, when, from which address, what, before and "
        "after), newest first; needs an admin's token.",
    )
    p.add_argument("--actor", help="only this person's (an e-mail address, or 'admin token')")
    p.add_argument("--entity", help="only changes of this batch, voucher, store, device … (its id)")
    p.add_argument("--action", help="only actions starting so, e.g. batch. or device.revoke")
    p.add_argument("--since", help="from this time (ISO 8601 with offset)")
    p.add_argument("--until", help="before this time (ISO 8601 with offset)")
    p.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    p.add_argument("--csv", action="store_true", help="print CSV (formula-like cells as text)")
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
    return show(args, client(args).get("/audit", params=params), audit_line)


def audit_line(e: dict) -> str:
    def brief(state: object) -> str:
        text = "-" if state is None else json.dumps(state, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 120 else text[:117] + "..."

    return (
        f"{e['at']}  {e['actor']} ({e['actor_kind']}, {e['address'] or 'no address'})  {e['action']}  "
        f"{e['entity_kind']} {e['entity_id'] or ''}\n    before {brief(e['before'])}\n    after  {brief(e['after'])}"
    )
