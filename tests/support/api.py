"""Driving the real central app in tests: settings for a test database, and a thin client."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

from central.settings import CentralSettings
from harness.server import ADMIN_TOKEN, CHEAP_HASHES, LIMIT_SETTINGS, RELAXED_LIMITS, staff_token
from harness.server import STAFF_EMAIL as TEST_ADMIN

__all__ = [
    "ADMIN_TOKEN",
    "CHEAP_HASHES",
    "RELAXED_LIMITS",
    "TEST_ADMIN",
    "Api",
    "make_settings",
    "staff_token",
]

# The rate limits at their defaults (tests/central/test_limits.py); the harness relaxes them.
DEFAULT_LIMITS = {name: CentralSettings.model_fields[name].default for name in LIMIT_SETTINGS}


def make_settings(database_url: str, **overrides: Any) -> CentralSettings:
    values = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "public_url": "http://shop.test",
        "generation_chunk": 500,
        "password_hash_cost": CHEAP_HASHES,
        **RELAXED_LIMITS,
        **overrides,
    }
    return CentralSettings.model_validate(values)


def sign_in_token(html: str) -> str:
    return re.search(r'name="sign_in_token" value="([^"]+)"', html).group(1)


def member_sign_in(client, mailbox, email: str, next_page: str = "/my/vouchers") -> None:
    """Sign `client` (a TestClient or httpx.Client of the server) in as a member the way a member
    does: ask for the mail, then open its link and press Sign in."""
    page = client.get(f"/my/sign-in?next={next_page}")
    asked = client.post(
        "/my/sign-in", data={"email": email, "sign_in_token": sign_in_token(page.text), "next": next_page}
    )
    assert asked.status_code == 200 and "Check your mail" in asked.text, asked.text
    link = urlsplit(mailbox.last_to(email).link).path
    confirm = client.get(link)
    assert confirm.status_code == 200, confirm.text
    done = client.post(link, data={"sign_in_token": sign_in_token(confirm.text)}, follow_redirects=False)
    assert done.status_code == 303, done.text


class Api:
    """A thin admin/device client over the TestClient, for readable tests; admin calls go with a
    personal API token of an admin (made in the app's database unless one is given)."""

    def __init__(self, client: TestClient, token: str | None = None) -> None:
        self.client = client
        self.token = token or staff_token(client.app.state.context.db)
        self.admin = {"Authorization": f"Bearer {self.token}"}

    def call(
        self, method: str, path: str, expect: int | None = None, token: str | None = None, **kw
    ) -> httpx.Response:
        headers = kw.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {token}" if token else self.admin["Authorization"])
        response = self.client.request(method, f"/api/v1{path}", headers=headers, **kw)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    def store(self, store_id: str = "s1", timezone: str = "Europe/London") -> dict:
        return self.call(
            "POST", "/stores", 201, json={"id": store_id, "name": f"Store {store_id}", "timezone": timezone}
        ).json()

    def device(self, store_id: str = "s1", name: str = "till-1") -> dict:
        code = self.call("POST", f"/stores/{store_id}/enrolment-codes", 201).json()["code"]
        return self.call(
            "POST", "/devices/enrol", 201, json={"enrolment_code": code, "device_name": name}
        ).json()

    def batch(
        self, size: int = 10, *, state: str = "redeemable", initial_status: str = "unused", **fields
    ) -> dict:
        """A batch walked to `state` with one type covering serials 1..size."""
        body = {
            "identifier": fields.pop("identifier", "Test batch"),
            "serial_start": 1,
            "serial_end": size,
            **fields,
        }
        batch = self.call("POST", "/batches", 201, json=body).json()
        bid = batch["id"]
        self.call(
            "POST",
            f"/batches/{bid}/types",
            201,
            json={"name": "Std", "value": "£5 off", "initial_status": initial_status},
        )
        if state == "configuring":
            return self.get(bid)
        self.call("POST", f"/batches/{bid}/validate", 200)
        if state == "validated":
            return self.get(bid)
        self.call("POST", f"/batches/{bid}/generate", 202)
        self.wait_generated(bid)
        for step in {
            "generated": [],
            "distributed": ["distribute"],
            "redeemable": ["distribute", "redeemable"],
            "locked": ["distribute", "lock"],
            "void": ["void"],
        }[state]:
            self.call("POST", f"/batches/{bid}/{step}", 200)
        return self.get(bid)

    def get(self, batch_id: str) -> dict:
        return self.call("GET", f"/batches/{batch_id}", 200).json()

    def wait_generated(self, batch_id: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batch = self.get(batch_id)
            if batch["state"] == "generated":
                return batch
            time.sleep(0.05)
        raise AssertionError(f"batch {batch_id} still {batch['state']} after {timeout}s")

    def claim(self, batch: dict, member: str) -> dict:
        """Head office claims on behalf of `member` (an e-mail address; a bare name such as 'ann'
        or 'Spring list-0' becomes ann@example.com, spring-list-0@example.com: member ids are
        addresses since issue 13)."""
        from vouchers.emails import is_email

        address = (
            member
            if is_email(member)
            else (
                re.sub(r"[^a-z0-9.+=-]+", "-", member.partition("@")[0].lower()).strip("-") + "@example.com"
            )
        )
        return self.call(
            "POST", "/claims", 201, json={"claim_token": batch["claim_token"], "member_id": address}
        ).json()

    def vouchers(self, batch_id: str, **params) -> list[dict]:
        return self.call(
            "GET", f"/batches/{batch_id}/vouchers", 200, params={"limit": 10000, **params}
        ).json()["vouchers"]
