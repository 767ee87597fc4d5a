"""`batch`: create and configure batches, walk their life cycle, export them (admin API)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from functools import partial
from pathlib import Path

from central.cli.common import client, client_args, fields, show
from central.cli.tree import Group
from central.client import ApiError
from vouchers.status import STATUS_WORDS, Status
from vouchers.wording import N_
from words import Words

ACTIONS = {
    "validate": N_("check the configuration; configuring → validated, or list every error"),
    "configure": N_("back to configuring from validated, to edit"),
    "generate": N_("start generating the vouchers in the background (see 'batch wait')"),
    "distribute": N_("generated → distributed (vouchers handed out; members may claim)"),
    "redeemable": N_("distributed or locked → redeemable (tills accept the vouchers)"),
    "lock": N_("stop redemptions for now (redeemable again later)"),
    "void": N_("cancel the batch for good; nothing in it can be used. Cannot be undone"),
    "pause": N_("pause new claims; claimed vouchers stay valid"),
    "resume": N_("resume claims"),
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
    w = root.wording
    text = w.gettext("batches: create, configure, walk the life cycle, export")
    batch = root.group("batch", text, description=text)
    batch_id = w.gettext("batch id")
    type_id = w.gettext("type id (see 'batch show')")
    p = batch.command("create", w.gettext("create a batch (starts in configuring)"), create)
    _batch_fields(w, p, required=True)
    p = batch.command(
        "edit", w.gettext("change a batch's fields (configuring, or validated: back to configuring)"), edit
    )
    p.add_argument("id", help=batch_id)
    _batch_fields(w, p, required=False)
    p = batch.command(
        "add-type", w.gettext("add a batch type (defaults to the batch's whole serial range)"), add_type
    )
    p.add_argument("id", help=batch_id)
    _type_fields(w, p, required=True)
    p = batch.command("edit-type", w.gettext("change a batch type"), edit_type)
    p.add_argument("id", help=batch_id)
    p.add_argument("type_id", help=type_id)
    _type_fields(w, p, required=False)
    p = batch.command("remove-type", w.gettext("remove a batch type"), remove_type)
    p.add_argument("id", help=batch_id)
    p.add_argument("type_id", help=type_id)
    batch.command("list", w.gettext("every batch with state, claims and metrics"), list_batches)
    p = batch.command(
        "show", w.gettext("one batch: fields, types, metrics, what can be done next"), show_batch
    )
    p.add_argument("id", help=batch_id)
    for action, words in ACTIONS.items():
        p = batch.command(action, w.gettext(words), walk, description=w.gettext(words))
        p.add_argument("id", help=batch_id)
        p.set_defaults(batch_action=action)
    p = batch.command("wait", w.gettext("follow generation progress until the batch is generated"), wait)
    p.add_argument("id", help=batch_id)
    p = batch.command("delete", w.gettext("delete a batch and all its vouchers, for good"), delete)
    p.add_argument("id", help=batch_id)
    p.add_argument(
        "--confirm",
        type=int,
        help=w.gettext("the number of vouchers that will be deleted (the command tells you)"),
    )
    p = batch.command("export", w.gettext("write the batch's vouchers as CSV"), export)
    p.add_argument("id", help=batch_id)
    p.add_argument("--output", "-o", default="-", help=w.gettext("file (default: standard output)"))
    p.add_argument(
        "--claimed", choices=["yes", "no"], help=w.gettext("only claimed, or only unclaimed, vouchers")
    )
    p.add_argument(
        "--status",
        choices=["unused", "used", "issued", "pending"],
        help=w.gettext("only vouchers with this status"),
    )
    p = batch.command("qr", w.gettext("save the claim URL's QR code as a print-ready PNG"), qr)
    p.add_argument("id", help=batch_id)
    p.add_argument(
        "--size",
        type=int,
        default=1024,
        help=w.gettext("width and height in pixels, 500 to 4096 (default 1024)"),
    )
    p.add_argument("--output", "-o", required=True, help=w.gettext("PNG file to write"))
    for p in batch.parsers:
        client_args(p)


def _batch_fields(w: Words, p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument(
        "--identifier", required=required, help=w.gettext("your name for the campaign, e.g. 'Q1 2026 Email'")
    )
    p.add_argument("--description", help=w.gettext("what members read on the claim page"))
    p.add_argument(
        "--serial-start",
        type=int,
        required=required,
        help=w.gettext("first serial number of the batch's range"),
    )
    p.add_argument(
        "--serial-end", type=int, required=required, help=w.gettext("last serial number of the batch's range")
    )
    p.add_argument(
        "--valid-from", help=w.gettext("first day vouchers are valid, YYYY-MM-DD (each store's local time)")
    )
    p.add_argument(
        "--valid-until", help=w.gettext("last day vouchers are valid, YYYY-MM-DD (each store's local time)")
    )
    p.add_argument(
        "--store", action="append", dest="stores", help=w.gettext("limit to a store (repeat for several)")
    )
    p.add_argument(
        "--channel",
        choices=["email", "in-store-qr", "social-media", "events"],
        help=w.gettext("where the campaign runs, to compare redemption rates"),
    )


def _type_fields(w: Words, p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--name", required=required, help=w.gettext("the type's name, e.g. 'Five pounds'"))
    p.add_argument("--value", required=required, help=w.gettext("what the voucher is worth, e.g. '£5 off'"))
    p.add_argument(
        "--start", type=int, dest="serial_start", help=w.gettext("first serial (default: the batch's first)")
    )
    p.add_argument(
        "--end", type=int, dest="serial_end", help=w.gettext("last serial (default: the batch's last)")
    )
    p.add_argument("--min-purchase", help=w.gettext("minimum purchase, as text, e.g. '£20'"))
    p.add_argument(
        "--initial-status",
        choices=["unused", "used", "issued", "pending"],
        default="unused" if required else None,
        help=w.gettext("status a voucher gets when claimed (default unused: marked used at the till)"),
    )


def create(args: argparse.Namespace) -> int:
    answer = client(args).post("/batches", fields(args, BATCH_FIELDS))
    return show(args, answer, partial(batch_line, args.words))


def edit(args: argparse.Namespace) -> int:
    answer = client(args).request("PATCH", f"/batches/{args.id}", json=fields(args, BATCH_FIELDS))
    return show(args, answer, partial(batch_detail, args.words))


def add_type(args: argparse.Namespace) -> int:
    answer = client(args).post(f"/batches/{args.id}/types", fields(args, TYPE_FIELDS))
    return show(args, answer, partial(type_line, args.words))


def edit_type(args: argparse.Namespace) -> int:
    body = fields(args, TYPE_FIELDS)
    answer = client(args).request("PATCH", f"/batches/{args.id}/types/{args.type_id}", json=body)
    return show(args, answer, partial(type_line, args.words))


def remove_type(args: argparse.Namespace) -> int:
    client(args).request("DELETE", f"/batches/{args.id}/types/{args.type_id}")
    print(args.words.gettext("Removed type {type}.", type=args.type_id))
    return 0


def list_batches(args: argparse.Namespace) -> int:
    return show(args, client(args).get("/batches"), partial(batch_line, args.words))


def show_batch(args: argparse.Namespace) -> int:
    return show(args, client(args).get(f"/batches/{args.id}"), partial(batch_detail, args.words))


def walk(args: argparse.Namespace) -> int:
    """One step of the life cycle: the action of ACTIONS this command is named after."""
    answer = client(args).post(f"/batches/{args.id}/{args.batch_action}")
    return show(args, answer, partial(batch_line, args.words))


def wait(args: argparse.Namespace) -> int:
    w: Words = args.words
    api = client(args)
    while True:
        batch = api.get(f"/batches/{args.id}")
        gen = batch.get("generation")
        if gen:
            pct = 100 * gen["done"] / gen["total"] if gen["total"] else 100
            progress = w.gettext(
                "generating: {done}/{total} ({percent}%)",
                done=w.number(gen["done"]),
                total=w.number(gen["total"]),
                percent=w.number(pct, 0),
            )
            print(f"\r{progress}", end="", flush=True)
        elif batch["state"] in ("configuring", "validated"):
            print(
                w.gettext(
                    "Batch {batch} is {state}, not generating: start with 'batch generate {batch}'.",
                    batch=args.id,
                    state=batch["state"],
                )
            )
            return 1
        elif batch["state"] != "generating":
            print(f"\r{batch_line(w, batch)}")
            return 0
        time.sleep(0.5)


def delete(args: argparse.Namespace) -> int:
    w: Words = args.words
    api = client(args)
    if args.confirm is None:
        batch = api.get(f"/batches/{args.id}")
        try:
            api.request("DELETE", f"/batches/{args.id}", params={"confirm": -1})
        except ApiError as exc:
            found = exc.problem.get("vouchers")
            if found is None:
                raise
            count = int(found)
        print(
            w.ngettext(
                "Batch {batch} ('{name}'): {n} voucher will be permanently deleted, even a claimed one. "
                "This cannot be undone.",
                "Batch {batch} ('{name}'): {n} vouchers will be permanently deleted, even claimed ones. "
                "This cannot be undone.",
                count,
                batch=args.id,
                name=batch["identifier"],
            )
        )
        print(
            w.gettext(
                "To go ahead: voucher-central batch delete {batch} --confirm {count}",
                batch=args.id,
                count=count,
            )
        )
        return 1
    api.request("DELETE", f"/batches/{args.id}", params={"confirm": args.confirm})
    print(
        w.ngettext(
            "Deleted batch {batch} and its {n} voucher.",
            "Deleted batch {batch} and its {n} vouchers.",
            args.confirm,
            batch=args.id,
        )
    )
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
    w: Words = args.words
    png = client(args).get(f"/batches/{args.id}/claim-qr.png", params={"size": args.size})
    Path(args.output).write_bytes(png)
    print(w.ngettext("Saved {file} ({n} byte).", "Saved {file} ({n} bytes).", len(png), file=args.output))
    return 0


# the batch's state, claims and status are the API's codes (configuring, unused ...), as typed
# in the commands; the rest is worded
def batch_line(w: Words, b: dict) -> str:
    m = b["metrics"]
    badge = w.gettext("Active") if b["claims"] == "active" else w.gettext("Paused")
    figures = w.gettext(
        "total {total} claimed {claimed} redeemed {redeemed} rate {rate}%",
        total=w.number(m["total"]),
        claimed=w.number(m["claimed"]),
        redeemed=w.number(m["redeemed"]),
        rate=w.number(m["redemption_rate"]),
    )
    return f"{b['id']}  {b['identifier'][:32]:<32} {b['state']:<12} {badge:<7} {figures}"


def batch_detail(w: Words, b: dict) -> str:
    stores = ", ".join(b["stores"]) if b["stores"] else w.gettext("all")
    lines = [
        batch_line(w, b),
        "  " + w.gettext("description:  {text}", text=b["description"] or "-"),
        "  "
        + w.gettext(
            "serials:      {first}–{last}   {validity}   stores: {stores}",
            first=b["serial_start"],
            last=b["serial_end"],
            validity=_validity(w, _day(w, b["valid_from"]), _day(w, b["valid_until"])),
            stores=stores,
        ),
        "  " + w.gettext("claim URL:    {url}", url=b["claim_url"]),
        "  " + w.gettext("next:         {actions}", actions=", ".join(b["allowed_actions"])),
    ]
    if b.get("generation"):
        lines.append(
            "  "
            + w.gettext(
                "generating:   {done}/{total}",
                done=w.number(b["generation"]["done"]),
                total=w.number(b["generation"]["total"]),
            )
        )
    for t in b["types"]:
        lines.append(f"  {_type_words(w, t, detail=True)}")
    for e in b.get("validation_errors") or []:
        lines.append("  " + w.gettext("error: {field}: {message}", field=e["field"], message=e["message"]))
    return "\n".join(lines)


def type_line(w: Words, t: dict) -> str:
    return _type_words(w, t, detail=False)


def _type_words(w: Words, t: dict, *, detail: bool) -> str:
    head = w.gettext(
        "type {id}  {name}: {first}–{last}, {value}",
        id=t["id"],
        name=t["name"],
        first=t["serial_start"],
        last=t["serial_end"],
        value=t["value"],
    )
    if not detail:
        return f"{head}, {t['initial_status']}"
    minimum = ", " + w.gettext("min {amount}", amount=t["min_purchase"]) if t["min_purchase"] else ""
    claimed = w.gettext("{status} when claimed", status=_status(w, t["initial_status"]))
    return f"{head}{minimum}, {claimed}"


def _status(w: Words, code: str) -> str:
    """A voucher's status in words ('unused'); a code of another version as it came."""
    try:
        return w.say(STATUS_WORDS[Status(code)])
    except ValueError:
        return code


def _validity(w: Words, start: str | None, end: str | None) -> str:
    """When the batch's vouchers are valid, as one phrase for each case."""
    if start and end:
        return w.gettext("valid from {start} to {end}", start=start, end=end)
    if start:
        return w.gettext("valid from {start}, with no end", start=start)
    if end:
        return w.gettext("valid until {end}", end=end)
    return w.gettext("valid at any time")


def _day(w: Words, text: str | None) -> str | None:
    """A day the API sent (YYYY-MM-DD) as the locale writes it; None when there is none."""
    if not text:
        return None
    try:
        return w.date(date.fromisoformat(text))
    except ValueError:
        return text
