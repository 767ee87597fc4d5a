"""What every request handler needs: the settings, the database, the generator and the change watch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from central.db.batcher import WriteBatcher
from central.db.engine import Database
from central.live import ChangeWatch, SharedReads
from central.services.generation import Generator
from central.settings import CentralSettings


@dataclass
class Context:
    settings: CentralSettings
    db: Database
    generator: Generator
    changes: ChangeWatch  # what a snapshot request waiting for a change (`wait`) sleeps on
    pages: SharedReads  # snapshot pages asked at the same moment, built once
    grouped: WriteBatcher  # small writes committed together (claims), see db/batcher.py


def get_context(request: Request) -> Context:
    return request.app.state.context


def json(data: Any, status: int = 200) -> Response:
    """A JSON response serialised with orjson (datetimes as ISO 8601 with offset)."""
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status_code=status, media_type="application/json"
    )
