"""An error the till cannot carry on after: one line in words for whoever looks at the screen, the
traceback for whoever reads the journal.

Under systemd (systemd/voucher-kiosk.service) standard output is tty1 and standard error the
journal, which systemd announces in $JOURNAL_STREAM (the stream's device:inode). Textual draws on
standard error, so at start the kiosk keeps the journal stream aside and points standard error at
the tty. A line written to the journal stream with the prefix "<3>" is recorded at priority err
(systemd's SyslogLevelPrefix=, on by default). Without a journal (a terminal, a test), the
traceback is left out: the line in words says what happened.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TextIO

from configfile.logs import is_journal_stream
from kiosk import wording
from vouchers.errors import VoucherError
from words import Words

ERR = "<3>"


def journal_stream() -> TextIO | None:
    """The journal stream, when standard error is it; standard error then becomes the terminal on
    standard output, where the screen is drawn. None (nothing changed) otherwise."""
    if not is_journal_stream(2):
        return None
    journal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="backslashreplace")
    if os.isatty(1):
        sys.stderr.flush()
        os.dup2(1, 2)
    return journal


def in_words(error: BaseException) -> str:
    """What went wrong, in one line: the product's own errors say it themselves."""
    if isinstance(error, VoucherError):
        return str(error)
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text}"


def report(
    error: BaseException, journal: TextIO | None, *, starting: bool, words: Words | None = None
) -> None:
    """One line on standard error (the tty), in the till's `words` (None: English); the traceback
    to the journal at priority err, in English, for whoever reads the logs."""
    words = words or wording.english()
    said = in_words(error)
    if journal is None:
        line = (
            words.gettext("voucher-kiosk cannot start: {error}", error=said)
            if starting
            else words.gettext("voucher-kiosk stopped on an error: {error}", error=said)
        )
    else:
        line = (
            words.gettext(
                "voucher-kiosk cannot start: {error} (the traceback is in the journal: journalctl -u voucher-kiosk)",
                error=said,
            )
            if starting
            else words.gettext(
                "voucher-kiosk stopped on an error: {error} (the traceback is in the journal: journalctl -u "
                "voucher-kiosk)",
                error=said,
            )
        )
    print(line, file=sys.stderr, flush=True)
    if journal is None:
        return
    what = "cannot start" if starting else "stopped on an error"
    journal.write(f"{ERR}voucher-kiosk {what}: {said}\n")
    for chunk in traceback.format_exception(error):
        for line in chunk.splitlines():
            journal.write(f"{ERR}{line}\n")
    journal.flush()
