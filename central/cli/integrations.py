"""`integration`: tokens for shops' own web sites, which claim on behalf of customers (admin API)."""

from __future__ import annotations

import argparse

from central.cli.common import client, client_args, show
from central.cli.tree import Group


def add_commands(root: Group) -> None:
    text = "tokens for shops' own web sites, which claim on behalf of customers"
    integration = root.group("integration", text, description=text)
    p = integration.command("create", "issue a token (shown once)", create)
    p.add_argument("name", help="whose web site uses it, e.g. 'Leeds shop web site'")
    p.add_argument("--days", type=int, default=365, help="days until it expires (default 365)")
    integration.command("list", "every integration token (never its secret)", list_integrations)
    p = integration.command("revoke", "revoke a token: it stops working at once", revoke)
    p.add_argument("id", help="the token's id (see 'integration list')")
    for p in integration.parsers:
        client_args(p)


def create(args: argparse.Namespace) -> int:
    answer = client(args).post("/integration-tokens", {"name": args.name, "days": args.days})
    return show(args, answer, created_line)


def list_integrations(args: argparse.Namespace) -> int:
    return show(args, client(args).get("/integration-tokens"), integration_line)


def revoke(args: argparse.Namespace) -> int:
    return show(args, client(args).post(f"/integration-tokens/{args.id}/revoke"), integration_line)


def created_line(r: dict) -> str:
    return f"{r['token']}\n(integration {r['id']} '{r['name']}', expires {r['expires_at']}; shown this once)"


def integration_line(r: dict) -> str:
    state = f"revoked {r['revoked_at']}" if r["revoked_at"] else f"expires {r['expires_at'] or 'never'}"
    return f"{r['id']}  {r['name']:<32} by {r['created_by']}, {state}"
