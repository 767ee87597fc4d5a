"""voucher-central: run the head-office server, and administer it over its API."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from central.client import AdminClient, ApiError
from central.services.staff import MAX_TOKEN_DAYS
from configfile.version import add_version_argument
from vouchers.errors import VoucherError
from vouchers.roles import Role

DEFAULT_SERVER = "http://127.0.0.1:8000"

BATCH_ACTIONS = {
    "validate": "check the configuration; configuring → validated, or list every error",
    "configure": "back to configuring from validated, to edit",
    "generate": "start generating the vouchers in the background (see 'batch wait')",
    "distribute": "generated → distributed (vouchers handed out; members may claim)",
    "redeemable": "distributed or locked → redeemable (tills accept the vouchers)",
    "lock": "stop redemptions for now (redeemable again later)",
    "void": "cancel the batch for good; nothing in it can be used. Cannot be undone",
    "pause": "pause new claims; claimed vouchers stay valid",
    "resume": "resume claims",
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except ApiError as exc:
        print(f"error: {exc.describe()}", file=sys.stderr)
        return 1
    except VoucherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voucher-central",
        description="The head-office server of voucher-kiosk, and an admin client for it. "
        "Admin commands (store, batch, voucher, device, problem, integration, audit) talk to a running "
        "server, given by their --server option or $VOUCHER_SERVER, with your personal API token from "
        "$VOUCHER_TOKEN ('staff token create' makes one; the shared admin token only bootstraps the first "
        "account). Every command has its own --help.",
    )
    add_version_argument(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = sub.add_parser(
        "serve", help="run the server", description="Run the server (migrates the database first)."
    )
    serve.add_argument("--config", help="TOML settings file (default: $VOUCHER_CENTRAL_CONFIG)")
    serve.add_argument("--database", help="database URL, e.g. sqlite:///central.db or postgresql+psycopg://…")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date, then exit")
    migrate.add_argument("--config")
    migrate.add_argument("--database")
    migrate.set_defaults(func=cmd_migrate)

    backup = sub.add_parser(
        "backup",
        help="copy the SQLite database while the server runs, and check the copy",
        description="Copy the SQLite database to FILE with SQLite's online backup API (the server may keep "
        "running: the copy is the database as of one commit), then open the copy and check it (integrity_check, "
        "its schema revision). FILE is replaced only by a checked copy, made 0600. For PostgreSQL use pg_dump -Fc "
        '(README.md, "Operations").',
    )
    backup.add_argument(
        "file", help="where the copy goes, e.g. /var/backups/voucher-central/central-$(date +%%F).db"
    )
    backup.add_argument("--config", help="TOML settings file (default: $VOUCHER_CENTRAL_CONFIG)")
    backup.add_argument("--database", help="database URL (default: from the settings)")
    backup.set_defaults(func=cmd_backup)

    demo = sub.add_parser(
        "demo",
        help="run a server with demo batches in every life-cycle state",
        description="Start a fresh server on a SQLite file in ./demo-data with demo stores and batches, "
        "print what to try, and serve until Ctrl-C.",
    )
    demo.add_argument("--port", type=int, default=8000, help="port of the demo server (default 8000)")
    demo.add_argument(
        "--data-dir", default="demo-data", help="where the demo database lives (wiped at start)"
    )
    demo.add_argument(
        "--large-batch",
        type=int,
        default=1_000_000,
        metavar="N",
        help="vouchers in the batch generated in the background (default 1,000,000)",
    )
    demo.set_defaults(func=cmd_demo)

    _staff_commands(sub)
    _admin_commands(sub)
    return parser


def _staff_commands(sub) -> None:
    staff = _group(
        sub,
        "staff",
        "head-office staff: accounts, roles and personal API tokens (works on the database "
        "directly, on the server's host)",
    )
    p = staff.add_parser(
        "add",
        help="add a staff account; the password is prompted for, or read from stdin",
        description="Add a staff account. The password is asked for twice on a terminal, or "
        "read as the first line of standard input (never give it on the command line). The first "
        "account is an admin; later ones are viewers unless --role says otherwise.",
    )
    p.add_argument("email", help="the person's e-mail address; they sign in with it")
    p.add_argument(
        "--role",
        choices=[r.value for r in Role],
        help="viewer (reads), campaigns (batches: create, edit, walk, pause), admin (also delete, void, "
        "devices, staff); default: admin for the first account, viewer after",
    )
    p.set_defaults(func=cmd_staff_add)
    p = staff.add_parser(
        "password", help="set a new password (prompted, or from stdin); signs them out everywhere"
    )
    p.add_argument("email")
    p.set_defaults(func=cmd_staff_password)
    p = staff.add_parser("role", help="change a staff account's role")
    p.add_argument("email")
    p.add_argument("role", choices=[r.value for r in Role])
    p.set_defaults(func=cmd_staff_role)
    p = staff.add_parser("list", help="every staff account, with its role and last sign-in")
    p.set_defaults(func=cmd_staff_list)
    p = staff.add_parser("remove", help="remove a staff account; its sessions and API tokens end at once")
    p.add_argument("email")
    p.set_defaults(func=cmd_staff_remove)
    token = staff.add_parser("token", help="personal API tokens for the admin API and these commands")
    actions = token.add_subparsers(metavar="ACTION")
    token.set_defaults(func=lambda a: token.print_help() or 2)
    p = actions.add_parser(
        "create",
        help="a new API token for a staff account, shown once",
        description="Print a new personal API token for this account, once (only its hash is "
        "kept). Export it as VOUCHER_TOKEN for the admin commands; it carries the account's role.",
    )
    p.add_argument("email")
    p.add_argument(
        "--name", default="command line", help="what it is for, e.g. 'laptop' (shown in 'token list')"
    )
    p.add_argument(
        "--days", type=int, default=90, help=f"days until it expires, 1 to {MAX_TOKEN_DAYS} (default 90)"
    )
    p.set_defaults(func=cmd_token_create)
    p = actions.add_parser("list", help="API tokens (never their secrets): expiry, revoked, last used")
    p.add_argument("email", nargs="?", help="only this account's")
    p.set_defaults(func=cmd_token_list)
    p = actions.add_parser("revoke", help="revoke an API token: it stops working at once")
    p.add_argument("id", help="the token's id (see 'staff token list')")
    p.set_defaults(func=cmd_token_revoke)
    for p in [*staff._name_parser_map.values(), *actions._name_parser_map.values()]:
        if p is token:
            continue
        p.add_argument("--config", help="TOML settings file (default: $VOUCHER_CENTRAL_CONFIG)")
        p.add_argument("--database", help="database URL (default: from the settings)")


def _client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--server",
        default=os.environ.get("VOUCHER_SERVER", DEFAULT_SERVER),
        help=f"server URL (default $VOUCHER_SERVER or {DEFAULT_SERVER})",
    )
    p.add_argument("--json", action="store_true", help="print the server's JSON answer")


def _admin_commands(sub) -> None:
    store = _group(sub, "store", "stores, enrolment codes and devices")
    p = store.add_parser("create", help="create a store")
    p.add_argument("id", help="short id, e.g. leeds-01 (letters, digits, - and _)")
    p.add_argument("name", help="the shop's name as people know it")
    p.add_argument("--timezone", default="UTC", help="IANA zone, e.g. Europe/London (validity dates use it)")
    p.set_defaults(
        func=lambda a: _show(
            a, _client(a).post("/stores", {"id": a.id, "name": a.name, "timezone": a.timezone})
        )
    )
    p = store.add_parser("list", help="list stores")
    p.set_defaults(func=lambda a: _show(a, _client(a).get("/stores"), _store_line))
    p = store.add_parser("show", help="a store and its devices (last heartbeat, pending events, clock skew)")
    p.add_argument("id", help="store id")
    p.set_defaults(func=lambda a: _show(a, _client(a).get(f"/stores/{a.id}"), _store_detail))
    p = store.add_parser("enrolment-code", help="a one-use code a till's sync agent enrols with")
    p.add_argument("id", help="store id")
    p.set_defaults(
        func=lambda a: _show(
            a,
            _client(a).post(f"/stores/{a.id}/enrolment-codes"),
            lambda r: f"{r['code']}  (store {r['store_id']}, expires {r['expires_at']})",
        )
    )
    p = store.add_parser("redemptions", help="redemptions, reverts and conflicts at a store")
    p.add_argument("id", help="store id")
    p.add_argument(
        "--from", dest="start", help="from this time (ISO 8601 with offset, e.g. 2026-03-01T00:00:00+00:00)"
    )
    p.add_argument("--to", dest="end", help="until this time, exclusive (ISO 8601 with offset)")
    p.add_argument("--batch", help="only this batch id")
    p.set_defaults(func=cmd_report)
    for p in store._name_parser_map.values():
        _client_args(p)

    device = _group(sub, "device", "devices (tills) enrolled at stores: revoke one")
    p = device.add_parser(
        "revoke",
        help="revoke a device; its token stops working at once",
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
    _client_args(p)
    p.set_defaults(func=cmd_revoke)

    problem = _group(sub, "problem", "conflicts and rejections of tills' redemptions: list, review")
    p = problem.add_parser(
        "list",
        help="conflicts and rejections, newest first (open ones unless told)",
        description="Conflicts and rejections, newest first: a store's own and the conflicts "
        "its redemptions won. Open ones only, unless --reviewed or --all.",
    )
    p.add_argument("--store", help="only this store's (its own and the conflicts it won)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--reviewed", action="store_true", help="reviewed ones only")
    shown.add_argument("--all", action="store_true", help="open and reviewed")
    p.set_defaults(func=cmd_problems)
    p = problem.add_parser(
        "review",
        help="mark a conflict or rejection reviewed, with a note",
        description="Close a conflict or rejection for both stores, with a note and its author.",
    )
    p.add_argument("event_id", help="the event id (see 'problem list')")
    p.add_argument("--note", required=True, help="what was found, what was done")
    p.add_argument("--by", default=_operator(), help="who reviewed it (default: this login and host)")
    p.set_defaults(
        func=lambda a: _show(
            a, _client(a).post(f"/problems/{a.event_id}/review", {"by": a.by, "note": a.note}), _problem_line
        )
    )
    for p in problem._name_parser_map.values():
        _client_args(p)

    integration = _group(
        sub, "integration", "tokens for shops' own web sites, which claim on behalf of customers"
    )
    p = integration.add_parser("create", help="issue a token (shown once)")
    p.add_argument("name", help="whose web site uses it, e.g. 'Leeds shop web site'")
    p.add_argument("--days", type=int, default=365, help="days until it expires (default 365)")
    p.set_defaults(
        func=lambda a: _show(
            a,
            _client(a).post("/integration-tokens", {"name": a.name, "days": a.days}),
            lambda r: (
                f"{r['token']}\n(integration {r['id']} '{r['name']}', expires "
                f"{r['expires_at']}; shown this once)"
            ),
        )
    )
    p = integration.add_parser("list", help="every integration token (never its secret)")
    p.set_defaults(func=lambda a: _show(a, _client(a).get("/integration-tokens"), _integration_line))
    p = integration.add_parser("revoke", help="revoke a token: it stops working at once")
    p.add_argument("id", help="the token's id (see 'integration list')")
    p.set_defaults(
        func=lambda a: _show(a, _client(a).post(f"/integration-tokens/{a.id}/revoke"), _integration_line)
    )
    for p in integration._name_parser_map.values():
        _client_args(p)

    p = sub.add_parser(
        "audit",
        help="the audit log: every change at head office, newest first",
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
    _client_args(p)
    p.set_defaults(func=cmd_audit)

    batch = _group(sub, "batch", "batches: create, configure, walk the life cycle, export")
    p = batch.add_parser("create", help="create a batch (starts in configuring)")
    _batch_fields(p, required=True)
    p.set_defaults(func=cmd_batch_create)
    p = batch.add_parser(
        "edit", help="change a batch's fields (configuring, or validated: back to configuring)"
    )
    p.add_argument("id", help="batch id")
    _batch_fields(p, required=False)
    p.set_defaults(func=cmd_batch_edit)
    p = batch.add_parser("add-type", help="add a batch type (defaults to the batch's whole serial range)")
    p.add_argument("id", help="batch id")
    _type_fields(p, required=True)
    p.set_defaults(func=cmd_add_type)
    p = batch.add_parser("edit-type", help="change a batch type")
    p.add_argument("id", help="batch id")
    p.add_argument("type_id", help="type id (see 'batch show')")
    _type_fields(p, required=False)
    p.set_defaults(func=cmd_edit_type)
    p = batch.add_parser("remove-type", help="remove a batch type")
    p.add_argument("id", help="batch id")
    p.add_argument("type_id", help="type id (see 'batch show')")
    p.set_defaults(
        func=lambda a: (
            _client(a).request("DELETE", f"/batches/{a.id}/types/{a.type_id}")
            or print(f"Removed type {a.type_id}.")
        )
    )
    p = batch.add_parser("list", help="every batch with state, claims and metrics")
    p.set_defaults(func=lambda a: _show(a, _client(a).get("/batches"), _batch_line))
    p = batch.add_parser("show", help="one batch: fields, types, metrics, what can be done next")
    p.add_argument("id", help="batch id")
    p.set_defaults(func=lambda a: _show(a, _client(a).get(f"/batches/{a.id}"), _batch_detail))
    for action, text in BATCH_ACTIONS.items():
        p = batch.add_parser(action, help=text, description=text)
        p.add_argument("id", help="batch id")
        p.set_defaults(
            func=lambda a, action=action: _show(a, _client(a).post(f"/batches/{a.id}/{action}"), _batch_line)
        )
    p = batch.add_parser("wait", help="follow generation progress until the batch is generated")
    p.add_argument("id", help="batch id")
    p.set_defaults(func=cmd_wait)
    p = batch.add_parser("delete", help="delete a batch and all its vouchers, for good")
    p.add_argument("id", help="batch id")
    p.add_argument(
        "--confirm", type=int, help="the number of vouchers that will be deleted (the command tells you)"
    )
    p.set_defaults(func=cmd_delete)
    p = batch.add_parser("export", help="write the batch's vouchers as CSV")
    p.add_argument("id", help="batch id")
    p.add_argument("--output", "-o", default="-", help="file (default: standard output)")
    p.add_argument("--claimed", choices=["yes", "no"], help="only claimed, or only unclaimed, vouchers")
    p.add_argument(
        "--status", choices=["unused", "used", "issued", "pending"], help="only vouchers with this status"
    )
    p.set_defaults(func=cmd_export)
    p = batch.add_parser("qr", help="save the claim URL's QR code as a print-ready PNG")
    p.add_argument("id", help="batch id")
    p.add_argument(
        "--size", type=int, default=1024, help="width and height in pixels, 500 to 4096 (default 1024)"
    )
    p.add_argument("--output", "-o", required=True, help="PNG file to write")
    p.set_defaults(func=cmd_qr)
    for p in batch._name_parser_map.values():
        _client_args(p)

    voucher = _group(sub, "voucher", "one voucher: show, change status")
    p = voucher.add_parser("show", help="a voucher with its history")
    p.add_argument("code", help="the voucher code, any case, dashes optional")
    p.set_defaults(func=lambda a: _show(a, _client(a).get(f"/vouchers/{a.code}")))
    p = voucher.add_parser("status", help="staff change: pending → any, used → unused (revert)")
    p.add_argument("code", help="the voucher code")
    p.add_argument("status", choices=["unused", "used", "issued", "pending"], help="the new status")
    p.add_argument("--reason", required=True, help="why, for the ledger (e.g. 'till mistake')")
    p.set_defaults(
        func=lambda a: _show(
            a, _client(a).post(f"/vouchers/{a.code}/status", {"status": a.status, "reason": a.reason})
        )
    )
    for p in voucher._name_parser_map.values():
        _client_args(p)


def _group(sub, name: str, text: str):
    """A command with actions; on its own it prints its help."""
    parser = sub.add_parser(name, help=text, description=text)
    parser.set_defaults(func=lambda a: parser.print_help() or 2)
    return parser.add_subparsers(metavar="ACTION")


def _batch_fields(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--identifier", required=required, help="your name for the campaign, e.g. 'Q1 2026 Email'")
    p.add_argument("--description", help="what members read on the claim page")
    p.add_argument(
        "--serial-start", type=int, required=required, help="first serial number of the batch's range"
    )
    p.add_argument(
        "--serial-end", type=int, required=required, help="last serial number of the batch's range"
    )
    p.add_argument("--valid-from", help="first day vouchers are valid, YYYY-MM-DD (each store's local time)")
    p.add_argument("--valid-until", help="last day vouchers are valid, YYYY-MM-DD (each store's local time)")
    p.add_argument("--store", action="append", dest="stores", help="limit to a store (repeat for several)")
    p.add_argument(
        "--channel",
        choices=["email", "in-store-qr", "social-media", "events"],
        help="where the campaign runs, to compare redemption rates",
    )


def _type_fields(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--name", required=required, help="the type's name, e.g. 'Five pounds'")
    p.add_argument("--value", required=required, help="what the voucher is worth, e.g. '£5 off'")
    p.add_argument("--start", type=int, dest="serial_start", help="first serial (default: the batch's first)")
    p.add_argument("--end", type=int, dest="serial_end", help="last serial (default: the batch's last)")
    p.add_argument("--min-purchase", help="minimum purchase, as text, e.g. '£20'")
    p.add_argument(
        "--initial-status",
        choices=["unused", "used", "issued", "pending"],
        default="unused" if required else None,
        help="status a voucher gets when claimed (default unused: marked used at the till)",
    )


def _operator() -> str:
    import getpass
    import socket

    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        return "unknown operator"


def _problem_line(p: dict) -> str:
    if p["outcome"] == "conflict":
        winner = p["winner"]
        why = (
            f"used first at {winner['store_id']} ({winner['device_id']}) at {winner['at']}"
            if winner
            else "used online by its member or at head office"
        )
    else:
        why = f"rejected: {p['reason']}"
    state = f"reviewed by {p['reviewed']['by']}: {p['reviewed']['note']}" if p["reviewed"] else "OPEN"
    return f"{p['event_id']}  {p['at']}  {p['store_id']}/{p['device_id']}  {p['voucher_id'] or '-'}  {why}  [{state}]"


def cmd_problems(a) -> int:
    params: dict[str, str] = {}
    if a.store:
        params["store"] = a.store
    if not a.all:
        params["reviewed"] = "true" if a.reviewed else "false"
    return _show(a, _client(a).get("/problems", params=params), _problem_line)


def cmd_revoke(a) -> int:
    client = _client(a)
    try:
        answer = client.post(
            f"/devices/{a.id}/revoke", params={} if a.confirm is None else {"confirm": a.confirm}
        )
    except ApiError as exc:
        pending = exc.problem.get("pending")
        if exc.status != 409 or pending is None or a.confirm is not None:
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
        answer = client.post(f"/devices/{a.id}/revoke", params={"confirm": pending})
    return _show(a, answer, _revoked_line)


def _integration_line(r: dict) -> str:
    state = f"revoked {r['revoked_at']}" if r["revoked_at"] else f"expires {r['expires_at'] or 'never'}"
    return f"{r['id']}  {r['name']:<32} by {r['created_by']}, {state}"


def cmd_audit(a) -> int:
    params = {
        k: v
        for k, v in {
            "actor": a.actor,
            "entity": a.entity,
            "action": a.action,
            "since": a.since,
            "until": a.until,
            "limit": a.limit,
        }.items()
        if v
    }
    if a.csv:
        sys.stdout.buffer.write(_client(a).get("/audit", params={**params, "format": "csv"}))
        return 0
    return _show(a, _client(a).get("/audit", params=params), _audit_line)


def _audit_line(e: dict) -> str:
    def brief(state) -> str:
        text = "-" if state is None else json.dumps(state, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 120 else text[:117] + "..."

    return (
        f"{e['at']}  {e['actor']} ({e['actor_kind']}, {e['address'] or 'no address'})  {e['action']}  "
        f"{e['entity_kind']} {e['entity_id'] or ''}\n    before {brief(e['before'])}\n    after  {brief(e['after'])}"
    )


def _revoked_line(r: dict) -> str:
    if not r.get("pending"):
        return f"Device {r['id']} revoked; nothing was waiting to be pushed at its last heartbeat."
    return (
        f"Device {r['id']} revoked with {r['pending']} event(s) not yet pushed at its last heartbeat "
        f"({r['last_heartbeat_at']}): the till keeps them, and pushes them once enrolled again."
    )


def _fields(args, names: tuple[str, ...]) -> dict:
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


BATCH_FIELDS = (
    "identifier",
    "description",
    "serial_start",
    "serial_end",
    "valid_from",
    "valid_until",
    "stores",
    "channel",
)
TYPE_FIELDS = ("name", "value", "serial_start", "serial_end", "min_purchase", "initial_status")


def _client(args) -> AdminClient:
    token = os.environ.get("VOUCHER_TOKEN") or os.environ.get("VOUCHER_ADMIN_TOKEN")
    if not token:
        raise VoucherError(
            "Set VOUCHER_TOKEN to your personal API token (made on the server's host with "
            "'voucher-central staff token create EMAIL'; the demo writes one to demo-data/api-token).",
            title="No API token",
        )
    return AdminClient(args.server, token)


def _show(args, data: Any, line=None) -> int:
    if args.json or line is None:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif isinstance(data, list):
        for item in data:
            print(line(item))
    else:
        print(line(data))
    return 0


def _store_line(s: dict) -> str:
    return f"{s['id']:<16} {s['name']}  ({s['timezone']})"


def _store_detail(s: dict) -> str:
    lines = [_store_line(s), f"  {len(s['devices'])} device(s)"]
    for d in s["devices"]:
        state = "revoked" if d["revoked_at"] else f"last heartbeat {d['last_heartbeat_at'] or 'never'}"
        lines.append(
            f"  {d['id']}  {d['name']:<20} {state}; pending {d['pending'] if d['pending'] is not None else '?'}"
            f"; cursor {d['snapshot_cursor'] or 0}; clock skew {d['clock_skew_seconds'] or 0}s"
        )
    return "\n".join(lines)


def _batch_detail(b: dict) -> str:
    lines = [
        _batch_line(b),
        f"  description:  {b['description'] or '-'}",
        (
            f"  serials:      {b['serial_start']}–{b['serial_end']}   valid: {b['valid_from'] or 'any time'} to "
            f"{b['valid_until'] or 'no end'}   stores: {', '.join(b['stores']) if b['stores'] else 'all'}"
        ),
        f"  claim URL:    {b['claim_url']}",
        f"  next:         {', '.join(b['allowed_actions'])}",
    ]
    if b.get("generation"):
        lines.append(f"  generating:   {b['generation']['done']}/{b['generation']['total']}")
    for t in b["types"]:
        lines.append(
            f"  type {t['id']}  {t['name']}: {t['serial_start']}–{t['serial_end']}, {t['value']}"
            f"{', min ' + t['min_purchase'] if t['min_purchase'] else ''}, {t['initial_status']} when claimed"
        )
    for e in b.get("validation_errors") or []:
        lines.append(f"  error: {e['field']}: {e['message']}")
    return "\n".join(lines)


def _batch_line(b: dict) -> str:
    m = b["metrics"]
    badge = "Active" if b["claims"] == "active" else "Paused"
    return (
        f"{b['id']}  {b['identifier'][:32]:<32} {b['state']:<12} {badge:<7} "
        f"total {m['total']} claimed {m['claimed']} redeemed {m['redeemed']} rate {m['redemption_rate']}%"
    )


def cmd_batch_create(a) -> int:
    return _show(a, _client(a).post("/batches", _fields(a, BATCH_FIELDS)), _batch_line)


def cmd_batch_edit(a) -> int:
    return _show(
        a, _client(a).request("PATCH", f"/batches/{a.id}", json=_fields(a, BATCH_FIELDS)), _batch_detail
    )


def _type_line(t: dict) -> str:
    return f"type {t['id']}  {t['name']}: {t['serial_start']}–{t['serial_end']}, {t['value']}, {t['initial_status']}"


def cmd_add_type(a) -> int:
    return _show(a, _client(a).post(f"/batches/{a.id}/types", _fields(a, TYPE_FIELDS)), _type_line)


def cmd_edit_type(a) -> int:
    body = _fields(a, TYPE_FIELDS)
    return _show(a, _client(a).request("PATCH", f"/batches/{a.id}/types/{a.type_id}", json=body), _type_line)


def cmd_wait(a) -> int:
    client = _client(a)
    while True:
        batch = client.get(f"/batches/{a.id}")
        gen = batch.get("generation")
        if gen:
            pct = 100 * gen["done"] / gen["total"] if gen["total"] else 100
            print(f"\rgenerating: {gen['done']}/{gen['total']} ({pct:.0f}%)", end="", flush=True)
        elif batch["state"] in ("configuring", "validated"):
            print(f"Batch {a.id} is {batch['state']}, not generating: start with 'batch generate {a.id}'.")
            return 1
        elif batch["state"] != "generating":
            print(f"\r{_batch_line(batch)}")
            return 0
        time.sleep(0.5)


def cmd_delete(a) -> int:
    client = _client(a)
    if a.confirm is None:
        batch = client.get(f"/batches/{a.id}")
        try:
            client.request("DELETE", f"/batches/{a.id}", params={"confirm": -1})
        except ApiError as exc:
            count = exc.problem.get("vouchers")
            if count is None:
                raise
        print(
            f"Batch {a.id} ('{batch['identifier']}'): {count} vouchers will be permanently deleted, "
            "even claimed ones. This cannot be undone."
        )
        print(f"To go ahead: voucher-central batch delete {a.id} --confirm {count}")
        return 1
    client.request("DELETE", f"/batches/{a.id}", params={"confirm": a.confirm})
    print(f"Deleted batch {a.id} and its {a.confirm} vouchers.")
    return 0


def cmd_export(a) -> int:
    params = {"format": "csv"}
    if a.claimed:
        params["claimed"] = "true" if a.claimed == "yes" else "false"
    if a.status:
        params["status"] = a.status
    client = _client(a)
    with client.http.stream("GET", f"/batches/{a.id}/vouchers", params=params) as response:
        if response.status_code >= 400:
            response.read()
            raise ApiError(response.status_code, response.json())
        out = sys.stdout.buffer if a.output == "-" else open(a.output, "wb")
        try:
            for chunk in response.iter_bytes():
                out.write(chunk)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
    return 0


def cmd_qr(a) -> int:
    png = _client(a).get(f"/batches/{a.id}/claim-qr.png", params={"size": a.size})
    Path(a.output).write_bytes(png)
    print(f"Saved {a.output} ({len(png)} bytes).")
    return 0


def cmd_report(a) -> int:
    params = {k: v for k, v in {"from": a.start, "to": a.end, "batch": a.batch}.items() if v}
    data = _client(a).get(f"/stores/{a.id}/redemptions", params=params)
    if a.json:
        return _show(a, data)
    s = data["summary"]
    print(
        f"Store {a.id}: {s['accepted']} accepted, {s['conflict']} conflicts, {s['rejected']} rejected, "
        f"{s['reverted']} reverted, {s.get('conflicts_won', 0)} conflicts won against other stores"
    )
    for e in data["events"]:
        r = e["result"]
        extra = f" winner {r['winner']['store_id']}/{r['winner']['device_id']}" if r["winner"] else ""
        print(
            f"  {e['at']}  {e['kind']:<7} {e['voucher_id']:<24} {r['outcome']:<9} {r['reason'] or ''}{extra}"
        )
    return 0


def _settings(args, **extra):
    from central.settings import load_settings

    return load_settings(args.config, database_url=args.database, **extra)


def cmd_serve(args) -> int:
    import uvicorn

    from central.app import create_app
    from configfile import logs

    settings = _settings(args, host=args.host, port=args.port)
    if settings.admin_token is None:
        print(
            "error: no admin token: set VOUCHER_ADMIN_TOKEN (or admin_token in the configuration file).",
            file=sys.stderr,
        )
        return 2
    logs.setup(settings.log_format, settings.log_level)  # uvicorn's records too; its access log is ours
    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(
            self, sig, frame
        ) -> None:  # SIGTERM, SIGINT: answer the tills waiting for a change now
            context = getattr(app.state, "context", None)
            if context is not None:
                context.changes.release_all()
            super().handle_exit(sig, frame)

    Server(
        uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    ).run()
    return 0


def cmd_migrate(args) -> int:
    from central.db.engine import Database
    from central.db.migrate import upgrade

    settings = _settings(args)
    db = Database(settings.database_url)
    upgrade(db)
    db.dispose()
    print(f"Schema up to date on {db.url.render_as_string(hide_password=True)}.")
    return 0


def cmd_backup(args) -> int:
    from central.services.backup import backup

    print(backup(_settings(args).database_url, Path(args.file)).words())
    return 0


def _read_password(confirm: bool = True) -> str:
    """From the terminal (asked twice), or the first line of standard input when it is not one."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != first:
        raise VoucherError("The two passwords differ; nothing was changed.", title="Passwords differ")
    return first


