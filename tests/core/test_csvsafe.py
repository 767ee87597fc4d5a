"""Formula cells in exports open as text (issue 13): the rule every export uses."""

from __future__ import annotations

import pytest

from vouchers.csvsafe import safe_cell, safe_row


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://evil.example","Click")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]
)
def test_a_cell_a_spreadsheet_would_run_starts_with_a_quote(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["ann@example.com", "2026-03-02T14:03:00+00:00", "", "£5 off", "a=b", 42, -3, None]
)
def test_everything_else_is_left_as_it_is(value):
    assert safe_cell(value) == value


def test_a_row():
    assert safe_row(["=1", "ok", 7]) == ["'=1", "ok", 7]
