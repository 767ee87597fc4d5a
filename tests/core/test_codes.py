"""Voucher codes: generation, the check character, normalising typed and scanned text, hashing."""

from __future__ import annotations

import hashlib
import hmac
import string

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vouchers.codes import (
    CODE_LENGTH,
    code_hash,
    format_code,
    is_code,
    new_code,
    new_hash_key,
    normalise,
)
from vouchers.errors import InvalidCode

# Written out here rather than imported, so that a change to the module cannot move the target.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ONLY = "*~$=U"
CHECK_SYMBOLS = CROCKFORD + CHECK_ONLY

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def crockford_check(data: str) -> str:
    """Crockford's mod-37 check symbol, computed independently of vouchers.codes."""
    number = int("".join(format(CROCKFORD.index(ch), "05b") for ch in data), 2)
    return CHECK_SYMBOLS[number % 37]


data_parts = st.text(alphabet=CROCKFORD, min_size=13, max_size=13)
# Every well-formed code, including those whose check is one of *~$=U (valid, never generated).
any_codes = data_parts.map(lambda d: d + crockford_check(d))
generated_codes = st.builds(new_code)


def assert_refused(text: str) -> InvalidCode:
    with pytest.raises(InvalidCode) as caught:
        normalise(text)
    assert caught.value.detail.strip(), "InvalidCode must say what is wrong"
    return caught.value


# --- generation -------------------------------------------------------------------------------


def test_independent_check_matches_a_known_code():
    assert crockford_check("7T3K9QJ2XMVBC") == "D"
    assert normalise("7T3K9QJ2XMVBCD") == "7T3K9QJ2XMVBCD"
    assert_refused("7T3K9QJ2XMVBCE")


def test_generated_codes_are_canonical_crockford_with_a_correct_check():
    for _ in range(2000):
        code = new_code()
        assert len(code) == CODE_LENGTH == 14
        assert set(code) <= set(CROCKFORD), code
        assert code[-1] not in CHECK_ONLY
        assert code[-1] == crockford_check(code[:13])


def test_ten_thousand_codes_are_distinct_and_every_data_position_is_random():
    codes = [new_code() for _ in range(10_000)]
    assert len(set(codes)) == len(codes)
    # With ≥ 60 random bits spread over the 13 data characters, each position takes all 32
    # symbols across 10,000 codes (a missing one has probability ~32·(31/32)^10000 ≈ 0).
    for position in range(13):
        assert {code[position] for code in codes} == set(CROCKFORD), position
    # The check character only ever takes the 32 ordinary symbols, and all of them.
    assert {code[-1] for code in codes} == set(CROCKFORD)


def test_format_code_groups_four_four_four_two():
    assert format_code("7T3K9QJ2XMVBCD") == "7T3K-9QJ2-XMVB-CD"


