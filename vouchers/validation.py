"""Batch configuration and its validation (seed 001): every error is reported, not the first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from vouchers.errors import FieldError
from vouchers.status import Status

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
        errors.append(FieldError("identifier", "The identifier must not be empty."))
    if batch.serial_start < 0:
        errors.append(FieldError("serial_start", "The serial range must start at 0 or above."))
    if batch.serial_start > batch.serial_end:
        errors.append(
            FieldError(
                "serial_end",
                f"The serial range ends ({batch.serial_end}) before it starts ({batch.serial_start}).",
            )
        )
    elif batch.serial_end - batch.serial_start + 1 > max_size:
        errors.append(
            FieldError(
                "serial_end",
                f"The serial range holds {batch.serial_end - batch.serial_start + 1} serials; "
                f"the most a batch may hold is {max_size}.",
            )
        )
    if batch.valid_from and batch.valid_until and batch.valid_until < batch.valid_from:
        errors.append(FieldError("valid_until", "The last valid day is before the first valid day."))
    if batch.stores is not None and not batch.stores:
        errors.append(FieldError("stores", "A store limit must name at least one store (or be null)."))
    if not types:
        errors.append(FieldError("types", "A batch needs at least one batch type."))
    for t in types:
        errors.extend(_type_errors(batch, t))
    errors.extend(_overlaps(types))
    return errors


def _overlaps(types: list[TypeConfig]) -> list[FieldError]:
    """Each type that overlaps an earlier one, named against the earlier type reaching furthest."""
    errors = []
    reach: TypeConfig | None = None
    for t in sorted((t for t in types if t.serial_start <= t.serial_end), key=lambda t: t.serial_start):
        if reach is not None and t.serial_start <= reach.serial_end:
            errors.append(
                FieldError(
                    f"types.{t.id}",
                    f"Type '{t.name}' ({t.serial_start}–{t.serial_end}) overlaps "
                    f"type '{reach.name}' ({reach.serial_start}–{reach.serial_end}).",
                )
            )
        if reach is None or t.serial_end > reach.serial_end:
            reach = t
    return errors


def _type_errors(batch: BatchConfig, t: TypeConfig) -> list[FieldError]:
    field = f"types.{t.id}"
    errors = []
    if not t.name.strip():
        errors.append(FieldError(field, "A type needs a name."))
    if not t.value.strip():
        errors.append(FieldError(field, f"Type '{t.name}' needs a value (e.g. '£5 off')."))
    if t.serial_start > t.serial_end:
        errors.append(
            FieldError(field, f"Type '{t.name}' ends ({t.serial_end}) before it starts ({t.serial_start}).")
        )
    elif t.serial_start < batch.serial_start or t.serial_end > batch.serial_end:
        errors.append(
            FieldError(
                field,
                f"Type '{t.name}' ({t.serial_start}–{t.serial_end}) lies outside the batch's "
                f"serial range ({batch.serial_start}–{batch.serial_end}).",
            )
        )
    return errors
