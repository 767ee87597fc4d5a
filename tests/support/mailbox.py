"""The members' mail in tests: a real SMTP server (aiosmtpd) on loopback, the demo's own
(central/demo_mail.py), whose messages a test reads; the server sends to it through smtplib."""

from __future__ import annotations

from central.demo_mail import Mail, MailKeeper, MailServer

__all__ = ["Mail", "MailKeeper", "MailServer"]
