"""The real central app (ASGI, with its lifespan) on a real database, sending mail to a real SMTP
server on loopback (aiosmtpd) whose messages the tests read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from support.api import Api, make_settings
from support.mailbox import MailServer

from central.app import create_app


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
def client(database_url: str, mail_server: MailServer) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(database_url, **mail_server.settings()))) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
