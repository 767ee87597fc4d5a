"""A USB scanner typing through the wrong keyboard layout, recognised and undone.

A keyboard-wedge scanner does not send characters: it sends the keys that type them on the
keyboard it is set to (US, out of the box). A till whose own keyboard is German reads those
keys as German ones, so Y and Z come out swapped and `-` as `ß`; a French till reads the US
digit row as `&é"'(-è_çà` and swaps A/Q and Z/W. Codes carry a check character, so a code
typed through the wrong layout fails its check (or holds characters no code has), and undoing
each layout's mapping in turn tells which one did it.

`typed_through(text, layout)` is what the till reads when a US-set scanner types `text` on a
till whose keyboard is `layout`; `untyped(text, layout)` undoes it; `correct(text, known)` is
the one code that exactly one layout family explains (None when none does, or two explain
different codes). `known` is the caller's question "does the till hold this code?": a mistyped
code is explained by some layout with a probability of about 1 in 37, a real voucher almost
never, so only a code the till holds is taken as the correction.

Layouts (their key maps as Linux's xkb and Windows ship them; dead keys compose with the next
key, or give their accent and then that key, as the Linux console does): German QWERTZ (de),
Swiss QWERTZ (ch, the same for Swiss German and Swiss French), French AZERTY (fr) and Belgian
AZERTY (be). A UK layout types every code and URL as a US one does (only `@ " # ~ \\ |` move),
so it needs no correction. Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from vouchers.codes import MAX_INPUT, normalise
from vouchers.errors import InvalidCode

# The keys a scanner uses, row by row (number row, top, home, bottom), each as the key's
# unshifted characters and then its shifted ones, in the same key order for every layout.
# The top row's last key is the one US keyboards have above Enter (HID 0x31, xkb <BKSL>).
US_KEYS = (
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\",
    "QWERTYUIOP{}|",
    "asdfghjkl;'",
    'ASDFGHJKL:"',
    "zxcvbnm,./",
    "ZXCVBNM<>?",
)

# A dead key's accent as it shows alone, and the combining mark it puts on the next letter.
_MARKS = {"^": "\u0302", "´": "\u0301", "`": "\u0300", "¨": "\u0308"}


@dataclass(frozen=True)
class Layout:
    id: str  # xkb's name: de, ch, fr, be
    name: str  # for people: "German (QWERTZ)"
    country: str  # the scanner's "keyboard country" setting that matches: "Germany"
    keys: tuple[str, ...]  # like US_KEYS, what each key types on this layout
    dead: str = ""  # the accents of this layout's dead keys
    _back: dict[str, str] = field(init=False, repr=False, compare=False)
    _forward: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        forward, back = {" ": " "}, {" ": " "}
        for us_row, row in zip(US_KEYS, self.keys, strict=True):
            for us, ch in zip(us_row, row, strict=True):
                forward[us] = ch
                if ch in back:
                    raise ValueError(f"{self.id}: {ch!r} is on two keys")
                back[ch] = us
        object.__setattr__(self, "_forward", forward)
        object.__setattr__(self, "_back", back)

    def changes(self, text: str) -> bool:
        """Whether a US-set scanner's `text` would arrive changed on this layout."""
        return any(self._forward.get(ch, ch) != ch for ch in text)


LAYOUTS = (
    Layout(
        "de",
        "German (QWERTZ)",
        "Germany",
        (
            "^1234567890ß´",
            '°!"§$%&/()=?`',
            "qwertzuiopü+#",
            "QWERTZUIOPÜ*'",
            "asdfghjklöä",
            "ASDFGHJKLÖÄ",
            "yxcvbnm,.-",
            "YXCVBNM;:_",
        ),
        dead="^´`",
    ),
    Layout(
        "ch",
        "Swiss (QWERTZ)",
        "Switzerland",
        (
            "§1234567890'^",
            '°+"*ç%&/()=?`',
            "qwertzuiopü¨$",
            "QWERTZUIOPè!£",
            "asdfghjklöä",
            "ASDFGHJKLéà",
            "yxcvbnm,.-",
            "YXCVBNM;:_",
        ),
        dead="^`¨",
    ),
    Layout(
        "fr",
        "French (AZERTY)",
        "France",
        (
            "²&é\"'(-è_çà)=",
            "~1234567890°+",
            "azertyuiop^$*",
            "AZERTYUIOP¨£µ",
            "qsdfghjklmù",
            "QSDFGHJKLM%",
            "wxcvbn,;:!",
            "WXCVBN?./§",
        ),
        dead="^¨",
    ),
    Layout(
        "be",
        "Belgian (AZERTY)",
        "Belgium",
        (
            "²&é\"'(§è!çà)-",
            "³1234567890°_",
            "azertyuiop^$µ",
            "AZERTYUIOP¨*£",
            "qsdfghjklmù",
            "QSDFGHJKLM%",
            "wxcvbn,;:=",
            "WXCVBN?./+",
        ),
        dead="^¨",
    ),
)
BY_ID = {layout.id: layout for layout in LAYOUTS}


