"""The agent's client on answers no real server gives: a page with one bad voucher among good
ones is refused whole; answers' bodies and problem details are read from the stream."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from sync.client import SyncClient
from sync.errors import BatchRefused, Transient
from vouchers.wire import Event, EventResult, SnapshotPage, SnapshotStore


def voucher(n, **fields):
    return {
        "id": f"b1.{n}",
        "batch_id": "b1",
        "type_id": "t1",
        "serial": n,
        "code_hash": f"{n:064x}",
        "claimed": True,
        "status": "unused",
        "used_at": None,
        "used_store": None,
        **fields,
    }


def page(vouchers, **fields):
    return {
        "cursor": 0,
        "next_cursor": 9,
        "complete": True,
        "store": {"id": "s1", "timezone": "UTC"},
        "batches": [],
        "types": [],
        "vouchers": vouchers,
        "deleted": {"batches": [], "types": []},
        **fields,
    }


def client_answering(status: int, body) -> SyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return SyncClient("http://head-office.test", "token", transport=httpx.MockTransport(handler))


def test_a_page_is_a_snapshot_page_its_vouchers_plain_dicts():
    used = voucher(2, status="used", used_at="2026-03-02T14:03:00+00:00", used_store="s2", added_in_v9=1)
    got = client_answering(200, page([voucher(1), used], head=9, remaining=0)).snapshot(0, 100)
    assert isinstance(got, SnapshotPage) and got.store == SnapshotStore(id="s1", timezone="UTC")
    assert got.vouchers[1] == {
        **{k: v for k, v in used.items() if k != "added_in_v9"},
        "used_at": datetime(2026, 3, 2, 14, 3, tzinfo=UTC),
    }
    assert got.head == 9 and got.remaining == 0 and got.deleted.vouchers == []


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"status": "bogus"}, "vouchers.1.status"),
        ({"claimed": "maybe"}, "vouchers.1.claimed"),
        ({"used_at": "yesterday"}, "vouchers.1.used_at"),
        ({"serial": [1]}, "vouchers.1.serial"),
    ],
)
def test_one_bad_voucher_refuses_the_whole_page(bad, where):
    client = client_answering(200, page([voucher(1), voucher(2, **bad), voucher(3)]))
    with pytest.raises(Transient, match=rf"malformed answer from the server \(SnapshotPage: {where}:"):
        client.snapshot(0, 100)


def test_a_voucher_without_its_code_hash_is_refused():
    broken = voucher(2)
    del broken["code_hash"]
    with pytest.raises(Transient, match="vouchers.1.code_hash: Field required"):
        client_answering(200, page([voucher(1), broken])).snapshot(0, 100)


def test_problem_details_from_the_body():
    with pytest.raises(Transient, match="HTTP 503: down for a minute"):
        client_answering(
            503, {"type": "about:blank", "title": "Unavailable", "detail": "down for a minute"}
        ).snapshot(0, 1)
    with pytest.raises(Transient, match="HTTP 502: <html>bad gateway"):
        client_answering(502, b"<html>bad gateway</html>").snapshot(0, 1)
    with pytest.raises(
        BatchRefused, match=r'422: \["not","an object"\]'
    ):  # JSON, but not a problem: as it came
        client_answering(422, ["not", "an object"]).push([])


def test_a_push_sends_the_events_wire_form_and_returns_their_results():
    event = Event.from_wire(
        {
            "id": str(uuid.uuid4()),
            "kind": "redeem",
            "voucher_id": "b1.1",
            "at": "2026-03-02T14:03:00+00:00",
            "device_seq": 1,
        }
    )
    sent: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.extend(json.loads(request.content)["events"])
        answer = {"id": str(event.id), "outcome": "accepted", "server_time": "2026-03-02T14:03:01+00:00"}
        return httpx.Response(200, json={"results": [answer]})

    client = SyncClient("http://head-office.test", "token", transport=httpx.MockTransport(handler))
    [result] = client.push([event])
    assert sent == [event.to_wire()] and sent[0]["at"] == "2026-03-02T14:03:00+00:00"
    assert result == EventResult(
        id=event.id, outcome="accepted", server_time=datetime(2026, 3, 2, 14, 3, 1, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (
            {"results": [{"outcome": "accepted", "server_time": "2026-03-02T14:03:01+00:00"}]},
            "results.0.id: Field required",
        ),
        (
            {"results": [{"id": "{id}", "outcome": "perhaps", "server_time": "x"}]},
            "results.0.outcome: Input should be",
        ),
        ({"results": "all fine"}, "results: Input should be a valid array"),
    ],
)
def test_a_malformed_push_answer_is_refused_naming_the_field(answer, words):
    event = Event(id=uuid.uuid4(), kind="refused", verdict="UNKNOWN", at=datetime.now(UTC), device_seq=1)
    body = json.dumps(answer).replace("{id}", str(event.id)).encode()
    with pytest.raises(
        Transient, match=rf"malformed answer from the server \(EventsResponse: {re.escape(words)}"
    ):
        client_answering(200, body).push([event])
