"""Errors of the store host's local files, and the one place foreign errors become words.

SQLite and the operating system say "database or disk is full", "file is not a database" or
"Permission denied"; `translate` turns each into a LocalDatabaseError that says, in one line,
what is wrong with which file and what to do:

    LocalDatabaseError          the file cannot be used (missing, locked, no permission, ...)
    ├── DiskFull                no space left: free some, and it works again by itself
    └── DamagedFile             SQLite finds the file damaged (not a database, malformed)
    NotEnrolled                 no device.json, or one that cannot be read: enrol the till
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from vouchers.errors import VoucherError


class LocalDatabaseError(VoucherError):
    slug = "local-database"
    title = "Local database problem"


class DiskFull(LocalDatabaseError):
    slug = "disk-full"
    title = "The disk is full"


class DamagedFile(LocalDatabaseError):
    slug = "damaged-file"
    title = "A till file is damaged"


class NotEnrolled(VoucherError):
    slug = "not-enrolled"
    title = "Device not enrolled"


def _chain(exc: BaseException | None):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def _sqlite_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF  # the primary code of an extended one


def is_full(exc: BaseException) -> bool:
    """No space left on the device, said by SQLite or by the operating system."""
    for e in _chain(exc):
        if isinstance(e, DiskFull) or (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)):
            return True
        if isinstance(e, sqlite3.Error) and (
            _sqlite_code(e) == sqlite3.SQLITE_FULL or "disk is full" in str(e)
        ):
            return True
    return False


def is_damaged(exc: BaseException) -> bool:
    """SQLite finds the file damaged: not a database, or its pages malformed."""
    for e in _chain(exc):
        if isinstance(e, DamagedFile):
            return True
        if isinstance(e, sqlite3.Error) and (
            _sqlite_code(e) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
            or "malformed" in str(e)
            or "not a database" in str(e)
        ):
            return True
    return False


def _is_io_error(exc: BaseException) -> bool:
    return any(
        isinstance(e, sqlite3.Error) and _sqlite_code(e) in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN)
        for e in _chain(exc)
    )


def _no_space(path: Path) -> bool:
    """SQLite says "disk I/O error" or "unable to open database file" when its -shm or -wal cannot
    be made or grown: a full disk, if the disk says it has no space left."""
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except OSError:
        return False


def advice(path: Path) -> str:
    """What to do about a damaged file, by which file it is."""
    if path.name.startswith("journal.db"):
        return (
            "Keep the file (head office may need it): move it aside, e.g. to journal.db.damaged, then restart "
            "the kiosk, which starts a new journal; the sync agent has pushed what it could read."
        )
    if path.name.startswith("replica.db"):
        return (
            "The sync agent moves it aside and rebuilds it from head office when it meets the damage; "
            "if this message stays, restart voucher-sync."
        )
    return "Restore it from a backup, or ask head office."


def translate(exc: BaseException, path: Path, doing: str = "") -> LocalDatabaseError:
    """The error in words, naming the file and what to do (the cause is kept for the log)."""
    if isinstance(exc, LocalDatabaseError):
        return exc
    what = f"{path}: {doing + ': ' if doing else ''}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if is_full(exc) or (_is_io_error(exc) and _no_space(path)):
        return DiskFull(
            f"{what}no space left on the disk ({text}). Free some space in {path.parent}; "
            "it works again by itself."
        )
    if is_damaged(exc):
        return DamagedFile(f"{what}the file is damaged ({text}). {advice(path)}")
    if isinstance(exc, PermissionError):
        return LocalDatabaseError(
            f"{what}permission denied ({text}). Run this as the user that owns "
            f"{path.parent} (on a store host: runuser -u voucher -- ...).",
            title="Local database unreadable",
        )
    return LocalDatabaseError(f"{what}{text}", title="Local database unreadable")
