"""One error base for the whole product, with words for people.

Every error has a `title` (what happened, in a few words) and a `detail` (what to do or why),
and a `slug` naming the kind of problem; the server turns them into problem+json, with the HTTP
status that central/problems.py gives each kind (STATUSES, the one place statuses are kept).

Every error the product raises on purpose derives from VoucherError; those defined elsewhere
are named with their module (tests/core/test_error_tree.py checks this drawing against the code):

    VoucherError
    ├── ConfigError
    ├── Conflict
    │   ├── ClaimRefused
    │   ├── DeleteNotConfirmed
    │   ├── StatusChangeRefused
    │   ├── TransitionRefused
    │   ├── RevokeNotConfirmed   central.services.devices
    │   ├── MarkUsedRefused      central.services.ledger
    │   └── LastAdmin            central.services.staff
    ├── Forbidden
    │   ├── CsrfRefused          central.web.session
    │   └── RoleRefused          vouchers.roles
    ├── InvalidInput
    │   ├── BatchInvalid
    │   ├── InvalidCode
    │   └── MalformedVoucherId   vouchers.ids
    ├── NotFound
    ├── PayloadTooLarge
    ├── Unauthorized
    │   └── SignInRefused        central.services.staff
    ├── ApiError                 central.client (an admin client's view of the server's answer)
    ├── MailNotSent              central.mail
    ├── BackupError              central.services.backup
    ├── RateLimited              central.services.ratelimit
    ├── PinError                 kiosk.pin
    ├── ScannerError             kiosk.scanner
    │   ├── CameraLost           kiosk.camera
    │   ├── DecoderUnavailable   kiosk.scanner
    │   ├── UnknownDecoder       kiosk.scanner
    │   └── UnreadableImage      kiosk.scanner
    ├── LocalDatabaseError       localdb.errors
    │   ├── DamagedFile          localdb.errors
    │   └── DiskFull             localdb.errors
    ├── NotEnrolled              localdb.errors
    └── SyncError                sync.errors
        ├── BatchRefused         sync.errors
        ├── Revoked              sync.errors
        └── Transient            sync.errors
            └── RetryLater       sync.errors
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class VoucherError(Exception):
    """Base of every error the product raises on purpose."""

    slug: str = "bad-request"
    title: str = "The request cannot be carried out"

    def __init__(self, detail: str, *, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if title is not None:
            self.title = title
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}"


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request or a configuration."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidInput(VoucherError):
    slug = "invalid-input"
    title = "Some fields are not valid"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        self.errors = list(errors)
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))


class BatchInvalid(InvalidInput):
    slug = "batch-invalid"
    title = "The batch configuration is not valid"


class InvalidCode(InvalidInput):
    """Why a text is not a voucher code: `reason` (a code, vouchers.codes.Unreadable), the English
    `message` template (the catalogue's key) and the `facts` that fill it (`character`, `length`,
    `expected`); `detail` is the message in English, for logs and head office's API."""

    slug = "invalid-code"
    title = "Not a voucher code"

    def __init__(self, reason: str, message: str, **facts: object) -> None:
        self.reason = reason
        self.message = message
        self.facts = facts
        detail = message.format(**facts)
        super().__init__([FieldError("code", detail)], detail)


class NotFound(VoucherError):
    slug = "not-found"
    title = "Not found"


class Conflict(VoucherError):
    slug = "conflict"
    title = "Conflicts with the current state"


class TransitionRefused(Conflict):
    slug = "transition-refused"
    title = "Not allowed in the batch's current state"

    def __init__(self, action: str, current_state: str, allowed: list[str]) -> None:
        self.action = action
        self.current_state = current_state
        self.allowed = list(allowed)
        allowed_text = ", ".join(allowed) if allowed else "nothing (the batch is final)"
        super().__init__(
            f"'{action}' is not allowed while the batch is {current_state}; allowed now: {allowed_text}.",
            current_state=current_state,
            allowed=self.allowed,
        )


class DeleteNotConfirmed(Conflict):
    slug = "delete-not-confirmed"
    title = "Deletion needs confirming with the number of vouchers"

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(
            f"Are you sure you want to permanently delete this batch? "
            f"{count} vouchers will be permanently deleted. Repeat with confirm={count}.",
            vouchers=count,
        )


class ClaimRefused(Conflict):
    """A member's claim that cannot be granted; the slug says why."""

    def __init__(self, slug: str, title: str, detail: str, **extra: Any) -> None:
        self.slug = slug
        super().__init__(detail, title=title, **extra)


class StatusChangeRefused(Conflict):
    slug = "status-change-refused"
    title = "That status change is not allowed"


class Unauthorized(VoucherError):
    slug = "unauthorized"
    title = "Missing or wrong token"


class Forbidden(VoucherError):
    slug = "forbidden"
    title = "Not allowed with this token"


class PayloadTooLarge(VoucherError):
    slug = "payload-too-large"
    title = "The request body is too large"


class ConfigError(VoucherError):
    """A configuration file or environment variable with a wrong key or value."""

    slug = "configuration"
    title = "Configuration error"
