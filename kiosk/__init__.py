"""The cashier's Textual app (issue 4)."""
