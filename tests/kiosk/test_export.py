"""The till's CSV export (the manager view's `e`): a cashier name that looks like a formula opens as text."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

from kiosk.manager import TillRedemption, export_csv
from localdb.journal import JournalEvent


def test_formula_cells_are_written_as_text(tmp_path):
    event = JournalEvent(
        seq=1,
        id="e1",
        kind="redeem",
        voucher_id="b_1.7",
        at=datetime(2026, 3, 2, 14, 3, tzinfo=UTC),
        cashier='=HYPERLINK("http://evil.example","x")',
    )
    path = export_csv(tmp_path / "out.csv", [TillRedemption(event, "-Spring", "accepted", None, False)], UTC)
    [header, row] = list(csv.reader(path.open()))
    assert header[3] == "cashier"
    assert row[3] == '\'=HYPERLINK("http://evil.example","x")' and row[2] == "'-Spring"
    assert row[0] == "2026-03-02T14:03:00+00:00" and row[1] == "b_1.7"
