"""The sync part of docs/PROTOCOL.md as typed models, shared by the agent and the server.

These records are the currency every room of the store host speaks: the journal yields `Event`s,
the agent's client returns a `SnapshotPage` and one `EventResult` per event pushed, the replica
applies the page and pushed.db records the results. Each is immutable (`frozen`), and each reads
and writes its JSON form with `from_wire` and `to_wire`; a body that does not follow the protocol
raises `Malformed`, which names the record and the field.

Requests are strict (unknown fields refused); what a server answers is read leniently
(`extra="ignore"`) so that a newer server's extra fields never break an older agent. A snapshot
page's vouchers stay plain dicts (`SnapshotVoucher`, a TypedDict): a first sync brings millions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,  # pydantic needs this TypedDict before Python 3.12
    Self,
)
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_serializer,
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
        if isinstance(value, str):  # the usual cases first: it runs for every field of every event
            if "\x00" in value:
                raise ValueError("must not contain NUL characters")
        elif isinstance(value, list) and any(isinstance(item, str) and "\x00" in item for item in value):
            raise ValueError("must not contain NUL characters")
        return value


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Malformed(ValueError):
    """A body that does not follow docs/PROTOCOL.md: which record, which field, and what is wrong,
    e.g. `SnapshotPage: vouchers.1.status: Input should be 'unused', ...`."""

    def __init__(self, record: str, field: str, message: str) -> None:
        self.record, self.field, self.message = record, field, message
        super().__init__(f"{record}: {field}: {message}" if field else f"{record}: {message}")

    @classmethod
    def of(cls, record: str, exc: ValidationError) -> Malformed:
        """The first of pydantic's errors, in these words."""
        first = exc.errors()[0]
        return cls(record, ".".join(str(p) for p in first.get("loc", ())), first["msg"])


JSONObject = dict[str, Any]  # a JSON object as json.loads gives it, or json.dumps takes it


class Record(BaseModel):
    """A wire record: immutable, read from and written to its JSON form."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_wire(cls, data: bytes | str | Mapping[str, object]) -> Self:
        """The record from its JSON text or its decoded JSON object; Malformed when it is not one."""
        try:
            if isinstance(data, bytes | str):
                return cls.model_validate_json(data)
            return cls.model_validate(data)
        except ValidationError as exc:
            raise Malformed.of(cls.__name__, exc) from None

    def to_wire(self) -> JSONObject:
        """The record as JSON sends it (times as ISO 8601 text)."""
        return self.model_dump(mode="json")


EventKind = Literal["redeem", "revert", "refused", "review"]
Outcome = Literal["accepted", "duplicate", "conflict", "rejected"]


KIND_SPECIFIC = ("reverts", "reviews", "reason", "verdict")  # every other field belongs to every kind
KINDS: dict[str, tuple[str, ...]] = {  # what an event of each kind needs (present; text not blank)
    "redeem": ("voucher_id",),
    "revert": ("voucher_id", "reverts", "reason"),  # a manager's undo of a redeem
    "refused": ("verdict",),  # a scan the till refused: never changes a voucher
    "review": ("reviews", "reason"),  # a manager closed a conflict or rejection
}  # and a kind carries none of KIND_SPECIFIC but those it needs
_NEEDS_WORDS = {
    "voucher_id": "voucher_id",
    "reverts": "reverts (the redeem event id)",
    "reviews": "reviews (the event id reviewed)",
    "reason": "a reason",
    "verdict": "the verdict the till showed",
}


def kind_problems(kind: str, fields: Mapping[str, object]) -> list[str]:
    """What is wrong with an event of `kind` carrying `fields` (those not None), in words; empty
    when nothing is. The one statement of docs/PROTOCOL.md's rules per kind."""
    needs = KINDS.get(kind)
    if needs is None:
        return [f"kind must be one of {', '.join(KINDS)}"]
    problems = []
    missing = [f for f in needs if fields.get(f) is None or not str(fields[f]).strip()]
    if missing:
        problems.append(f"a {kind} event needs {' and '.join(_NEEDS_WORDS[f] for f in missing)}")
    for field in KIND_SPECIFIC:
        if fields.get(field) is not None and field not in needs:
            owners = " and ".join(k for k, wanted in KINDS.items() if field in wanted)
            problems.append(f"{field} belongs to {owners} events only")
    if kind == "refused" and fields.get("verdict") == Verdict.ACCEPTED:
        problems.append("a refused event needs the verdict the till showed (not ACCEPTED)")
    return problems


class Event(Record, Strict):
    """One thing a till did, as it pushes it to the ledger. What each kind carries is KINDS'."""

    id: UUID = Field(description="Chosen by the device; the idempotency key, remembered for ever.")
    kind: EventKind
    voucher_id: ShortText | None = Field(
        default=None, description="Absent for a refused scan of an unknown code."
    )
    at: Instant = Field(description="Device wall time of the scan.")
    device_seq: int = Field(ge=0, le=2**62)
    cashier: ShortText | None = None
    device_id: ShortText | None = Field(
        default=None,
        description="Extension: the device that made the event, when it is not the one sending it: an "
        "earlier device of the same store (a till enrolled again pushes what its old journal holds).",
    )
    reverts: UUID | None = Field(default=None, description="revert only: the id of the redeem event undone.")
    reviews: UUID | None = Field(
        default=None,
        description="review only: the id of the conflicted or rejected event a manager reviewed.",
    )
    reason: LongText | None = Field(
        default=None, description="revert: why, in the manager's words; review: the manager's note."
    )
    verdict: Verdict | None = Field(default=None, description="refused only: the verdict the till showed.")

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Event:
        problems = kind_problems(self.kind, self.__dict__)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @field_serializer("at", when_used="json")
    def _offset(self, value: datetime) -> str:
        return value.isoformat()  # with its offset, as docs/PROTOCOL.md writes times

    def to_wire(self) -> JSONObject:
        """As pushed: only the fields it has (a server that does not know an extension refuses it)."""
        return self.model_dump(mode="json", exclude_none=True)


