"""Every error leaves the server as application/problem+json (RFC 9457), from this one place;
the HTTP status of each kind of error is kept here too (STATUSES), not on the error classes."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.mail import MailNotSent
from central.services.ratelimit import RateLimited
from vouchers.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    VoucherError,
)
from vouchers.wording import english
from words import SOURCE, Words, negotiate, words_for

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"

# The HTTP status of each kind of error; a subclass answers its nearest listed base's status,
# and any other VoucherError 400 (vouchers/errors.py draws the tree).
STATUSES: dict[type[VoucherError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    InvalidInput: 422,
    RateLimited: 429,
    MailNotSent: 503,
}


def status_of(exc: VoucherError) -> int:
    """The HTTP status that answers this error (STATUSES; 400 when no base of it is listed)."""
    for kind in type(exc).__mro__:
        if kind in STATUSES:
            return STATUSES[kind]
    return 400


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of this API is sent."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = Field(
        None, description="For invalid input: every {field, message}."
    )
    current_state: str | None = Field(None, description="For a refused batch action: the batch's state.")
    allowed: list[str] | None = Field(None, description="For a refused batch action: what is allowed now.")


def _documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {
        401: "Missing or wrong token",
        403: "Right token, wrong scope",
        404: "Not found",
        409: "Conflicts with the current state",
        413: "Body too large",
        422: "Invalid input",
        429: "Too many requests: wait the seconds of Retry-After",
    }
    return {s: {"description": words[s], "model": Problem, "content": {MEDIA_TYPE: {}}} for s in statuses}


ADMIN_ERRORS = _documented(401, 403, 404, 409, 413, 422)
DEVICE_ERRORS = _documented(401, 403, 413, 422, 429)
PUBLIC_ERRORS = _documented(401, 403, 404, 409, 413, 422, 429)
PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}, "description": "A PNG image"}}


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail, **extra}
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE)


def from_error(exc: VoucherError, words: Words | None = None) -> Response:
    """The error as problem+json. With `words` (a client that asked for another language than
    English), the detail and each field's message kept with their facts are in that language,
    and Content-Language says so; the type and title, what programs read, stay as they are."""
    fields: list[FieldError] = list(getattr(exc, "errors", []))
    worded = words is not None and (exc.said is not None or any(e.said for e in fields))
    say = words.say if worded and words is not None else english
    extra = dict(exc.extra)
    if hasattr(exc, "errors"):
        extra["errors"] = [{"field": e.field, "message": say(e.said or e.message)} for e in fields]
    status = status_of(exc)
    response = problem(status, exc.slug, exc.title, say(exc.said or exc.detail), **extra)
    if worded and words is not None:
        response.headers["Content-Language"] = words.language
    if status == 429 and "retry_after" in extra:  # a rate limit (services/ratelimit.py)
        response.headers["Retry-After"] = str(extra["retry_after"])
    return response


def asked_words(request: Request) -> Words | None:
    """The words of the language a client asked for in Accept-Language, in head office's command
    line's catalogue ("central": the core's and the services' errors); None for English or none."""
    language = negotiate(request.headers.get("accept-language"))
    return None if language == SOURCE else words_for(language, "central")


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(VoucherError)
    async def _voucher_error(request: Request, exc: VoucherError) -> Response:
        return from_error(exc, asked_words(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        raw = exc.errors()
        bad_json = [e for e in raw if e.get("type") == "json_invalid"]
        if bad_json:
            where = bad_json[0].get("loc", ("body", "?"))[-1]
            detail = f"The body is not valid JSON (error at character {where}). Send a JSON object."
            errors = [{"field": "body", "message": detail}]
            return problem(422, "malformed-json", "The body is not valid JSON", detail, errors=errors)
        content_type = request.headers.get("content-type", "")
        if any(tuple(e.get("loc", ())) == ("body",) for e in raw) and "json" not in content_type:
            detail = "Send the body as JSON, with the header 'Content-Type: application/json'."
            errors = [{"field": "body", "message": detail}]
            return problem(422, "not-json", "The body must be JSON", detail, errors=errors)
        errors = [{"field": _field(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in raw]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        return problem(422, "invalid-input", "Some fields are not valid", detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 413:
            return from_error(PayloadTooLarge(str(exc.detail)))
        titles = {404: "Not found", 405: "Method not allowed", 401: "Missing or wrong token"}
        title = titles.get(exc.status_code, "Request refused")
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(exc.status_code, title.lower().replace(" ", "-"), title, detail)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500, "internal", "Internal server error", "Something went wrong on the server; it is logged."
        )


class InputGuard:
    """Refuse, before the app sees them, request bodies over `limit` bytes (413) and NUL
    characters in the path or query (422), which no database can store or look up."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"%00" in raw or b"\x00" in raw or "\x00" in scope.get("path", ""):
            error = InvalidInput([FieldError("path", "must not contain NUL characters")])
            await from_error(error)(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await self._refuse(scope, receive, send)
                return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        err = PayloadTooLarge(f"The body is larger than {self.limit} bytes.")
        await from_error(err)(scope, receive, send)


class _TooLarge(HTTPException):
    """Raised inside the app's body reading; an HTTPException so FastAPI lets it through."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is too large.")
