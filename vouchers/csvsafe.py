"""Spreadsheet-safe CSV cells: a cell a spreadsheet would read as a formula opens as text.

A cell starting with =, +, -, @, a tab or a carriage return is a formula to Excel, LibreOffice and
Google Sheets (=HYPERLINK(...) in a member id runs when head office opens the export); OWASP's
advice is to put a single quote before it, which every one of them shows as text. Numbers are
written as numbers (a negative one is still a number, not text)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as a CSV writer should get it: text that starts like a formula gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