@contextmanager
def _staff_conn(args, *, write: bool) -> Iterator[tuple[Any, Any]]:
    """One transaction on the migrated database of the settings (write or read), and the settings."""
    from central.db.engine import Database
    from central.db.migrate import upgrade

    settings = _settings(args)
    db = Database(settings.database_url)
    try:
        upgrade(db)
        with db.write() if write else db.read() as conn:
            yield conn, settings
    finally:
        db.dispose()


def _cli_actor():
    """Who runs a command on the server's host, for the audit log."""
    from central.services.audit import Actor

    return Actor(f"{_operator()} (voucher-central on the server)", "system")


def cmd_staff_add(args) -> int:
    from central.services import staff, staff_admin

    staff.check_email(args.email)
    password = _read_password()
    with _staff_conn(args, write=True) as (conn, settings):
        role = args.role or ("admin" if staff.count(conn) == 0 else "viewer")
        account = staff_admin.add(
            conn, _cli_actor(), args.email, password, role=role, log2_n=settings.password_hash_cost
        )
    print(f"Added staff account {account['email']} ({role}); they sign in at the dashboard, /dashboard.")
    return 0


def cmd_staff_password(args) -> int:
    from central.services import staff, staff_admin

    password = _read_password()
    with _staff_conn(args, write=True) as (conn, settings):
        staff_admin.set_password(conn, _cli_actor(), args.email, password, log2_n=settings.password_hash_cost)
    print(f"New password set for {staff.normalise_email(args.email)}; their sessions have ended.")
    return 0


