"""voucher-kiosk: the cashier's till. For now: redeem a typed code from the command line."""

from __future__ import annotations

import argparse
import sys

from kiosk.service import Redeemer
from kiosk.settings import load_settings
from localdb.connect import open_reader
from localdb.journal import Journal
from localdb.till import Till
from sync import identity as identity_file
from vouchers.errors import VoucherError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="voucher-kiosk",
        description="The cashier's till: decides on a voucher from the local snapshot and journals the redemption.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    p = sub.add_parser("redeem", help="redeem a typed or scanned code, as a cashier would",
                       description="Decide on a code from the local snapshot; an accepted voucher is written to "
                       "the journal (and pushed by the sync agent) before the verdict is printed.")
    p.add_argument("code", help="the voucher code (any case; dashes and spaces allowed) or its URL")
    p.add_argument("--config", help="TOML settings file (default: $VOUCHER_KIOSK_CONFIG)")
    p.add_argument("--data-dir", help="the directory shared with the sync agent")
    p.set_defaults(func=cmd_redeem)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except VoucherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def cmd_redeem(args) -> int:
    settings = load_settings(args.config, data_dir=args.data_dir)
    ident = identity_file.load(settings.identity_path)
    journal = Journal(settings.data_dir / "journal.db")
    replica = open_reader(settings.data_dir / "replica.db")
    redeemer = Redeemer(Till(replica, journal.conn), journal, bytes.fromhex(ident.code_hash_key),
                        cashier=settings.cashier)
    decision = redeemer.redeem(args.code)
    print(f"{decision.verdict.value}: {decision.reason}")
    if decision.voucher is not None:
        v = decision.voucher
        minimum = f" (minimum purchase {v.min_purchase})" if v.min_purchase else ""
        print(f"  {decision.code}  {v.value}{minimum}  — {v.batch_identifier}")
    redeemer.record_refusal(decision)
    return 0 if decision.verdict.kind != "refused" else 1
