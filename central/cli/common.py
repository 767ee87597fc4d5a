"""What the commands share: the admin API client and its options, printing an answer, and, for the
commands that work on the server's host, its settings and one transaction on its database."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from central.client import AdminClient
from vouchers.errors import VoucherError

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from central.services.audit import Actor
    from central.settings import CentralSettings

DEFAULT_SERVER = "http://127.0.0.1:8000"


def client_args(p: argparse.ArgumentParser) -> None:
    """--server and --json, which every admin command takes."""
    p.add_argument(
        "--server",
        default=os.environ.get("VOUCHER_SERVER", DEFAULT_SERVER),
        help=f"server URL (default $VOUCHER_SERVER or {DEFAULT_SERVER})",
    )
    p.add_argument("--json", action="store_true", help="print the server's JSON answer")


def client(args: argparse.Namespace) -> AdminClient:
    """The admin API at --server, with the token of $VOUCHER_TOKEN (or the shared $VOUCHER_ADMIN_TOKEN)."""
    token = os.environ.get("VOUCHER_TOKEN") or os.environ.get("VOUCHER_ADMIN_TOKEN")
    if not token:
        raise VoucherError(
            "Set VOUCHER_TOKEN to your personal API token (made on the server's host with "
            "'voucher-central staff token create EMAIL'; the demo writes one to demo-data/api-token).",
            title="No API token",
        )
    return AdminClient(args.server, token)


def show(args: argparse.Namespace, data: Any, line: Callable[[Any], str] | None = None) -> int:
    """Print an answer: as JSON with --json (or when there is no line for it), else a line per item."""
    if args.json or line is None:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif isinstance(data, list):
        for item in data:
            print(line(item))
    else:
        print(line(data))
    return 0


def fields(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The options among `names` that were given, for a request body."""
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def operator() -> str:
    """This login and host, e.g. for who reviewed a problem."""
    import getpass
    import socket

    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        return "unknown operator"


def host_args(p: argparse.ArgumentParser) -> None:
    """--config and --database, for the commands that work on the database directly."""
    p.add_argument("--config", help="TOML settings file (default: $VOUCHER_CENTRAL_CONFIG)")
    p.add_argument("--database", help="database URL (default: from the settings)")


def settings(args: argparse.Namespace, **extra: Any) -> CentralSettings:
    """The server's settings from --config and --database (and `extra` overrides)."""
    from central.settings import load_settings

    return load_settings(args.config, database_url=args.database, **extra)


@contextmanager
def staff_conn(args: argparse.Namespace, *, write: bool) -> Iterator[tuple[Connection, CentralSettings]]:
    """One transaction on the migrated database of the settings (write or read), and the settings."""
    from central.db.engine import Database
    from central.db.migrate import upgrade

    config = settings(args)
    db = Database(config.database_url)
    try:
        upgrade(db)
        with db.write() if write else db.read() as conn:
            yield conn, config
    finally:
        db.dispose()


def cli_actor() -> Actor:
    """Who runs a command on the server's host, for the audit log."""
    from central.services.audit import Actor

    return Actor(f"{operator()} (voucher-central on the server)", "system")


def read_password(confirm: bool = True) -> str:
    """From the terminal (asked twice), or the first line of standard input when it is not one."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != first:
        raise VoucherError("The two passwords differ; nothing was changed.", title="Passwords differ")
    return first
