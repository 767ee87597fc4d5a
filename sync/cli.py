"""voucher-sync: enrol this till with head office, run the sync agent, show its status.

What a person reads is worded in the `store` catalogue, in the language of the environment's
locale (`words.from_environment`; English otherwise): `main` makes the one `Words` and hands it
to the parser and the command. `status --json` is for machines and the same in every language;
the agent's log (`run`) stays in English.
"""

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
from localdb.health import Limits, examine
from sync import report
from sync.agent import Agent
from sync.client import SyncClient
from sync.settings import AgentSettings, load_settings
from vouchers.errors import VoucherError
from vouchers.wording import N_
from words import SOURCE, Words, from_environment, speak_argparse, words_for


def main(argv: list[str] | None = None) -> int:
    words = words_for(from_environment(), "store")
    parser = build_parser(words)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config, data_dir=args.data_dir)
        try:
            return args.func(args, settings, words)
        except (OSError, sqlite3.Error) as exc:  # a full disk, a damaged file, no permission: in words
            raise translate(exc, settings.data_dir) from exc
    except VoucherError as exc:
        if args.func is cmd_status:  # a monitor reads "cannot tell", not "degraded"
            return _unreadable(args, exc, words)
        print(report.error_line(words, exc), file=sys.stderr)
        return 1


COMMANDS = (
    ("enrol", N_("enrol this till with an enrolment code from head office")),
    ("run", N_("run the agent until stopped (systemd: Type=notify)")),
    ("status", N_("health, pending events, conflicts and rejections")),
)


def build_parser(words: Words | None = None) -> argparse.ArgumentParser:
    """The program's parser, its help worded in `words` (English when not given)."""
    w = words or words_for(SOURCE, "store")
    speak_argparse(w)
    parser = argparse.ArgumentParser(
        prog="voucher-sync",
        description=w.gettext(
            "The store host's sync agent: pulls the voucher snapshot from head office into "
            "replica.db and pushes the till's journal of redemptions, retrying for ever."
        ),
    )
    add_version_argument(parser, w.gettext("show the program's version and exit"))
    sub = parser.add_subparsers(title=w.gettext("commands"), metavar=w.gettext("COMMAND"))
    handlers = {"enrol": cmd_enrol, "run": cmd_run, "status": cmd_status}
    for name, help_text in COMMANDS:
        text = w.gettext(help_text)
        if name == "status":
            p = sub.add_parser(
                name,
                help=text,
                description=text,
                epilog=w.gettext(STATUS_EPILOG),
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        else:
            p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--config", help=w.gettext("TOML settings file (default: $VOUCHER_SYNC_CONFIG)"))
        p.add_argument("--data-dir", help=w.gettext("where replica.db, journal.db and device.json live"))
        p.set_defaults(func=handlers[name])
        if name == "enrol":
            p.add_argument(
                "--server",
                required=True,
                help=w.gettext("head office URL, e.g. https://vouchers.example.com"),
            )
            p.add_argument(
                "--code", required=True, help=w.gettext("the enrolment code (one use, short-lived)")
            )
            p.add_argument(
                "--name",
                default=socket.gethostname(),
                help=w.gettext("this till's name (default: host name)"),
            )
        if name == "status":
            p.add_argument(
                "--json", action="store_true", help=w.gettext("one JSON object on stdout (no secrets in it)")
            )
    return parser


STATUS_EPILOG = N_("""\
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
""")


CANNOT_CREATE = N_("Cannot create the data directory")


def _verify(settings: AgentSettings) -> bool | str:
    return str(settings.ca_bundle) if settings.ca_bundle else True


def cmd_enrol(args, settings: AgentSettings, words: Words) -> int:
    try:
        private_dir(settings.data_dir)  # 0700: the snapshot and the journal will live here
    except OSError as exc:
        raise LocalDatabaseError(
            translate(exc, settings.data_dir).said or str(exc), title=CANNOT_CREATE
        ) from exc
    client = SyncClient(args.server, timeout=settings.timeout_seconds, verify=_verify(settings))
    try:
        answer = client.enrol(args.code, args.name)
    finally:
        client.close()
    earlier, note = _earlier_devices(settings, answer.store_id, words)
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
        words.gettext(
            "Enrolled as device {device} of store {store}; identity in {path}.",
            device=answer.device_id,
            store=answer.store_id,
            path=settings.identity_path,
        )
        + note
    )
    return 0


def _earlier_devices(settings: AgentSettings, store_id: str, words: Words) -> tuple[tuple[dict, ...], str]:
    """A till enrolled again: the device it was, and up to which event of its journal that device
    made them, so the agent pushes what the journal still holds under that device."""
    try:
        old = identity_file.load(settings.identity_path)
    except VoucherError:
        return (), ""  # a first enrolment (or an unreadable identity: nothing known to keep)
    if old.store_id != store_id:
        return (), " " + words.gettext(
            "This till was device {device} of store {old_store}: what its journal holds "
            "is not pushed under store {store}.",
            device=old.device_id,
            old_store=old.store_id,
            store=store_id,
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
                " "
                + words.gettext(
                    "journal.db cannot be read: events of device {device} in it cannot be told apart.",
                    device=old.device_id,
                ),
            )
    if not seq or jid is None:
        return old.earlier_devices, ""
    entry = {"device_id": old.device_id, "journal_id": jid, "up_to_seq": seq}
    return (*old.earlier_devices, entry), " " + words.gettext(
        "The events of this till's journal up to #{seq} were made as device "
        "{device}: the agent pushes any not yet pushed under it.",
        seq=seq,
        device=old.device_id,
    )


def cmd_run(args, settings: AgentSettings, words: Words) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ident = identity_file.load(settings.identity_path)
    client = SyncClient(ident.server, ident.token, timeout=settings.timeout_seconds, verify=_verify(settings))
    agent = Agent(settings, client, version=installed_version(), earlier_devices=ident.earlier_devices)
    signal.signal(signal.SIGTERM, lambda *_: agent.request_stop())
    signal.signal(signal.SIGINT, lambda *_: agent.request_stop())
    code = agent.run()
    if code:
        print(words.gettext("error: {detail}", detail=agent.stopped_reason), file=sys.stderr)
    return code


def cmd_status(args, settings: AgentSettings, words: Words) -> int:
    limits = Limits(
        offline=timedelta(minutes=settings.offline_limit_minutes),
        stale=timedelta(hours=settings.stale_snapshot_hours),
    )
    now = datetime.now(UTC)
    try:
        health = examine(settings.replica_path, settings.journal_path, limits, now)
    except LocalDatabaseError as exc:
        return _unreadable(args, exc, words)
    if args.json:
        print(json.dumps(health.as_json(), indent=2))
    else:
        lines = report.status_lines(
            words, health, limits, now, skew_warn_seconds=settings.clock_skew_warn_seconds
        )
        print("\n".join(lines))
    return 1 if health.degraded else 0


def _unreadable(args, exc: VoucherError, words: Words) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"status": "unreadable", "error": str(exc)}))
    else:
        print(report.error_line(words, exc), file=sys.stderr)
    return 2
