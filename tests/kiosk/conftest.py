"""The kiosk's async tests (Textual's Pilot) run on asyncio through anyio's pytest plugin."""

import pytest


@pytest.fixture
def anyio_backend():
    return "asyncio"
