"""A live picture of the camera in the terminal, for aiming: each cell is an upper half block
whose foreground is one pixel and whose background is the pixel below it.

The camera worker hands over a frame a few times a second; the widget shrinks it to its size
(about a millisecond for 1280x720) and again when it is resized, and turns the small picture
into styled cells. On a 16-colour console Textual maps the colours to the nearest of the
sixteen, which is enough to aim.
"""

from __future__ import annotations

import cv2
import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

UPPER_HALF = "\u2580"  # in the Linux console's font as well (CP437 223)


def shrink(frame: np.ndarray, columns: int, rows: int) -> np.ndarray:
    """A BGR or grey frame as an RGB picture of `columns` x 2*`rows` pixels, its shape kept
    (letterboxed in black)."""
    if columns <= 0 or rows <= 0:
        return np.zeros((0, 0, 3), np.uint8)
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    height, width = frame.shape[:2]
    # A terminal cell is about twice as tall as wide: one cell column is one pixel, one row two.
    scale = min(columns / width, 2 * rows / height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    small = np.asarray(
        cv2.cvtColor(cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB), np.uint8
    )
    picture = np.zeros((2 * rows, columns, 3), np.uint8)
    top, left = (2 * rows - h) // 2, (columns - w) // 2
    picture[top : top + h, left : left + w] = (
        small & 0xF0
    ) | 0x08  # 4 bits a channel: enough to aim, few styles
    return picture


class CameraPreview(Widget):
    """Shows the last picture given to `show`; blank until the first."""

    DEFAULT_CSS = """
    CameraPreview {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._frame: np.ndarray | None = None
        self._picture: np.ndarray | None = None
        self._styles: dict[tuple[int, ...], Style] = {}  # (upper rgb, lower rgb) -> style

    def show(self, frame: np.ndarray) -> None:
        self._frame = frame
        self._shrink()

    def on_resize(self) -> None:
        self._shrink()

    def _shrink(self) -> None:
        if self._frame is not None:
            self._picture = shrink(self._frame, self.size.width, self.size.height)
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        picture = self._picture
        if picture is None or 2 * y + 1 >= picture.shape[0]:
            return Strip.blank(width, self.rich_style)
        upper, lower = picture[2 * y, :width], picture[2 * y + 1, :width]
        segments = [
            Segment(UPPER_HALF, self._style(tuple(a) + tuple(b)))
            for a, b in zip(upper.tolist(), lower.tolist(), strict=False)
        ]
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def _style(self, key: tuple[int, ...]) -> Style:
        style = self._styles.get(key)
        if style is None:
            if len(self._styles) > 65536:
                self._styles.clear()
            style = self._styles[key] = Style.from_color(Color.from_rgb(*key[:3]), Color.from_rgb(*key[3:]))
        return style
