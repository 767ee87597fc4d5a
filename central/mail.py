"""Mail from head office (members' sign-in links and codes), through a real SMTP server.

Settings name the server: `smtp_host`, `smtp_port`, `smtp_security` (starttls: plain connection
upgraded with STARTTLS, the usual port 587; tls: TLS from the first byte, port 465; none: only for
a server on this host, such as the demo's), `smtp_user` and `smtp_password` (a secret: under
systemd the credential `smtp_password`). Without `smtp_host` nothing can be sent, and members
cannot sign in: the page says so."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from central.settings import CentralSettings
from vouchers.errors import VoucherError


class MailNotSent(VoucherError):
    slug = "mail-not-sent"
    title = "The mail could not be sent"


def send(settings: CentralSettings, to: str, subject: str, text: str, language: str | None = None) -> None:
    """Send one plain-text mail (`language`: what it is written in, its Content-Language); MailNotSent
    (in words, without the server's secrets) when it fails."""
    if not settings.smtp_host:
        raise MailNotSent(
            "This server has no mail server configured (smtp_host), so it cannot send sign-in "
            "links. Ask the shop, or try again later."
        )
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message.set_content(text)
    if language:  # after the content: setting it clears the Content-* headers
        message["Content-Language"] = language
    try:
        with _connect(settings, settings.smtp_host) as smtp:
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(
            f"The mail server did not take the message ({type(exc).__name__}). Try again in a few minutes."
        ) from None


def _connect(settings: CentralSettings, host: str) -> smtplib.SMTP:
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security == "tls":
        return smtplib.SMTP_SSL(
            host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    smtp = smtplib.SMTP(host, settings.smtp_port, timeout=timeout)
    if settings.smtp_security == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp
