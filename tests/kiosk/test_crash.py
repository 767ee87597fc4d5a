"""An error that stops the till: its exit status is not 0, the screen gets one line in words, and
under systemd the journal gets that line and the traceback at priority err.

The process tests stand in for systemd exactly as it wires the kiosk's unit: standard output a
terminal (a pty here, tty1 there), standard error a stream announced in $JOURNAL_STREAM as its
device:inode (a pipe here, journald's socket there).
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.css.errors import StylesheetError

from kiosk.app import Kiosk, KioskApp
from support.kiosk_files import make_settings

KIOSK = [str(Path(sys.executable).with_name("voucher-kiosk"))]


def _read_all(fd: int, deadline: float) -> bytes:
    """Everything written to `fd` until every writer closed it (or the deadline passed)."""
    out = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # a pty's master reads EIO once the slave side is closed
            break
        if not chunk:
            break
        out += chunk
    return out


def _run_as_under_systemd(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """(exit status, what the terminal showed, what reached the 'journal')."""
    master, slave = pty.openpty()
    journal_read, journal_write = os.pipe()
    stat = os.fstat(journal_write)
    env = {**env, "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}", "TERM": "linux"}
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=journal_write, env=env, close_fds=True)
    os.close(slave)
    os.close(journal_write)
    deadline = time.monotonic() + 60
    try:
        journal = _read_all(journal_read, deadline)
        screen = _read_all(master, deadline)
        code = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(journal_read)
    return code, screen.decode(errors="replace"), journal.decode(errors="replace")


def test_an_error_at_start_is_one_line_on_the_tty_and_a_traceback_at_priority_err_in_the_journal(tmp_path):
    code, screen, journal = _run_as_under_systemd([*KIOSK, "run", "--data-dir", str(tmp_path)], dict(os.environ))
    assert code == 1
    lines = [line for line in screen.replace("\r", "").splitlines() if line.strip()]
    assert len(lines) == 1, screen
    assert lines[0].startswith("voucher-kiosk cannot start: ") and "voucher-sync enrol" in lines[0], lines[0]
    assert "journalctl -u voucher-kiosk" in lines[0] and "Traceback" not in screen
    journal_lines = journal.splitlines()
    assert journal_lines and all(line.startswith("<3>") for line in journal_lines), journal
    assert journal_lines[0].startswith("<3>voucher-kiosk cannot start: ")
    assert "<3>Traceback (most recent call last):" in journal_lines and "NotEnrolled" in journal


def test_in_a_terminal_an_error_at_start_is_one_line_and_no_traceback(tmp_path):
    make_settings(tmp_path)
    (tmp_path / "journal.db").write_bytes(b"this is not a database" * 100)
    proc = subprocess.run([*KIOSK, "run", "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"})
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("voucher-kiosk cannot start: Local database unreadable: ")
    assert "journal.db" in proc.stderr


@pytest.mark.anyio
async def test_an_error_inside_the_app_stops_it_with_status_1_and_is_kept_for_the_report(tmp_path):
    class WithoutItsStylesheet(KioskApp):  # as when app.tcss is missing from an installed wheel
        CSS_PATH = str(tmp_path / "missing.tcss")

    app = WithoutItsStylesheet(Kiosk(make_settings(tmp_path)))
    with pytest.raises(StylesheetError):
        async with app.run_test():
            pass
    assert isinstance(app.error, StylesheetError) and not app.started
    assert app.return_code == 1
    assert app._exit_renderables == []  # Textual's own traceback is not drawn on the cashier's screen
