"""replica.db and journal.db on real SQLite files, and the till's overlaid view of a voucher."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from localdb.connect import open_reader
from localdb.errors import LocalDatabaseError
from localdb.journal import Journal, events_after, last_seq
from localdb.replica import Replica
from localdb.till import Till
from vouchers.status import Status
from vouchers.verdict import Verdict, decide
from vouchers.wire import EventResult, Malformed

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def answers(*results: dict) -> list[EventResult]:
    return [EventResult.from_wire(r) for r in results]


def page(cursor=0, next_cursor=10, vouchers=(), batches=None, deleted=None, complete=True):
    return {
        "cursor": cursor,
        "next_cursor": next_cursor,
        "complete": complete,
        "store": {"id": "s1", "timezone": "Europe/London"},
        "batches": batches
        if batches is not None
        else [
            {
                "id": "b1",
                "identifier": "Spring",
                "description": "",
                "state": "redeemable",
                "claims": "active",
                "valid_from": None,
                "valid_until": None,
                "stores": None,
            }
        ],
        "types": [
            {
                "id": "t1",
                "batch_id": "b1",
                "name": "Std",
                "value": "£5 off",
                "min_purchase": "£20",
                "initial_status": "unused",
            }
        ],
        "vouchers": list(vouchers),
        "deleted": deleted or {"batches": [], "types": [], "vouchers": []},
    }


def voucher(n, **fields):
    return {
        "id": f"b1.{n}",
        "batch_id": "b1",
        "type_id": "t1",
        "serial": n,
        "code_hash": f"h{n}",
        "claimed": True,
        "status": "unused",
        "used_at": None,
        "used_store": None,
        **fields,
    }


@pytest.fixture
def files(tmp_path):
    replica, journal = Replica(tmp_path / "replica.db"), Journal(tmp_path / "journal.db")
    yield replica, journal
    replica.close()
    journal.close()


def verdict(till: Till, code_hash: str) -> Verdict:
    found = till.lookup(code_hash)
    store_id, tz = till.store()
    return decide(found and found.voucher, found and found.batch, store_id, NOW, tz)


def test_journal_is_append_only_and_durable(files, tmp_path):
    _, journal = files
    first = journal.append("redeem", "b1.1", at=NOW, cashier="jo")
    second = journal.append("refused", None, verdict="INVALID_CODE")
    assert (first.seq, second.seq) == (1, 2)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        journal.conn.execute("UPDATE events SET kind = 'refused' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        journal.conn.execute("DELETE FROM events")
    reader = open_reader(tmp_path / "journal.db")
    assert [e.id for e in events_after(reader, 0, 10)] == [first.id, second.id]
    assert last_seq(reader) == 2
    assert events_after(reader, 0, 10)[0].wire().to_wire() == {
        "id": first.id,
        "kind": "redeem",
        "voucher_id": "b1.1",
        "at": NOW.isoformat(),
        "device_seq": 1,
        "cashier": "jo",
    }
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.execute("INSERT INTO events (id, kind, at) VALUES ('x', 'redeem', 'now')")
    assert journal.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert journal.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_run_once(tmp_path):
    from localdb.journal import MIGRATIONS

    Journal(tmp_path / "j.db").close()
    again = Journal(tmp_path / "j.db")
    assert again.conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)
    again.close()


def test_a_journal_of_the_first_version_keeps_its_events_and_sequence_through_the_review_migration(tmp_path):
    """Migration 3 rebuilds the events table (SQLite cannot change a CHECK): rows, sequence numbers
    and the append-only triggers survive; the next event follows the last one."""
    import sqlite3

    from localdb.connect import migrate
    from localdb.journal import MIGRATIONS

    path = tmp_path / "j.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate(old, MIGRATIONS[:1])
    old.execute(
        "INSERT INTO events (id, kind, voucher_id, at) VALUES ('e1', 'redeem', 'b.1', '2026-01-01T00:00:00+00:00')"
    )
    old.execute(
        "INSERT INTO events (id, kind, voucher_id, at) VALUES ('e2', 'redeem', 'b.2', '2026-01-01T00:00:00+00:00')"
    )
    old.close()
    journal = Journal(path)
    try:
        rows = journal.conn.execute("SELECT seq, id FROM events ORDER BY seq").fetchall()
        assert [tuple(r) for r in rows] == [(1, "e1"), (2, "e2")]
        review = journal.append("review", None, reviews="e1", reason="checked with the other shop")
        assert review.seq == 3 and review.reviews == "e1"
        with pytest.raises(Malformed, match="reviews: Input should be a valid UUID"):
            review.wire()  # ids of the first version were not UUIDs: not an event the protocol carries
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            journal.conn.execute("DELETE FROM events")
    finally:
        journal.close()


def test_a_corrupt_file_is_reported_in_words(tmp_path):
    (tmp_path / "replica.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(LocalDatabaseError, match="replica.db"):
        Replica(tmp_path / "replica.db")


def test_page_and_cursor_apply_together_or_not_at_all(files):
    replica, _ = files
    assert replica.apply_page(page(0, 10, [voucher(1), voucher(2)])) == 10
    broken = page(10, 20, [voucher(3), {"id": "b1.4", "batch_id": "b1"}])  # second voucher lacks fields
    with pytest.raises(Malformed, match=r"SnapshotPage: vouchers\.1\.type_id: Field required"):
        replica.apply_page(broken)
    assert replica.cursor() == 10
    assert replica.conn.execute("SELECT count(*) FROM vouchers").fetchone()[0] == 2
    with pytest.raises(ValueError, match="cursor 5"):
        replica.apply_page(page(5, 30))
    assert replica.cursor() == 10


def test_deleted_batch_takes_its_vouchers_and_types(files):
    replica, _ = files
    replica.apply_page(page(0, 10, [voucher(1), voucher(2)]))
    replica.apply_page(page(10, 11, [], batches=[], deleted={"batches": ["b1"], "types": [], "vouchers": []}))
    counts = [
        replica.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("batches", "types", "vouchers")
    ]
    assert counts == [0, 0, 0]


def test_till_sees_its_own_unsynced_redemption(files):
    replica, journal = files
    replica.apply_page(page(0, 10, [voucher(1)]))
    till = Till(replica.conn, journal.conn)
    assert verdict(till, "h1") is Verdict.ACCEPTED
    assert verdict(till, "nope") is Verdict.UNKNOWN
    event = journal.append("redeem", "b1.1", at=NOW)
    found = till.lookup("h1")
    assert found.voucher.status is Status.USED and found.voucher.used_store == "s1"
    assert found.redeemed_here.id == event.id and found.value == "£5 off"
    assert verdict(till, "h1") is Verdict.ALREADY_USED
    assert till.pending() == 1
    journal.append("revert", "b1.1", reverts=event.id, reason="mistake")
    assert verdict(till, "h1") is Verdict.ACCEPTED
    assert till.pending() == 2


def test_outcomes_and_reflection(files):
    replica, journal = files
    replica.apply_page(page(0, 10, [voucher(1), voucher(2), voucher(3)]))
    till = Till(replica.conn, journal.conn)
    won = journal.append("redeem", "b1.1", at=NOW)
    lost = journal.append("redeem", "b1.2", at=NOW)
    refused = journal.append("redeem", "b1.3", at=NOW)
    server = NOW.isoformat()
    replica.pushed.record_outcomes(
        [e.wire() for e in (won, lost, refused)],
        answers(
            {"id": won.id, "outcome": "accepted", "server_time": server},
            {
                "id": lost.id,
                "outcome": "conflict",
                "reason": "ALREADY_USED",
                "server_time": server,
                "winner": {"store_id": "s9", "device_id": "d9", "at": (NOW - timedelta(hours=1)).isoformat()},
            },
            {"id": refused.id, "outcome": "rejected", "reason": "BATCH_LOCKED", "server_time": server},
        ),
        last_seq=refused.seq,
    )
    assert till.pending() == 0
    assert till.lookup("h1").voucher.status is Status.USED
    lost_view = till.lookup("h2").voucher
    assert (lost_view.status, lost_view.used_store) == (Status.USED, "s9")
    assert till.lookup("h3").voucher.status is Status.UNUSED  # the server never counted it
    assert [(p.kind, p.outcome, p.reason) for p in till.problems()] == [
        ("redeem", "rejected", "BATCH_LOCKED"),
        ("redeem", "conflict", "ALREADY_USED"),
    ]
    # a pull after those outcomes: the replica now holds the server's truth, and the journal stops counting
    replica.apply_page(page(10, 20, [voucher(1, status="unused")]))
    replica.pushed.mark_reflected(refused.seq)
    assert till.lookup("h1").voucher.status is Status.UNUSED  # e.g. head office reverted it meanwhile


def test_revert_of_a_reflected_redemption_counts_until_pushed(files):
    replica, journal = files
    replica.apply_page(page(0, 10, [voucher(1)]))
    till = Till(replica.conn, journal.conn)
    event = journal.append("redeem", "b1.1", at=NOW)
    replica.pushed.record_outcomes(
        [event.wire()], answers({"id": event.id, "outcome": "accepted", "server_time": NOW}), event.seq
    )
    replica.apply_page(page(10, 20, [voucher(1, status="used", used_at=NOW.isoformat(), used_store="s1")]))
    replica.pushed.mark_reflected(event.seq)
    assert verdict(till, "h1") is Verdict.ALREADY_USED
    journal.append("revert", "b1.1", reverts=event.id, reason="customer changed their mind")
    assert verdict(till, "h1") is Verdict.ACCEPTED


def test_duplicate_result_keeps_the_first_answer(files):
    replica, journal = files
    event = journal.append("redeem", "b1.1", at=NOW)
    replica.pushed.record_outcomes(
        [event.wire()],
        answers(
            {
                "id": event.id,
                "outcome": "duplicate",
                "server_time": NOW + timedelta(days=2),
                "first": {
                    "id": event.id,
                    "outcome": "conflict",
                    "server_time": NOW + timedelta(days=1),
                    "reason": "ALREADY_USED",
                    "winner": {"store_id": "s2", "device_id": "d", "at": NOW},
                },
            }
        ),
        event.seq,
    )
    [problem] = Till(replica.conn, journal.conn).problems()
    assert (problem.outcome, problem.winner_store) == ("conflict", "s2")
    assert (problem.server_time, problem.winner_at) == (
        (NOW + timedelta(days=1)).isoformat(),
        NOW.isoformat(),
    )


def test_wipe_keeps_outcomes_and_push_cursor(files):
    replica, journal = files
    replica.apply_page(page(0, 10, [voucher(1)]))
    event = journal.append("redeem", "b1.1", at=NOW)
    replica.pushed.record_outcomes(
        [event.wire()], answers({"id": event.id, "outcome": "accepted", "server_time": NOW}), event.seq
    )
    replica.wipe_snapshot()
    assert replica.cursor() == 0 and replica.pushed.push_cursor() == 1
    assert replica.conn.execute("SELECT count(*) FROM vouchers").fetchone()[0] == 0
    assert replica.conn.execute("SELECT count(*) FROM outcomes").fetchone()[0] == 1


def test_one_kiosk_writes_a_journal_a_second_is_refused_in_words(tmp_path):
    import signal
    import subprocess
    import sys

    from localdb.errors import LocalDatabaseError

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys; from pathlib import Path; from localdb.journal import Journal; "
                "j = Journal(Path(sys.argv[1])); print('open', flush=True); sys.stdin.read()"
            ),
            str(tmp_path / "journal.db"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        with pytest.raises(LocalDatabaseError, match=f"in use by another kiosk \\(process {holder.pid}\\)"):
            Journal(tmp_path / "journal.db")
        holder.send_signal(signal.SIGKILL)  # however the first one ends, the lock goes with it
        holder.wait(timeout=10)
        journal = Journal(tmp_path / "journal.db")
        journal.append("refused", None, verdict="UNKNOWN")
        journal.close()
    finally:
        holder.kill()
        holder.wait(timeout=10)
