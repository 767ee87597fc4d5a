"""What is wrong with a setting, kept with its facts (vouchers.wording.said) for each program to
word in its person's language: pydantic's kinds of error as people would say them, a validator's
own message when it gave one with its facts, pydantic's English otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vouchers.wording import N_, Said, said

KINDS = {
    "missing": N_("is required"),
    "extra_forbidden": N_("is not a setting of this program (a typo?)"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "bool_parsing": N_("must be true or false"),
    "string_type": N_("must be text"),
    "greater_than": N_("must be more than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "string_too_short": N_("must have at least {min_length} character(s)"),
    "string_too_long": N_("must have at most {max_length} character(s)"),
    "literal_error": N_("must be one of {expected}"),
    "enum": N_("must be one of {expected}"),
    "url_parsing": N_("must be a URL (https://...)"),
    "url_scheme": N_("must be a URL starting with {expected_schemes}"),
    "url_too_long": N_("must be a URL of at most {max_length} characters"),
    "int_type": N_("must be a whole number"),
    "float_type": N_("must be a number"),
    "bool_type": N_("must be true or false"),
    "finite_number": N_("must be a number"),
    "multiple_of": N_("must be a multiple of {multiple_of}"),
    "string_pattern_mismatch": N_("is not written as expected"),
    "list_type": N_("must be a list ([...])"),
    "too_short": N_("must have at least {min_length} item(s)"),
    "too_long": N_("must have at most {max_length} item(s)"),
    "dict_type": N_("must be a table of settings ([...] in the file)"),
    "model_type": N_("must be a table of settings ([...] in the file)"),
}
"""pydantic's error types (ErrorDetails.type) in words; their ctx fill the placeholders."""


def problem(error: Mapping[str, Any]) -> Said | str:
    """One of pydantic's errors (ValidationError.errors()) as people would say it."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    raised = ctx.get("error")
    if (
        kind == "value_error"
        and isinstance(raised, ValueError)
        and raised.args
        and isinstance(raised.args[0], Said)
    ):
        return raised.args[0]  # a validator's message, kept with its facts
    if kind in KINDS:
        try:
            KINDS[kind].format(**ctx)
        except (KeyError, IndexError, ValueError):
            return str(error.get("msg", kind))
        return Said(KINDS[kind], {k: _fact(v) for k, v in ctx.items()})
    return str(error.get("msg", kind))


def _fact(value: Any) -> str:
    """A limit as people write it: 10, not 10.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def joined(parts: Sequence[Said | str]) -> Said | str:
    """Several problems as one message, '; ' between them."""
    if not parts:
        return ""
    out = parts[0]
    for part in parts[1:]:
        out = said("{one}; {other}", one=out, other=part)
    return out
