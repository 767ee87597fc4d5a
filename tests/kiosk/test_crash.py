"""An error that stops the till: its exit status is not 0, the screen gets one line in words, and
under systemd the journal gets that line and the traceback at priority err.

The process tests stand in for systemd exactly as it wires the kiosk's unit
(support/under_systemd.py).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.kiosk_files import CODES, make_settings
from support.under_systemd import run_as_under_systemd, screen_lines
from textual.css.errors import StylesheetError

from harness import wait_for
from harness.terminal import TmuxTerminal
from kiosk.app import Kiosk, KioskApp

KIOSK = [str(Path(sys.executable).with_name("voucher-kiosk"))]


def test_an_error_at_start_is_one_line_on_the_tty_and_a_traceback_at_priority_err_in_the_journal(tmp_path):
    code, screen, journal = run_as_under_systemd(
        [*KIOSK, "run", "--data-dir", str(tmp_path)], dict(os.environ)
    )
    assert code == 1
    lines = screen_lines(screen)
    assert len(lines) == 1, screen
    assert lines[0].startswith("voucher-kiosk cannot start: ") and "voucher-sync enrol" in lines[0], lines[0]
    assert "journalctl -u voucher-kiosk" in lines[0] and "Traceback" not in screen
    journal_lines = journal.splitlines()
    assert journal_lines and all(line.startswith("<3>") for line in journal_lines), journal
    assert journal_lines[0].startswith("<3>voucher-kiosk cannot start: ")
    assert "<3>Traceback (most recent call last):" in journal_lines and "NotEnrolled" in journal


def test_in_a_terminal_an_error_at_start_is_one_line_and_no_traceback(tmp_path):
    make_settings(tmp_path)
    (tmp_path / "device.json").write_text('{"server": "http://x", "device_id"')  # cut short
    proc = subprocess.run(
        [*KIOSK, "run", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"},
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("voucher-kiosk cannot start: ")


def test_the_line_at_start_is_in_the_store_s_language(tmp_path):
    """The till's language (here the store's locale from head office) words the one line."""
    make_settings(tmp_path, locale="fr")
    (tmp_path / "device.json").write_text('{"server": "http://x", "device_id"')  # cut short
    proc = subprocess.run(
        [*KIOSK, "run", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"},
    )
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("voucher-kiosk ne peut pas démarrer\u00a0: "), proc.stderr
    assert "device.json" in proc.stderr and "damaged" in proc.stderr


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


def test_under_systemd_the_screen_is_drawn_on_the_tty_and_the_journal_gets_no_drawing(tmp_path):
    """The everyday case of the unit's wiring: with standard error the journal, Textual's drawing
    is moved to the terminal, a scan gets its verdict there, and Ctrl+Q exits 0."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    make_settings(tmp_path)
    journal, exit_file = tmp_path / "journal-stream", tmp_path / "exit"
    journal.touch()
    stat = os.stat(journal)
    script = (
        f"{shlex.join([*KIOSK, 'run', '--data-dir', str(tmp_path)])} 2>>{shlex.quote(str(journal))}; "
        f"echo EXIT=$? > {shlex.quote(str(exit_file))}"
    )
    terminal = TmuxTerminal(tmp_path)
    try:
        terminal.start(
            ["sh", "-c", script],
            {
                "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}",
                "LANG": "C.UTF-8",
                "VOUCHER_KIOSK_BELL": "false",
                "VOUCHER_KIOSK_ALLOW_QUIT": "true",  # a till's screen is not quit by hand otherwise
            },
        )
        terminal.wait_screen(lambda s: "Scan or type a voucher code" in s, 60, "the scan screen on the tty")
        terminal.type(CODES[0])
        terminal.wait_screen(lambda s: "ACCEPTED" in s, 30, "the verdict")
        terminal.press("C-q")
        wait_for(lambda: exit_file.exists() and exit_file.read_text().strip(), 30, "the kiosk's exit")
    finally:
        terminal.close()
    assert exit_file.read_text().strip() == "EXIT=0"
    assert journal.read_bytes() == b""  # nothing was drawn into the journal
