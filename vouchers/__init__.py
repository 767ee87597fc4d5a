"""The pure domain core shared by the kiosk, the sync agent and the central server.

Nothing here does I/O or imports a framework: codes, batch life cycle, validation,
claim rules, voucher status rules, the verdict, metrics and the wire models.
An import-linter contract in pyproject.toml keeps it that way.
"""
