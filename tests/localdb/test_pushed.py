"""pushed.db: head office's answers and the push cursors in a file of their own, so that pushing
never waits for replica.db's writer; replicas of the old layout hand them over once."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, datetime

import pytest

from localdb import journals
from localdb.connect import open_reader, open_writer
from localdb.journal import Journal
from localdb.pushed import open_pushed, path_beside
from localdb.replica import MIGRATIONS, Replica
from localdb.till import Till
from vouchers.wire import Event, EventResult, Malformed


def redeem_events(journal: Journal, n: int) -> list:
    return [journal.append("redeem", f"b1.{i}") for i in range(1, n + 1)]


def answers(events, outcome="accepted"):
    return [
        EventResult.from_wire({"id": e.id, "outcome": outcome, "server_time": "2026-12-01T10:00:00+00:00"})
        for e in events
    ]


def test_outcomes_are_recorded_while_the_pull_holds_replica_db_and_the_till_sees_them(tmp_path):
    replica = Replica(tmp_path / "replica.db")
    journal = Journal(tmp_path / "journal.db")
    events = redeem_events(journal, 3)
    puller = sqlite3.connect(tmp_path / "replica.db", isolation_level=None, timeout=0)
    puller.execute("BEGIN IMMEDIATE")  # replica.db's write lock, as a first sync's index build holds it
    puller.execute("INSERT INTO meta VALUES ('held', '1')")
    try:
        replica.pushed.follow_journal(journal.identity, 3, lambda seq: events[seq - 1].id)
        replica.pushed.record_outcomes(
            [e.wire() for e in events], answers(events), 3, journal_id=journal.identity
        )
        till = Till(open_reader(tmp_path / "replica.db"), journal.conn)
        assert till.pending() == 0  # the kiosk reads the answers while the pull still writes
        assert [tuple(r) for r in till.replica.execute("SELECT outcome FROM outcomes")] == [("accepted",)] * 3
    finally:
        puller.execute("ROLLBACK")
        puller.close()
    assert journals.cursor_for(till.replica, journal.conn).push_cursor == 3
    till.replica.close()
    journal.close()
    replica.close()


def test_a_reader_opened_before_the_agent_made_pushed_db_finds_it_later(tmp_path):
    (tmp_path / "replica.db").touch()
    reader = open_reader(tmp_path / "replica.db")
    till = Till(reader, None)
    assert till.health().cursor == 0 and till.problems() == []  # not made yet: nothing to say
    replica = Replica(tmp_path / "replica.db")
    journal = Journal(tmp_path / "journal.db")
    [event] = redeem_events(journal, 1)
    replica.pushed.record_outcomes(
        [event.wire()], answers([event], "rejected"), 1, journal_id=journal.identity
    )
    till = Till(reader, journal.conn)
    assert [(o.event_id, o.outcome) for o in till.problems()] == [(event.id, "rejected")]
    reader.close()
    journal.close()
    replica.close()


def old_layout(path) -> None:
    """A replica as the agent made it before pushed.db: migrations 1 to 4, its outcomes, cursors
    and push state inside."""
    conn = open_writer(path, [m for m in MIGRATIONS if m[0] < 5], synchronous="NORMAL")
    conn.executescript("""
        INSERT INTO outcomes VALUES ('e1', 1, 'redeem', 'b1.1', 'accepted', NULL, NULL, NULL, NULL, 't', 't');
        INSERT INTO outcomes VALUES ('e2', 2, 'redeem', 'b1.2', 'conflict', 'ALREADY_USED', 's2', 'd2', 't', 't', 't');
        INSERT INTO journals (id, push_cursor, push_anchor, reflected_cursor, last_seq, first_seen_at)
            VALUES ('j1', 2, 'e2', 1, 2, 't');
        INSERT INTO meta VALUES ('journal_id', 'j1');
        INSERT INTO meta VALUES ('last_push_at', '2026-12-01T10:00:00+00:00');
        INSERT INTO meta VALUES ('push_cursor', '2');
        INSERT INTO meta VALUES ('cursor', '42');
    """)
    conn.close()


def test_a_replica_of_the_old_layout_hands_its_outcomes_and_cursors_to_pushed_db_once(tmp_path):
    path = tmp_path / "replica.db"
    old_layout(path)
    replica = Replica(path)
    replica.close()
    replica = Replica(path)  # again: nothing more to move, nothing lost
    own = sqlite3.connect(path)
    assert {r[0] for r in own.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {
        "meta",
        "vouchers",
    }
    assert not {
        r[0] for r in own.execute("SELECT name FROM sqlite_master WHERE name IN ('outcomes', 'journals')")
    }
    assert {r[0] for r in own.execute("SELECT key FROM meta")} == {"cursor"}
    own.close()
    assert replica.pushed.push_mark() == ("j1", 2)
    assert replica.pushed.state()["last_push_at"] == "2026-12-01T10:00:00+00:00"
    assert replica.cursor() == 42
    rows = [tuple(r) for r in replica.conn.execute("SELECT event_id, outcome FROM outcomes ORDER BY seq")]
    assert rows == [("e1", "accepted"), ("e2", "conflict")]
    assert Till(replica.conn, None).health().last_push_at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    replica.close()


def test_a_damaged_pushed_db_is_kept_aside_and_started_afresh(tmp_path):
    replica = Replica(tmp_path / "replica.db")
    event = Event(id=uuid.uuid4(), kind="redeem", voucher_id="b1.1", at=datetime.now(UTC), device_seq=1)
    replica.pushed.record_outcomes([event], answers([event]), 1, journal_id="j1")
    replica.close()
    pushed = path_beside(tmp_path / "replica.db")
    data = bytearray(pushed.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the header's page counts and the first page's B-tree garbled
    pushed.write_bytes(bytes(data))
    fresh = open_pushed(tmp_path / "replica.db")
    try:
        assert list(tmp_path.glob("pushed.db.corrupt-*"))  # kept, never deleted
        assert fresh.push_mark() == ("", 0)  # every journal is pushed from its start again
        assert "pushed.db was damaged" in fresh.state()["last_error"]
    finally:
        fresh.close()


def test_pushing_goes_on_while_a_page_is_applied_on_another_thread(tmp_path):
    """The agent's two writers: a page through the pull loop's connection, outcomes through
    pushed.db, at once."""
    replica = Replica(tmp_path / "replica.db")
    pull = Replica(tmp_path / "replica.db", replica.pushed)
    journal = Journal(tmp_path / "journal.db")
    events = redeem_events(journal, 1)
    started, release = threading.Event(), threading.Event()

    def hold_a_page() -> None:
        pull.conn.execute("BEGIN IMMEDIATE")
        started.set()
        release.wait(30)
        pull.conn.execute("COMMIT")

    holder = threading.Thread(target=hold_a_page)
    holder.start()
    assert started.wait(30)
    try:
        replica.pushed.record_outcomes([events[0].wire()], answers(events), 1, journal_id=journal.identity)
        assert replica.pushed.push_cursor() == 1 and not release.is_set()
    finally:
        release.set()
        holder.join(30)
    journal.close()
    pull.close()
    replica.close()


def test_a_journal_row_the_protocol_cannot_carry_is_recorded_rejected_and_passed(tmp_path):
    """A refused scan written without its verdict is no event the wire carries: the agent records it
    as rejected (MALFORMED, with the rule it breaks), never sends it, and moves the cursor past it."""
    replica = Replica(tmp_path / "replica.db")
    journal = Journal(tmp_path / "journal.db")
    good = journal.append("redeem", "b1.1")
    bad = journal.append("refused", None)  # no verdict
    with pytest.raises(Malformed, match="a refused event needs the verdict the till showed") as why:
        bad.wire()
    event = good.wire()
    assert event.to_wire()["device_seq"] == good.seq and event.kind == "redeem"
    replica.pushed.record_outcomes(
        [event], answers([good]), bad.seq, journal_id=journal.identity, malformed=[(bad, str(why.value))]
    )
    rows = replica.conn.execute(
        "SELECT seq, outcome, reason, server_time FROM outcomes ORDER BY seq"
    ).fetchall()
    assert [tuple(r)[:2] for r in rows] == [(1, "accepted"), (2, "rejected")]
    assert rows[1]["reason"].startswith("MALFORMED: Event: ") and rows[1]["server_time"] is None
    assert rows[0]["server_time"] == "2026-12-01T10:00:00+00:00"
    assert replica.pushed.push_mark() == (journal.identity, 2)
    journal.close()
    replica.close()
