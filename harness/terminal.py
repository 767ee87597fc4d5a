"""The kiosk in a real terminal: tmux on a private socket, one window running a program, its
screen read with capture-pane and keys typed with send-keys, as a cashier or a wedge scanner
would. A tmux server daemonises, so it is no child of ours and a parent-death signal cannot
reach it: a Lifeline (harness/processes.py) kills it, and the program in it, if the run that
started it dies without closing it."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from harness.processes import Lifeline


class TmuxTerminal:
    """One tmux server of its own (`-L` socket), one window running a program; the screen is read
    with capture-pane and keys are typed with send-keys, as a cashier or a wedge scanner would."""

    def __init__(self, workdir: Path, *, width: int = 120, height: int = 40) -> None:
        self.socket = f"voucher-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height
        self.conf = workdir / "tmux.conf"
        # remain-on-exit: if the program dies, its last screen (a traceback) stays readable
        self.conf.write_text("set -g remain-on-exit on\nset -g history-limit 2000\n")
        self.pid: int | None = None
        self.socket_path: Path | None = None
        self.target = "kiosk:0.0"
        self.lifeline: Lifeline | None = None

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-u", "-L", self.socket, "-f", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=check,
        )

    def start(self, argv: list[str], env: dict[str, str]) -> TmuxTerminal:
        command = "exec env " + shlex.join([f"{k}={v}" for k, v in env.items()] + argv)
        self.lifeline = Lifeline(["tmux", "-L", self.socket, "kill-server"])
        try:
            self._tmux(
                "new-session", "-d", "-s", "kiosk", "-x", str(self.width), "-y", str(self.height), command
            )
            self.pid = int(self._pane("#{pane_pid}"))
            self.lifeline.watch(self.pid)
            self.socket_path = Path(self._pane("#{socket_path}"))
        except BaseException:
            self.close()
            raise
        return self

    def _pane(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", self.target, fmt).stdout.strip()

    def alive(self) -> bool:
        return self._pane("#{pane_dead}") == "0"

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.target).stdout

    def type(self, text: str, enter: bool = True) -> None:
        self._tmux("send-keys", "-t", self.target, "-l", text)
        if enter:
            self._tmux("send-keys", "-t", self.target, "Enter")

    def press(self, *keys: str) -> None:
        """Keys by tmux's names: Enter, Escape, C-q, F2 ..."""
        self._tmux("send-keys", "-t", self.target, *keys)

    def wait_screen(self, condition: Callable[[str], bool], timeout: float = 30, what: str = "screen") -> str:
        """The screen once `condition(screen)` holds; fails with the last screen shown."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if condition(text):
                return text
            if not self.alive():
                raise AssertionError(f"the program in the terminal exited while waiting for {what}:\n{text}")
            time.sleep(0.05)
        raise AssertionError(f"{what} not on screen within {timeout} s; last screen:\n{text}")

    def wait_exited(self, timeout: float = 15) -> None:
        """Until the program has ended (a zombie counts: tmux does not always reap it at once)."""
        assert _until(lambda: not self._running(), timeout), "the program did not exit"

    def _running(self) -> bool:
        state = subprocess.run(
            ["ps", "-o", "stat=", "-p", str(self.pid)], check=False, capture_output=True, text=True
        ).stdout
        return state.strip() != "" and not state.startswith("Z")

    def close(self) -> None:
        """Ctrl+Q (a clean quit), else SIGTERM, else SIGKILL; then the tmux server goes."""
        try:
            if self.pid is not None and self._alive_pid():
                self._tmux("send-keys", "-t", self.target, "C-q", check=False)
                if not _until(lambda: not self._alive_pid(), 5):
                    os.kill(self.pid, signal.SIGTERM)
                    if not _until(lambda: not self._alive_pid(), 5):
                        os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        finally:
            self._tmux("kill-server", check=False)
            if self.socket_path is not None:  # tmux leaves its socket file behind
                self.socket_path.unlink(missing_ok=True)
            if self.lifeline is not None:
                self.lifeline.release()

    def _alive_pid(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        # a zombie still answers kill(0); the pane's own view says whether it has exited
        return (
            self._tmux("display-message", "-p", "-t", self.target, "#{pane_dead}", check=False).stdout.strip()
            == "0"
        )


def _until(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
