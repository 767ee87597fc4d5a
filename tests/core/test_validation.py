"""Batch configuration validation (seed 001, docs/DESIGN.md): every error, not just the first."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vouchers import validation
from vouchers.errors import BatchInvalid, FieldError, InvalidInput
from vouchers.status import Status
from vouchers.validation import (
    DEFAULT_MAX_BATCH_SIZE,
    BatchConfig,
    TypeConfig,
    validate_batch,
    voucher_count,
)

BATCH = BatchConfig(
    identifier="Q1 2026 Email Campaign",
    description="£5 off for subscribers",
    serial_start=1000,
    serial_end=1999,
    valid_from=date(2026, 1, 1),
    valid_until=date(2026, 3, 31),
    stores=None,
)
FIVE_OFF = TypeConfig("t5", "Five off", 1000, 1499, "£5 off", "£20 spend")
COFFEE = TypeConfig("tc", "Coffee", 1600, 1699, "Free coffee", initial_status=Status.ISSUED)


def fields(errors: list[FieldError]) -> list[str]:
    return sorted(e.field for e in errors)


def only_error(batch: BatchConfig, types: list[TypeConfig], **kw) -> FieldError:
    errors = validate_batch(batch, types, **kw)
    assert len(errors) == 1, errors
    assert errors[0].message.strip()
    return errors[0]


def test_a_valid_batch_has_no_errors():
    assert validate_batch(BATCH, [FIVE_OFF, COFFEE]) == []


def test_types_need_not_cover_the_range_and_may_touch():
    touching = TypeConfig("t6", "Next", 1500, 1599, "£2 off")
    assert validate_batch(BATCH, [FIVE_OFF, touching, COFFEE]) == []
    edges = [TypeConfig("a", "First", 1000, 1000, "x"), TypeConfig("b", "Last", 1999, 1999, "y")]
    assert validate_batch(BATCH, edges) == []


def test_open_validity_and_single_day_validity_are_fine():
    assert validate_batch(replace(BATCH, valid_from=None, valid_until=None), [FIVE_OFF]) == []
    same_day = replace(BATCH, valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 1))
    assert validate_batch(same_day, [FIVE_OFF]) == []


def test_no_type():
    error = only_error(BATCH, [])
    assert error.field == "types"
    assert "type" in error.message.lower()


@pytest.mark.parametrize(
    ("start", "end"),
    [(900, 1100), (1900, 2000), (0, 10), (2000, 2100), (999, 999), (2000, 2000), (1700, 2100)],
)
def test_type_outside_the_range(start, end):
    error = only_error(BATCH, [COFFEE, TypeConfig("out", "Outside", start, end, "£1 off")])
    assert error.field == "types.out"
    assert "Outside" in error.message and str(start) in error.message


@pytest.mark.parametrize(
    ("start", "end"),
    [(1499, 1550), (1400, 1450), (1000, 1499), (1000, 1000), (1200, 1800)],
)
def test_overlapping_types(start, end):
    other = TypeConfig("ov", "Overlap", start, end, "£1 off")
    errors = validate_batch(BATCH, [FIVE_OFF, other])
    assert len(errors) == 1, errors
    assert errors[0].field.startswith("types.")
    assert "overlap" in errors[0].message.lower()
    assert "Five off" in errors[0].message and "Overlap" in errors[0].message


def test_overlap_is_found_whatever_the_order_given():
    a = TypeConfig("a", "A", 1000, 1200, "x")
    b = TypeConfig("b", "B", 1100, 1300, "y")
    assert len(validate_batch(BATCH, [a, b])) == 1
    assert len(validate_batch(BATCH, [b, a])) == 1


def test_every_overlapping_type_is_reported():
    wide = TypeConfig("wide", "Wide", 1000, 1999, "£1 off")
    first = TypeConfig("first", "First", 1100, 1200, "£2 off")
    second = TypeConfig("second", "Second", 1300, 1400, "£3 off")
    errors = validate_batch(BATCH, [wide, first, second])
    overlapping = {e.field for e in errors if "overlap" in e.message.lower()}
    assert overlapping >= {"types.first", "types.second"}, errors


spans = st.tuples(st.integers(1000, 1999), st.integers(0, 300)).map(lambda p: (p[0], min(1999, p[0] + p[1])))


def _truly_overlapping(types: list[TypeConfig]) -> set[frozenset[str]]:
    """Every pair of types sharing a serial, by brute force over the pairs (ids)."""
    return {
        frozenset((x.id, y.id))
        for i, x in enumerate(types)
        for y in types[i + 1 :]
        if x.serial_start <= y.serial_end and y.serial_start <= x.serial_end
    }


def _span(t: TypeConfig) -> str:
    return f"({t.serial_start}–{t.serial_end})"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(spans, st.sampled_from(["Std", "std ", "Gold", "Std"])), min_size=1, max_size=7
    )  # few names: the same name comes often, in other cases and spacings too
)
def test_validation_finds_every_overlap_whatever_the_names(layout):
    types = [TypeConfig(f"t{i}", name, a, b, "£1 off") for i, ((a, b), name) in enumerate(layout)]
    errors = validate_batch(BATCH, types)
    assert all(e.field.startswith("types.") for e in errors)  # nothing but overlaps and names is wrong
    overlap_errors = [e for e in errors if " overlaps " in e.message]
    pairs = validation.overlapping_pairs(types)
    assert {frozenset((x.id, y.id)) for x, y in pairs} == _truly_overlapping(types)
    assert len(overlap_errors) == len(pairs)  # one error for each pair, none for a pair that does not overlap
    for (earlier, later), error in zip(pairs, overlap_errors, strict=True):
        assert error.field == f"types.{later.id}"
        assert _span(later) in error.message and _span(earlier) in error.message
    by_name: dict[str, int] = {}
    for t in types:
        by_name[" ".join(t.name.split()).casefold()] = by_name.get(" ".join(t.name.split()).casefold(), 0) + 1
    name_errors = [e for e in errors if "same name" in e.message]
    assert len(name_errors) == sum(n - 1 for n in by_name.values())
    assert (errors == []) == (not pairs and all(n == 1 for n in by_name.values()))


def test_two_types_of_one_name_that_overlap_are_both_errors():
    first = TypeConfig("a", "Five off", 1, 60, "£5 off")
    second = TypeConfig("b", "Five off", 50, 150, "£5 off")
    errors = validate_batch(replace(BATCH, serial_start=1, serial_end=150), [second, first])
    assert errors == [
        FieldError(
            "types.b",
            "Type 'Five off' (50–150) has the same name as the type of serials 1–60: each type of a batch "
            "needs a name of its own.",
        ),
        FieldError("types.b", "Type 'Five off' (50–150) overlaps type 'Five off' (1–60)."),
    ]


def test_type_names_are_unique_within_a_batch_whatever_the_case_and_spacing():
    types = [
        TypeConfig("a", "Free coffee", 1000, 1009, "Coffee"),
        TypeConfig("b", "free  Coffee", 1010, 1019, "Coffee"),
        TypeConfig("c", "Free tea", 1020, 1029, "Tea"),
    ]
    assert fields(validate_batch(BATCH, types)) == ["types.b"]


def test_a_type_inside_two_others_overlaps_both():
    wide = TypeConfig("w", "Wide", 1000, 1100, "x")
    mid = TypeConfig("m", "Mid", 1050, 1200, "y")
    inner = TypeConfig("i", "Inner", 1060, 1070, "z")
    messages = [e.message for e in validate_batch(BATCH, [wide, mid, inner])]
    assert messages == [
        "Type 'Mid' (1050–1200) overlaps type 'Wide' (1000–1100).",
        "Type 'Inner' (1060–1070) overlaps type 'Wide' (1000–1100).",
        "Type 'Inner' (1060–1070) overlaps type 'Mid' (1050–1200).",
    ]


def test_serial_start_after_serial_end():
    errors = validate_batch(replace(BATCH, serial_start=2000, serial_end=1000), [FIVE_OFF])
    by_field = {e.field: e.message for e in errors}
    assert "serial_end" in by_field
    assert "2000" in by_field["serial_end"] and "1000" in by_field["serial_end"]
    # The type cannot lie inside an empty range, and that is reported too.
    assert fields(errors) == ["serial_end", "types.t5"]


def test_negative_serial_start():
    errors = validate_batch(replace(BATCH, serial_start=-1), [FIVE_OFF])
    assert fields(errors) == ["serial_start"]


def test_a_one_serial_batch_is_valid():
    one = replace(BATCH, serial_start=5, serial_end=5)
    assert validate_batch(one, [TypeConfig("t", "One", 5, 5, "x")]) == []


@pytest.mark.parametrize("identifier", ["", " ", "\t\n"])
def test_empty_identifier(identifier):
    error = only_error(replace(BATCH, identifier=identifier), [FIVE_OFF])
    assert error.field == "identifier"


def test_valid_until_before_valid_from():
    error = only_error(replace(BATCH, valid_from=date(2026, 3, 2), valid_until=date(2026, 3, 1)), [FIVE_OFF])
    assert error.field == "valid_until"


def test_range_over_the_maximum_size():
    small = replace(BATCH, serial_start=1, serial_end=100)
    t = TypeConfig("t", "All", 1, 100, "x")
    assert validate_batch(small, [t], max_size=100) == []
    error = only_error(small, [t], max_size=99)
    assert error.field == "serial_end"
    assert "100" in error.message and "99" in error.message


def test_default_maximum_size():
    huge = replace(BATCH, serial_start=0, serial_end=DEFAULT_MAX_BATCH_SIZE)
    t = TypeConfig("t", "All", 0, 10, "x")
    assert fields(validate_batch(huge, [t])) == ["serial_end"]
    exact = replace(BATCH, serial_start=0, serial_end=DEFAULT_MAX_BATCH_SIZE - 1)
    assert validate_batch(exact, [t]) == []


def test_every_error_is_reported_together():
    batch = BatchConfig(
        identifier="  ",
        description="",
        serial_start=500,
        serial_end=100,
        valid_from=date(2026, 6, 1),
        valid_until=date(2026, 5, 31),
    )
    a = TypeConfig("a", "A", 200, 300, "£1 off")
    b = TypeConfig("b", "B", 250, 400, "£2 off")
    errors = validate_batch(batch, [a, b])
    assert fields(errors) == sorted(
        ["identifier", "serial_end", "valid_until", "types.a", "types.b", "types.b"]
    )
    messages = " ".join(e.message for e in errors).lower()
    assert "outside" in messages and "overlap" in messages
    assert all(e.message.strip() for e in errors)


def test_every_error_is_reported_together_with_no_types_and_an_oversized_range():
    batch = BatchConfig(
        identifier="",
        description="",
        serial_start=0,
        serial_end=1_000,
        valid_from=date(2026, 6, 1),
        valid_until=date(2026, 1, 1),
    )
    errors = validate_batch(batch, [], max_size=10)
    assert fields(errors) == ["identifier", "serial_end", "types", "valid_until"]


def test_type_errors_are_reported_for_each_type():
    nameless = TypeConfig("n", " ", 1000, 1009, "£1 off")
    valueless = TypeConfig("v", "No value", 1010, 1019, "")
    backwards = TypeConfig("r", "Backwards", 1030, 1020, "£1 off")
    errors = validate_batch(BATCH, [nameless, valueless, backwards])
    assert fields(errors) == ["types.n", "types.r", "types.v"]


def test_store_limit_must_name_a_store():
    assert fields(validate_batch(replace(BATCH, stores=()), [FIVE_OFF])) == ["stores"]
    assert validate_batch(replace(BATCH, stores=("s1",)), [FIVE_OFF]) == []


def test_errors_make_a_batch_invalid_problem():
    errors = validate_batch(replace(BATCH, identifier=""), [])
    problem = BatchInvalid(errors)
    assert isinstance(problem, InvalidInput)  # answered 422 (central/problems.py)
    assert [e.as_dict()["field"] for e in problem.errors] == [e.field for e in errors]
    assert "identifier" in problem.detail and "types" in problem.detail


# --- voucher count ---------------------------------------------------------------------------


def test_voucher_count_is_the_serials_covered_by_types():
    assert voucher_count([FIVE_OFF, COFFEE]) == 500 + 100
    assert voucher_count([]) == 0
    assert voucher_count([TypeConfig("t", "One", 7, 7, "x")]) == 1


def test_voucher_count_ignores_serials_outside_types():
    gap = [TypeConfig("a", "A", 1, 10, "x"), TypeConfig("b", "B", 21, 30, "y")]
    assert voucher_count(gap) == 20


def test_a_backwards_type_counts_no_vouchers():
    assert voucher_count([TypeConfig("r", "R", 10, 5, "x"), FIVE_OFF]) == 500
