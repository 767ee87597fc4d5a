"""voucher-sync: enrol this till with head office, run the sync agent, show its status."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

from configfile.version import add_version_argument, installed_version
from localdb import identity as identity_file
from localdb import journal as journal_file
from localdb.connect import open_reader, private_dir
from localdb.errors import LocalDatabaseError, translate
from localdb.health import Health, Limits, examine
from sync.agent import Agent
from sync.client import SyncClient
from sync.settings import AgentSettings, load_settings
from vouchers import ages
from vouchers.errors import VoucherError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config, data_dir=args.data_dir)
        try:
            return args.func(args, settings)
        except (OSError, sqlite3.Error) as exc:  # a full disk, a damaged file, no permission: in words
            raise translate(exc, settings.data_dir) from exc
    except VoucherError as exc:
        if args.func is cmd_status:  # a monitor reads "cannot tell", not "degraded"
            return _unreadable(args, exc)
        print(f"error: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voucher-sync",
        description="The store host's sync agent: pulls the voucher snapshot from head office into "
        "replica.db and pushes the till's journal of redemptions, retrying for ever.",
    )
    add_version_argument(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name, text, func in (
        ("enrol", "enrol this till with an enrolment code from head office", cmd_enrol),
        ("run", "run the agent until stopped (systemd: Type=notify)", cmd_run),
        ("status", "health, pending events, conflicts and rejections", cmd_status),
    ):
        if name == "status":
            p = sub.add_parser(
                name,
                help=text,
                description=text,
                epilog=STATUS_EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        else:
            p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--config", help="TOML settings file (default: $VOUCHER_SYNC_CONFIG)")
        p.add_argument("--data-dir", help="where replica.db, journal.db and device.json live")
        p.set_defaults(func=func)
        if name == "enrol":
            p.add_argument(
                "--server", required=True, help="head office URL, e.g. https://vouchers.example.com"
            )
            p.add_argument("--code", required=True, help="the enrolment code (one use, short-lived)")
            p.add_argument(
                "--name", default=socket.gethostname(), help="this till's name (default: host name)"
            )
        if name == "status":
            p.add_argument("--json", action="store_true", help="one JSON object on stdout (no secrets in it)")
    return parser


STATUS_EPILOG = """\
The first line says "healthy" or "DEGRADED: " and why. Degraded means any of: no successful pull
for longer than offline_limit_minutes (or none yet); the last pull older than
stale_snapshot_hours; the last page pulled said the snapshot was incomplete; conflicts or
rejections to review; journal.db missing after events were pushed from it, or, within 24 hours
of the agent finding it, replaced by another journal (deleted, emptied, a new disk) or gone back
to an older copy, each said with how many events head office had acknowledged from it (older
ones are listed under "journal", not degraded); the agent stopped (revoked).

exit status:
  0  healthy
  1  degraded
  2  the files cannot be read: no data directory or replica.db, a corrupt replica.db or
     journal.db, or a wrong configuration (--json: {"status": "unreadable", "error": "..."})
