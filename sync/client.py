"""docs/PROTOCOL.md's device side over httpx: enrol, snapshot pages, event upload, heartbeat.

Every failure leaves as one of sync.errors' classes, which say what the agent does next;
answers are read into the shared wire records (vouchers/wire.py) before anything is applied, and
the records are what the agent gets: a SnapshotPage, one EventResult per event pushed.
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from sync.errors import BatchRefused, RetryLater, Revoked, SyncError, Transient
from vouchers.wire import (
    EnrolResponse,
    Event,
    EventResult,
    EventsResponse,
    HeartbeatRequest,
    HeartbeatResponse,
    Malformed,
    Record,
    SnapshotPage,
)
from vouchers.wording import N_, said

API = "/api/v1"


log = logging.getLogger(__name__)


class SyncClient:
    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=server.rstrip("/"), headers=headers, timeout=timeout, verify=verify, transport=transport
        )
        self.timeout = timeout
        self.last_server_time: datetime | None = None
        self.last_skew_seconds: float | None = None

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> bytes:
        """The body of a 2xx answer; any other answer or failure as one of sync.errors' classes.
        The body is read from the stream into our own bytes: httpx's response and its stream refer
        to each other, so a body kept in the response (5 MB a snapshot page) would wait there for
        Python's cyclic garbage collector, and the agent's memory would grow page after page."""
        request = method + " " + path
        try:
            response = self.http.send(self.http.build_request(method, API + path, **kwargs), stream=True)
            try:
                body = b"".join(response.iter_bytes())
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            raise Transient(
                said("{request}: timed out ({cause})", request=request, cause=exc.__class__.__name__)
            ) from None
        except httpx.HTTPError as exc:
            raise Transient(
                said(
                    "{request}: no answer from the server ({cause})",
                    request=request,
                    cause=exc.__class__.__name__ + ": " + str(exc),
                )
            ) from None
        self._note_clock(response)
        if response.status_code < 300:
            return body
        detail = _problem_detail(response, body)
        if response.status_code == 401:
            raise Revoked(detail)
        if response.status_code == 429:
            raise RetryLater(detail, _retry_after(response))
        if response.status_code in (409, 422):
            raise BatchRefused(f"{response.status_code}: {detail}")
        answer = said(
            "{request}: the server answers HTTP {status}: {detail}",
            request=request,
            status=response.status_code,
            detail=detail,
        )
        if response.status_code >= 500 or response.status_code in (408, 425):
            raise Transient(answer)
        raise SyncError(answer)

    def _note_clock(self, response: httpx.Response) -> None:
        """Clock skew from the server's Date header (1 s resolution): positive = we are ahead."""
        date = response.headers.get("date")
        if not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        self.last_server_time = server
        self.last_skew_seconds = (datetime.now(UTC) - server).total_seconds()

    def enrol(self, code: str, device_name: str) -> EnrolResponse:
        try:
            body = self._send(
                "POST", "/devices/enrol", json={"enrolment_code": code, "device_name": device_name}
            )
        except Revoked as exc:  # a 401 here is about the code, not a device
            raise SyncError(exc.detail, title=N_("Enrolment code not valid")) from None
        return _parse(EnrolResponse, body)

    def snapshot(self, cursor: int, limit: int, *, wait: float | None = None) -> SnapshotPage:
        """One page, validated whole (nothing of a malformed one is returned) and checked against
        the cursor asked for. With `wait`, a server that has nothing after the cursor answers when
        something changes (or after `wait` seconds, empty); the read timeout is that much longer."""
        params: dict[str, int | float] = {"cursor": cursor, "limit": limit}
        if wait is None:
            body = self._send("GET", "/sync/snapshot", params=params)
        else:
            params["wait"] = wait
            timeout = httpx.Timeout(self.timeout, read=self.timeout + wait)
            body = self._send("GET", "/sync/snapshot", params=params, timeout=timeout)
        page = _parse(SnapshotPage, body)
        if (
            page.cursor != cursor
            or page.next_cursor < cursor
            or (page.next_cursor == cursor and not page.complete)
        ):
            raise Transient(
                said(
                    "snapshot page does not follow on: asked for cursor {cursor}, got {first}→{next}",
                    cursor=cursor,
                    first=page.cursor,
                    next=page.next_cursor,
                )
            )
        return page

    def push(self, events: Sequence[Event]) -> list[EventResult]:
        """Head office's result for each event, in the order sent (Transient when they do not match)."""
        answer = self._send("POST", "/sync/events", json={"events": [e.to_wire() for e in events]})
        results = _parse(EventsResponse, answer).results
        if [r.id for r in results] != [e.id for e in events]:
            raise Transient(said("the server's results do not match the events sent, one for one"))
        return results

    def push_each(self, events: Sequence[Event]) -> list[EventResult]:
        """After the server refused a batch as malformed: each event alone, so the one(s) it
        refuses are found; those get a `rejected` result here (MALFORMED and the server's words,
        at the server's time when it refused, its Date header, else ours), the others go through."""
        results: list[EventResult] = []
        for event in events:
            try:
                results.extend(self.push([event]))
            except BatchRefused as exc:
                log.error(
                    "the server refuses event %s as malformed (%s): recorded as rejected",
                    event.id,
                    exc.detail,
                )
                results.append(
                    EventResult(
                        id=event.id,
                        outcome="rejected",
                        reason=f"MALFORMED: {exc.detail}"[:200],
                        server_time=self.last_server_time or datetime.now(UTC),
                    )
                )
        return results

    def heartbeat(self, body: HeartbeatRequest) -> datetime:
        answer = self._send("POST", "/sync/heartbeat", json=body.to_wire())
        return _parse(HeartbeatResponse, answer).server_time


R = TypeVar("R", bound=Record)


def _parse(record: type[R], body: bytes) -> R:
    try:
        return record.from_wire(body)
    except Malformed as exc:
        raise Transient(said("malformed answer from the server ({cause})", cause=str(exc))) from None


def _problem_detail(response: httpx.Response, body: bytes) -> str:
    try:
        problem = json.loads(body)
        return str(problem.get("detail") or problem.get("title") or problem)[:300]
    except (ValueError, AttributeError):  # not JSON, or not an object
        return body.decode(errors="replace")[:300] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return 5.0
