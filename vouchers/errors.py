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
    ├── DatabaseProblem          central.cli.common
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
from dataclasses import field as dataclass_field
from typing import Any

from vouchers.wording import N_, Said, english


class VoucherError(Exception):
    """Base of every error the product raises on purpose.

    `detail` may be given as `Said` (vouchers.wording.said: the English template and its facts):
    `detail` is then its English, for logs and the API, and `said` keeps it for the front ends to
    word in their person's language (`words.errors`); a plain string is words already."""

    slug: str = "bad-request"
    title: str = "The request cannot be carried out"
    said: Said | None = None

    def __init__(self, detail: str | Said, *, title: str | None = None, **extra: Any) -> None:
        text = english(detail)
        super().__init__(text)
        self.detail = text
        if isinstance(detail, Said):
            self.said = detail
        if title is not None:
            self.title = title
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.title}: {self.detail}"


@dataclass(frozen=True, init=False)
class FieldError:
    """One problem with one field of a request or a configuration: `message` in English (the
    API's), `said` the same kept with its facts when it was given so, for a front end to word."""

    field: str
    message: str
    said: Said | None = dataclass_field(default=None, compare=False, repr=False)  # the same, to word

    def __init__(self, field: str, message: str | Said) -> None:
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "message", english(message))
        object.__setattr__(self, "said", message if isinstance(message, Said) else None)

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class InvalidInput(VoucherError):
    slug = "invalid-input"
    title = "Some fields are not valid"

    def __init__(self, errors: list[FieldError], detail: str | Said | None = None) -> None:
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
        detail = Said(message, facts)
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
        allowed_text: str | Said = ", ".join(allowed) if allowed else Said(N_("nothing (the batch is final)"))
        super().__init__(
            Said(
                N_("'{action}' is not allowed while the batch is {state}; allowed now: {allowed}."),
                {"action": action, "state": current_state, "allowed": allowed_text},
            ),
            current_state=current_state,
            allowed=self.allowed,
        )


class DeleteNotConfirmed(Conflict):
    slug = "delete-not-confirmed"
    title = "Deletion needs confirming with the number of vouchers"

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(
            Said(
                N_(
                    "Are you sure you want to permanently delete this batch? {count} vouchers will be "
                    "permanently deleted. Repeat with confirm={count}."
                ),
                {"count": count},
            ),
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
