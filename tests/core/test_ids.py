"""Voucher ids (`batch.serial`): made and read back in one place, a malformed id refused in words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vouchers.errors import InvalidInput
from vouchers.ids import MalformedVoucherId, VoucherId, batch_of, make, parse, try_parse

batch_ids = st.text(
    alphabet=st.characters(blacklist_characters=".", blacklist_categories=("Cs",)), min_size=1
)
serials = st.integers(min_value=0, max_value=10**18 - 1)


@given(batch_ids, serials)
def test_an_id_made_is_read_back(batch_id, serial):
    text = make(batch_id, serial)
    assert parse(text) == VoucherId(batch_id, serial) == (batch_id, serial)
    assert str(parse(text)) == text
    assert batch_of(text) == batch_id


def test_the_format_is_batch_dot_serial():
    assert make("b_7KQ2M9XR4T", 42) == "b_7KQ2M9XR4T.42"
    assert parse("b.0") == ("b", 0)
    assert parse("spring.2026.7") == ("spring.2026", 7)  # the serial follows the last dot


@pytest.mark.parametrize(
    "text",
    [
        "",
        "b",
        "b.",
        ".7",
        "b.x",
        "b.-1",
        "b.+1",
        "b.1.5x",
        "b. 1",
        "b.07",
        "b.\u00b2",  # a superscript two: a digit to str.isdigit, not to int()
        "b.\u0663",  # an Arabic-Indic three
        "b." + "9" * 19,
    ],
)
def test_a_malformed_id_is_refused_in_words(text):
    assert try_parse(text) is None
    with pytest.raises(MalformedVoucherId) as caught:
        parse(text)
    error = caught.value
    assert isinstance(error, InvalidInput) and error.value == text
    assert error.title == "Not a voucher id"
    assert "is not a voucher id" in error.detail and repr(text) in error.detail
    assert [e.field for e in error.errors] == ["voucher_id"]
    with pytest.raises(MalformedVoucherId):
        batch_of(text)


def test_a_long_malformed_id_is_shown_cut_short():
    error = MalformedVoucherId("x" * 10_000)
    assert len(error.detail) < 200 and error.value == "x" * 10_000