class EventsRequest(Strict):
    events: list[Event] = Field(max_length=MAX_EVENTS)


class Winner(Record, Lenient):
    store_id: str
    device_id: str | None
    at: datetime


class EventResult(Record, Lenient):
    """Head office's answer to one event pushed (or the agent's own, `rejected` as MALFORMED, for one
    the server refused as malformed on its own). An outcome never changes once given."""

    id: UUID
    outcome: Outcome
    reason: str | None = None
    winner: Winner | None = None
    server_time: datetime
    first: EventResult | None = Field(
        default=None, description="duplicate only: the result the first copy of this event received."
    )

    @property
    def final(self) -> EventResult:
        """The answer that stands: a duplicate's first result when it carries one, else this one."""
        return self.first if self.outcome == "duplicate" and self.first is not None else self


class EventsResponse(Record, Lenient):
    results: list[EventResult]


class HeartbeatRequest(Record, Strict):
    version: ShortText
    pending: int = Field(ge=0, le=2**31 - 1)
    last_pull_at: Instant | None = None
    last_push_at: Instant | None = None
    snapshot_cursor: int = Field(ge=0, le=2**62)
    device_time: Instant | None = Field(
        default=None,
        description="Extension: the device's clock when it sent this, so the server can show clock skew.",
    )

    @field_serializer("last_pull_at", "last_push_at", "device_time", when_used="json")
    def _offset(self, value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()


class HeartbeatResponse(Record, Lenient):
    server_time: datetime


class EnrolRequest(Strict):
    enrolment_code: ShortText
    device_name: ShortText = Field(min_length=1)


DeviceRole = Literal["till", "hub"]  # a shop's hub also reads its store's devices and sends its tills' events


class EnrolResponse(Record, Lenient):
    device_id: str
    store_id: str
    token: str
    code_hash_key: str
    role: DeviceRole = Field(
        default="till",
        description="Extension: what the enrolment code made (a server without it makes tills only).",
    )


class EnrolmentCodeRequest(Strict):
    """The optional body of POST /stores/{id}/enrolment-codes: which kind of device the code enrols."""

    role: DeviceRole = "till"


class StoreDevice(Record, Lenient):
    """A device of the hub's store as GET /sync/devices gives it: `token_hash` is the hex SHA-256 of
    its token (the hub checks its tills' tokens with it); a revoked device's token is refused."""

    device_id: str
    name: str
    role: DeviceRole
    token_hash: str
    revoked: bool
    enrolled_at: datetime | None = Field(
        default=None,
        description="When it enrolled: a till's event may name only a till enrolled no later than it.",
    )


class DevicesResponse(Record, Lenient):
    """GET /sync/devices (a hub's token only): every device of the hub's own store."""

    devices: list[StoreDevice]
    server_time: datetime


class SnapshotStore(Record, Lenient):
    id: str
    timezone: str
    name: str | None = Field(default=None, description="Extension: the store's name, as the till shows it.")
    locale: str | None = Field(
        default=None,
        description="Extension: the store's locale (en, fr, de, es, or with a region: de_CH), the till's "
        "language and formats unless its own settings say otherwise.",
    )


class SnapshotBatch(Record, Lenient):
    id: str
    identifier: str
    description: str
    state: State
    claims: Claims
    valid_from: date | None = None
    valid_until: date | None = None
    stores: list[str] | None = None


class SnapshotType(Record, Lenient):
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


class Deleted(Record, Lenient):
    """Tombstones. A deleted batch takes its types and vouchers with it: a client drops them too."""

    batches: list[str] = Field(
        default=[], description="Deleted batches; their types and vouchers are gone with them."
    )
    types: list[str] = Field(default=[], description="Types removed from a batch still being configured.")
    vouchers: list[str] = Field(default=[], description="Vouchers deleted on their own (none today).")


class ProblemWinner(Record, Lenient):
    store_id: str
    device_id: str | None = None
    at: datetime


class ProblemReviewed(Record, Lenient):
    at: datetime
    by: str
    note: str


class SnapshotProblem(Record, Lenient):
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


class SnapshotPage(Record, Lenient):
    cursor: int
    next_cursor: int
    complete: bool
    head: int | None = Field(
        default=None, description="Extension: the server's newest change number when the page was read."
    )
    remaining: int | None = Field(
        default=None,
        description="Extension: about how many changes follow next_cursor (head − next_cursor, an upper "
        "bound; 0 when complete).",
    )
    store: SnapshotStore
    batches: list[SnapshotBatch]
    types: list[SnapshotType]
    vouchers: list[SnapshotVoucher]
    deleted: Deleted
    problems: list[SnapshotProblem] = Field(
        default=[], description="Extension: conflicts and rejections to review."
    )
    wait: float | None = Field(
        default=None,
        description="Extension: the `wait` the server honoured (it waited for a "
        "change up to this many seconds); absent from a server that does not wait.",
    )
