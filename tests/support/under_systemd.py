"""A program run as systemd runs the kiosk's unit: standard output a terminal (a pty here, tty1
there), standard error a stream announced in $JOURNAL_STREAM as its device:inode (a pipe here,
journald's socket there)."""

from __future__ import annotations

import os
import pty
import select
import time

from harness import spawn


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


def run_as_under_systemd(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    """(exit status, what the terminal showed, what reached the 'journal')."""
    master, slave = pty.openpty()
    journal_read, journal_write = os.pipe()
    stat = os.fstat(journal_write)
    env = {**env, "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}", "TERM": "linux"}
    # our session (the pty is the program's terminal, as tty1 is there); it dies with the test run
    proc = spawn(args, stdin=slave, stdout=slave, stderr=journal_write, env=env, new_session=False)
    os.close(slave)
    os.close(journal_write)
    deadline = time.monotonic() + timeout
    try:
        journal = _read_all(journal_read, deadline)
        screen = _read_all(master, deadline)
        code = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(journal_read)
    return code, screen.decode(errors="replace"), journal.decode(errors="replace")


def screen_lines(screen: str) -> list[str]:
    return [line for line in screen.replace("\r", "").splitlines() if line.strip()]
