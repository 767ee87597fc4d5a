"""voucher-sync: enrol this till with head office, run the sync agent, show its status."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from localdb.connect import open_reader
from localdb.errors import LocalDatabaseError
from localdb.till import Till
from sync import identity as identity_file
from sync.agent import Agent
from sync.client import SyncClient
from sync.settings import AgentSettings, load_settings
from vouchers.errors import VoucherError


def _version() -> str:
    try:
        return version("voucher-kiosk")
    except PackageNotFoundError:
        return "dev"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config, data_dir=args.data_dir)
        return args.func(args, settings)
    except VoucherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voucher-sync",
        description="The store host's sync agent: pulls the voucher snapshot from head office into "
        "replica.db and pushes the till's journal of redemptions, retrying for ever.",
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, text, func in (
        ("enrol", "enrol this till with an enrolment code from head office", cmd_enrol),
        ("run", "run the agent until stopped (systemd: Type=notify)", cmd_run),
        ("status", "health, pending events, conflicts and rejections", cmd_status),
    ):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--config", help="TOML settings file (default: $VOUCHER_SYNC_CONFIG)")
        p.add_argument("--data-dir", help="where replica.db, journal.db and device.json live")
        p.set_defaults(func=func)
        if name == "enrol":
            p.add_argument("--server", required=True, help="head office URL, e.g. https://vouchers.example.com")
            p.add_argument("--code", required=True, help="the enrolment code (one use, short-lived)")
            p.add_argument("--name", default=socket.gethostname(), help="this till's name (default: host name)")
    return parser


def _verify(settings: AgentSettings) -> bool | str:
    return str(settings.ca_bundle) if settings.ca_bundle else True


def cmd_enrol(args, settings: AgentSettings) -> int:
    client = SyncClient(args.server, timeout=settings.timeout_seconds, verify=_verify(settings))
    try:
        answer = client.enrol(args.code, args.name)
    finally:
        client.close()
    identity_file.save(settings.identity_path, identity_file.Identity(
        server=args.server, device_id=answer.device_id, store_id=answer.store_id, token=answer.token,
        code_hash_key=answer.code_hash_key,
    ))
    print(f"Enrolled as device {answer.device_id} of store {answer.store_id}; identity in {settings.identity_path}.")
    return 0


def cmd_run(args, settings: AgentSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ident = identity_file.load(settings.identity_path)
    client = SyncClient(ident.server, ident.token, timeout=settings.timeout_seconds, verify=_verify(settings))
    agent = Agent(settings, client, version=_version())
    signal.signal(signal.SIGTERM, lambda *_: agent.request_stop())
    signal.signal(signal.SIGINT, lambda *_: agent.request_stop())
    code = agent.run()
    if code:
        print(f"error: {agent.stopped_reason}", file=sys.stderr)
    return code


def cmd_status(args, settings: AgentSettings) -> int:
    try:
        replica = open_reader(settings.replica_path)
    except LocalDatabaseError:
        print(f"No replica at {settings.replica_path} yet: has 'voucher-sync run' started?")
        return 1
    journal = open_reader(settings.journal_path) if settings.journal_path.exists() else None
    till = Till(replica, journal)
    health = till.health()
    now = datetime.now(UTC)
    print(f"store {health['store_id'] or '?'}   snapshot cursor {health['cursor']}   pending events {health['pending']}")
    print(f"last pull  {_ago(health['last_pull_at'], now)}")
    print(f"last push  {_ago(health['last_push_at'], now)}")
    skew = health["clock_skew_seconds"]
    if skew is not None:
        warn = "  (too far off: fix this device's clock)" if abs(int(skew)) > settings.clock_skew_warn_seconds else ""
        print(f"clock skew {int(skew):+d} s{warn}")
    if health["last_error"]:
        print(f"last error {_ago(health['last_error_at'], now)}: {health['last_error']}")
    if health["stopped"]:
        print(f"STOPPED    {health['stopped']}")
    problems = till.problems()
    print(f"{sum(p.outcome == 'conflict' for p in problems)} conflict(s), "
          f"{sum(p.outcome == 'rejected' for p in problems)} rejection(s)")
    for p in problems:
        print(f"  {p.outcome:<9} #{p.seq} {p.kind} {p.voucher_id}: {p.details()}")
    return 0


def _ago(iso: str | None, now: datetime) -> str:
    if not iso:
        return "never"
    seconds = int((now - datetime.fromisoformat(iso)).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago ({iso})"
    if seconds < 7200:
        return f"{seconds // 60} min ago ({iso})"
    return f"{seconds // 3600} h ago ({iso})"
