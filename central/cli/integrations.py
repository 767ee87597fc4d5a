"""`integration`: tokens for shops' own web sites, which claim on behalf of customers (admin API)."""

from __future__ import annotations

import argparse
from functools import partial

from central.cli.common import client, client_args, show, when
from central.cli.tree import Group
from words import Words


def add_commands(root: Group) -> None:
    w = root.wording
    text = w.gettext("tokens for shops' own web sites, which claim on behalf of customers")
    integration = root.group("integration", text, description=text)
    p = integration.command("create", w.gettext("issue a token (shown once)"), create)
    p.add_argument("name", help=w.gettext("whose web site uses it, e.g. 'Leeds shop web site'"))
    p.add_argument("--days", type=int, default=365, help=w.gettext("days until it expires (default 365)"))
    integration.command("list", w.gettext("every integration token (never its secret)"), list_integrations)
    p = integration.command("revoke", w.gettext("revoke a token: it stops working at once"), revoke)
    p.add_argument("id", help=w.gettext("the token's id (see 'integration list')"))
    for p in integration.parsers:
        client_args(p)


def create(args: argparse.Namespace) -> int:
    answer = client(args).post("/integration-tokens", {"name": args.name, "days": args.days})
    return show(args, answer, partial(created_line, args.words))


def list_integrations(args: argparse.Namespace) -> int:
    return show(args, client(args).get("/integration-tokens"), partial(integration_line, args.words))


def revoke(args: argparse.Namespace) -> int:
    answer = client(args).post(f"/integration-tokens/{args.id}/revoke")
    return show(args, answer, partial(integration_line, args.words))


def created_line(w: Words, r: dict) -> str:
    return (
        r["token"]
        + "\n"
        + w.gettext(
            "(integration {id} '{name}', expires {expires}; shown this once)",
            id=r["id"],
            name=r["name"],
            expires=when(w, r["expires_at"]),
        )
    )


def integration_line(w: Words, r: dict) -> str:
    state = (
        w.gettext("revoked {when}", when=when(w, r["revoked_at"]))
        if r["revoked_at"]
        else w.gettext("expires {when}", when=when(w, r["expires_at"]))
    )
    by = w.gettext("by {who}", who=r["created_by"])
    return f"{r['id']}  {r['name']:<32} {by}, {state}"