"""


def _verify(settings: AgentSettings) -> bool | str:
    return str(settings.ca_bundle) if settings.ca_bundle else True


def cmd_enrol(args, settings: AgentSettings) -> int:
    try:
        private_dir(settings.data_dir)  # 0700: the snapshot and the journal will live here
    except OSError as exc:
        raise LocalDatabaseError(str(exc), title="Cannot create the data directory") from exc
    client = SyncClient(args.server, timeout=settings.timeout_seconds, verify=_verify(settings))
    try:
        answer = client.enrol(args.code, args.name)
    finally:
        client.close()
    earlier, note = _earlier_devices(settings, answer.store_id)
    identity_file.save(
        settings.identity_path,
        identity_file.Identity(
            server=args.server,
            device_id=answer.device_id,
            store_id=answer.store_id,
            token=answer.token,
            code_hash_key=answer.code_hash_key,
            earlier_devices=earlier,
        ),
    )
    print(
        f"Enrolled as device {answer.device_id} of store {answer.store_id}; identity in {settings.identity_path}."
        + note
    )
    return 0


def _earlier_devices(settings: AgentSettings, store_id: str) -> tuple[tuple[dict, ...], str]:
    """A till enrolled again: the device it was, and up to which event of its journal that device
    made them, so the agent pushes what the journal still holds under that device."""
    try:
        old = identity_file.load(settings.identity_path)
    except VoucherError:
        return (), ""  # a first enrolment (or an unreadable identity: nothing known to keep)
    if old.store_id != store_id:
        return (), (
            f" This till was device {old.device_id} of store {old.store_id}: what its journal holds "
            f"is not pushed under store {store_id}."
        )
    seq, jid = 0, None
    if settings.journal_path.exists():
        try:
            conn = open_reader(settings.journal_path)
            try:
                seq, jid = journal_file.last_seq(conn), journal_file.identity(conn) or ""
            finally:
                conn.close()
        except (sqlite3.Error, LocalDatabaseError):
            return (
                old.earlier_devices,
                f" journal.db cannot be read: events of device {old.device_id} in it cannot be told apart.",
            )
    if not seq or jid is None:
        return old.earlier_devices, ""
    entry = {"device_id": old.device_id, "journal_id": jid, "up_to_seq": seq}
    return (*old.earlier_devices, entry), (
        f" The events of this till's journal up to #{seq} were made as device "
        f"{old.device_id}: the agent pushes any not yet pushed under it."
    )


def cmd_run(args, settings: AgentSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ident = identity_file.load(settings.identity_path)
    client = SyncClient(ident.server, ident.token, timeout=settings.timeout_seconds, verify=_verify(settings))
    agent = Agent(settings, client, version=installed_version(), earlier_devices=ident.earlier_devices)
    signal.signal(signal.SIGTERM, lambda *_: agent.request_stop())
    signal.signal(signal.SIGINT, lambda *_: agent.request_stop())
    code = agent.run()
    if code:
        print(f"error: {agent.stopped_reason}", file=sys.stderr)
    return code


def cmd_status(args, settings: AgentSettings) -> int:
    limits = Limits(
        offline=timedelta(minutes=settings.offline_limit_minutes),
        stale=timedelta(hours=settings.stale_snapshot_hours),
    )
    now = datetime.now(UTC)
    try:
        health = examine(settings.replica_path, settings.journal_path, limits, now)
    except LocalDatabaseError as exc:
        return _unreadable(args, exc)
    if args.json:
        print(json.dumps(health.as_json(), indent=2))
    else:
        _print_status(health, settings, now)
    return 1 if health.degraded else 0


def _unreadable(args, exc: Exception) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"status": "unreadable", "error": str(exc)}))
    else:
        print(f"error: {exc}", file=sys.stderr)
    return 2


def _print_status(health: Health, settings: AgentSettings, now: datetime) -> None:
    print(f"DEGRADED: {'; '.join(health.problems)}" if health.degraded else "healthy")
    print(
        f"store {health.store_id or '?'}   snapshot cursor {health.cursor}   pending events {health.pending}"
    )
    print(f"last pull  {_ago(health.last_pull_at, now)}")
    print(f"last push  {_ago(health.last_push_at, now)}")
    skew = health.clock_skew_seconds
    if skew is not None:
        warn = (
            "  (too far off: fix this device's clock)" if abs(skew) > settings.clock_skew_warn_seconds else ""
        )
        print(f"clock skew {skew:+d} s{warn}")
    if health.last_error:
        print(f"last error {_ago(health.last_error_at, now)}: {health.last_error}")
    if health.stopped:
        print(f"STOPPED    {health.stopped}")
    for loss in health.journal_losses:
        print(f"journal    {loss.words()}")
    print(f"{len(health.conflicts)} conflict(s), {len(health.rejections)} rejection(s)")
    # this till's own first, newest first; then the store's others (no sequence number here)
    for p in sorted(health.conflicts + health.rejections, key=lambda o: o.seq or 0, reverse=True):
        number = f"#{p.seq} " if p.seq is not None else ""
        print(f"  {p.outcome:<9} {number}{p.kind} {p.voucher_id}: {p.details()}")


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    return f"{ages.ago(now - when)} ({when.isoformat()})"
