"""The head-office server: batches, claims, the ledger and the sync API (docs/PROTOCOL.md)."""