def typed_through(text: str, layout: Layout) -> str:
    """What the till reads when a scanner set to a US keyboard types `text` on a till whose
    keyboard is `layout`. Characters no US key types (control characters) pass unchanged."""
    out: list[str] = []
    accent = ""  # a dead key pressed, waiting for the next key
    for ch in text:
        typed = layout._forward.get(ch, ch)
        if accent:
            composed = unicodedata.normalize("NFC", typed + _MARKS[accent]) if typed != " " else accent
            out.append(composed if len(composed) == 1 else accent + typed)
            accent = ""
            continue
        if typed in layout.dead and ch in layout._forward:
            accent = typed
        else:
            out.append(typed)
    if accent:
        out.append(accent)
    return "".join(out)


def untyped(text: str, layout: Layout) -> str | None:
    """`text` as the scanner meant it, had it typed through `layout`: each character back to the
    US key that made it; a letter with an accent from a dead key back to both keys; control
    characters as they are. None when `text` has a character `layout` cannot type: then it was
    not typed through it."""
    out = []
    back = layout._back
    for ch in text:
        us = back.get(ch)
        if us is None and layout.dead and not ch.isascii():
            base, *marks = list(unicodedata.normalize("NFD", ch))
            accent = next((a for a in layout.dead if [_MARKS[a]] == marks), None)
            if accent is not None and base in back:
                us = back[accent] + back[base]
        if us is None and ch.isprintable():
            return None
        out.append(ch if us is None else us)
    return "".join(out)


@dataclass(frozen=True)
class Correction:
    """The code a scan meant, and the layouts that explain it (one, or several that type it alike)."""

    code: str  # canonical
    layouts: tuple[Layout, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(layout.id for layout in self.layouts)


def correct(text: str, known: Callable[[str], bool] = lambda code: True) -> Correction | None:
    """The one code `text` was meant to be, read through the wrong layout; None when `text` is a
    code the till holds already, when no layout gives one (`known`; failing that, for a text that
    is no code as typed, any well-formed code), or when layouts give different ones. A text that is a well-formed code the till does not hold is tried too: Y and Z
    swapped keep the check character right about once in 37. Bounded: nothing longer than
    `codes.MAX_INPUT` is looked at."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    as_is = _code(text)
    if as_is is not None and known(as_is):
        return None
    found: dict[str, list[tuple[Layout, str]]] = {}
    for layout in LAYOUTS:
        meant = untyped(text, layout)
        if meant is None or meant == text:
            continue
        code = _code(meant)
        if code is not None and known(code):
            found.setdefault(code, []).append((layout, meant))
    if not found and as_is is None and sum(1 for ch in text if _foreign(ch)) >= SIGNATURE:
        # no code the till holds: a text that is no code as typed, with the marks of a layout (a
        # cashier's slip makes one such character, a scanner typing through QWERTZ or AZERTY makes
        # its separators or digits so), that gives exactly one well-formed code (its check
        # character right) through one layout, is that code all the same: decided UNKNOWN at the
        # till, with the layout's notice, rather than blamed on the cashier as "too long"
        for layout in LAYOUTS:
            meant = untyped(text, layout)
            if meant is not None and meant != text and (code := _code(meant)) is not None:
                found.setdefault(code, []).append((layout, meant))
    if len(found) != 1:
        return None
    [(code, readings)] = found.items()
    # Layouts that agree on the code may still read the rest apart: a URL is "https://" through
    # one of them only (German gives ':' for Ö, Swiss for é); the others are not named.
    tidy = [layout for layout, meant in readings if "/" not in meant or "://" in meant]
    return Correction(code, tuple(tidy or [layout for layout, _ in readings]))


SIGNATURE = 2  # characters of no code's that a text must carry to be corrected to a code the till lacks


def _foreign(ch: str) -> bool:
    """A character no code has and no separator is: ß for '-', é or & for a digit."""
    return not (ch.isascii() and (ch.isalnum() or ch in " -"))


def _code(text: str) -> str | None:
    try:
        return normalise(text)
    except InvalidCode:
        return None
