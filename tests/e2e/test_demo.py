"""The README's first command as a new user meets it: `scripts/demo` (what `make demo` runs after
set-up) in a real terminal. Every code it prints gives the verdict printed beside it at the
till, and quitting the kiosk stops everything the demo started."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from harness import free_port, wait_for
from harness.terminal import TmuxTerminal
from vouchers.codes import format_code
from vouchers.verdict import REASONS, VOUCHER_VERDICTS, Verdict

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (the kiosk needs a real terminal)"
    ),
]

ROOT = Path(__file__).resolve().parents[2]
HEADLINES = {"accepted": "ACCEPTED", "refused": "REFUSED", "attention": "CHECK"}
DEADLINE = 120  # the demo seeds a dozen batches on a loaded 2-core machine


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _running(pattern: str) -> bool:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0


def test_every_printed_code_gives_its_verdict_and_quitting_stops_everything(tmp_path):
    port, data = free_port(), tmp_path / "demo-data"
    terminal = TmuxTerminal(tmp_path, width=140, height=50)
    env = {
        "PORT": str(port),
        "DEMO_DATA": str(data),
        "DEMO_LOGS": str(tmp_path),
        "DEMO_LARGE_BATCH": "3000",
        "PATH": os.environ["PATH"],
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
    }
    try:
        terminal.start([str(ROOT / "scripts" / "demo")], env)
        intro = terminal.wait_screen(
            lambda s: "Press Enter to open the till" in s, DEADLINE, "the demo's codes"
        )
        tries = [line.split("\t") for line in (data / "codes.tsv").read_text().splitlines()]
        printed = {verdict for verdict, _ in tries}
        assert {v.value for v in VOUCHER_VERDICTS} <= printed, f"a verdict without a code to try:\n{intro}"
        for verdict, code in tries:
            assert f"{verdict}  " in intro and code in intro  # the codes on screen are those in codes.tsv
        assert (data / "barcodes" / "accepted-qr.png").is_file() and any((data / "camera").iterdir())

        terminal.press("Enter")  # the till opens
        terminal.wait_screen(
            lambda s: "Scan or type a voucher code" in s and "synced" in s, DEADLINE, "the till"
        )
        for verdict, code in tries:
            expected = Verdict[verdict.split()[0]]
            reason = REASONS[expected][:30]
            terminal.type(code)
            terminal.wait_screen(
                lambda s, expected=expected, reason=reason, code=code: (
                    HEADLINES[expected.kind] in s
                    and reason in " ".join(s.split())
                    and (expected is Verdict.INVALID_CODE or format_code(code.replace("-", "")) in s)
                ),
                30,
                f"{verdict} for {code}",
            )
            terminal.press("Escape")  # ready for the next customer
            terminal.wait_screen(lambda s: "Scan a voucher, or type its code" in s, 30, "the cleared verdict")

        assert _listening(port) and _running(f"voucher-sync run --data-dir {data}")
        terminal.press("C-q")
        terminal.wait_exited(DEADLINE)
        wait_for(lambda: not _listening(port), 30, "head office stopped")
        wait_for(lambda: not _running(f"voucher-sync run --data-dir {data}"), 30, "the sync agent stopped")
    finally:
        terminal.close()
        subprocess.run(["pkill", "-f", f"--data-dir {data}"], capture_output=True)
