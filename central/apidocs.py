"""The API's browsable document, /docs (Swagger UI), from files installed with the server (the
fastapi-offline package ships Swagger UI's), so it works on a head-office network without internet
access; FastAPI's own page loads its scripts from a CDN.

This is FastAPI's documented self-hosting ("Custom Docs UI Static Assets"): the built-in pages are
turned off (docs_url=None, redoc_url=None: ReDoc draws a logo from its CDN) and /docs is served
here with local script URLs."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/api-docs-assets"


def install(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="api-docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )
