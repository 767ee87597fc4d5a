"""Whole-system runs: read-only looks into the till's files as the programs leave them (the
kiosk's real terminal is harness.terminal.TmuxTerminal)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only look at a till's SQLite file while its writer keeps running."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


def query(path: Path, sql: str, *params) -> list[sqlite3.Row]:
    if not path.exists():
        return []
    conn = read_only(path)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # the writer has not made its tables yet
        return []
    finally:
        conn.close()
