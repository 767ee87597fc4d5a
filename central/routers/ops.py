"""For operations: /healthz (the database answers), /readyz (its schema is the one this server
needs), /metrics (Prometheus; an operator's token, or this host only)."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from central import metrics
from central.context import Context, get_context, json
from central.db import revisions
from central.db.schema import change_counter
from configfile.version import installed_version

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _database_words(exc: SQLAlchemyError) -> str:
    """What the driver said, in one line, without the SQL or SQLAlchemy's link."""
    cause = getattr(exc, "orig", None) or exc
    text = " ".join(str(cause).split("\n")[0].split()) or "no message"
    return f"{type(cause).__name__}: {text}"[:300]


@router.get("/healthz")
def healthz(ctx: Context = Depends(get_context)) -> Response:
    """200 when the database answers a query on the server's own tables; 503 in words when not."""
    try:
        with ctx.db.read() as conn:
            conn.execute(select(change_counter.c.value)).all()  # a table every schema revision has
    except SQLAlchemyError as exc:
        words = _database_words(exc)
        log.warning("health check: the database does not answer: %s", words)
        return json(
            {
                "ok": False,
                "version": installed_version(),
                "database": f"the database does not answer: {words}",
            },
            503,
        )
    return json(
        {"ok": True, "version": installed_version(), "database": "answers", "waiting": ctx.changes.waiting}
    )  # tills waiting for a change in this process


@router.get("/readyz")
def readyz(ctx: Context = Depends(get_context)) -> Response:
    """200 only when the database's schema is at the revision this server's code needs."""
    try:
        with ctx.db.read() as conn:
            schema = revisions.state(conn)
    except SQLAlchemyError as exc:
        return json({"ready": False, "schema": f"the database does not answer: {_database_words(exc)}"}, 503)
    return json(
        {"ready": schema.at_head, "revision": schema.revision, "head": schema.head, "schema": schema.words()},
        200 if schema.at_head else 503,
    )


def _from_this_host(request: Request) -> bool:
    """A loopback client that came through no proxy (a proxy on this host would look local)."""
    if request.client is None or any(name in request.headers for name in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def _may_read(request: Request, ctx: Context) -> bool:
    token = ctx.settings.metrics_token
    if token is None:
        return _from_this_host(request)
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    )


@router.get("/metrics")
def prometheus(request: Request, ctx: Context = Depends(get_context)) -> Response:
    if not _may_read(request, ctx):
        words = (
            "/metrics needs the operators' bearer token (setting metrics_token)."
            if ctx.settings.metrics_token
            else "/metrics answers only on this host (loopback, no proxy); set metrics_token to scrape it "
            "from elsewhere."
        )
        return Response(words + "\n", status_code=403, media_type="text/plain; charset=utf-8")
    try:
        body = metrics.exposition(ctx.db)
    except SQLAlchemyError as exc:
        return Response(
            f"the database does not answer: {_database_words(exc)}\n",
            status_code=503,
            media_type="text/plain; charset=utf-8",
        )
    return Response(body, media_type=metrics.CONTENT_TYPE)
