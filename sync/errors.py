"""What can go wrong between the agent and the server, by what the agent does about it."""

from __future__ import annotations

from localdb import errors as localdb_errors
from vouchers.errors import VoucherError


class SyncError(VoucherError):
    slug = "sync"
    title = "Sync problem"


class Transient(SyncError):
    """Network errors, timeouts, 5xx, garbled answers: retried with backoff, for ever."""

    title = "Server unreachable or answering badly"


class RetryLater(Transient):
    """429: the server says when to come back."""

    title = "Server busy"

    def __init__(self, detail: str, seconds: float) -> None:
        super().__init__(detail)
        self.seconds = seconds


class Revoked(SyncError):
    """401: this device's token is no longer valid."""

    title = "Device revoked"


class BatchRefused(SyncError):
    """409/422 for an upload as a whole: the batch is malformed (a bug, not the network)."""

    title = "Upload refused as malformed"


NotEnrolled = localdb_errors.NotEnrolled  # device.json (localdb/identity.py) missing or unreadable
