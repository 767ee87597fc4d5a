"""The block letters of the verdict's word (kiosk.bigtext): every letter and digit drawn and told
apart, the largest size that fits chosen, nothing ever drawn outside the space given."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from kiosk import bigtext
from kiosk.bigtext import FULL, GLYPHS, HEIGHT, LOWER, SIZES, UPPER, draw, line

BLOCKS = {FULL, UPPER, LOWER, " "}


def test_every_letter_and_digit_has_its_own_glyph_of_five_rows():
    for ch in string.ascii_uppercase + string.digits:
        rows = GLYPHS[ch]
        assert len(rows) == HEIGHT and len({len(r) for r in rows}) == 1, ch
        assert set("".join(rows)) <= {"#", "."} and "#" in "".join(rows), ch
    shapes = [GLYPHS[ch] for ch in string.ascii_uppercase + string.digits]
    assert len(set(shapes)) == len(shapes)  # no two alike: 0 has its slash, O has none


def test_the_largest_size_that_fits_is_chosen():
    assert draw("ACCEPTED", 76, 6) == line("ACCEPTED", (1, 1))  # 80x24: 47 columns, 5 rows
    assert draw("CHECK", 76, 6) == line("CHECK", (2, 1))  # a short word goes wider
    assert draw("ACCEPTED", 96, 12) == line("ACCEPTED", (2, 2))  # 100x30: 10 rows tall
    assert len(draw("ACCEPTED", 200, 40) or []) == 15  # a big console: 3 rows a pixel
    assert draw("ACCEPTED", 76, 4) == line("ACCEPTED", (1, 0))  # half blocks: 3 rows
    assert draw("ACCEPTED", 76, 2) is None and draw("ACCEPTED", 46, 9) is None  # one line of text, then


def test_words_go_onto_more_lines_when_that_fits():
    drawn = draw("MANAGER APPROVAL", 76, 8)
    assert drawn == [*line("MANAGER", (1, 0)), "", *line("APPROVAL", (1, 0))]  # half blocks, two lines
    assert draw("MANAGER APPROVAL", 100, 5) == line("MANAGER APPROVAL", (1, 1))  # one line when it fits


def test_lower_case_accents_and_characters_without_a_glyph():
    assert draw("check", 76, 6) == draw("CHECK", 76, 6)
    assert len(draw("PRÜFEN", 76, 6) or []) == 6  # the diaeresis takes a row: six pixels tall
    drawn = line("PRÜFEN", (1, 1)) or []
    assert len(drawn) == HEIGHT + 1 and drawn[1:] == line("PRUFEN", (1, 1))
    assert drawn[0].strip() and not drawn[0][:12].strip()  # the marks above the U only
    assert len(line("FRANÇAIS", (1, 1)) or []) == HEIGHT + 1  # the cedilla below
    for word in ("ACCEPTÉ", "REFUSÉ", "VÉRIFIER", "ANGENOMMEN", "ABGELEHNT", "ACEPTADO", "RECHAZADO"):
        assert line(word, (1, 1)) is not None, word
    assert draw("OK ✓", 200, 40) is None and draw("", 80, 24) is None


@given(
    st.lists(
        st.text(alphabet=string.ascii_uppercase + "?!", min_size=1, max_size=12), min_size=1, max_size=4
    ),
    st.integers(1, 220),
    st.integers(1, 70),
)
def test_nothing_is_drawn_outside_the_space_given(words, width, height):
    drawn = draw(" ".join(words), width, height)
    if drawn is None:  # the caller shows one line of text
        return
    assert 0 < len(drawn) <= height and all(len(row) <= width for row in drawn)
    assert all(set(row) <= BLOCKS for row in drawn)
    blocks: list[list[str]] = [[]]  # a line of words: rows of one length, blank rows between lines
    for row in drawn:
        if row:
            blocks[-1].append(row)
        elif blocks[-1]:
            blocks.append([])
    assert all(len({len(r) for r in block}) == 1 for block in blocks)


def test_the_size_ladder_goes_down():
    heights = [rows or 0.5 for _, rows in SIZES]
    assert heights == sorted(heights, reverse=True) and SIZES[-1] == (1, 0)
    assert bigtext.FULL == "\u2588"  # CP437 219, in the Linux console's font
