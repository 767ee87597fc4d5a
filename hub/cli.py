"""voucher-hub: enrol the shop's hub with head office, serve the shop's tills, show its status.

What a person reads is worded in the `store` catalogue, in the language of the environment's
locale (`words.from_environment`; English otherwise): `main` makes the one `Words` and hands it
to the parser and the command. `status --json` and the server's log stay as they are.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import socket
import sqlite3
import sys
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from configfile.version import add_version_argument
from hub.settings import HubSettings, load_settings
from hub.store import HubStatus, HubStore
from localdb import identity as identity_file
from localdb.connect import private_dir
from localdb.errors import LocalDatabaseError, NotEnrolled, translate
from sync.client import SyncClient
from sync.errors import SyncError
from sync.report import error_line, since
from vouchers.errors import ConfigError, VoucherError
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
        settings = load_settings(args.config, state_dir=getattr(args, "state_dir", None))
        try:
            code: int = args.func(args, settings, words)
            return code
        except (OSError, sqlite3.Error) as exc:  # a full disk, a damaged file, no permission: in words
            raise translate(exc, settings.state_dir) from exc
    except VoucherError as exc:
        print(error_line(words, exc), file=sys.stderr)
        return 2 if args.func is cmd_status else 1
    except KeyboardInterrupt:
        return 130


def build_parser(words: Words | None = None) -> argparse.ArgumentParser:
    """The program's parser, its help worded in `words` (English when not given)."""
    w = words or words_for(SOURCE, "store")
    speak_argparse(w)
    parser = argparse.ArgumentParser(
        prog="voucher-hub",
        description=w.gettext(
            "The shop's hub: serves the shop's tills head office's sync API from its own copy "
            "of the store's snapshot, decides first-wins among them at once, and forwards every event to "
            "head office."
        ),
    )
    add_version_argument(parser, w.gettext("show the program's version and exit"))
    sub = parser.add_subparsers(title=w.gettext("commands"), metavar=w.gettext("COMMAND"))
    enrol = sub.add_parser(
        "enrol",
        help=w.gettext("enrol this hub with head office"),
        description=w.gettext(
            "Enrol this hub with an enrolment code made for a hub "
            "(voucher-central store enrolment-code STORE --hub)."
        ),
    )
    enrol.add_argument("code", help=w.gettext("the enrolment code (one use, short-lived)"))
    enrol.add_argument(
        "--name", help=w.gettext("the hub's name at head office (default: device_name, or the host name)")
    )
    enrol.add_argument(
        "--server", help=w.gettext("head office URL, e.g. https://vouchers.example.com (default: server)")
    )
    enrol.set_defaults(func=cmd_enrol)
    serve = sub.add_parser(
        "serve",
        help=w.gettext("serve the shop's tills until stopped"),
        description=w.gettext("Serve the shop's tills until stopped."),
    )
    serve.add_argument("--host", help=w.gettext("address to listen on (default: host, 0.0.0.0)"))
    serve.add_argument("--port", type=int, help=w.gettext("port to listen on (default: port, 8470)"))
    serve.set_defaults(func=cmd_serve)
    status = sub.add_parser(
        "status",
        help=w.gettext("head office's cursor, events not forwarded, the tills"),
        description=w.gettext(
            "What the hub holds: head office's snapshot cursor, the tills' events not yet "
            "forwarded to head office, the last contact with head office, and each till with its last "
            "heartbeat. Exit status 0, or 2 when hub.db cannot be read."
        ),
    )
    status.add_argument(
        "--json", action="store_true", help=w.gettext("one JSON object on stdout (no secrets in it)")
    )
    status.set_defaults(func=cmd_status)
    for command in (enrol, serve, status):
        command.add_argument("--config", help=w.gettext("TOML settings file (default: $VOUCHER_HUB_CONFIG)"))
        command.add_argument("--state-dir", help=w.gettext("where hub.db and the hub's identity live"))
    return parser


def _verify(settings: HubSettings) -> bool | str:
    return str(settings.ca_bundle) if settings.ca_bundle else True


CANNOT_CREATE = N_("Cannot create the state directory")
NO_HUB_DATABASE = N_("No hub database")


def cmd_enrol(args: argparse.Namespace, settings: HubSettings, words: Words) -> int:
    server = args.server or settings.server
    if not server:
        raise ConfigError(
            words.gettext("Say which head office to enrol with: --server URL, or server in the settings.")
        )
    try:
        private_dir(settings.state_dir)  # 0700: the store's snapshot and the tills' ledger live here
    except OSError as exc:
        raise LocalDatabaseError(
            translate(exc, settings.state_dir).said or str(exc), title=CANNOT_CREATE
        ) from exc
    name = args.name or settings.device_name or socket.gethostname()
    client = SyncClient(server, timeout=settings.timeout_seconds, verify=_verify(settings))
    try:
        answer = client.enrol(args.code, name)
    finally:
        client.close()
    if not _is_hub(server, answer.token, settings):
        print(
            words.gettext(
                "error: head office enrolled device {device} of store {store} as a till, "
                "not a hub: that code was made for a till. Nothing was saved. Revoke that device at head "
                "office, make a hub code (voucher-central store enrolment-code STORE --hub) and enrol again.",
                device=answer.device_id,
                store=answer.store_id,
            ),
            file=sys.stderr,
        )
        return 1
    identity_file.save(
        settings.identity_path,
        identity_file.Identity(
            server=server,
            device_id=answer.device_id,
            store_id=answer.store_id,
            token=answer.token,
            code_hash_key=answer.code_hash_key,
        ),
    )
    print(
        words.gettext(
            "Enrolled as hub {device} of store {store}; identity in {path}. "
            "Point the shop's tills' server setting at this machine, port {port}.",
            device=answer.device_id,
            store=answer.store_id,
            path=settings.identity_path,
            port=settings.port,
        )
    )
    return 0


def _is_hub(server: str, token: str, settings: HubSettings) -> bool:
    """Whether head office gives this token the store's device list (a hub's); True when it cannot
    tell (head office answers otherwise than with 403: the hub's loops will say)."""
    from hub.upstream import HubClient

    client = HubClient(server, token, timeout=settings.timeout_seconds, verify=_verify(settings))
    try:
        client.devices()
    except SyncError as exc:
        return "403" not in str(exc)
    finally:
        client.close()
    return True


def cmd_serve(args: argparse.Namespace, settings: HubSettings, words: Words) -> int:
    import uvicorn

    from configfile import logs
    from hub.app import create_app, release_waiting
    from sync.systemd import Notifier

    if args.host:
        settings = settings.model_copy(update={"host": args.host})
    if args.port:
        settings = settings.model_copy(update={"port": args.port})
    if not settings.identity_path.exists():
        raise NotEnrolled(
            words.gettext(
                "No hub identity at {path}: enrol the hub first with 'voucher-hub enrol CODE' "
                "(a code made by 'voucher-central store enrolment-code STORE --hub').",
                path=settings.identity_path,
            )
        )
    identity = identity_file.load(settings.identity_path)
    private_dir(settings.state_dir)
    store = HubStore(
        settings.database_path
    )  # opened here, so that a damaged or foreign file is said in words
    try:
        _check_store(store, settings, identity.store_id, words)
    except BaseException:
        store.close()
        raise
    logs.setup(settings.log_format, settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(settings, identity, store=store)

    notifier = Notifier()

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # listening: systemd (Type=notify) may start what waits for the hub
                notifier.ready(
                    f"serving the tills of store {identity.store_id} on {settings.host}:{settings.port}"
                )

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            notifier.stopping()
            release_waiting(app)  # SIGTERM, SIGINT: the tills waiting for a change answer now
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, access_log=False)
    # uvicorn raises the signal that stopped it again once it has stopped: a SIGTERM, systemd's
    # stop, then ends here instead of killing the process, and the hub exits 0
    signal.signal(signal.SIGTERM, lambda *_: None)
    Server(config).run()
    return 0


def _check_store(store: HubStore, settings: HubSettings, store_id: str, words: Words) -> None:
    """hub.db belongs to the store the hub is enrolled at (not one enrolled at another store before)."""
    held = store.store_id()
    if held is not None and held != store_id:
        raise ConfigError(
            words.gettext(
                "{path} holds store {held}'s snapshot and ledger, but the hub is now enrolled at store "
                "{store}. Move that file aside (after its events reached head office) and start again.",
                path=settings.database_path,
                held=held,
                store=store_id,
            )
        )


def cmd_status(args: argparse.Namespace, settings: HubSettings, words: Words) -> int:
    if not settings.database_path.exists():
        raise LocalDatabaseError(
            words.gettext(
                "There is no {path}: the hub has not run with this state directory "
                "(--state-dir, or state_dir in the settings).",
                path=settings.database_path,
            ),
            title=NO_HUB_DATABASE,
        )
    store = HubStore(settings.database_path)
    try:
        status = store.status()
    finally:
        store.close()
    if args.json:
        print(json.dumps(dataclasses.asdict(status), indent=2, default=_json_value))
    else:
        print("\n".join(status_lines(words, status, datetime.now(UTC))))
    return 0


def _json_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def status_lines(words: Words, status: HubStatus, now: datetime) -> list[str]:
    """`voucher-hub status` for a person (a device's role and the store's zone as head office names them)."""
    if status.store_id is None:
        lines = [words.gettext("store ?   no snapshot from head office yet")]
    else:
        whole = (
            words.gettext("complete")
            if status.snapshot_complete
            else words.gettext("INCOMPLETE (the tills are not served yet)")
        )
        lines = [
            words.gettext(
                "store {store} ({timezone})   head office's snapshot {whole}",
                store=status.store_id,
                timezone=status.timezone,
                whole=whole,
            )
        ]
    lines += [
        words.gettext(
            "head office cursor {cursor}   the hub's feed at {head}",
            cursor=status.upstream_cursor,
            head=status.head,
        ),
        words.gettext(
            "events from the tills {events}   not yet forwarded to head office {unforwarded}   "
            "open problems {problems}",
            events=words.number(status.events),
            unforwarded=words.number(status.unforwarded),
            problems=words.number(status.open_problems),
        ),
        words.gettext(
            "last contact with head office  {when}", when=since(words, status.last_contact_at, now)
        ),
    ]
    rows = [
        (words.gettext("last pull"), status.last_pull_at),
        (words.gettext("last forwarding"), status.last_forward_at),
        (words.gettext("last device list"), status.last_devices_at),
    ]
    width = max(len(label) for label, _ in rows) + 2
    lines += [f"  {label:<{width}}{since(words, when, now)}" for label, when in rows]
    lines.append(words.gettext("{n} device(s) of the store:", n=words.number(len(status.devices))))
    for device in status.devices:
        if device.revoked:
            state = words.gettext("REVOKED")
        elif device.role == "hub":
            state = ""
        else:
            state = words.gettext("last heartbeat {when}", when=since(words, device.last_heartbeat_at, now))
            if device.pending is not None:
                state += ", " + words.gettext(
                    "{pending} pending, version {version}",
                    pending=words.number(device.pending),
                    version=device.version,
                )
        lines.append(f"  {device.role:<4}  {device.device_id}  {device.name}   {state}".rstrip())
    return lines
