"""The README's first command as a new user meets it: `scripts/demo` (what `make demo` runs after
set-up) in a real terminal. Every code it prints gives the verdict printed beside it at the
till, and quitting the kiosk stops everything the demo started. With DEMO_TILLS=2, the shop's two
tills behind its hub: a code redeemed at one is refused at the other, with head office stopped too,
and head office gets both once it is back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harness import HeadOffice, free_port, wait_for
from harness.terminal import TmuxTerminal
from localdb.connect import open_reader
from localdb.till import Till
from vouchers.codes import code_hash, format_code, normalise
from vouchers.verdict import VOUCHER_VERDICTS, Verdict, decide
from words.verdicts import REASONS

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
        # each code its own picture: an unclaimed code's does not overwrite the unknown one's
        assert (data / "barcodes" / "unknown-unclaimed-qr.png").is_file()
        assert (data / "barcodes" / "unknown-qr.png").is_file()

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


class Panes:
    """The two-till demo's own tmux server (DEMO_TMUX_SOCKET): each pane read and typed into by its
    id, which the demo writes to demo-data/demo-panes.json."""

    def __init__(self, socket_name: str) -> None:
        self.socket = socket_name

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-u", "-L", self.socket, *args], capture_output=True, text=True, timeout=30, check=False
        )
        return done.stdout

    def screen(self, pane: str) -> str:
        return self._tmux("capture-pane", "-p", "-J", "-t", pane)

    def type(self, pane: str, text: str) -> None:
        self._tmux("send-keys", "-t", pane, "-l", text)
        self._tmux("send-keys", "-t", pane, "Enter")

    def press(self, pane: str, *keys: str) -> None:
        self._tmux("send-keys", "-t", pane, *keys)

    def wait(self, pane: str, condition, timeout: float, what: str) -> str:
        last = {"screen": ""}

        def seen() -> bool:
            last["screen"] = self.screen(pane)
            return condition(last["screen"])

        try:
            wait_for(seen, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last screen:\n{last['screen']}") from None
        return last["screen"]

    def close(self) -> None:
        self._tmux("kill-server")


def _till_verdict(till: Path, code: str) -> Verdict | None:
    """What the till would answer for `code` from its replica as it is now (kiosk/service.py's lookup
    and `decide`), None while it has no replica yet."""
    try:
        conn = open_reader(till / "replica.db")
    except Exception:
        return None
    try:
        view = Till(conn, None)
        key = bytes.fromhex(json.loads((till / "device.json").read_text())["code_hash_key"])
        found = view.lookup(code_hash(normalise(code), key))
        store_id, tz = view.store()
        return decide(
            found.voucher if found else None,
            found.batch if found else None,
            store_id or "",
            datetime.now(UTC),
            tz,
        )
    finally:
        conn.close()


def _device_id(till: Path) -> str:
    device_id: str = json.loads((till / "device.json").read_text())["device_id"]
    return device_id


@pytest.mark.skipif(shutil.which("voucher-hub", path=str(ROOT / ".venv" / "bin")) is None, reason="no hub")
def test_two_tills_behind_the_hub_refuse_each_others_codes_with_head_office_stopped(tmp_path):
    port, hub_port, data = free_port(), free_port(), tmp_path / "demo-data"
    inner = f"voucher-demo-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    terminal = TmuxTerminal(tmp_path, width=220, height=60)
    shop = Panes(inner)
    env = {
        "PORT": str(port),
        "DEMO_TILLS": "2",
        "DEMO_HUB_PORT": str(hub_port),
        "DEMO_TMUX_SOCKET": inner,
        "DEMO_DATA": str(data),
        "DEMO_LOGS": str(tmp_path),
        "DEMO_LARGE_BATCH": "3000",
        "PATH": os.environ["PATH"],
        "TERM": "xterm-256color",
        "HOME": str(tmp_path),
    }
    used = " ".join(REASONS[Verdict.ALREADY_USED].split())

    def accepted(code: str):
        return lambda s: "ACCEPTED" in s and format_code(code.replace("-", "")) in s

    def refused(code: str):
        return lambda s: (
            "REFUSED" in s and used in " ".join(s.split()) and format_code(code.replace("-", "")) in s
        )

    def started() -> bool:
        assert terminal.alive(), f"the demo ended:\n{terminal.screen()}"
        return (data / "demo-panes.json").exists()

    try:
        terminal.start([str(ROOT / "scripts" / "demo")], env)
        # seeding, the hub and two first pulls on a loaded machine
        wait_for(started, 2 * DEADLINE, "the demo's panes")
        panes = json.loads((data / "demo-panes.json").read_text())["panes"]
        control, till1, till2 = panes["control"], panes["till-1"], panes["till-2"]
        first, second = (line.split("\t")[1] for line in (data / "shop-codes.tsv").read_text().splitlines())
        words = shop.wait(control, lambda s: "Enter: stop it" in s, DEADLINE, "the control pane's prompt")
        assert f"type  {first}  and Enter" in words and f"type  {second} " in words
        for pane in (till1, till2):
            shop.wait(
                pane, lambda s: "Scan or type a voucher code" in s and "synced" in s, DEADLINE, "a till"
            )

        shop.type(till1, first)  # 1. at till 1: ACCEPTED
        shop.wait(till1, accepted(first), 30, "ACCEPTED at till 1")
        # 2. the hub tells till 2, which refuses it (the newcomer types it a moment later)
        wait_for(lambda: _till_verdict(data / "till-2", first) is Verdict.ALREADY_USED, 30, "till 2 told")
        shop.type(till2, first)
        shop.wait(till2, refused(first), 30, "REFUSED at till 2")
        for pane in (till1, till2):
            shop.press(pane, "Escape")
            # read before anything else is typed: an Escape still unread when the next code's keys
            # arrive is read with its first key as Alt+key, and the code loses a character
            shop.wait(pane, lambda s: "Scan a voucher, or type its code" in s, 30, "the till cleared")

        shop.press(control, "Enter")  # 3. head office stops
        shop.wait(control, lambda s: "[head office STOPPED]" in s, 60, "head office stopped")
        assert not _listening(port)
        shop.type(till2, second)
        shop.wait(till2, accepted(second), 30, "ACCEPTED at till 2, head office down")
        wait_for(lambda: _till_verdict(data / "till-1", second) is Verdict.ALREADY_USED, 30, "till 1 told")
        shop.type(till1, second)
        shop.wait(till1, refused(second), 30, "REFUSED at till 1, head office down")

        shop.press(control, "Enter")  # 4. head office again: the hub hands it both redemptions
        shop.wait(
            control, lambda s: "Head office has the shop's redemptions" in s, 180, "the redemptions at HO"
        )
        with HeadOffice(f"http://127.0.0.1:{port}", (data / "api-token").read_text().strip()) as office:
            assert office.voucher(first)["redemption"]["device_id"] == _device_id(data / "till-1")
            assert office.voucher(second)["redemption"]["device_id"] == _device_id(data / "till-2")

        assert "Till demo-till-1" in shop.screen(till1)
        shop.press(till1, "C-q")  # the end: Ctrl+Q at a till stops everything
        terminal.wait_exited(DEADLINE)
        assert "till 1 quit" in terminal.screen()
        wait_for(
            lambda: not _listening(port) and not _listening(hub_port), 30, "head office and the hub stopped"
        )
        wait_for(lambda: not _running(f"voucher-sync run --data-dir {data}"), 30, "the sync agents stopped")
        wait_for(lambda: not _running(f"voucher-kiosk run --data-dir {data}"), 30, "the kiosks stopped")
    finally:
        terminal.close()
        shop.close()
