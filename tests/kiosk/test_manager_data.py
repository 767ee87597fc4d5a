"""The manager view's figures, read by localdb's Till from real till files: counts per batch with
this till's redemptions in effect, and its redemptions newest first with what head office said;
the names vouchers go by, every redemption a page at a time, and a voucher's story at this till."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from support.kiosk_files import CODES, KEY_HEX, make_settings

from kiosk.app import Kiosk
from kiosk.manager import ManagerView, claims_words, redemption_name, revert, voucher_words
from localdb.connect import open_reader
from localdb.journal import Journal
from localdb.replica import Replica
from localdb.till import BatchCounts, Till, TillRedemption, VoucherName
from vouchers.codes import code_hash, format_code, new_code
from vouchers.lifecycle import State
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


def test_only_batches_a_till_takes_vouchers_of_are_counted(files):
    settings, _, till = files
    replica = Replica(settings.replica_path)
    try:
        replica.apply_page(
            {
                "cursor": 5,
                "next_cursor": 6,
                "complete": True,
                "store": {"id": "s1", "timezone": "Europe/London"},
                "batches": [
                    {
                        "id": state,
                        "identifier": state,
                        "description": "",
                        "state": state,
                        "claims": "paused" if state == "locked" else "active",
                        "valid_from": None,
                        "valid_until": None,
                        "stores": None,
                    }
                    for state in State
                ],
                "types": [],
                "vouchers": [],
                "deleted": {},
            }
        )
    finally:
        replica.close()
    counts = till.batch_counts(datetime.now(UTC), LONDON)
    assert sorted(c.state for c in counts) == ["distributed", "locked", "redeemable", "redeemable"]
    assert {c.identifier: claims_words(c) for c in counts if c.identifier != "Spring Email"} == {
        "distributed": "Open",
        "locked": "Paused",
        "redeemable": "Open",
    }


@contextmanager
def read_only(settings):
    """A Till on read-only connections, as the agent and the manager's export open one."""
    replica, journal = open_reader(settings.replica_path), open_reader(settings.journal_path)
    try:
        yield Till(replica, journal)
    finally:
        journal.close()
        replica.close()


def test_a_voucher_goes_by_its_code_where_this_till_redeemed_it(tmp_path):
    settings = make_settings(tmp_path)
    kiosk = Kiosk(settings)
    try:
        assert kiosk.scan(CODES[0]).verdict is Verdict.ACCEPTED
    finally:
        kiosk.close()
    with read_only(settings) as till:
        names = till.voucher_names(["b.0", "b.1", "gone.4", "no-serial"])
        [item] = till.redemptions()
    assert names["b.0"] == VoucherName("b.0", CODES[0], "Spring Email", 0)
    assert [voucher_words(v, names[v]) for v in ("b.0", "b.1", "gone.4", "no-serial")] == [
        format_code(CODES[0]),
        "Spring Email no. 1",
        "batch gone no. 4",
        "no-serial",
    ]
    assert item.event.code == CODES[0] and redemption_name(item) == format_code(CODES[0])


def test_every_redemption_a_page_at_a_time_oldest_first_with_its_revert(files):
    _, journal, till = files
    made = [journal.append("redeem", f"b.{n}") for n in range(5)]
    undo = journal.append("revert", "b.3", reverts=made[3].id, reason="wrong voucher")
    pages = list(till.all_redemptions(page=2))
    assert [len(p) for p in pages] == [2, 2, 1] and till.redemption_count() == 5
    items = [item for p in pages for item in p]
    assert [i.event.id for i in items] == [e.id for e in made]
    assert [i.reverted for i in items] == [False, False, False, True, False]
    assert items[3].revert == undo and items[3].revert.reason == "wrong voucher"
    assert {i.batch_identifier for i in items} == {"Spring Email"}


def test_a_vouchers_story_at_this_till_by_its_id_or_by_its_codes_hash(tmp_path):
    settings = make_settings(tmp_path)
    kiosk = Kiosk(settings)
    unknown = new_code()
    try:
        assert kiosk.scan(CODES[1]).verdict is Verdict.ACCEPTED
        refused = kiosk.scan(unknown)
        assert refused.verdict is Verdict.UNKNOWN and kiosk.record_refusal(refused)
    finally:
        kiosk.close()
    key = bytes.fromhex(KEY_HEX)
    with read_only(settings) as till:
        [redeemed] = till.history("b.1", code_hash(CODES[1], key))
        [refusal] = till.history(None, code_hash(unknown, key))
        assert till.history(None, None) == [] and till.history("b.2", code_hash(CODES[2], key)) == []
    assert (redeemed.event.kind, redeemed.event.code, redeemed.outcome) == ("redeem", CODES[1], None)
    assert redeemed.event.code_hash == code_hash(CODES[1], key)
    assert (refusal.event.kind, refusal.event.verdict, refusal.event.voucher_id) == (
        "refused",
        "UNKNOWN",
        None,
    )
    assert refusal.event.code is None  # a refused code is kept as its hash only
