"""Batch configuration and its validation (seed 001): every error is reported, not the first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vouchers.errors import FieldError
from vouchers.status import Status
from vouchers.wording import said

DEFAULT_MAX_BATCH_SIZE = 10_000_000


@dataclass(frozen=True)
class TypeConfig:
    id: str
    name: str
    serial_start: int
    serial_end: int
    value: str
    min_purchase: str | None = None
    initial_status: Status = Status.UNUSED

    @property
    def size(self) -> int:
        return max(0, self.serial_end - self.serial_start + 1)


@dataclass(frozen=True)
class BatchConfig:
    identifier: str
    description: str
    serial_start: int
    serial_end: int
    valid_from: date | None = None
    valid_until: date | None = None
    stores: tuple[str, ...] | None = None


def voucher_count(types: list[TypeConfig]) -> int:
    """Total = serials covered by types (types never overlap in a valid batch)."""
    return sum(t.size for t in types)


def validate_batch(
    batch: BatchConfig, types: list[TypeConfig], max_size: int = DEFAULT_MAX_BATCH_SIZE
) -> list[FieldError]:
    """Every problem that stops this batch from being generated."""
    errors: list[FieldError] = []
    if not batch.identifier.strip():
        errors.append(FieldError("identifier", said("The identifier must not be empty.")))
    if batch.serial_start < 0:
        errors.append(FieldError("serial_start", said("The serial range must start at 0 or above.")))
    if batch.serial_start > batch.serial_end:
        errors.append(
            FieldError(
                "serial_end",
                said(
                    "The serial range ends ({end}) before it starts ({start}).",
                    end=batch.serial_end,
                    start=batch.serial_start,
                ),
            )
        )
    elif batch.serial_end - batch.serial_start + 1 > max_size:
        errors.append(
            FieldError(
                "serial_end",
                said(
                    "The serial range holds {serials} serials; the most a batch may hold is {most}.",
                    serials=batch.serial_end - batch.serial_start + 1,
                    most=max_size,
                ),
            )
        )
    if batch.valid_from and batch.valid_until and batch.valid_until < batch.valid_from:
        errors.append(FieldError("valid_until", said("The last valid day is before the first valid day.")))
    if batch.stores is not None and not batch.stores:
        errors.append(FieldError("stores", said("A store limit must name at least one store (or be null).")))
    if not types:
        errors.append(FieldError("types", said("A batch needs at least one batch type.")))
    for t in types:
        errors.extend(_type_errors(batch, t))
    errors.extend(_duplicate_names(types))
    errors.extend(_overlaps(types))
    return errors


def overlapping_pairs(types: list[TypeConfig]) -> list[tuple[TypeConfig, TypeConfig]]:
    """Every pair of types sharing a serial, as (earlier, later) in serial order: by the types' ranges
    and ids alone, whatever their names (two types may be given the same name by mistake)."""
    ordered = sorted(
        (t for t in types if t.serial_start <= t.serial_end),
        key=lambda t: (t.serial_start, t.serial_end, t.id),
    )
    pairs: list[tuple[TypeConfig, TypeConfig]] = []
    open_types: list[TypeConfig] = []  # those still reaching the current start, a sweep over the serials
    for t in ordered:
        open_types = [o for o in open_types if o.serial_end >= t.serial_start]
        pairs.extend((o, t) for o in open_types)
        open_types.append(t)
    return pairs


def _overlaps(types: list[TypeConfig]) -> list[FieldError]:
    """One error per overlapping pair, on the later type, naming both by name and range."""
    return [
        FieldError(
            f"types.{later.id}",
            said(
                "Type '{name}' ({start}–{end}) overlaps type '{other}' ({other_start}–{other_end}).",
                name=later.name,
                start=later.serial_start,
                end=later.serial_end,
                other=earlier.name,
                other_start=earlier.serial_start,
                other_end=earlier.serial_end,
            ),
        )
        for earlier, later in overlapping_pairs(types)
    ]


def _duplicate_names(types: list[TypeConfig]) -> list[FieldError]:
    """Type names are unique within a batch (case and spaces aside): each later one is an error."""
    seen: dict[str, TypeConfig] = {}
    errors = []
    for t in sorted(types, key=lambda t: (t.serial_start, t.id)):
        key = " ".join(t.name.split()).casefold()
        if not key:
            continue  # a missing name has its own error
        if key in seen:
            first = seen[key]
            errors.append(
                FieldError(
                    f"types.{t.id}",
                    said(
                        "Type '{name}' ({start}–{end}) has the same name as the type of serials "
                        "{other_start}–{other_end}: each type of a batch needs a name of its own.",
                        name=t.name,
                        start=t.serial_start,
                        end=t.serial_end,
                        other_start=first.serial_start,
                        other_end=first.serial_end,
                    ),
                )
            )
        else:
            seen[key] = t
    return errors


def _type_errors(batch: BatchConfig, t: TypeConfig) -> list[FieldError]:
    field = f"types.{t.id}"
    errors = []
    if not t.name.strip():
        errors.append(FieldError(field, said("A type needs a name.")))
    if not t.value.strip():
        errors.append(FieldError(field, said("Type '{name}' needs a value (e.g. '£5 off').", name=t.name)))
    if t.serial_start > t.serial_end:
        errors.append(
            FieldError(
                field,
                said(
                    "Type '{name}' ends ({end}) before it starts ({start}).",
                    name=t.name,
                    end=t.serial_end,
                    start=t.serial_start,
                ),
            )
        )
    elif t.serial_start < batch.serial_start or t.serial_end > batch.serial_end:
        errors.append(
            FieldError(
                field,
                said(
                    "Type '{name}' ({start}–{end}) lies outside the batch's serial range ({first}–{last}).",
                    name=t.name,
                    start=t.serial_start,
                    end=t.serial_end,
                    first=batch.serial_start,
                    last=batch.serial_end,
                ),
            )
        )
    return errors
