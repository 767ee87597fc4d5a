"""voucher-central: run the head-office server, and administer it over its API.

One module per command group, each with named command functions and its `add_commands`:
server.py (serve, migrate, backup, demo: on the server's host), staff.py and tokens.py (staff
accounts and their API tokens, on the database directly), and through the admin API stores.py,
devices.py, problems.py, integrations.py, audit.py, batches.py and vouchers.py. tree.py records
every parser as it is made; common.py holds what the commands share.
"""

from __future__ import annotations

import argparse
import sys

from central.cli import audit, batches, devices, integrations, problems, server, staff, stores, vouchers
from central.cli.tree import Command, Group
from central.client import ApiError
from configfile.version import add_version_argument
from vouchers.errors import VoucherError


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


def build_tree() -> Group:
    """The program's parser and, in `registry`, every command and group under it."""
    parser = argparse.ArgumentParser(
        prog="voucher-central",
        description="The head-office server of voucher-kiosk, and an admin client for it. "
        "Admin commands (store, batch, voucher, device, problem, integration, audit) talk to a running "
        "server, given by their --server option or $VOUCHER_SERVER, with your personal API token from "
        "$VOUCHER_TOKEN ('staff token create' makes one; the shared admin token only bootstraps the first "
        "account). Every command has its own --help.",
    )
    add_version_argument(parser)
    commands: list[Command] = []
    root = Group((), parser, parser.add_subparsers(title="commands", metavar="COMMAND"), commands)
    server.add_commands(root)  # serve, migrate, backup, demo
    staff.add_commands(root)
    stores.add_commands(root)
    devices.add_commands(root)
    problems.add_commands(root)
    integrations.add_commands(root)
    audit.add_commands(root)
    batches.add_commands(root)
    vouchers.add_commands(root)
    return root


def build_parser() -> argparse.ArgumentParser:
    return build_tree().parser
