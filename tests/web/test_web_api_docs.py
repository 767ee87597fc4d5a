"""/docs works offline: every file it loads comes from the server itself (issue 13)."""

from __future__ import annotations

from playwright.sync_api import expect


def _offline(page, server) -> list[str]:
    """Refuse every request that does not go to the server; the list of those refused."""
    refused: list[str] = []

    def route(r):
        if r.request.url.startswith(server.url):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return refused


def test_swagger_ui_draws_the_api_without_the_internet(anonymous, server):
    refused = _offline(anonymous, server)
    anonymous.goto("/docs")
    expect(anonymous.locator(".swagger-ui .title")).to_contain_text("voucher-kiosk central server")
    expect(
        anonymous.locator(".opblock-summary-path").filter(has_text="/api/v1/batches").first
    ).to_be_visible()
    assert refused == [], refused
