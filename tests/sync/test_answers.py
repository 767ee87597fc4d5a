"""The agent's table of answers: what sync/client.py makes of every answer head office, or
anything between the till and head office, can give, each through httpx.MockTransport against
the real client, in milliseconds. Which class leaves says what the agent does next
(sync/errors.py); the process tests (test_reliability.py, test_till_faults.py) prove that the
agent's loops act on them against the real server."""

from __future__ import annotations

import email.utils
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sync.client import SyncClient
from sync.errors import BatchRefused, RetryLater, Revoked, SyncError, Transient
from vouchers.wire import Event

SERVER = "http://head-office.test"
TOKEN = "device-token-never-shown-0123456789"
PAGE = {
    "cursor": 0,
    "next_cursor": 0,
    "complete": True,
    "store": {"id": "s1", "timezone": "Europe/London"},
    "batches": [],
    "types": [],
    "vouchers": [],
    "deleted": {"batches": [], "types": []},
}
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> SyncClient:
    return SyncClient(SERVER, TOKEN, transport=httpx.MockTransport(handler))


def answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> Handler:
    """A handler giving one answer; `body` is sent as JSON unless it is bytes."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return handler


def problem(status: int, detail: str, **fields: object) -> dict:
    return {"type": "about:blank", "title": "Refused", "status": status, "detail": detail, **fields}


def event() -> Event:
    return Event(id=uuid.uuid4(), kind="redeem", voucher_id="b1.1", at=datetime.now(UTC), device_seq=1)


def raised(call: Callable[[SyncClient], object], handler: Handler) -> SyncError:
    """The error `call` raised on the answer; never with the device token in its words."""
    with pytest.raises(SyncError) as info:
        call(client(handler))
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    return info.value


def snapshot(c: SyncClient) -> object:
    return c.snapshot(0, 100)


def push(c: SyncClient) -> object:
    return c.push([event()])


# -- 2xx ------------------------------------------------------------------------------------


def test_a_page_is_read_with_the_token_sent_and_the_clock_noted():
    seen: list[httpx.Request] = []
    date = email.utils.format_datetime(datetime.now(UTC) - timedelta(seconds=90), usegmt=True)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={**PAGE, "next_cursor": 4}, headers={"Date": date})

    c = client(handler)
    page = c.snapshot(0, 100)
    assert page.next_cursor == 4 and page.complete
    assert (
        seen[0].headers["authorization"] == f"Bearer {TOKEN}" and seen[0].url.path == "/api/v1/sync/snapshot"
    )
    assert 85 <= c.last_skew_seconds <= 120  # this till is about 90 s ahead of head office


def test_a_push_returns_one_result_per_event_in_order():
    events = [event(), event()]
    now = datetime.now(UTC).isoformat()
    results = [{"id": str(e.id), "outcome": "accepted", "server_time": now} for e in events]
    got = client(answer(200, {"results": results})).push(events)
    assert [str(r.id) for r in got] == [str(e.id) for e in events]
    assert [r.outcome for r in got] == ["accepted", "accepted"]


def test_a_date_header_that_is_not_a_date_is_ignored():
    c = client(answer(200, PAGE, {"Date": "yesterday-ish"}))
    c.snapshot(0, 100)
    assert c.last_skew_seconds is None


# -- 3xx and 4xx ------------------------------------------------------------------------------


def test_a_redirect_is_not_followed_so_the_token_goes_nowhere_else():
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(302, headers={"Location": "http://elsewhere.test/api/v1/sync/snapshot"})

    error = raised(snapshot, handler)
    assert "302" in str(error) and not isinstance(error, Transient)
    assert [u.host for u in seen] == ["head-office.test"]


@pytest.mark.parametrize(
    ("status", "what"),
    [
        (400, "a request head office cannot read"),
        (403, "right token, wrong scope: not a revocation"),
        (404, "a wrong server address or API path"),
        (413, "an upload larger than something between allows"),
    ],
)
def test_a_refusal_says_its_status_and_detail_and_is_not_taken_for_a_revocation(status, what):
    error = raised(push, answer(status, problem(status, f"because {what}")))
    assert str(status) in str(error) and f"because {what}" in str(error)
    assert not isinstance(error, (Revoked, Transient, BatchRefused))


def test_401_is_a_revoked_device():
    error = raised(snapshot, answer(401, problem(401, "This device has been revoked.")))
    assert isinstance(error, Revoked) and "revoked" in error.detail


def test_401_at_enrolment_is_a_wrong_code_not_a_revoked_device():
    with pytest.raises(SyncError) as info:
        client(answer(401, problem(401, "Unknown or used enrolment code."))).enrol("WRNG-CODE", "till")
    assert not isinstance(info.value, Revoked) and "Unknown or used enrolment code" in str(info.value)


@pytest.mark.parametrize("status", [409, 422])
def test_an_upload_refused_whole_is_batch_refused_with_the_detail(status):
    error = raised(push, answer(status, problem(status, "events.0.kind: not a kind")))
    assert isinstance(error, BatchRefused) and f"{status}: events.0.kind: not a kind" in str(error)


def test_a_problem_detail_is_cut_to_a_readable_length():
    error = raised(push, answer(400, problem(400, "x" * 5000)))
    assert "x" * 300 in str(error) and "x" * 301 not in str(error)


# -- 429 and Retry-After ------------------------------------------------------------------------


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("7", 7, 7),  # seconds, as head office sends it
        ("0", 0, 0),
        (120.0, 110, 121),  # an HTTP date this far ahead, as a proxy may send it
        (-60.0, 0, 0),  # a date already past: now
        ("soon", 5, 5),  # neither: a default
        (None, 5, 5),  # none at all: the same default
    ],
)
def test_429_is_retry_later_after_what_retry_after_says(retry_after, low, high):
    if isinstance(retry_after, float):  # made here: the test may run long after it was collected
        retry_after = http_date(retry_after)
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    error = raised(snapshot, answer(429, problem(429, "Slow down.", retry_after=7), headers))
    assert isinstance(error, RetryLater) and isinstance(error, Transient)
    assert low <= error.seconds <= high


@pytest.mark.parametrize("retry_after", ["30", 30.0])
def test_503_with_retry_after_is_retried(retry_after):
    if isinstance(retry_after, float):
        retry_after = http_date(retry_after)
    error = raised(snapshot, answer(503, problem(503, "Down for maintenance."), {"Retry-After": retry_after}))
    assert isinstance(error, Transient) and "503" in str(error) and "Down for maintenance" in str(error)


# -- 5xx and bodies that are not answers --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "shown"),
    [
        (500, problem(500, "Internal error, reference 42"), "Internal error, reference 42"),
        (500, b"<html><h1>Internal Server Error</h1></html>", "<h1>Internal Server Error</h1>"),
        (502, b"", "Bad Gateway"),  # a proxy's empty answer: the reason phrase
        (504, b"\xff\xfe not utf-8 \x00", "not utf-8"),
        (408, b"", "Request Timeout"),
        (425, b"", "Too Early"),
    ],
)
def test_server_errors_and_their_kin_are_transient_with_what_they_said(status, body, shown):
    error = raised(snapshot, answer(status, body))
    assert isinstance(error, Transient) and not isinstance(error, RetryLater)
    assert str(status) in str(error) and shown in str(error)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"<html>It works!</html>", ""),  # garbage: a captive portal, a default page
        (json.dumps(PAGE).encode()[:60], ""),  # truncated: the connection closed early
        (b"", ""),
        (b"[]", ""),  # valid JSON, not an object
        (json.dumps({k: v for k, v in PAGE.items() if k != "store"}).encode(), "store"),
        (json.dumps({**PAGE, "next_cursor": "four"}).encode(), "next_cursor"),
        (json.dumps({**PAGE, "vouchers": [{"id": "b1.1"}]}).encode(), "vouchers.0"),
    ],
)
def test_a_2xx_body_that_is_not_a_page_is_transient_and_nothing_of_it_is_returned(body, where):
    error = raised(snapshot, answer(200, body))
    assert isinstance(error, Transient) and "malformed answer" in str(error) and where in str(error)


def test_a_page_that_does_not_follow_on_from_the_cursor_asked_for_is_transient():
    error = raised(lambda c: c.snapshot(10, 100), answer(200, {**PAGE, "cursor": 3, "next_cursor": 9}))
    assert isinstance(error, Transient) and "does not follow on" in str(error)


def test_results_that_do_not_match_the_events_sent_are_transient():
    other = {"id": str(uuid.uuid4()), "outcome": "accepted", "server_time": datetime.now(UTC).isoformat()}
    error = raised(push, answer(200, {"results": [other]}))
    assert isinstance(error, Transient) and "do not match" in str(error)


def test_push_results_of_the_wrong_shape_are_transient():
    error = raised(push, answer(200, {"results": [{"outcome": "won"}]}))
    assert isinstance(error, Transient) and "malformed answer" in str(error)


# -- no answer at all ---------------------------------------------------------------------------


def failing(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("exc", "shown"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "ConnectError"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), "Connection reset by peer"),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), "disconnected"),
        (httpx.ConnectTimeout("timed out"), "timed out (ConnectTimeout)"),
        (httpx.ReadTimeout("timed out"), "timed out (ReadTimeout)"),
        (httpx.WriteTimeout("timed out"), "timed out (WriteTimeout)"),
        (httpx.PoolTimeout("timed out"), "timed out (PoolTimeout)"),
    ],
)
def test_no_answer_is_transient_naming_what_happened(exc, shown):
    for call in (snapshot, push):
        error = raised(call, failing(exc))
        assert isinstance(error, Transient) and shown in str(error)


class CutStream(httpx.SyncByteStream):
    """A body whose connection is reset after its first bytes."""

    def __iter__(self) -> Iterator[bytes]:
        yield json.dumps(PAGE).encode()[:40]
        raise httpx.ReadError("[Errno 104] Connection reset by peer")


def test_a_body_cut_off_mid_stream_is_transient():
    error = raised(snapshot, lambda request: httpx.Response(200, stream=CutStream()))
    assert isinstance(error, Transient) and "Connection reset by peer" in str(error)
