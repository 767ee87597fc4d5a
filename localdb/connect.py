"""Opening the store host's SQLite files: one writing process per file, readers read-only.

The writer opens with WAL, a busy timeout and the file's migrations; the other program opens
the same file read-only, so no write of one program ever waits on the other. The files hold
the store's voucher snapshot and the till's redemptions: the directory is made 0700 and each
database 0600 before SQLite first opens it (SQLite gives its -wal and -shm the same mode).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from localdb.errors import MISSING, LocalDatabaseError, damaged, translate
from vouchers.wording import said

# A migration is its SQL, or a function that writes the SQL from the file's schema as it is
# (for a table rebuild that must keep every column earlier migrations added).
Migration = tuple[int, "str | Callable[[sqlite3.Connection], str]"]


def open_writer(
    path: Path, migrations: list[Migration], *, synchronous: str = "FULL", check: bool = False
) -> sqlite3.Connection:
    """The one writing connection of a file: WAL, FULL or NORMAL sync, migrated to the newest version.
    With `check`, an existing file is checked (quick_check) before anything is written to it, so a
    damaged one is refused (DamagedFile) rather than migrated; errors come as localdb.errors says."""
    conn = None
    try:
        private_dir(path.parent)
        private_file(path)
        conn = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        if check and path.stat().st_size > 0:
            result = conn.execute("PRAGMA quick_check(5)").fetchall()
            if [r[0] for r in result] != ["ok"]:
                raise damaged(path, "; ".join(r[0] for r in result)[:300])
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn, migrations)
    except (sqlite3.DatabaseError, OSError, LocalDatabaseError) as exc:
        if conn is not None:
            conn.close()
        raise translate(exc, path) from exc
    return conn


def private_dir(path: Path) -> None:
    """Create the till's directory 0700 (its parents as the umask says). A directory that exists
    already is left as whoever made it chose (systemd's StateDirectoryMode, the install guide)."""
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # mkdir's mode passes through the umask


def private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (it would make it 0644 under a 0022
    umask), and bring an existing one and its -wal and -shm to 0600 (tills installed before
    this); the -wal and -shm SQLite creates later take the main file's mode."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        try:
            os.chmod(path.with_name(path.name + suffix), 0o600)
        except FileNotFoundError:
            pass


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection to the other program's file."""
    if not path.exists():
        raise LocalDatabaseError(said("{path} does not exist yet.", path=str(path)), title=MISSING)
    conn = sqlite3.connect(
        f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=30, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, begun IMMEDIATE so it never fails half-way for a lock."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")  # may fail too (a full disk): then nothing was written
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL does)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error that brought us here is the one to report
        raise


@contextmanager
def read(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One consistent read (a snapshot of the file while the writer goes on)."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, migrations: list[Migration]) -> None:
    """Apply each migration not yet recorded in `_migrations`, each in its own transaction."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM _migrations")}
    for version, script in migrations:
        if version in done:
            continue
        if callable(script):
            script = script(conn)
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script};\n"
                f"INSERT INTO _migrations VALUES ({int(version)}, '{now_iso()}');\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """The file (or one attached to it: pushed.db beside replica.db) has this table; False while
    the other program is still creating it."""
    return (
        conn.execute("SELECT 1 FROM pragma_table_list WHERE type = 'table' AND name = ?", (name,)).fetchone()
        is not None
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat()