def cmd_staff_role(args) -> int:
    from central.services import staff_admin

    with _staff_conn(args, write=True) as (conn, _):
        change = staff_admin.set_role(conn, _cli_actor(), args.email, args.role)
    print(f"{change['email']} is now {change['after']} (was {change['before']}).")
    return 0


def cmd_staff_list(args) -> int:
    from central.services import staff

    with _staff_conn(args, write=False) as (conn, _):
        accounts = staff.list_all(conn)
    if not accounts:
        print("No staff accounts yet: add one with 'voucher-central staff add EMAIL'.")
    for a in accounts:
        last = a["last_sign_in_at"].strftime("%Y-%m-%d %H:%M UTC") if a["last_sign_in_at"] else "never"
        state = f", DISABLED {a['disabled_at']:%Y-%m-%d}" if a["disabled_at"] else ""
        print(
            f"{a['email']:<40} {a['role']:<9} added {a['created_at']:%Y-%m-%d}, last signed in {last}{state}"
        )
    return 0


def cmd_staff_remove(args) -> int:
    from central.services import staff, staff_admin

    with _staff_conn(args, write=True) as (conn, _):
        staff_admin.remove(conn, _cli_actor(), args.email)
    print(f"Removed staff account {staff.normalise_email(args.email)}.")
    return 0


