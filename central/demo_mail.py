"""The demo's mail server: a real SMTP server (aiosmtpd) on loopback that keeps every message it
receives, in memory and, for the demo, as .eml files in a folder, so that a member signing in on
the demo finds the link and code there. The tests read members' mail from it too.

aiosmtpd is in the dev install (what `make demo` and `make test` set up), not in the 'central'
extra: a production server sends through the shop's own mail server (central/mail.py)."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    language: str = ""  # its Content-Language

    @property
    def link(self) -> str | None:
        """The sign-in link in a member's mail."""
        found = re.search(r"https?://\S+/my/sign-in/link/\S+", self.text)
        return found.group(0) if found else None

    @property
    def code(self) -> str | None:
        # every language's sign-in mail ends the code's line with ": 123456"
        found = re.search(r"(?m):\s*(\d{6})\s*$", self.text)
        return found.group(1) if found else None


class MailKeeper:
    """An aiosmtpd handler that keeps what it receives (and writes it to `folder`, if given)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.mails: list[Mail] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("plain",))
        mail = Mail(
            to=", ".join(envelope.rcpt_tos),
            subject=str(message["Subject"] or ""),
            text=body.get_content() if body is not None else "",
            language=str(message["Content-Language"] or ""),
        )
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w.@-]+", "_", mail.to)[:80]
            (self.folder / f"{len(self.mails) + 1:04d}-{name}.eml").write_bytes(envelope.content)
        with self._arrived:
            self.mails.append(mail)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def last_to(self, address: str, timeout: float = 10) -> Mail:
        """The newest mail to this address, waiting for it to arrive (at most `timeout` seconds)."""

        def found() -> Mail | None:
            return next((m for m in reversed(self.mails) if address.casefold() in m.to.casefold()), None)

        with self._arrived:
            mail = self._arrived.wait_for(found, timeout)  # the predicate's last answer
            if mail is None:
                raise AssertionError(f"no mail to {address} within {timeout} s")
            return mail

    def to(self, address: str) -> list[Mail]:
        with self._arrived:
            return [m for m in self.mails if address.casefold() in m.to.casefold()]


class MailServer:
    """A real SMTP server on 127.0.0.1, in a thread of its own, until stop()."""

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self.keeper = MailKeeper(folder)
        self.port = port or _free_port()
        self._controller = Controller(self.keeper, hostname="127.0.0.1", port=self.port)

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def settings(self) -> dict[str, object]:
        """The server settings (central/settings.py) that send to this mail server."""
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
            "mail_from": "vouchers@demo.example",
        }

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
