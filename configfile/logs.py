"""Log lines with levels the journal keeps, or JSON lines, for every program.

Under systemd, standard error is a stream to the journal, which systemd announces in
$JOURNAL_STREAM (the stream's device:inode). A line that starts with "<N>" is recorded at syslog
priority N (SyslogLevelPrefix=, on by default), so `journalctl -p warning` finds warnings and
worse. Elsewhere (a terminal, a file) a line starts with its level in words instead. With the
JSON format every record is one JSON object on one line (time, level, logger, message, and the
traceback as one string), without the prefix, for a log shipper that reads the stream itself.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]

# syslog priorities (sd-daemon.h): emerg 0 … debug 7
PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


def priority(levelno: int) -> int:
    """The syslog priority of a logging level (a level between two takes the more urgent one)."""
    return next((p for level, p in sorted(PRIORITY.items()) if levelno <= level), 2)


def prefix(levelno: int) -> str:
    """'<3>' for ERROR: the prefix that makes the journal record a line at that priority."""
    return f"<{priority(levelno)}>"


def is_journal_stream(fd: int = 2) -> bool:
    """Whether file descriptor `fd` is the journal stream systemd announced in $JOURNAL_STREAM."""
    announced = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in announced.split(":"))
        stat = os.fstat(fd)
    except (ValueError, OSError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


class JournalFormatter(logging.Formatter):
    """'<6>central.app: message', every line of a multi-line record (a traceback) prefixed, so
    the journal keeps each at the record's priority."""

    def format(self, record: logging.LogRecord) -> str:
        mark = prefix(record.levelno)
        return "\n".join(mark + line for line in super().format(record).splitlines())


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "priority": priority(record.levelno),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def formatter(fmt: LogFormat, journal: bool) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    if journal:
        return JournalFormatter("%(name)s: %(message)s")
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def setup(fmt: LogFormat = "text", level: LogLevel = "info", stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records (the program's, the libraries') to standard error, or `stream`,
    in `fmt`; the journal's priority prefix when standard error is the journal stream. Returns
    the handler installed on the root logger (any handler installed before is replaced)."""
    target = stream or sys.stderr
    handler = logging.StreamHandler(target)
    handler.setFormatter(formatter(fmt, journal=stream is None and is_journal_stream(2)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # Python's warnings too, in the same format
    return handler
