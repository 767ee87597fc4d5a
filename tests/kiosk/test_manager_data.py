"""The manager view's figures, read by localdb's Till from real till files: counts per batch with
this till's redemptions in effect, and its redemptions newest first with what head office said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support.kiosk_files import CODES, make_settings

from kiosk.app import Kiosk
from kiosk.manager import ManagerView, revert
from localdb.connect import open_reader
from localdb.journal import Journal
from localdb.till import BatchCounts, Till, TillRedemption
from vouchers.verdict import Verdict

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def files(tmp_path):
    settings = make_settings(tmp_path)
    journal = Journal(settings.journal_path)
    replica = open_reader(settings.replica_path)
    yield settings, journal, Till(replica, journal.conn)
    replica.close()
    journal.close()


def test_counts_take_in_this_tills_redemptions_not_reverted(files):
    _, journal, till = files
    now = datetime.now(UTC)
    journal.append("redeem", "b.0", at=now - timedelta(days=2))
    second = journal.append("redeem", "b.1", at=now)
    journal.append("revert", "b.1", reverts=second.id, reason="wrong voucher")
    journal.append("refused", None, verdict="UNKNOWN")

    [counts] = till.batch_counts(now, LONDON)
    assert isinstance(counts, BatchCounts)
    assert (counts.batch_id, counts.identifier, counts.state, counts.claims) == (
        "b",
        "Spring Email",
        "redeemable",
        "active",
    )
    figures = counts.figures
    assert (figures.total, figures.claimed, figures.redeemed, figures.available) == (3, 2, 1, 1)
    assert (counts.here_today, counts.here_all_time, counts.here_unsynced) == (0, 1, 1)


def test_redemptions_come_newest_first_with_their_batch_and_revert(files):
    _, journal, till = files
    first = journal.append("redeem", "b.0")
    second = journal.append("redeem", "b.1")
    journal.append("revert", "b.1", reverts=second.id, reason="wrong voucher")

    items = till.redemptions()
    assert all(isinstance(item, TillRedemption) for item in items)
    assert [(i.event.id, i.batch_identifier, i.outcome, i.reverted) for i in items] == [
        (second.id, "Spring Email", None, True),
        (first.id, "Spring Email", None, False),
    ]
    assert till.redemptions(limit=1)[0].event.id == second.id
    with pytest.raises(ValueError, match="already been reverted"):
        revert(journal, items[0], "again")


def test_a_voucher_id_that_is_no_id_counts_for_no_batch(files):
    """An event whose voucher id is not `batch.serial` (a journal written by hand, or damaged) is
    listed without a batch and counted for none, instead of breaking the manager view."""
    _, journal, till = files
    journal.append("redeem", "b.0")
    odd = journal.append("redeem", "no-serial-here")
    [counts] = till.batch_counts(datetime.now(UTC), LONDON)
    assert counts.here_all_time == 1
    newest = till.redemptions()[0]
    assert (newest.event.id, newest.batch_identifier) == (odd.id, None)


def test_the_kiosk_hands_the_view_over_as_one_record(tmp_path):
    settings = make_settings(tmp_path)
    kiosk = Kiosk(settings)
    try:
        assert kiosk.scan(CODES[0]).verdict is Verdict.ACCEPTED
        view = kiosk.manager_data(datetime.now(UTC))
    finally:
        kiosk.close()
    assert isinstance(view, ManagerView)
    assert [c.identifier for c in view.counts] == ["Spring Email"]
    assert [r.event.voucher_id for r in view.redemptions] == ["b.0"]
    assert view.tz == LONDON and view.problems == () and view.journal == ()


def test_without_a_replica_the_view_is_empty_not_an_error(tmp_path):
    settings = make_settings(tmp_path)
    settings.replica_path.unlink()
    kiosk = Kiosk(settings)
    try:
        assert kiosk.manager_data(datetime.now(UTC)) == ManagerView()
    finally:
        kiosk.close()
