"""The composition root of the central server: create_app(settings) builds everything."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from central import apidocs, problems, web
from central.context import Context
from central.db.batcher import WriteBatcher
from central.db.engine import Database
from central.db.migrate import upgrade
from central.live import ChangeWatch, SharedReads
from central.members import pages as member_pages
from central.members import templating as member_templating
from central.request_metrics import RequestMetrics
from central.routers import batches, claims, integrations, ops, staff, stores, sync, vouchers
from central.services.generation import Generator
from central.settings import CentralSettings
from central.web import devices_stale

log = logging.getLogger(__name__)


def create_app(settings: CentralSettings) -> FastAPI:
    """The server for these settings: migrates the database, resumes generation jobs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        upgrade(db)
        generator = Generator(
            db, chunk=settings.generation_chunk, lease_seconds=settings.generation_lease_seconds
        )
        changes = ChangeWatch(lambda: _head(db), settings.live_poll_seconds)
        app.state.context = Context(
            settings=settings,
            db=db,
            generator=generator,
            changes=changes,
            pages=SharedReads(),
            grouped=WriteBatcher(db),
        )
        generator.start()
        changes.start()
        try:
            yield
        finally:
            changes.stop()
            generator.stop()
            db.dispose()

    app = FastAPI(
        title="voucher-kiosk central server",
        version="1",
        summary="Batches, claims, the ledger of redemptions and the sync API for store tills.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from installed files (central/apidocs.py), not a CDN
        redoc_url=None,
    )
    problems.install(app)
    apidocs.install(app)
    for module in (stores, batches, vouchers, claims, integrations, staff, sync, ops):
        app.include_router(module.router)
    app.include_router(member_pages.router)  # members: sign-in, My vouchers, MARK AS USED under /my
    web.install(app)  # the head-office dashboard under /dashboard, its files under /static
    member_templating.install_not_found(app)  # a mistyped page address: a page, in the browser's words
    app.include_router(devices_stale.router)  # the dashboard's Quiet tills page

    app.add_middleware(problems.InputGuard, limit=settings.max_body_bytes)
    app.add_middleware(RequestMetrics)  # outermost: counts and logs every answer, refusals too
    return app


def _head(db: Database) -> int:
    return db.head()
