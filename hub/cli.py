"""voucher-hub: enrol the shop's hub with head office, serve the shop's tills, show its status."""

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
from vouchers import ages
from vouchers.errors import ConfigError, VoucherError


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config, state_dir=getattr(args, "state_dir", None))
        try:
            code: int = args.func(args, settings)
            return code
        except (OSError, sqlite3.Error) as exc:  # a full disk, a damaged file, no permission: in words
            raise translate(exc, settings.state_dir) from exc
    except VoucherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if args.func is cmd_status else 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voucher-hub",
        description="The shop's hub: serves the shop's tills head office's sync API from its own copy "
        "of the store's snapshot, decides first-wins among them at once, and forwards every event to "
        "head office.",
    )
    add_version_argument(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    enrol = sub.add_parser(
        "enrol",
        help="enrol this hub with head office",
        description="Enrol this hub with an enrolment code made for a hub "
        "(voucher-central store enrolment-code STORE --hub).",
    )
    enrol.add_argument("code", help="the enrolment code (one use, short-lived)")
    enrol.add_argument(
        "--name", help="the hub's name at head office (default: device_name, or the host name)"
    )
    enrol.add_argument(
        "--server", help="head office URL, e.g. https://vouchers.example.com (default: server)"
    )
    enrol.set_defaults(func=cmd_enrol)
    serve = sub.add_parser(
        "serve",
        help="serve the shop's tills until stopped",
        description="Serve the shop's tills until stopped.",
    )
    serve.add_argument("--host", help="address to listen on (default: host, 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default: port, 8470)")
    serve.set_defaults(func=cmd_serve)
    status = sub.add_parser(
        "status",
        help="head office's cursor, events not forwarded, the tills",
        description="What the hub holds: head office's snapshot cursor, the tills' events not yet "
        "forwarded to head office, the last contact with head office, and each till with its last "
        "heartbeat. Exit status 0, or 2 when hub.db cannot be read.",
    )
    status.add_argument("--json", action="store_true", help="one JSON object on stdout (no secrets in it)")
    status.set_defaults(func=cmd_status)
    for command in (enrol, serve, status):
        command.add_argument("--config", help="TOML settings file (default: $VOUCHER_HUB_CONFIG)")
        command.add_argument("--state-dir", help="where hub.db and the hub's identity live")
    return parser


def _verify(settings: HubSettings) -> bool | str:
    return str(settings.ca_bundle) if settings.ca_bundle else True


def cmd_enrol(args: argparse.Namespace, settings: HubSettings) -> int:
    server = args.server or settings.server
    if not server:
        raise ConfigError("Say which head office to enrol with: --server URL, or server in the settings.")
    try:
        private_dir(settings.state_dir)  # 0700: the store's snapshot and the tills' ledger live here
    except OSError as exc:
        raise LocalDatabaseError(str(exc), title="Cannot create the state directory") from exc
    name = args.name or settings.device_name or socket.gethostname()
    client = SyncClient(server, timeout=settings.timeout_seconds, verify=_verify(settings))
    try:
        answer = client.enrol(args.code, name)
    finally:
        client.close()
    if not _is_hub(server, answer.token, settings):
        print(
            f"error: head office enrolled device {answer.device_id} of store {answer.store_id} as a till, "
            "not a hub: that code was made for a till. Nothing was saved. Revoke that device at head office, "
            "make a hub code (voucher-central store enrolment-code STORE --hub) and enrol again.",
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
        f"Enrolled as hub {answer.device_id} of store {answer.store_id}; identity in {settings.identity_path}. "
        f"Point the shop's tills' server setting at this machine, port {settings.port}."
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


def cmd_serve(args: argparse.Namespace, settings: HubSettings) -> int:
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
            f"No hub identity at {settings.identity_path}: enrol the hub first with "
            "'voucher-hub enrol CODE' (a code made by 'voucher-central store enrolment-code STORE --hub')."
        )
    identity = identity_file.load(settings.identity_path)
    private_dir(settings.state_dir)
    store = HubStore(
        settings.database_path
    )  # opened here, so that a damaged or foreign file is said in words
    try:
        _check_store(store, settings, identity.store_id)
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


def _check_store(store: HubStore, settings: HubSettings, store_id: str) -> None:
    """hub.db belongs to the store the hub is enrolled at (not one enrolled at another store before)."""
    held = store.store_id()
    if held is not None and held != store_id:
        raise ConfigError(
            f"{settings.database_path} holds store {held}'s snapshot and ledger, but the hub is now enrolled "
            f"at store {store_id}. Move that file aside (after its events reached head office) and start again."
        )


def cmd_status(args: argparse.Namespace, settings: HubSettings) -> int:
    if not settings.database_path.exists():
        raise LocalDatabaseError(
            f"There is no {settings.database_path}: the hub has not run with this state directory "
            "(--state-dir, or state_dir in the settings).",
            title="No hub database",
        )
    store = HubStore(settings.database_path)
    try:
        status = store.status()
    finally:
        store.close()
    if args.json:
        print(json.dumps(dataclasses.asdict(status), indent=2, default=_json_value))
    else:
        _print_status(status, datetime.now(UTC))
    return 0


def _json_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _print_status(status: HubStatus, now: datetime) -> None:
    if status.store_id is None:
        print("store ?   no snapshot from head office yet")
    else:
        whole = "complete" if status.snapshot_complete else "INCOMPLETE (the tills are not served yet)"
        print(f"store {status.store_id} ({status.timezone})   head office's snapshot {whole}")
    print(f"head office cursor {status.upstream_cursor}   the hub's feed at {status.head}")
    print(
        f"events from the tills {status.events}   not yet forwarded to head office {status.unforwarded}   "
        f"open problems {status.open_problems}"
    )
    print(f"last contact with head office  {_ago(status.last_contact_at, now)}")
    print(f"  last pull         {_ago(status.last_pull_at, now)}")
    print(f"  last forwarding   {_ago(status.last_forward_at, now)}")
    print(f"  last device list  {_ago(status.last_devices_at, now)}")
    print(f"{len(status.devices)} device(s) of the store:")
    for device in status.devices:
        if device.revoked:
            state = "REVOKED"
        elif device.role == "hub":
            state = ""
        else:
            state = f"last heartbeat {_ago(device.last_heartbeat_at, now)}"
            if device.pending is not None:
                state += f", {device.pending} pending, version {device.version}"
        print(f"  {device.role:<4}  {device.device_id}  {device.name}   {state}".rstrip())


def _ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    return f"{ages.ago(now - when)} ({when.isoformat(timespec='seconds')})"
