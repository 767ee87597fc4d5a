"""What the commands share: the admin API client and its options, printing an answer, and, for the
commands that work on the server's host, its settings and one transaction on its database."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from central.client import AdminClient, ApiError
from vouchers.errors import VoucherError
from vouchers.wording import N_, said
from words import SOURCE, Words

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from central.services.audit import Actor
    from central.settings import CentralSettings

DEFAULT_SERVER = "http://127.0.0.1:8000"

# the server's kinds of problem (problem+json `type`, /problems/<slug>), worded here: the title is
# the command line's, the detail stays the server's own (English) words
PROBLEM_TITLES: dict[str, str] = {
    "bad-request": N_("The request cannot be carried out"),
    "invalid-input": N_("Some fields are not valid"),
    "batch-invalid": N_("The batch configuration is not valid"),
    "invalid-code": N_("Not a voucher code"),
    "malformed-voucher-id": N_("Not a voucher id"),
    "not-found": N_("Not found"),
    "conflict": N_("Conflicts with the current state"),
    "transition-refused": N_("Not allowed in the batch's current state"),
    "delete-not-confirmed": N_("Deletion needs confirming with the number of vouchers"),
    "status-change-refused": N_("That status change is not allowed"),
    "unauthorized": N_("Missing or wrong token"),
    "missing-or-wrong-token": N_("Missing or wrong token"),
    "forbidden": N_("Not allowed with this token"),
    "role-refused": N_("Your role does not allow this"),
    "payload-too-large": N_("The request body is too large"),
    "revoke-not-confirmed": N_("Revoking this device needs confirming"),
    "mark-used-refused": N_("This voucher cannot be marked as used"),
    "rate-limited": N_("Too many requests"),
    "last-admin": N_("Head office needs an admin"),
    "method-not-allowed": N_("Method not allowed"),
    "request-refused": N_("Request refused"),
    "malformed-json": N_("The body is not valid JSON"),
    "not-json": N_("The body must be JSON"),
    "internal": N_("Internal server error"),
    "configuration": N_("Configuration error"),
    "backup": N_("Backup not made"),
    "database": N_("The database cannot be used"),
}
NO_ANSWER = N_("Cannot reach the server")


def explain(words: Words, exc: VoucherError) -> str:
    """An error raised here or by head office's code on this host (settings, database, a staff
    account): its title in the person's language when it is one of the known kinds or already
    worded, and its detail worded from its facts when it was raised with them (else as raised)."""
    title = exc.title
    if title == type(exc).title and exc.slug in PROBLEM_TITLES:
        title = words.gettext(PROBLEM_TITLES[exc.slug])
    detail = words.say(exc.said) if exc.said is not None else exc.detail
    return words.gettext("{title}: {detail}", title=title, detail=detail)


def describe(words: Words, exc: ApiError) -> str:
    """The server's problem in words: its kind's title in the person's language, the status, and
    the server's detail (and each field's message) as it sent them."""
    slug = str(exc.problem.get("type") or "").rsplit("/", 1)[-1]
    if exc.status == 0:
        title = words.gettext(NO_ANSWER)
    else:
        title = words.gettext(PROBLEM_TITLES[slug]) if slug in PROBLEM_TITLES else exc.title
    if exc.status:
        title = words.gettext("{title} ({status})", title=title, status=exc.status)
    errors = [e for e in exc.problem.get("errors", []) if isinstance(e, dict)]
    listed = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
    detail = words.say(exc.said) if exc.said is not None else exc.detail
    if errors and detail == listed:  # the detail only repeats the fields' list below: said once
        lines = [title + ":"]
    else:
        lines = [words.gettext("{title}: {detail}", title=title, detail=detail)]
    lines += [f"  - {e.get('field')}: {e.get('message')}" for e in errors]
    return "\n".join(lines)


def client_args(p: argparse.ArgumentParser) -> None:
    """--server and --json, which every admin command takes."""
    words: Words = p.get_default("words")
    p.add_argument(
        "--server",
        default=os.environ.get("VOUCHER_SERVER", DEFAULT_SERVER),
        help=words.gettext("server URL (default $VOUCHER_SERVER or {server})", server=DEFAULT_SERVER),
    )
    p.add_argument("--json", action="store_true", help=words.gettext("print the server's JSON answer"))


def client(args: argparse.Namespace) -> AdminClient:
    """The admin API at --server, with the token of $VOUCHER_TOKEN (or the shared $VOUCHER_ADMIN_TOKEN)."""
    token = os.environ.get("VOUCHER_TOKEN") or os.environ.get("VOUCHER_ADMIN_TOKEN")
    if not token:
        words: Words = args.words
        raise VoucherError(
            words.gettext(
                "Set VOUCHER_TOKEN to your personal API token (made on the server's host with "
                "'voucher-central staff token create EMAIL'; the demo writes one to demo-data/api-token)."
            ),
            title=words.gettext("No API token"),
        )
    words = args.words
    return AdminClient(args.server, token, language=None if words.language == SOURCE else words.language)


def show(args: argparse.Namespace, data: Any, line: Callable[[Any], str] | None = None) -> int:
    """Print an answer: as JSON with --json (or when there is no line for it), else a line per item
    (a line needing words is given them: `partial(detail, args.words)`)."""
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
    words: Words = p.get_default("words")
    p.add_argument("--config", help=words.gettext("TOML settings file (default: $VOUCHER_CENTRAL_CONFIG)"))
    p.add_argument("--database", help=words.gettext("database URL (default: from the settings)"))


class DatabaseProblem(VoucherError):
    """The database of the settings cannot be opened or used (no such file or server, a URL of no
    known kind, a server refusing the connection): said with its URL, password hidden."""

    slug = "database"
    title = "The database cannot be used"


def database_problem(exc: Exception, url: str | None) -> DatabaseProblem:
    """SQLAlchemy's error (or the driver's under it) as one line naming the database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    cause = getattr(exc, "orig", None) or exc
    text = " ".join(str(cause).split("\n")[0].split()) or type(cause).__name__
    try:
        shown = make_url(url).render_as_string(hide_password=True) if url else "?"
    except ArgumentError:
        shown = url or "?"
    return DatabaseProblem(
        said(
            "{database}: {cause}. Check --database (or database_url in the settings, $VOUCHER_DATABASE_URL) "
            "and that this host can reach it.",
            database=shown,
            cause=text,
        )
    )


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


def read_password(words: Words, confirm: bool = True) -> str:
    """From the terminal (asked twice), or the first line of standard input when it is not one."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass(words.gettext("Password: "))
    if confirm and getpass.getpass(words.gettext("Password again: ")) != first:
        raise VoucherError(
            words.gettext("The two passwords differ; nothing was changed."),
            title=words.gettext("Passwords differ"),
        )
    return first


def when(words: Words, text: str | None) -> str:
    """A time the server sent (ISO 8601 with its offset) as the person's locale writes it, in the
    words' zone and saying it; the text as sent when it is not such a time."""
    if not text:
        return words.gettext("never")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    return at(words, moment)


def at(words: Words, moment: datetime) -> str:
    """An instant as the person's locale writes a day and a time, with the zone (the words')."""
    return f"{words.date(moment)} {words.time(moment, 'long')}"
