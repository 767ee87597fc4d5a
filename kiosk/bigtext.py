"""Block letters for the verdict's word, so that a cashier reads it from two metres.

Textual's only large-type widget, `Digits`, draws digits and A-F; the verdict needs words
(ACCEPTED, REFUSED, CHECK, and the same in other languages), so this module has a small bitmap
font of its own: A-Z, 0-9, a few marks, and the accents of French, German and Spanish capitals
drawn as one row above the letter (a cedilla below). Each glyph is five pixels tall.

`draw(text, width, height)` draws the text at the largest size that fits the space: a pixel of
6x3, 3x3, 4x2, 2x2, 2x1 or 1x1 cells, or two pixels a cell with half blocks; words go onto
more lines when that lets them fit. None when nothing fits, or a character has no glyph: the
caller shows the word as one line of normal text. Only full and half blocks are used, which the
Linux console's font has (CP437 219, 220, 223).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

FULL, UPPER, LOWER = "\u2588", "\u2580", "\u2584"

_FONT = {
    "A": ".###.|#...#|#####|#...#|#...#",
    "B": "####.|#...#|####.|#...#|####.",
    "C": ".####|#....|#....|#....|.####",
    "D": "####.|#...#|#...#|#...#|####.",
    "E": "#####|#....|####.|#....|#####",
    "F": "#####|#....|####.|#....|#....",
    "G": ".####|#....|#..##|#...#|.####",
    "H": "#...#|#...#|#####|#...#|#...#",
    "I": "###|.#.|.#.|.#.|###",
    "J": "..###|...#.|...#.|#..#.|.##..",
    "K": "#...#|#..#.|###..|#..#.|#...#",
    "L": "#....|#....|#....|#....|#####",
    "M": "#...#|##.##|#.#.#|#...#|#...#",
    "N": "#...#|##..#|#.#.#|#..##|#...#",
    "O": ".###.|#...#|#...#|#...#|.###.",
    "P": "####.|#...#|####.|#....|#....",
    "Q": ".###.|#...#|#.#.#|#..#.|.##.#",
    "R": "####.|#...#|####.|#..#.|#...#",
    "S": ".####|#....|.###.|....#|####.",
    "T": "#####|..#..|..#..|..#..|..#..",
    "U": "#...#|#...#|#...#|#...#|.###.",
    "V": "#...#|#...#|#...#|.#.#.|..#..",
    "W": "#...#|#...#|#.#.#|##.##|#...#",
    "X": "#...#|.#.#.|..#..|.#.#.|#...#",
    "Y": "#...#|.#.#.|..#..|..#..|..#..",
    "Z": "#####|...#.|..#..|.#...|#####",
    "0": ".###.|#..##|#.#.#|##..#|.###.",
    "1": "..#..|.##..|..#..|..#..|.###.",
    "2": ".###.|#...#|..##.|.#...|#####",
    "3": "####.|....#|.###.|....#|####.",
    "4": "#..#.|#..#.|#####|...#.|...#.",
    "5": "#####|#....|####.|....#|####.",
    "6": ".###.|#....|####.|#...#|.###.",
    "7": "#####|...#.|..#..|.#...|.#...",
    "8": ".###.|#...#|.###.|#...#|.###.",
    "9": ".###.|#...#|.####|....#|.###.",
    "?": ".###.|#...#|..##.|.....|..#..",
    "!": "#|#|#|.|#",
    ".": ".|.|.|.|#",
    ",": "..|..|..|.#|#.",
    ":": ".|#|.|#|.",
    "'": "#|#|.|.|.",
    "-": "...|...|###|...|...",
    "/": "....#|...#.|..#..|.#...|#....",
    " ": "...|...|...|...|...",
    "\u00a0": ".|.|.|.|.",  # French typography's no-break space before ? and ! (one word with it)
}
GLYPHS: dict[str, tuple[str, ...]] = {ch: tuple(rows.split("|")) for ch, rows in _FONT.items()}
HEIGHT = 5  # pixels of a glyph, without its accent rows

# combining marks (after NFD) drawn as one row of pixels above the letter, or below it
_ABOVE = {
    "\u0301": "...#.",  # acute
    "\u0300": ".#...",  # grave
    "\u0302": ".###.",  # circumflex
    "\u0308": ".#.#.",  # diaeresis
    "\u0303": "##.##",  # tilde
    "\u030a": "..#..",  # ring
}
_BELOW = {"\u0327": "..#.."}  # cedilla

# pixel sizes in cells (columns, rows), largest first; 0 rows: two pixels a cell (half blocks)
SIZES: tuple[tuple[int, int], ...] = ((6, 3), (3, 3), (4, 2), (2, 2), (2, 1), (1, 1), (1, 0))


@dataclass(frozen=True)
class _Glyph:
    rows: tuple[str, ...]
    above: str | None = None
    below: str | None = None

    @property
    def width(self) -> int:
        return len(self.rows[0])


def _glyph(ch: str) -> _Glyph | None:
    """The glyph of one character, its accent included; None when the font cannot draw it."""
    if ch in GLYPHS:
        return _Glyph(GLYPHS[ch])
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    if base not in GLYPHS or len(marks) > 1:
        return None
    if not marks:
        return _Glyph(GLYPHS[base])
    width = len(GLYPHS[base][0])
    mark = marks[0]
    if mark in _ABOVE:
        return _Glyph(GLYPHS[base], above=_fit(_ABOVE[mark], width))
    if mark in _BELOW:
        return _Glyph(GLYPHS[base], below=_fit(_BELOW[mark], width))
    return None


def _fit(mark: str, width: int) -> str:
    """A 5-pixel mark on a narrower glyph: its middle."""
    cut = (len(mark) - width) // 2
    return mark[cut : cut + width] if width < len(mark) else mark


def _glyphs(text: str) -> list[_Glyph] | None:
    out = []
    for ch in unicodedata.normalize("NFC", text.upper()):
        glyph = _glyph(ch)
        if glyph is None:
            return None
        out.append(glyph)
    return out


def _bitmap(glyphs: list[_Glyph]) -> list[str]:
    """One line of text as rows of pixels ('#' on), one blank pixel between glyphs."""
    above = any(g.above for g in glyphs)
    below = any(g.below for g in glyphs)
    rows: list[list[str]] = [[] for _ in range(HEIGHT + above + below)]
    for i, g in enumerate(glyphs):
        column = ([g.above or "." * g.width] if above else []) + list(g.rows)
        column += [g.below or "." * g.width] if below else []
        for row, pixels in zip(rows, column, strict=True):
            if i:
                row.append(".")
            row.append(pixels)
    return ["".join(row) for row in rows]


def _cells(bitmap: list[str], size: tuple[int, int]) -> list[str]:
    """The pixel rows as terminal cells at one pixel size."""
    cols, rows = size
    if rows == 0:  # half blocks: two pixel rows a cell
        padded = bitmap + (["." * len(bitmap[0])] if len(bitmap) % 2 else [])
        return [
            "".join(
                FULL if a == b == "#" else UPPER if a == "#" else LOWER if b == "#" else " "
                for a, b in zip(top, bottom, strict=True)
            )
            for top, bottom in zip(padded[::2], padded[1::2], strict=True)
        ]
    out = []
    for pixels in bitmap:
        line = "".join((FULL if p == "#" else " ") * cols for p in pixels)
        out.extend([line] * rows)
    return out


def line(text: str, size: tuple[int, int]) -> list[str] | None:
    """One line of text at one pixel size (see SIZES), however wide; None without glyphs for it."""
    glyphs = _glyphs(text)
    return None if glyphs is None else _cells(_bitmap(glyphs), size)


def _lines(
    words: list[list[_Glyph]], space: _Glyph, fits: Callable[[list[_Glyph]], bool]
) -> list[list[_Glyph]] | None:
    """Words filled greedily onto lines that `fits` accepts; None when one word alone does not fit."""
    lines: list[list[_Glyph]] = []
    for word in words:
        if lines and fits([*lines[-1], space, *word]):
            lines[-1] = [*lines[-1], space, *word]
        elif fits(word):
            lines.append(word)
        else:
            return None
    return lines


def draw(text: str, width: int, height: int) -> list[str] | None:
    """`text` in block letters within `width` x `height` cells, at the largest size that fits:
    lines of equal length within each line of words, a blank gap between lines of words. None
    when it fits at no size, or the font lacks one of its characters."""
    words = []
    for word in text.split():
        glyphs = _glyphs(word)
        if glyphs is None:
            return None
        words.append(glyphs)
    if not words:
        return None
    space = _Glyph(GLYPHS[" "])
    for size in SIZES:
        cols, rows = size

        def fits(glyphs: list[_Glyph], cols: int = cols) -> bool:
            return (sum(g.width for g in glyphs) + len(glyphs) - 1) * cols <= width

        lines = _lines(words, space, fits)
        if lines is None:
            continue
        drawn: list[str] = []
        for i, line in enumerate(lines):
            if i:
                drawn.extend([""] * max(rows, 1))
            drawn.extend(_cells(_bitmap(line), size))
        if len(drawn) <= height:
            return drawn
    return None