def cmd_token_create(args) -> int:
    from central.services import staff_admin

    with _staff_conn(args, write=True) as (conn, _):
        token = staff_admin.create_token(conn, _cli_actor(), args.email, args.name, args.days)
    print(token["token"])
    print(
        f"API token {token['id']} for {token['email']} ('{token['name']}'), expires "
        f"{token['expires_at']:%Y-%m-%d %H:%M UTC}. It is shown this once: export VOUCHER_TOKEN=<it>.",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args) -> int:
    from central.services import staff

    with _staff_conn(args, write=False) as (conn, _):
        tokens = staff.list_tokens(conn, args.email)
    if not tokens:
        print("No API tokens: make one with 'voucher-central staff token create EMAIL'.")
    for t in tokens:
        state = (
            f"revoked {t['revoked_at']:%Y-%m-%d}"
            if t["revoked_at"]
            else f"expires {t['expires_at']:%Y-%m-%d}"
        )
        used = f"last used {t['last_used_at']:%Y-%m-%d}" if t["last_used_at"] else "never used"
        print(f"{t['id']}  {t['email']:<32} {t['name']:<20} {state}, {used}")
    return 0


def cmd_token_revoke(args) -> int:
    from central.services import staff_admin

    with _staff_conn(args, write=True) as (conn, _):
        token = staff_admin.revoke_token(conn, _cli_actor(), args.id)
    print(f"Revoked API token {token['id']} of {token['email']}.")
    return 0


def cmd_demo(args) -> int:
    from central.demo import run_demo

    return run_demo(Path(args.data_dir), args.port, args.large_batch)


if __name__ == "__main__":
    sys.exit(main())
