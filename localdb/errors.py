"""Errors of the store host's local files."""

from vouchers.errors import VoucherError


class LocalDatabaseError(VoucherError):
    slug = "local-database"
    title = "Local database problem"
