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
from vouchers.wording import N_, Said, said

UNREADABLE = N_("Local database unreadable")
MISSING = N_("Local database missing")


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


def advice(path: Path) -> Said:
    """What to do about a damaged file, by which file it is."""
    if path.name.startswith("journal.db"):
        return said(
            "Keep the file (head office may need it): move it aside, e.g. to journal.db.damaged, then restart "
            "the kiosk, which starts a new journal; the sync agent has pushed what it could read."
        )
    if path.name.startswith("replica.db"):
        return said(
            "The sync agent moves it aside and rebuilds it from head office when it meets the damage; "
            "if this message stays, restart voucher-sync."
        )
    return said("Restore it from a backup, or ask head office.")


def damaged(path: Path, cause: str) -> DamagedFile:
    """SQLite finds `path` damaged: `cause` its words (the checks' findings, or its error)."""
    return DamagedFile(
        said(
            "{path}: the file is damaged ({cause}). {advice}",
            path=str(path),
            cause=cause,
            advice=advice(path),
        )
    )


def translate(exc: BaseException, path: Path, doing: str | Said = "") -> LocalDatabaseError:
    """The error in words, naming the file and what to do (the cause is kept for the log, and in
    the words as the system said it). `doing`: what could not be done, said(...) for people."""
    if isinstance(exc, LocalDatabaseError):
        return exc
    cause = " ".join(str(exc).split()) or type(exc).__name__
    facts: dict[str, object] = {"path": str(path), "cause": cause, "folder": str(path.parent)}
    if doing:
        facts["doing"] = doing

    def told(plain: str, with_doing: str) -> Said:
        return Said(with_doing if doing else plain, facts)

    if is_full(exc) or (_is_io_error(exc) and _no_space(path)):
        return DiskFull(
            told(
                N_(
                    "{path}: no space left on the disk ({cause}). Free some space in {folder}; it works again by itself."
                ),
                N_(
                    "{path}: {doing}: no space left on the disk ({cause}). Free some space in {folder}; it works "
                    "again by itself."
                ),
            )
        )
    if is_damaged(exc):
        facts["advice"] = advice(path)
        return DamagedFile(
            told(
                N_("{path}: the file is damaged ({cause}). {advice}"),
                N_("{path}: {doing}: the file is damaged ({cause}). {advice}"),
            )
        )
    if isinstance(exc, PermissionError):
        return LocalDatabaseError(
            told(
                N_(
                    "{path}: permission denied ({cause}). Run this as the user that owns {folder} (on a store "
                    "host: runuser -u voucher -- ...)."
                ),
                N_(
                    "{path}: {doing}: permission denied ({cause}). Run this as the user that owns {folder} (on "
                    "a store host: runuser -u voucher -- ...)."
                ),
            ),
            title=UNREADABLE,
        )
    return LocalDatabaseError(told(N_("{path}: {cause}"), N_("{path}: {doing}: {cause}")), title=UNREADABLE)
