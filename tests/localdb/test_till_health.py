"""The till's health as one frozen record (localdb.health.Health), read from real files: what the
status line, `voucher-sync status` and the heartbeat all read."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from localdb.errors import LocalDatabaseError
from localdb.health import Health, Limits, assess, read
from localdb.journal import Journal
from localdb.replica import Replica
from localdb.till import Till
from vouchers.wire import EventResult

NOW = datetime.now(UTC)
LIMITS = Limits(offline=timedelta(minutes=15), stale=timedelta(hours=24))


def page(cursor: int, next_cursor: int, *, complete: bool = True, head: int | None = None) -> dict:
    return {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "head": head,
        "store": {"id": "s1", "timezone": "Europe/London"},
        "batches": [],
        "types": [],
        "vouchers": [],
        "deleted": {},
    }


@pytest.fixture
def files(tmp_path):
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    yield replica, journal
    replica.close()
    journal.close()


def test_nothing_pulled_yet_is_an_empty_health():
    assert Health() == Health(cursor=0, pending=0, last_pull_at=None, problems=())
    assert Health().unreviewed == 0 and not Health().degraded


def test_health_is_read_with_its_times_as_times_and_its_counts(files):
    replica, journal = files
    replica.apply_page(page(0, 40, complete=False, head=100))
    events = [journal.append("redeem", f"b1.{n}") for n in (1, 2, 3)]
    replica.pushed.record_outcomes(
        [e.wire() for e in events[:2]],
        [
            EventResult(id=events[0].id, outcome="accepted", server_time=NOW),
            EventResult(id=events[1].id, outcome="rejected", reason="BATCH_LOCKED", server_time=NOW),
        ],
        events[1].seq,
        journal_id=journal.identity,
    )
    replica.set_health(clock_skew_seconds=-3, last_error="pull: timed out", last_error_at=NOW.isoformat())
    health = Till(replica.conn, journal.conn).health()
    assert isinstance(health, Health) and health == read(Till(replica.conn, journal.conn))
    assert (health.store_id, health.cursor, health.push_cursor, health.pending) == ("s1", 40, 2, 1)
    assert (health.snapshot_complete, health.snapshot_progress) == (False, 40)
    # the pull's time is the apply's own (the test's clock), not NOW, which is set at import
    assert health.last_pull_at is not None and abs(health.last_pull_at - datetime.now(UTC)) < timedelta(
        minutes=5
    )
    assert health.last_push_at is not None and health.last_push_at.tzinfo is not None
    assert (health.last_error, health.last_error_at, health.clock_skew_seconds) == (
        "pull: timed out",
        NOW,
        -3,
    )
    assert [o.reason for o in health.rejections] == ["BATCH_LOCKED"] and health.unreviewed == 1
    assert (health.journal_seq, health.journal_id) == (3, journal.identity)
    assert health.problems == ()  # the judgement is `assess`'s
    with pytest.raises(dataclasses.FrozenInstanceError):
        health.pending = 0  # type: ignore[misc]


def test_assess_judges_the_same_record(files):
    replica, journal = files
    replica.apply_page(page(0, 10))
    judged = assess(Till(replica.conn, journal.conn), LIMITS, NOW + timedelta(hours=25))
    assert judged.cursor == 10 and judged.degraded and judged.status == "degraded"
    assert any(p.startswith("offline: no successful pull for") for p in judged.problems)
    assert judged.as_json()["last_pull_at"] == judged.last_pull_at.isoformat()
    assert not assess(Till(replica.conn, journal.conn), LIMITS, NOW).degraded


def test_a_time_without_its_zone_is_refused_in_words(files):
    replica, journal = files
    replica.apply_page(page(0, 10))
    replica.set_health(last_pull_at="2026-03-02T14:00:00")  # a damaged value: no zone
    with pytest.raises(
        LocalDatabaseError, match="last_pull_at '2026-03-02T14:00:00' is not a time with its zone"
    ):
        Till(replica.conn, journal.conn).health()
