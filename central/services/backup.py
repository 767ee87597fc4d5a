"""`voucher-central backup FILE`: a copy of a SQLite database taken while the server runs.

SQLite's online backup API copies the database as of one moment (the last commit before the copy
began; in WAL mode writers carry on meanwhile) into a new file beside FILE, made 0600. The copy is
then opened and checked (integrity_check, and its schema revision is the one the database had)
before it takes FILE's name, so FILE is either the old file or a checked copy, never half of one.
PostgreSQL is backed up with its own tools (pg_dump -Fc; README.md, "Operations").
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from central.db import revisions
from vouchers.errors import VoucherError
from vouchers.wording import N_, Said, said


class BackupError(VoucherError):
    slug = "backup"
    title = "Backup not made"


@dataclass(frozen=True)
class Backup:
    source: Path
    target: Path
    bytes: int
    revision: str
    seconds: float

    def words(self) -> str:
        known = (
            "the newest this program knows"
            if self.revision == revisions.head()
            else (f"this program's newest is {revisions.head()}")
        )
        return (
            f"Backed up {self.source} to {self.target} ({self.bytes:,} bytes, {self.seconds:.1f} s): "
            f"integrity check ok, schema revision {self.revision} ({known})."
        )


def sqlite_file(database_url: str) -> Path:
    """The file of a SQLite URL; a PostgreSQL (or any other) URL is refused in words."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise BackupError(said("'{url}' is not a database URL.", url=database_url)) from None
    if url.get_backend_name() == "postgresql":
        raise BackupError(
            said(
                "The database is PostgreSQL: back it up with PostgreSQL's own tools, e.g. pg_dump -Fc -f "
                "vouchers.dump {database} (README.md, \"Operations\"). 'voucher-central backup' copies SQLite "
                "databases only.",
                database=url.database or "DBNAME",
            )
        )
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            said(
                "'voucher-central backup' copies SQLite databases only, not {kind}.",
                kind=url.get_backend_name(),
            )
        )
    if not url.database or url.database == ":memory:":
        raise BackupError(said("The database is in memory: there is no file to back up."))
    return Path(url.database)


def _revision(conn: sqlite3.Connection, what: Said) -> str:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(
            said(
                "{what} has no schema revision ({cause}): is it a voucher-central database?",
                what=what,
                cause=str(exc),
            )
        ) from None
    if row is None:
        raise BackupError(said("{what} has no schema revision: it was never migrated.", what=what))
    return row[0]


def _new_private_file(path: Path, target: Path) -> None:
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise BackupError(
            said(
                "Cannot write the backup {target}: {cause} ({folder}).",
                target=str(target),
                cause=exc.strerror or str(exc),
                folder=str(path.parent),
            )
        ) from None


def _check_target(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(said("There is no database at {path}.", path=str(source)))
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(
            said("{path} is the database itself: give the backup another name.", path=str(target))
        )
    if target.is_dir():
        raise BackupError(
            said(
                "{path} is a directory: give the backup's file name, e.g. {example}.",
                path=str(target),
                example=str(target / "central.db"),
            )
        )
    if not target.parent.is_dir():
        message = (
            N_("Cannot write the backup {target}: {folder} is not a directory.")
            if target.parent.exists()
            else N_("Cannot write the backup {target}: {folder} does not exist.")
        )
        raise BackupError(Said(message, {"target": str(target), "folder": str(target.parent)}))


def verify(path: Path, revision: str) -> None:
    """Open the copy and check it whole: integrity_check says ok, and its revision is `revision`."""
    with closing(sqlite3.connect(path)) as conn:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(
                said("The copy failed its integrity check: {problems}.", problems="; ".join(problems[:5]))
            )
        copied = _revision(conn, said("The copy"))
    if copied != revision:
        raise BackupError(
            said(
                "The copy is at schema revision {copied}, the database at {revision}: the schema changed during "
                "the backup (a migration?). Run the backup again.",
                copied=copied,
                revision=revision,
            )
        )


def backup(database_url: str, target: Path) -> Backup:
    """Copy the SQLite database of `database_url` to `target` (replaced only by a checked copy)."""
    source = sqlite_file(database_url)
    target = target.absolute()
    _check_target(source, target)
    started = time.monotonic()
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    _new_private_file(partial, target)
    try:
        try:
            with closing(
                sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            ) as src:
                revision = _revision(src, said("The database {path}", path=str(source)))
                with closing(sqlite3.connect(partial)) as copy:
                    src.backup(copy)  # in one step: the database as of one commit
        except sqlite3.Error as exc:
            raise BackupError(
                said("The backup of {path} failed: {cause}.", path=str(source), cause=str(exc))
            ) from None
        verify(partial, revision)
        os.replace(partial, target)
    finally:
        for leftover in (
            partial,
            partial.with_name(partial.name + "-wal"),
            partial.with_name(partial.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
    _sync_directory(target.parent)
    return Backup(source, target, target.stat().st_size, revision, time.monotonic() - started)


def _sync_directory(directory: Path) -> None:
    """The new name on disk too, not only the file's pages."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
