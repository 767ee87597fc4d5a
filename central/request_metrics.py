"""Every HTTP request counted and timed by its route template, and logged as one line.

The line names the route template, never the path, so no token, claim token or voucher code in a
URL reaches the log (uvicorn's own access log, which prints paths, is off: central/cli/server.py).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central import metrics

log = logging.getLogger("central.access")
UNMATCHED = "unmatched"  # no route answered: a 404, or a body refused before routing


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless the app answers

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            metrics.count_request(scope["method"], route, status, seconds)
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %d %.1f ms",
                scope["method"],
                route,
                status,
                seconds * 1000,
            )
