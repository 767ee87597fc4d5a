"""A scanner set to a US keyboard, typing into tills with other keyboard layouts: every code it
types through each layout is corrected to itself, by that layout (and only by layouts that type
it alike); a mistyped code is still a mistype; when layouts disagree, nothing is corrected."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from vouchers.codes import MAX_INPUT, TOO_LONG, check_character, clean_scan, format_code, new_code, normalise
from vouchers.errors import InvalidCode
from vouchers.layouts import BY_ID, LAYOUTS, correct, typed_through, untyped

MANY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

generated = st.builds(new_code)
any_codes = st.text(alphabet=CROCKFORD, min_size=13, max_size=13).map(lambda d: d + check_character(d))
FORMS = [
    "{code}",
    "{grouped}",
    "{lower}",
    "https://x.example/v/{code}",
    "https://x.example/v/{grouped}",
    "https://x.example/v/{code}?src=email&campaign=q1",
    "https://x.example/v/{code}#wallet",
    "HTTPS://X.EXAMPLE/V/{code}/",
    "]Q1{code}",
    "]C0{grouped}",
]


def form(template: str, code: str) -> str:
    return template.format(code=code, grouped=format_code(code), lower=format_code(code).lower())


# --- the layouts, against what their keyboards print (written out by hand, not from the module) ------


@pytest.mark.parametrize(
    "layout, us, till",
    [
        ("de", "zyZY-/:?", "yzYZß-Ö_"),
        ("de", "https://x.example/v/", "httpsÖ--x.example-v-"),
        ("de", "=A=7", "Á´7"),  # the = key is a dead acute on a German keyboard
        ("ch", "zyZY-/:", "yzYZ'-é"),
        ("fr", "1234567890", "&é\"'(-è_çà"),
        ("fr", "AQZWM-", "QAWZ?)"),
        ("fr", "https://", "httpsM!!"),
        ("be", "1234567890", "&é\"'(§è!çà"),
        ("be", "https://x.", "httpsM==x:"),
    ],
)
def test_what_a_us_scanner_types_on_each_layout(layout, us, till):
    assert typed_through(us, BY_ID[layout]) == till
    assert untyped(till, BY_ID[layout]) == us


def test_every_layout_types_every_code_character_and_back():
    for layout in LAYOUTS:
        for ch in CROCKFORD + CROCKFORD.lower() + "-/:.?#&=":
            assert untyped(typed_through(ch, layout), layout) == ch, (layout.id, ch)


# --- every code typed through every layout comes back, by that layout ----------------------------


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.id)
@MANY
@given(code=st.one_of(generated, any_codes), template=st.sampled_from(FORMS))
def test_a_code_typed_through_a_layout_is_corrected_to_itself_by_that_layout(layout, code, template):
    text = form(template, code)
    typed = typed_through(text, layout)
    if typed == text:  # nothing this layout moves: it arrives right
        assert normalise(typed) == code
        return
    result = correct(typed, known={code}.__contains__)
    assert result is not None and result.code == code, (typed, result)
    # named: the layout, and only the layouts that type this text the same way (no scan tells them apart)
    assert set(result.layouts) == {other for other in LAYOUTS if typed_through(text, other) == typed}
    assert layout in result.layouts


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.id)
def test_digits_tell_french_from_belgian_and_a_dash_german_from_swiss(layout):
    code = next(c for c in iter(new_code, None) if "6" in c and "Y" in c)
    result = correct(typed_through(format_code(code), layout), known={code}.__contains__)
    assert result.code == code and result.ids == (layout.id,)


def test_a_swapped_y_z_that_keeps_its_check_is_tried_too():
    """About 1 in 37 codes with a Y or Z still has a right check with them swapped: a well-formed
    code the till does not hold, which the German layout explains as one it does."""
    de = BY_ID["de"]
    for _ in range(20_000):
        code = new_code()
        typed = typed_through(code, de)
        try:
            swapped = normalise(typed)
        except InvalidCode:
            continue
        if swapped != code:
            break
    else:
        pytest.fail("no code found whose swapped Y/Z keeps the check")
    assert correct(typed, known={code}.__contains__).code == code
    assert correct(typed, known={swapped}.__contains__) is None  # a code the till holds as it came


# --- a mistype stays a mistype; disagreeing layouts correct nothing --------------------------------


@MANY
@given(any_codes, st.integers(0, 13), st.sampled_from(CROCKFORD + "*~$=U"))
@example("7T3K9QJ2XMVBCD", 13, "E")
def test_a_mistyped_code_is_refused_as_a_mistype_not_corrected(code, position, replacement):
    assume(replacement != code[position])
    mistyped = code[:position] + replacement + code[position + 1 :]
    assume(all(typed_through(code, layout) != mistyped for layout in LAYOUTS))  # not a layout's doing
    assert correct(mistyped, known={code}.__contains__) is None
    with pytest.raises(InvalidCode, match="check character does not match|is not used in voucher codes"):
        normalise(mistyped)


def _two_layouts_disagree() -> tuple[str, str, str]:
    """A code typed through German whose French reading is another well-formed code."""
    rng = random.Random(18)
    letters = [c for c in CROCKFORD if not c.isdigit() and c != "M"]
    for _ in range(50_000):
        data = "".join(rng.choice(letters) for _ in range(13))
        code = data + check_character(data)
        typed = typed_through(code, BY_ID["de"])
        try:
            other = normalise(untyped(typed, BY_ID["fr"]) or "")
        except InvalidCode:
            continue
        if other != code and typed != code:
            return code, other, typed
    pytest.fail("no disagreement found")


def test_when_two_layouts_give_two_codes_nothing_is_corrected():
    code, other, typed = _two_layouts_disagree()
    assert correct(typed, known=lambda c: c in (code, other)) is None
    assert correct(typed) is None  # any well-formed code taken as held: still two
    assert correct(typed, known={code}.__contains__).ids == ("de", "ch")  # the till holds only one of them


@pytest.mark.parametrize("text", ["", "hello world", "ÆØÅ ∑ 🙂", "x" * (MAX_INPUT + 1), None, 12])
def test_nothing_to_correct(text):
    assert correct(text) is None


def test_a_code_the_till_holds_as_it_came_is_not_corrected():
    code = next(c for c in iter(new_code, None) if "Y" in c)
    assert correct(code, known={code}.__contains__) is None


# --- input of any length: one wording, at once ------------------------------------------------------


def test_any_text_too_long_gets_one_wording_at_once():
    words = set()
    for length in (15, 40, 500, MAX_INPUT + 1, 10_000, 1_000_000, 10_000_000):
        started = time.perf_counter()
        with pytest.raises(InvalidCode) as refused:
            normalise("7" * length)
        assert time.perf_counter() - started < 0.5, length
        assert correct("7" * length) is None
        words.add(refused.value.detail)
    assert words == {TOO_LONG}
    assert len(clean_scan("\x00A" * 1_000_000)) <= MAX_INPUT


@MANY
@given(any_codes, st.sampled_from(["de", "ch", "fr", "be"]))
def test_a_grouped_code_the_till_lacks_typed_through_a_layout_is_that_code_not_a_mistype(code, layout_id):
    """The till holds no such code (never claimed, or of another store): typed grouped through
    QWERTZ or AZERTY it carries its layout's marks (ß or ' for the dashes), so it is read as the
    code it was, to be decided UNKNOWN, not refused as "too long"."""
    typed = typed_through(format_code(code), BY_ID[layout_id])
    assume(typed != format_code(code))
    found = correct(typed, known=lambda c: False)
    if found is None:  # two layouts read it as two codes: nothing is guessed
        readings = {normalise(m) for layout in LAYOUTS if (m := untyped(typed, layout)) and _well_formed(m)}
        assert len(readings) > 1
    else:
        assert found.code == code and layout_id in found.ids


def _well_formed(text: str) -> bool:
    try:
        normalise(text)
    except InvalidCode:
        return False
    return True
