"""The till's CSV export (the manager view's `e`): formula-like cells open as text, times are in
the store's zone with their offset, a revert's reason and author are filled in, and a file is
never left half-written under its name."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk.manager import COLUMNS, TillRedemption, write_csv
from localdb.journal import JournalEvent

AT = datetime(2026, 3, 2, 14, 3, tzinfo=UTC)


def test_formula_cells_are_written_as_text(tmp_path):
    event = JournalEvent(
        seq=1,
        id="e1",
        kind="redeem",
        voucher_id="b_1.7",
        at=AT,
        cashier='=HYPERLINK("http://evil.example","x")',
    )
    path = tmp_path / "out.csv"
    assert write_csv(path, [[TillRedemption(event, "-Spring", "accepted", None, False)]], UTC) == 1
    [header, row] = list(csv.reader(path.open()))
    assert header == COLUMNS
    got = dict(zip(header, row, strict=True))
    assert got["cashier"] == '\'=HYPERLINK("http://evil.example","x")' and got["batch"] == "'-Spring"
    assert got["time"] == "2026-03-02T14:03:00+00:00" and got["voucher_id"] == "b_1.7"
    assert got["voucher"] == "'-Spring no. 7"  # no code kept: the batch and serial, as text


def test_local_time_the_code_and_the_revert_with_its_reason(tmp_path):
    berlin = ZoneInfo("Europe/Berlin")
    redeem = JournalEvent(1, "e1", "redeem", "b.7", AT, "jo", code="7K2M9QH4RTX3A7")
    undo = JournalEvent(
        2,
        "e2",
        "revert",
        "b.7",
        datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        "sam",
        reverts="e1",
        reason="wrong one",
    )
    item = TillRedemption(redeem, "Spring", "accepted", None, True, undo)
    seen = []
    path = tmp_path / "out.csv"
    write_csv(
        path, [[item], [item]], berlin, total=2, progress=lambda done, total: seen.append((done, total))
    )
    rows = list(csv.DictReader(path.open()))
    assert seen == [(1, 2), (2, 2)] and len(rows) == 2
    row = rows[0]
    assert (row["time"], row["time_zone"]) == ("2026-03-02T15:03:00+01:00", "Europe/Berlin")
    assert (row["voucher"], row["synced"], row["outcome"]) == ("7K2M-9QH4-RTX3-A7", "yes", "accepted")
    assert (row["reverted"], row["reverted_at"], row["revert_reason"], row["reverted_by"]) == (
        "yes",
        "2026-03-02T16:00:00+01:00",
        "wrong one",
        "sam",
    )


def test_a_file_that_cannot_be_finished_is_not_left_under_its_name(tmp_path):
    def pages():
        yield [TillRedemption(JournalEvent(1, "e1", "redeem", "b.1", AT), "Spring", None, None, False)]
        raise OSError(28, "No space left on device")

    path = tmp_path / "out.csv"
    with pytest.raises(OSError):
        write_csv(path, pages(), UTC)
    assert list(tmp_path.iterdir()) == []
