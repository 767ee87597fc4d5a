"""HTML forms to the API's request models, and every error in words beside its field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData

from vouchers.errors import FieldError

M = TypeVar("M", bound=BaseModel)

BATCH_FIELDS = (
    "identifier",
    "description",
    "serial_start",
    "serial_end",
    "valid_from",
    "valid_until",
    "channel",
)
TYPE_FIELDS = ("name", "serial_start", "serial_end", "value", "min_purchase", "initial_status")
BATCH_OPTIONAL = frozenset({"valid_from", "valid_until", "channel"})
TYPE_OPTIONAL = frozenset({"serial_start", "serial_end", "min_purchase"})

FIELD_LABELS = {
    "identifier": "Identifier",
    "description": "Description",
    "serial_start": "First serial",
    "serial_end": "Last serial",
    "valid_from": "Valid from",
    "valid_until": "Valid until",
    "stores": "Stores",
    "channel": "Channel",
    "types": "Types",
    "name": "Name",
    "value": "Value",
    "min_purchase": "Minimum purchase",
    "initial_status": "Initial status",
    "id": "Store id",
    "timezone": "Time zone",
    "email": "E-mail address",
    "password": "Password",
    "role": "Role",
    "days": "Days",
}

_FRIENDLY = {
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "greater_than_equal": "Enter {ge} or more.",
    "less_than_equal": "Enter at most {le}.",
    "date_parsing": "Enter a day as YYYY-MM-DD.",
    "date_from_datetime_parsing": "Enter a day as YYYY-MM-DD.",
    "date_type": "Enter a day as YYYY-MM-DD.",
    "string_too_long": "Use at most {max_length} characters.",
    "string_too_short": "This cannot be empty.",
    "string_pattern_mismatch": "Use letters, digits, - and _ only (at most 64, starting with a letter or digit).",
    "missing": "This is required.",
    "literal_error": "Choose one of the options.",
    "enum": "Choose one of the options.",
}


def fields(
    form: FormData, names: tuple[str, ...], optional: frozenset[str] = frozenset()
) -> dict[str, object]:
    """The named fields as text, for a model to validate (a caller may add others, e.g. a list of
    checkboxes); empty optional fields are left out (so they take their default)."""
    out: dict[str, object] = {}
    for name in names:
        value = form.get(name)
        text = value.strip() if isinstance(value, str) else ""
        if text or name not in optional:
            out[name] = text
    return out


def parse(model: type[M], data: Mapping[str, object]) -> tuple[M | None, list[FieldError]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_field_error(e) for e in exc.errors()]


def _field_error(error: ErrorDetails) -> FieldError:
    loc = [str(p) for p in error.get("loc", ())]
    name = loc[0] if loc else "form"
    template = _FRIENDLY.get(error.get("type", ""))
    message = error.get("msg", "Not valid.")
    if template:
        try:
            message = template.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
        message = message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
    return FieldError(name, message)


def by_field(errors: list[FieldError]) -> dict[str, list[str]]:
    """Errors grouped by field, for showing each beside its input; type errors under 'types.ID'."""
    grouped: dict[str, list[str]] = {}
    for e in errors:
        grouped.setdefault(e.field, []).append(e.message)
    return grouped


def label(field: str) -> str:
    return FIELD_LABELS.get(field.split(".")[0], field)
