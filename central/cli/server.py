"""Commands on the server's host: run the server (and the demo), migrate and back up its database."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import FrameType

from central.cli.common import host_args, settings
from central.cli.tree import Group
from words import Words


def add_commands(root: Group) -> None:
    w = root.wording
    serve = root.command(
        "serve",
        w.gettext("run the server"),
        serve_command,
        description=w.gettext("Run the server (migrates the database first)."),
    )
    serve.add_argument("--config", help=w.gettext("TOML settings file (default: $VOUCHER_CENTRAL_CONFIG)"))
    serve.add_argument(
        "--database", help=w.gettext("database URL, e.g. sqlite:///central.db or postgresql+psycopg://…")
    )
    serve.add_argument("--host", help=w.gettext("address to listen on (default 127.0.0.1)"))
    serve.add_argument("--port", type=int, help=w.gettext("port to listen on (default 8000)"))

    migrate = root.command(
        "migrate", w.gettext("bring the database schema up to date, then exit"), migrate_command
    )
    migrate.add_argument("--config")
    migrate.add_argument("--database")

    backup = root.command(
        "backup",
        w.gettext("copy the SQLite database while the server runs, and check the copy"),
        backup_command,
        description=w.gettext(
            "Copy the SQLite database to FILE with SQLite's online backup API (the server may keep "
            "running: the copy is the database as of one commit), then open the copy and check it "
            "(integrity_check, its schema revision). FILE is replaced only by a checked copy, made 0600. "
            'For PostgreSQL use pg_dump -Fc (README.md, "Operations").'
        ),
    )
    backup.add_argument(
        "file",
        help=w.gettext("where the copy goes, e.g. /var/backups/voucher-central/central-$(date +%%F).db"),
    )
    host_args(backup)

    demo = root.command(
        "demo",
        w.gettext("run a server with demo batches in every life-cycle state"),
        demo_command,
        description=w.gettext(
            "Start a fresh server on a SQLite file in ./demo-data with demo stores and batches, "
            "print what to try, and serve until Ctrl-C."
        ),
    )
    demo.add_argument(
        "--port", type=int, default=8000, help=w.gettext("port of the demo server (default 8000)")
    )
    demo.add_argument(
        "--data-dir", default="demo-data", help=w.gettext("where the demo database lives (wiped at start)")
    )
    demo.add_argument(
        "--large-batch",
        type=int,
        default=1_000_000,
        metavar="N",
        help=w.gettext(
            "vouchers in the batch generated in the background (default {n})", n=w.number(1_000_000)
        ),
    )
    demo.add_argument(
        "--locale",
        help="the demo stores' locale, their tills' language: en, fr, de or es (default: none, English)",
    )


def serve_command(args: argparse.Namespace) -> int:
    import uvicorn

    from central.app import create_app
    from configfile import logs

    config = settings(args, host=args.host, port=args.port)
    if config.admin_token is None:
        words: Words = args.words
        print(
            words.gettext(
                "error: no admin token: set VOUCHER_ADMIN_TOKEN (or admin_token in the configuration file)."
            ),
            file=sys.stderr,
        )
        return 2
    _reachable(config.database_url)  # said in words here, not as a traceback from the app's start
    logs.setup(config.log_format, config.log_level)  # uvicorn's records too; its access log is ours
    app = create_app(config)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # SIGTERM, SIGINT: answer the tills waiting for a change now
            context = getattr(app.state, "context", None)
            if context is not None:
                context.changes.release_all()
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, host=config.host, port=config.port, log_config=None, access_log=False)).run()
    return 0


def _reachable(url: str) -> None:
    """Open the database once: SQLAlchemy's error (worded by main) when it cannot be."""
    from central.db.engine import Database

    db = Database(url)
    try:
        with db.engine.connect():
            pass
    finally:
        db.dispose()


def migrate_command(args: argparse.Namespace) -> int:
    from central.db.engine import Database
    from central.db.migrate import upgrade

    db = Database(settings(args).database_url)
    upgrade(db)
    db.dispose()
    words: Words = args.words
    print(
        words.gettext(
            "Schema up to date on {database}.", database=db.url.render_as_string(hide_password=True)
        )
    )
    return 0


def backup_command(args: argparse.Namespace) -> int:
    from central.services.backup import backup

    print(backup(settings(args).database_url, Path(args.file)).words())
    return 0


def demo_command(args: argparse.Namespace) -> int:
    from central.demo import run_demo

    return run_demo(Path(args.data_dir), args.port, args.large_batch, args.locale)
