"""Request bodies of the admin and member endpoints (the sync ones live in vouchers.wire)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from vouchers.status import Status
from vouchers.wire import Strict
from vouchers.wording import said
from words import normal_locale

Name = Annotated[str, StringConstraints(max_length=200)]
Text = Annotated[str, StringConstraints(max_length=5000)]
StoreId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Serial = Annotated[int, Field(ge=0, le=10**15)]
Channel = Literal["email", "in-store-qr", "social-media", "events"]


def _date_only(value):
    if isinstance(value, str) and len(value) > 10:
        raise ValueError(
            "a validity date is a day, YYYY-MM-DD, counted in each store's own time zone; not a time"
        )
    return value


Day = Annotated[
    date,
    BeforeValidator(_date_only),
    Field(
        description="A day (YYYY-MM-DD); vouchers are valid from the start of valid_from to the end of "
        "valid_until in each store's local time zone."
    ),
]


class ProblemReview(Strict):
    """Head office closes a conflict or rejection: who looked into it, and what they found."""

    by: Name = Field(min_length=1, description="Who reviewed it (a person, for the record).")
    note: Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)] = Field(
        min_length=1, description="What was found, what was done."
    )


def _known_locale(value: str | None) -> str | None:
    if value is None:
        return None
    normal = normal_locale(value)
    if normal is None:
        raise ValueError(
            said(
                "unknown locale '{value}' (use en, fr, de or es, with a region if wanted: de_CH)", value=value
            )
        )
    return normal


Locale = Annotated[
    str | None,
    Field(
        max_length=16,
        description="The store's locale: its tills' language and formats (en, fr, de, es, or with a "
        "region: de_CH, fr_BE); null: each till's own setting, else English.",
    ),
    AfterValidator(_known_locale),
]


class StoreCreate(Strict):
    id: StoreId
    name: Name = Field(min_length=1)
    timezone: Annotated[str, StringConstraints(max_length=64)] = "UTC"
    locale: Locale = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown time zone '{value}' (use an IANA name such as Europe/London)"
            ) from None
        return value


class StoreLocale(Strict):
    """PATCH /stores/{id}: the store's locale (null: none; each till's own setting, else English)."""

    locale: Locale


class BatchCreate(Strict):
    identifier: Name
    description: Text = ""
    serial_start: Serial
    serial_end: Serial
    valid_from: Day | None = None
    valid_until: Day | None = None
    stores: list[StoreId] | None = Field(None, max_length=1000)
    channel: Channel | None = None


class _Patch(Strict):
    """A partial update: absent fields stay as they are; `null` only where a field may be empty."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _no_null_for_required(cls, value, info: ValidationInfo):
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("cannot be null; leave the field out to keep it as it is")
        return value


class BatchPatch(_Patch):
    nullable = frozenset({"valid_from", "valid_until", "stores", "channel"})
    identifier: Name | None = None
    description: Text | None = None
    serial_start: Serial | None = None
    serial_end: Serial | None = None
    valid_from: Day | None = None
    valid_until: Day | None = None
    stores: list[StoreId] | None = Field(None, max_length=1000)
    channel: Channel | None = None


class TypeCreate(Strict):
    name: Name
    serial_start: Serial | None = Field(None, description="Defaults to the start of the batch's range.")
    serial_end: Serial | None = Field(None, description="Defaults to the end of the batch's range.")
    value: Name
    min_purchase: Name | None = None
    initial_status: Status = Status.UNUSED


class TypePatch(_Patch):
    nullable = frozenset({"min_purchase"})
    name: Name | None = None
    serial_start: Serial | None = None
    serial_end: Serial | None = None
    value: Name | None = None
    min_purchase: Name | None = None
    initial_status: Status | None = None


class ClaimRequest(Strict):
    claim_token: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    member_id: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] | None
    ) = Field(
        None,
        description="The member's e-mail address (compared case-folded): required with an integration "
        "token; with a member's session, left out (or theirs).",
    )


class StatusChange(Strict):
    status: Status
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
