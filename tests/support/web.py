"""Shared by the dashboard's browser tests: the browser's settings, the demo account, signing in."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from central.db.engine import Database
from central.demo_mail import MailKeeper
from support.api import Api

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
CHROMIUM = os.environ.get("VOUCHER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMAIL = "hq@example.com"
PASSWORD = "correct horse battery staple"


@dataclass
class DashboardServer:
    url: str
    db: Database
    api: Api
    app: object
    mail: MailKeeper | None = None  # what the server's SMTP server (aiosmtpd on loopback) received

    def page_url(self, path: str) -> str:
        return f"{self.url}{path}"


def fill_sign_in(page, server: DashboardServer, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto(server.page_url("/dashboard/sign-in"))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
