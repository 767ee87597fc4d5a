"""sd_notify with the standard library: READY, STATUS, WATCHDOG, STOPPING."""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends to $NOTIFY_SOCKET when systemd gave one; does nothing otherwise."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self.address = ("\0" + address[1:]) if address and address.startswith("@") else address

    @property
    def watchdog_seconds(self) -> float | None:
        usec = os.environ.get("WATCHDOG_USEC")
        if not usec or not usec.isdigit():
            return None
        pid = os.environ.get("WATCHDOG_PID")
        if pid and pid.isdigit() and int(pid) != os.getpid():
            return None
        return int(usec) / 1_000_000

    def notify(self, *lines: str) -> None:
        if not self.address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto("\n".join(lines).encode(), self.address)
            except OSError:
                pass  # systemd gone (shutdown); nothing to tell

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.notify(f"STATUS={status}")

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")
