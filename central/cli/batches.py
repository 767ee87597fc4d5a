"""`batch`: create and configure batches, walk their life cycle, export them (admin API)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from central.cli.common import client, client_args, fields, show
from central.cli.tree import Group
from central.client import ApiError

ACTIONS = {
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


def add_commands(root: Group) -> None:
    text = "batches: create, configure, walk the life cycle, export"
    batch = root.group("batch", text, description=text)
    p = batch.command("create", "create a batch (starts in configuring)", create)
    _batch_fields(p, required=True)
    p = batch.command(
        "edit", "change a batch's fields (configuring, or validated: back to configuring)", edit
    )
    p.add_argument("id", help="batch id")
    _batch_fields(p, required=False)
    p = batch.command("add-type", "add a batch type (defaults to the batch's whole serial range)", add_type)
    p.add_argument("id", help="batch id")
    _type_fields(p, required=True)
    p = batch.command("edit-type", "change a batch type", edit_type)
    p.add_argument("id", help="batch id")
    p.add_argument("type_id", help="type id (see 'batch show')")
    _type_fields(p, required=False)
    p = batch.command("remove-type", "remove a batch type", remove_type)
    p.add_argument("id", help="batch id")
    p.add_argument("type_id", help="type id (see 'batch show')")
    batch.command("list", "every batch with state, claims and metrics", list_batches)
    p = batch.command("show", "one batch: fields, types, metrics, what can be done next", show_batch)
    p.add_argument("id", help="batch id")
    for action, words in ACTIONS.items():
        p = batch.command(action, words, walk, description=words)
        p.add_argument("id", help="batch id")
        p.set_defaults(batch_action=action)
    p = batch.command("wait", "follow generation progress until the batch is generated", wait)
    p.add_argument("id", help="batch id")
    p = batch.command("delete", "delete a batch and all its vouchers, for good", delete)
    p.add_argument("id", help="batch id")
    p.add_argument(
        "--confirm", type=int, help="the number of vouchers that will be deleted (the command tells you)"
    )
    p = batch.command("export", "write the batch's vouchers as CSV", export)
    p.add_argument("id", help="batch id")
    p.add_argument("--output", "-o", default="-", help="file (default: standard output)")
    p.add_argument("--claimed", choices=["yes", "no"], help="only claimed, or only unclaimed, vouchers")
    p.add_argument(
        "--status", choices=["unused", "used", "issued", "pending"], help="only vouchers with this status"
    )
    p = batch.command("qr", "save the claim URL's QR code as a print-ready PNG", qr)
    p.add_argument("id", help="batch id")
    p.add_argument(
        "--size", type=int, default=1024, help="width and height in pixels, 500 to 4096 (default 1024)"
    )
    p.add_argument("--output", "-o", required=True, help="PNG file to write")
    for p in batch.parsers:
        client_args(p)


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


def create(args: argparse.Namespace) -> int:
    return show(args, client(args).post("/batches", fields(args, BATCH_FIELDS)), batch_line)


def edit(args: argparse.Namespace) -> int:
    answer = client(args).request("PATCH", f"/batches/{args.id}", json=fields(args, BATCH_FIELDS))
    return show(args, answer, batch_detail)


def add_type(args: argparse.Namespace) -> int:
    return show(args, client(args).post(f"/batches/{args.id}/types", fields(args, TYPE_FIELDS)), type_line)


def edit_type(args: argparse.Namespace) -> int:
    body = fields(args, TYPE_FIELDS)
    answer = client(args).request("PATCH", f"/batches/{args.id}/types/{args.type_id}", json=body)
    return show(args, answer, type_line)


def remove_type(args: argparse.Namespace) -> int:
    client(args).request("DELETE", f"/batches/{args.id}/types/{args.type_id}")
    print(f"Removed type {args.type_id}.")
    return 0


def list_batches(args: argparse.Namespace) -> int:
    return show(args, client(args).get("/batches"), batch_line)


def show_batch(args: argparse.Namespace) -> int:
    return show(args, client(args).get(f"/batches/{args.id}"), batch_detail)


def walk(args: argparse.Namespace) -> int:
    """One step of the life cycle: the action of ACTIONS this command is named after."""
    return show(args, client(args).post(f"/batches/{args.id}/{args.batch_action}"), batch_line)


def wait(args: argparse.Namespace) -> int:
    api = client(args)
    while True:
        batch = api.get(f"/batches/{args.id}")
        gen = batch.get("generation")
        if gen:
            pct = 100 * gen["done"] / gen["total"] if gen["total"] else 100
            print(f"\rgenerating: {gen['done']}/{gen['total']} ({pct:.0f}%)", end="", flush=True)
        elif batch["state"] in ("configuring", "validated"):
            print(
                f"Batch {args.id} is {batch['state']}, not generating: start with 'batch generate {args.id}'."
            )
            return 1
        elif batch["state"] != "generating":
            print(f"\r{batch_line(batch)}")
            return 0
        time.sleep(0.5)


def delete(args: argparse.Namespace) -> int:
    api = client(args)
    if args.confirm is None:
        batch = api.get(f"/batches/{args.id}")
        try:
            api.request("DELETE", f"/batches/{args.id}", params={"confirm": -1})
        except ApiError as exc:
            count = exc.problem.get("vouchers")
            if count is None:
                raise
        print(
            f"Batch {args.id} ('{batch['identifier']}'): {count} vouchers will be permanently deleted, "
            "even claimed ones. This cannot be undone."
        )
        print(f"To go ahead: voucher-central batch delete {args.id} --confirm {count}")
        return 1
    api.request("DELETE", f"/batches/{args.id}", params={"confirm": args.confirm})
    print(f"Deleted batch {args.id} and its {args.confirm} vouchers.")
    return 0


def export(args: argparse.Namespace) -> int:
    params = {"format": "csv"}
    if args.claimed:
        params["claimed"] = "true" if args.claimed == "yes" else "false"
    if args.status:
        params["status"] = args.status
    api = client(args)
    with api.http.stream("GET", f"/batches/{args.id}/vouchers", params=params) as response:
        if response.status_code >= 400:
            response.read()
            raise ApiError(response.status_code, response.json())
        out = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")
        try:
            for chunk in response.iter_bytes():
                out.write(chunk)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
    return 0


def qr(args: argparse.Namespace) -> int:
    png = client(args).get(f"/batches/{args.id}/claim-qr.png", params={"size": args.size})
    Path(args.output).write_bytes(png)
    print(f"Saved {args.output} ({len(png)} bytes).")
    return 0


def batch_line(b: dict) -> str:
    m = b["metrics"]
    badge = "Active" if b["claims"] == "active" else "Paused"
    return (
        f"{b['id']}  {b['identifier'][:32]:<32} {b['state']:<12} {badge:<7} "
        f"total {m['total']} claimed {m['claimed']} redeemed {m['redeemed']} rate {m['redemption_rate']}%"
    )


def batch_detail(b: dict) -> str:
    lines = [
        batch_line(b),
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


def type_line(t: dict) -> str:
    return f"type {t['id']}  {t['name']}: {t['serial_start']}–{t['serial_end']}, {t['value']}, {t['initial_status']}"