def test_new_hash_key_is_32_random_bytes_in_hex():
    keys = {new_hash_key() for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert len(bytes.fromhex(key)) == 32


# --- normalising what people type and scanners send ---------------------------------------------


@FAST
@given(generated_codes)
def test_new_code_normalises_to_itself(code):
    assert normalise(code) == code
    assert is_code(code)


def _spaced(code: str) -> str:
    return " ".join(code)


def _extra_dashes(code: str) -> str:
    return "--" + format_code(code).replace("-", "---") + "-"


URL_FORMS = [
    "https://x.example/v/{}",
    "https://x.example/v/{}/",
    "https://x.example/v/{}?src=email&campaign=q1",
    "https://x.example/v/{}#wallet",
    "https://x.example/v/{}/?src=a/b/c#frag/ment",
    "HTTPS://X.EXAMPLE/V/{}",
]
SCANNER_PREFIXES = ["", "]Q1", "]C0", "]d2", "\\000026", "]Q2\\000026"]
CONTROL = ["", "\r", "\n", "\r\n", "\x1d", "\x00", "\x00\x1d\r\n"]


@st.composite
def decorated(draw):
    """A code as a person might type it or a scanner might send it, with the code it carries."""
    code = draw(generated_codes)
    body = draw(
        st.sampled_from(
            [
                code,
                format_code(code),
                format_code(code).lower(),
                code.lower(),
                _spaced(code),
                _spaced(format_code(code)),
                _extra_dashes(code),
                " " + format_code(code).replace("-", "  ") + "\t",
            ]
        )
    )
    if draw(st.booleans()):
        body = draw(st.sampled_from(URL_FORMS)).format(body.strip())
    text = draw(st.sampled_from(SCANNER_PREFIXES)) + body
    text = draw(st.sampled_from(CONTROL)) + text + draw(st.sampled_from(CONTROL))
    return code, text


@FAST
@given(decorated())
def test_every_typed_or_scanned_form_normalises_to_the_canonical_code(case):
    code, text = case
    assert normalise(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "7T3K-9QJ2-XMVB-CD",
        "7t3k-9qj2-xmvb-cd",
        "7t3k 9qj2 xmvb cd",
        "  7T3K--9QJ2---XMVB-CD-  ",
        "https://x.example/v/7T3K9QJ2XMVBCD",
        "https://x.example/v/7T3K-9QJ2-XMVB-CD?src=email&x=1#top",
        "https://x.example/v/7t3k9qj2xmvbcd/",
        "]Q17T3K9QJ2XMVBCD",
        "]C07T3K-9QJ2-XMVB-CD",
        "\\0000267T3K9QJ2XMVBCD",
        "]Q1https://x.example/v/7T3K9QJ2XMVBCD\r\n",
        "\x007T3K9QJ2XMVBCD\x1d\r\n",
        "\x1d]C0\\0000267T3K9QJ2XMVBCD\n",
    ],
)
def test_examples_of_scanned_and_typed_forms(text):
    assert normalise(text) == "7T3K9QJ2XMVBCD"


@FAST
@given(
    any_codes.filter(lambda c: any(ch in "01" for ch in c)),
    st.randoms(use_true_random=False),
)
def test_crockford_aliases_o_i_l_read_as_digits(code, rnd):
    typed = "".join(
        rnd.choice("0Oo") if ch == "0" else rnd.choice("1IiLl") if ch == "1" else ch for ch in code
    )
    assert normalise(typed) == code


def test_alias_examples():
    # 0 and 1 are both in this code; aliases typed in their place.
    code = "0" + "1" * 12
    code += crockford_check(code)
    assert normalise(code.replace("0", "O").replace("1", "l")) == code
    assert normalise(code.replace("0", "o").replace("1", "I")) == code
    assert normalise(code.replace("1", "i")) == code


# --- the check character catches single mistakes ----------------------------------------------


@FAST
@given(any_codes, st.integers(0, CODE_LENGTH - 1), st.sampled_from(CHECK_SYMBOLS), st.booleans())
@example("7T3K9QJ2XMVBCD", 13, "E", False)
@example("7T3K9QJ2XMVBCD", 0, "8", True)
def test_any_single_substitution_is_rejected(code, position, replacement, lower):
    if replacement == code[position]:
        replacement = CHECK_SYMBOLS[(CHECK_SYMBOLS.index(replacement) + 1) % len(CHECK_SYMBOLS)]
    if lower:
        replacement = replacement.lower()
    mistyped = code[:position] + replacement + code[position + 1 :]
    assert_refused(mistyped)
    assert not is_code(mistyped)


@FAST
@given(any_codes, st.integers(0, CODE_LENGTH - 2))
@example("7T3K9QJ2XMVBCD", 12)
def test_any_swap_of_two_adjacent_different_characters_is_rejected(code, position):
    a, b = code[position], code[position + 1]
    if a == b:
        return
    swapped = code[:position] + b + a + code[position + 2 :]
    assert_refused(swapped)


def test_every_substitution_and_swap_of_one_code_exhaustively():
    code = new_code()
    for position in range(CODE_LENGTH):
        for symbol in CHECK_SYMBOLS:
            if symbol != code[position]:
                assert not is_code(code[:position] + symbol + code[position + 1 :]), (code, position, symbol)
    for position in range(CODE_LENGTH - 1):
        a, b = code[position], code[position + 1]
        if a != b:
            assert not is_code(code[:position] + b + a + code[position + 2 :]), (code, position)


def test_codes_ending_in_extended_check_symbols_are_valid_when_the_check_matches():
    # Find data whose check is one of *~$=U: such a code is well formed (never generated).
    for n in range(10_000):
        data = format(n, "013d")
        check = crockford_check(data)
        if check in CHECK_ONLY:
            assert normalise(data + check) == data + check
            assert normalise((data + check).lower()) == data + check
            return
    pytest.fail("no data with an extended check symbol found")


