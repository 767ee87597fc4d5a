"""The dashboard's Quiet tills page: devices not heard from (no heartbeat) for longer than the
setting stale_device_minutes, the longest quiet first."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from central.context import Context, get_context
from central.services import fleet
from central.services.staff import Session
from central.web.session import signed_in
from central.web.templating import render, words_of
from words import ages

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PATH = "/dashboard/devices/stale"


@router.get("/devices/stale")
def quiet_tills(
    request: Request, _: Session = Depends(signed_in), ctx: Context = Depends(get_context)
) -> Response:
    words = words_of(request)
    limit = timedelta(minutes=ctx.settings.stale_device_minutes)
    with ctx.db.read() as conn:
        quiet = fleet.quiet_devices(conn, limit)
    rows = [
        {
            **asdict(d),
            "heard": ages.ago(words, d.quiet_for)
            if d.last_heartbeat_at
            else words.gettext("never (enrolled {ago})", ago=ages.ago(words, d.quiet_for)),
        }
        for d in quiet
    ]
    return render(
        request, "dashboard/devices_stale.html", {"devices": rows, "limit": ages.duration(words, limit)}
    )
