"""The sync part of docs/PROTOCOL.md as typed models, shared by the agent and the server.

Requests are strict (unknown fields refused); what a server answers is read leniently
(`extra="ignore"`) so that a newer server's extra fields never break an older agent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import (
    Annotated,
    Literal,
    NotRequired,  # pydantic needs this TypedDict before Python 3.12
)
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from vouchers.lifecycle import Claims, State
from vouchers.status import Status
from vouchers.verdict import Verdict

MAX_EVENTS = 1000

ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]


def _plausible(value: datetime) -> datetime:
    if not 1970 <= value.year <= 9000:
        raise ValueError("the time must be between the years 1970 and 9000")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]


class Strict(BaseModel):
    """A request body: unknown fields refused, and no NUL characters (no database stores them)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value):
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, str) and "\x00" in item for item in items):
            raise ValueError("must not contain NUL characters")
        return value


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


EventKind = Literal["redeem", "revert", "refused", "review"]
Outcome = Literal["accepted", "duplicate", "conflict", "rejected"]


class Event(Strict):
    """One thing a till did, as it pushes it to the ledger."""

    id: UUID = Field(description="Chosen by the device; the idempotency key, remembered for ever.")
    kind: EventKind
    voucher_id: ShortText | None = Field(None, description="Absent for a refused scan of an unknown code.")
    at: Instant = Field(description="Device wall time of the scan.")
    device_seq: int = Field(ge=0, le=2**62)
    cashier: ShortText | None = None
    device_id: ShortText | None = Field(
        None,
        description="Extension: the device that made the event, when it is not the one sending it: an "
        "earlier device of the same store (a till enrolled again pushes what its old journal holds).",
    )
    reverts: UUID | None = Field(None, description="revert only: the id of the redeem event undone.")
    reviews: UUID | None = Field(
        None, description="review only: the id of the conflicted or rejected event a manager reviewed."
    )
    reason: LongText | None = Field(
        None, description="revert: why, in the manager's words; review: the manager's note."
    )
    verdict: Verdict | None = Field(None, description="refused only: the verdict the till showed.")

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Event:
        problems = []
        if self.kind in ("redeem", "revert") and not self.voucher_id:
            problems.append(f"a {self.kind} event needs voucher_id")
        if self.kind == "revert" and (self.reverts is None or not (self.reason or "").strip()):
            problems.append("a revert event needs reverts (the redeem event id) and a reason")
        if self.kind == "review" and (self.reviews is None or not (self.reason or "").strip()):
            problems.append("a review event needs reviews (the event id reviewed) and a reason (the note)")
        if self.kind != "revert" and self.reverts is not None:
            problems.append("reverts belongs to revert events only")
        if self.kind != "review" and self.reviews is not None:
            problems.append("reviews belongs to review events only")
        if self.kind not in ("revert", "review") and self.reason is not None:
            problems.append("reason belongs to revert and review events only")
        if self.kind == "refused" and (self.verdict is None or self.verdict is Verdict.ACCEPTED):
            problems.append("a refused event needs the verdict the till showed (not ACCEPTED)")
        if self.kind != "refused" and self.verdict is not None:
            problems.append("verdict belongs to refused events only")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class EventsRequest(Strict):
    events: list[Event] = Field(max_length=MAX_EVENTS)


class Winner(Lenient):
    store_id: str
    device_id: str | None
    at: datetime


class EventResult(Lenient):
    id: UUID
    outcome: Outcome
    reason: str | None = None
    winner: Winner | None = None
    server_time: datetime
    first: EventResult | None = Field(
        None, description="duplicate only: the result the first copy of this event received."
    )


class EventsResponse(Lenient):
    results: list[EventResult]


class HeartbeatRequest(Strict):
    version: ShortText
    pending: int = Field(ge=0, le=2**31 - 1)
    last_pull_at: Instant | None = None
    last_push_at: Instant | None = None
    snapshot_cursor: int = Field(ge=0, le=2**62)
    device_time: Instant | None = Field(
        None,
        description="Extension: the device's clock when it sent this, so the server can show clock skew.",
    )


class HeartbeatResponse(Lenient):
    server_time: datetime


class EnrolRequest(Strict):
    enrolment_code: ShortText
    device_name: ShortText = Field(min_length=1)


class EnrolResponse(Lenient):
    device_id: str
    store_id: str
    token: str
    code_hash_key: str


class SnapshotStore(Lenient):
    id: str
    timezone: str


class SnapshotBatch(Lenient):
    id: str
    identifier: str
    description: str
    state: State
    claims: Claims
    valid_from: date | None = None
    valid_until: date | None = None
    stores: list[str] | None = None


class SnapshotType(Lenient):
    id: str
    batch_id: str
    name: str
    value: str
    min_purchase: str | None = None
    initial_status: Status


class SnapshotVoucher(TypedDict):
    """A voucher of a snapshot page, validated into a plain dict: a first sync brings millions, and
    a model object each (then dumped back to a dict) cost the agent more than storing them."""

    __pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[misc]
    id: str
    batch_id: str
    type_id: str
    serial: int
    code_hash: str
    claimed: bool
    status: NotRequired[Status | None]
    used_at: NotRequired[datetime | None]
    used_store: NotRequired[str | None]


class Deleted(Lenient):
    """Tombstones. A deleted batch takes its types and vouchers with it: a client drops them too."""

    batches: list[str] = Field(
        [], description="Deleted batches; their types and vouchers are gone with them."
    )
    types: list[str] = Field([], description="Types removed from a batch still being configured.")
    vouchers: list[str] = Field([], description="Vouchers deleted on their own (none today).")


class ProblemWinner(Lenient):
    store_id: str
    device_id: str | None = None
    at: datetime


class ProblemReviewed(Lenient):
    at: datetime
    by: str
    note: str


class SnapshotProblem(Lenient):
    """A conflict or rejection the store should review: one of its own events, or (a conflict) one
    its redemption won; `reviewed` once someone closed it, at either store or at head office."""

    event_id: str
    kind: str
    outcome: Literal["conflict", "rejected"]
    reason: str | None = None
    store_id: str
    device_id: str | None = None
    voucher_id: str | None = None
    at: datetime
    winner: ProblemWinner | None = None
    reviewed: ProblemReviewed | None = None


class SnapshotPage(Lenient):
    cursor: int
    next_cursor: int
    complete: bool
    head: int | None = Field(
        None, description="Extension: the server's newest change number when the page was read."
    )
    remaining: int | None = Field(
        None,
        description="Extension: about how many changes follow next_cursor (head − next_cursor, an upper "
        "bound; 0 when complete).",
    )
    store: SnapshotStore
    batches: list[SnapshotBatch]
    types: list[SnapshotType]
    vouchers: list[SnapshotVoucher]
    deleted: Deleted
    problems: list[SnapshotProblem] = Field([], description="Extension: conflicts and rejections to review.")
    wait: float | None = Field(
        None,
        description="Extension: the `wait` the server honoured (it waited for a "
        "change up to this many seconds); absent from a server that does not wait.",
    )
