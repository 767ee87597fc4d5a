"""The scanner-layout notice in journal.db (migration 4): raised, counted, narrowed, ended by scans
that arrive right or by a manager, read by the kiosk and, read-only, by `voucher-sync status`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from localdb import notices
from localdb.connect import migrate, open_reader
from localdb.health import Limits, assess
from localdb.journal import MIGRATIONS, Journal
from localdb.replica import Replica
from localdb.till import Till

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CODE_WITH_Y = "7T3KYQJ2XMVBCD"  # a German till moves it (Y), as it moves nothing of "7T3K9QJ2XMVBCD"


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path / "journal.db")
    yield journal
    journal.close()


def test_a_fresh_journal_has_no_notice_and_notices_are_append_only(journal):
    assert notices.current(journal.conn) is None
    assert notices.record_scan(journal, CODE_WITH_Y, None) == ()  # nothing noticed: nothing to count
    notices.record_scan(journal, "x", ("de",), now=T0)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        journal.conn.execute("UPDATE notices SET event = 'fixed'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        journal.conn.execute("DELETE FROM notices")


def test_raised_counted_narrowed_then_fixed_by_scans_that_arrive_right(journal):
    assert notices.record_scan(journal, "a", ("de", "ch"), now=T0) == ("raised",)
    assert notices.record_scan(journal, "b", ("de",), now=T0 + timedelta(minutes=5)) == ("corrected",)
    notice = notices.current(journal.conn)
    assert notice.layouts == ("de",) and notice.corrected == 2 and notice.correct_in_row == 0
    assert (notice.since, notice.last) == (T0, T0 + timedelta(minutes=5))
    words = notice.words(T0 + timedelta(minutes=20))
    assert (
        "German (QWERTZ)" in words
        and "Germany" in words
        and "2 scans corrected, the first 20 minutes ago" in words
    )
    assert "the last 15 minutes ago" in words and "US English" in words
    assert (
        notices.record_scan(journal, "7T3K9QJ2XMVBCD", None) == ()
    )  # the same through any layout: no evidence
    assert notices.record_scan(journal, CODE_WITH_Y, None) == ("correct",)
    assert notices.record_scan(journal, CODE_WITH_Y, None) == ("correct",)
    assert notices.current(journal.conn).correct_in_row == 2
    assert notices.record_scan(journal, "c", ("de",)) == ("corrected",)  # not fixed after all: counted again
    assert notices.current(journal.conn).correct_in_row == 0
    for _ in range(notices.FIXED_AFTER - 1):
        assert notices.record_scan(journal, CODE_WITH_Y, None) == ("correct",)
    assert notices.record_scan(journal, CODE_WITH_Y, None) == ("correct", "fixed")
    assert notices.current(journal.conn) is None
    assert notices.record_scan(journal, "d", ("de",)) == ("raised",)  # back again: a new notice
    assert notices.current(journal.conn).corrected == 1


def test_another_layout_raises_a_new_notice_and_a_manager_dismisses_it(journal):
    notices.record_scan(journal, "a", ("de",), now=T0)
    assert notices.record_scan(journal, "b", ("fr", "be"), now=T0 + timedelta(hours=1)) == ("raised",)
    notice = notices.current(journal.conn)
    assert (
        notice.layouts == ("fr", "be") and notice.corrected == 1 and notice.since == T0 + timedelta(hours=1)
    )
    assert "French (AZERTY) or Belgian (AZERTY)" in notice.words(T0 + timedelta(hours=1))
    assert notices.dismiss(journal, by="Ann") is True
    assert notices.current(journal.conn) is None
    assert notices.dismiss(journal) is False
    by = journal.conn.execute("SELECT by FROM notices WHERE event = 'dismissed'").fetchone()[0]
    assert by == "Ann"


def test_a_journal_from_before_notices_has_none_and_is_migrated(tmp_path):
    path = tmp_path / "journal.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate(old, MIGRATIONS[:3])
    assert notices.current(old) is None  # what an older kiosk's journal reads as
    old.close()
    journal = Journal(path)
    notices.record_scan(journal, "a", ("ch",))
    reader = open_reader(path)  # the agent's side, read-only
    assert notices.current(reader).layouts == ("ch",)
    reader.close(), journal.close()


def test_voucher_sync_status_judgement_names_the_notice(tmp_path):
    replica = Replica(tmp_path / "replica.db")
    replica.apply_page(
        {
            "cursor": 0,
            "next_cursor": 1,
            "complete": True,
            "store": {"id": "s1", "timezone": "Europe/London"},
            "batches": [],
            "types": [],
            "vouchers": [],
            "deleted": {},
        }
    )
    journal = Journal(tmp_path / "journal.db")
    limits = Limits(offline=timedelta(days=9999), stale=timedelta(days=9999))
    till = Till(replica.conn, open_reader(tmp_path / "journal.db"))
    before = assess(till, limits, datetime.now(UTC))
    assert before.scanner_layout is None and before.as_json()["scanner_layout"] is None
    assert not [p for p in before.problems if "scanner" in p]
    notices.record_scan(journal, "a", ("de",))
    health = assess(till, limits, datetime.now(UTC))
    assert health.degraded and [
        p for p in health.problems if p.startswith("the barcode scanner types as a US")
    ]
    report = health.as_json()["scanner_layout"]
    assert report["layouts"] == ["de"] and report["corrected"] == 1 and "Germany" in report["advice"]
    notices.dismiss(journal)
    assert assess(till, limits, datetime.now(UTC)).scanner_layout is None
    till.journal.close(), journal.close(), replica.close()
