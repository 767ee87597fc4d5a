"""voucher-central: run the head-office server, and administer it over its API.

One module per command group, each with named command functions and its `add_commands`:
server.py (serve, migrate, backup, demo: on the server's host), staff.py and tokens.py (staff
accounts and their API tokens, on the database directly), and through the admin API stores.py,
devices.py, problems.py, integrations.py, audit.py, batches.py and vouchers.py. tree.py records
every parser as it is made; common.py holds what the commands share.

Everything a person reads is worded in the `central` catalogue, in the language of the
environment's locale (`words.from_environment`: LC_ALL, LC_MESSAGES, LANG; English otherwise):
`main` makes the program's one `Words`, the parsers' help is worded in it, and every command
finds it as `args.words`. JSON output (--json) is the server's answer, the same in every language.
"""

from __future__ import annotations

import argparse
import os
import sys

from central.cli import audit, batches, devices, integrations, problems, server, staff, stores, vouchers
from central.cli.common import database_problem, describe, explain, settings
from central.cli.tree import Command, Group
from central.client import ApiError
from configfile.version import add_version_argument
from vouchers.errors import VoucherError
from words import SOURCE, Words, from_environment, speak_argparse, words_for


def main(argv: list[str] | None = None) -> int:
    words = words_for(from_environment(), "central")
    parser = build_parser(words)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        try:
            return args.func(args) or 0
        except Exception as exc:  # no such database file or server, a URL of no known kind: in words
            if not _from_the_database(exc):
                raise
            raise database_problem(exc, _database_url(args)) from exc
    except BrokenPipeError:  # `... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ApiError as exc:
        print(words.gettext("error: {detail}", detail=describe(words, exc)), file=sys.stderr)
        return 1
    except VoucherError as exc:
        print(words.gettext("error: {detail}", detail=explain(words, exc)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_tree(words: Words | None = None) -> Group:
    """The program's parser and, in `registry`, every command and group under it, worded in
    `words` (English when not given); every command's arguments carry them as `args.words`."""
    words = words or words_for(SOURCE, "central")
    speak_argparse(words)
    parser = argparse.ArgumentParser(
        prog="voucher-central",
        description=words.gettext(
            "The head-office server of voucher-kiosk, and an admin client for it. "
            "Admin commands (store, batch, voucher, device, problem, integration, audit) talk to a running "
            "server, given by their --server option or $VOUCHER_SERVER, with your personal API token from "
            "$VOUCHER_TOKEN ('staff token create' makes one; the shared admin token only bootstraps the first "
            "account). Every command has its own --help."
        ),
    )
    parser.set_defaults(words=words)
    add_version_argument(parser, words.gettext("show the program's version and exit"))
    commands: list[Command] = []
    subparsers = parser.add_subparsers(title=words.gettext("commands"), metavar=words.gettext("COMMAND"))
    root = Group((), parser, subparsers, commands, words)
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


def build_parser(words: Words | None = None) -> argparse.ArgumentParser:
    return build_tree(words).parser


def _database_url(args: argparse.Namespace) -> str | None:
    """The database the command was given, to name it in an error (--database, else the settings)."""
    if getattr(args, "database", None):
        return str(args.database)
    try:
        return settings(args).database_url if hasattr(args, "config") else None
    except VoucherError:
        return None


def _from_the_database(exc: Exception) -> bool:
    """SQLAlchemy's error (a command that opened the database loaded it; the others never do)."""
    loaded = sys.modules.get("sqlalchemy.exc")
    return loaded is not None and isinstance(exc, loaded.SQLAlchemyError)