# --- garbage never raises anything but InvalidCode ---------------------------------------------


def _garbage_contract(text):
    try:
        result = normalise(text)
    except InvalidCode as exc:
        assert exc.detail.strip()
        assert any(ch.isalpha() for ch in exc.detail)
        assert exc.title in str(exc)
        return
    assert isinstance(result, str) and len(result) == CODE_LENGTH
    assert is_code(result)
    assert normalise(result) == result
    assert set(result[:13]) <= set(CROCKFORD)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_unicode_text_gives_a_code_or_invalid_code(text):
    _garbage_contract(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600).map(lambda b: b.decode("latin-1")))
def test_random_bytes_decoded_latin1_give_a_code_or_invalid_code(text):
    _garbage_contract(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=CHECK_SYMBOLS + CHECK_SYMBOLS.lower() + "-_. /?#]\\0OIL", max_size=40))
def test_near_codes_give_a_code_or_invalid_code(text):
    _garbage_contract(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\r\n",
        "\x00\x1d",
        "-",
        "----",
        "https://x.example/",
        "https://x.example/v/",
        "]Q1",
        "\\000026",
        "'; DROP TABLE vouchers; --",
        "7T3K9QJ2XMVBCD'; DROP TABLE vouchers; --",
        "A" * 10_000,
        "7T3K9QJ2XMVBCD" * 700,
        "\u0000" * 10_000,
        "7T3K9QJ2XMVBC",  # one short
        "7T3K9QJ2XMVBCDD",  # one long
        "UT3K9QJ2XMVBCD",  # U is a check symbol only
        "7T3K9QJ2XMVBC#",
        "😀" * 14,
        "７Ｔ３Ｋ９ＱＪ２ＸＭＶＢＣＥ",  # full-width, wrong check
        "%s%d%n{0}",
    ],
)
def test_garbage_is_refused_in_words(text):
    exc = assert_refused(text)
    assert any(ch.isalpha() for ch in exc.detail)
    assert not is_code(text)


@pytest.mark.parametrize("value", [None, b"7T3K9QJ2XMVBCD", 7, ["7T3K9QJ2XMVBCD"]])
def test_non_text_is_refused_as_invalid_code(value):
    with pytest.raises(InvalidCode):
        normalise(value)  # type: ignore[arg-type]


def test_invalid_code_messages_say_what_is_wrong():
    assert "short" in assert_refused("7T3K9QJ2XMVBC").detail
    assert "long" in assert_refused("7T3K9QJ2XMVBCDD").detail
    assert "check" in assert_refused("7T3K9QJ2XMVBCE").detail.lower()
    assert "long" in assert_refused("A" * 10_000).detail.lower()


# --- the keyed hash (docs/PROTOCOL.md) -------------------------------------------------------------

KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
# printf '%s' 7T3K9QJ2XMVBCD | openssl dgst -sha256 -mac HMAC -macopt hexkey:$KEY_HEX
OPENSSL_VECTOR = "f995417add2d33007b19135aac9822f3b54f6c9a7a5e8701511b15959c52a3e0"


def test_code_hash_matches_protocol():
    key = bytes.fromhex(KEY_HEX)
    expected = hmac.new(key, b"7T3K9QJ2XMVBCD", hashlib.sha256).hexdigest()
    assert expected == OPENSSL_VECTOR
    assert code_hash("7T3K9QJ2XMVBCD", key) == OPENSSL_VECTOR


def test_code_hash_is_over_canonical_characters_and_lowercase_hex():
    key = bytes.fromhex(KEY_HEX)
    digest = code_hash(normalise("7t3k-9qj2-xmvb-cd"), key)
    assert digest == OPENSSL_VECTOR
    assert len(digest) == 64 and set(digest) <= set(string.hexdigits.lower())


@FAST
@given(generated_codes, st.binary(min_size=32, max_size=32))
def test_code_hash_property(code, key):
    expected = hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()
    assert code_hash(code, key) == expected
    assert code_hash(normalise(format_code(code).lower()), key) == expected
    other_key = bytes(b ^ 1 for b in key)
    assert code_hash(code, other_key) != expected
