"""HTML forms to the API's request models, and every error in words beside its field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData

from vouchers.errors import FieldError
from vouchers.wording import N_, Said
from words import Words

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
    "identifier": N_("Identifier"),
    "description": N_("Description"),
    "serial_start": N_("First serial"),
    "serial_end": N_("Last serial"),
    "valid_from": N_("Valid from"),
    "valid_until": N_("Valid until"),
    "stores": N_("Stores"),
    "channel": N_("Channel"),
    "types": N_("Types"),
    "name": N_("Name"),
    "value": N_("Value"),
    "min_purchase": N_("Minimum purchase"),
    "initial_status": N_("Initial status"),
    "id": N_("Store id"),
    "timezone": N_("Time zone"),
    "email": N_("E-mail address"),
    "password": N_("Password"),
    "role": N_("Role"),
    "days": N_("Days"),
}

_FRIENDLY = {
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "greater_than_equal": N_("Enter {ge} or more."),
    "less_than_equal": N_("Enter at most {le}."),
    "date_parsing": N_("Enter a day as YYYY-MM-DD."),
    "date_from_datetime_parsing": N_("Enter a day as YYYY-MM-DD."),
    "date_type": N_("Enter a day as YYYY-MM-DD."),
    "string_too_long": N_("Use at most {max_length} characters."),
    "string_too_short": N_("This cannot be empty."),
    "string_pattern_mismatch": N_(
        "Use letters, digits, - and _ only (at most 64, starting with a letter or digit)."
    ),
    "missing": N_("This is required."),
    "literal_error": N_("Choose one of the options."),
    "enum": N_("Choose one of the options."),
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


def parse(model: type[M], data: Mapping[str, object], words: Words) -> tuple[M | None, list[FieldError]]:
    """The model, or what is wrong with each field in the page's language."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [_field_error(e, words) for e in exc.errors()]


def _field_error(error: ErrorDetails, words: Words) -> FieldError:
    """One field's error in words; a validator's own message (central/schemas) as it reads."""
    loc = [str(p) for p in error.get("loc", ())]
    name = loc[0] if loc else "form"
    template = _FRIENDLY.get(error.get("type", ""))
    message = error.get("msg", "Not valid.")
    if template:
        facts = {
            key: words.number(v) if isinstance(v, int) else v for key, v in (error.get("ctx") or {}).items()
        }
        message = words.gettext(template, **facts)
    elif (
        isinstance(raised := (error.get("ctx") or {}).get("error"), ValueError)
        and raised.args
        and isinstance(raised.args[0], Said)
    ):
        message = _sentence(words.say(raised.args[0]))  # a validator's message, kept with its facts
    elif message.startswith("Value error, "):
        message = _sentence(message.removeprefix("Value error, "))
    return FieldError(name, message)


def _sentence(text: str) -> str:
    """A validator's message as a sentence: a capital first, a full stop last."""
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def message(error: FieldError, words: Words) -> str:
    """A field's problem in the page's language: worded from its facts when it was kept with them."""
    return words.say(error.said) if error.said is not None else error.message


def worded(errors: list[FieldError], words: Words) -> list[FieldError]:
    """The errors with their messages in the page's language, for a list of every problem."""
    return [FieldError(e.field, message(e, words)) for e in errors]


def by_field(errors: list[FieldError], words: Words) -> dict[str, list[str]]:
    """Errors grouped by field, for showing each beside its input; type errors under 'types.ID'."""
    grouped: dict[str, list[str]] = {}
    for e in errors:
        grouped.setdefault(e.field, []).append(message(e, words))
    return grouped


def label(field: str) -> str:
    return FIELD_LABELS.get(field.split(".")[0], field)
