"""Till camera frames made to order, each with the truth beside it: voucher codes drawn as head
office prints them (QR by segno, Code 128, DataMatrix, PDF417 and Aztec by zxing-cpp), on paper
or on a phone's screen (bright, or dark mode: a light code on a dark ground), photographed as a
1280×720 webcam over a shop counter would see them.

A `Look` is one photograph's conditions (size, rotation, tilt, light, glare, a thumb, blur,
noise, JPEG quality); `CONDITIONS` draws looks for one named condition each ("perspective",
"phone, dark mode", "no code", ...). `till_frames()` makes a seeded set of still frames for the
decode tests and `python -m bench decode`; `Shot` places one code once and photographs it again
and again with a shaking hand, for `python -m bench camera`'s video.

Only numpy, OpenCV, segno and zxing-cpp, no project code: the kiosk's tests and the benchmarks
share it, and head office never imports it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import cv2
import numpy as np
import segno
import zxingcpp

WIDTH, HEIGHT = 1280, 720
FOCAL = 1000.0  # px: a 720p webcam's ~65° horizontal field of view
SYMBOLOGIES = ("QRCode", "Code128", "DataMatrix", "PDF417", "Aztec")  # what head office prints
_ZXING = {
    "Code128": zxingcpp.BarcodeFormat.Code128,
    "DataMatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "PDF417": zxingcpp.BarcodeFormat.PDF417,
    "Aztec": zxingcpp.BarcodeFormat.Aztec,
}
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# -- the symbol, as printed ---------------------------------------------------------------------


@cache
def symbol_modules(text: str, symbology: str) -> np.ndarray:
    """The symbol as head office draws it, one pixel per module, quiet zone included: 1 = ink.
    QR as segno's full QR at level M (central/images.py), the rest as zxing-cpp writes them."""
    if symbology == "QRCode":
        return np.pad(np.array(list(segno.make_qr(text, error="m").matrix), dtype=np.uint8), 4)
    image = np.asarray(
        zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, _ZXING[symbology]), scale=1)
    )
    return (image < 128).astype(np.uint8)


def voucher_text(rng: random.Random, symbology: str) -> str:
    """A payload as vouchers carry it: a code grouped or bare, or for QR sometimes a URL ending in it.
    (Random characters: the generator knows nothing of check characters; the decoders need not.)"""
    code = "".join(rng.choice(_ALPHABET) for _ in range(14))
    grouped = f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}"
    if symbology == "QRCode" and rng.random() < 0.3:
        return f"https://vouchers.example/v/{grouped}"
    return grouped if rng.random() < 0.5 else code


# -- one photograph's conditions ----------------------------------------------------------------


@dataclass(frozen=True)
class Look:
    """How one code is photographed. Sizes in frame pixels; angles in degrees; light as a factor
    of a well-exposed frame."""

    symbology: str | None = "QRCode"  # None: a frame without a code
    text: str = ""
    surface: str = "paper"  # paper, phone (bright screen), phone-dark (dark mode: light code on dark)
    module: float = 4.0  # px per module (a Code 128 bar of one module)
    rotation: float = 0.0  # in the picture's plane
    tilt_x: float = 0.0  # out of plane, about the horizontal axis
    tilt_y: float = 0.0  # about the vertical axis
    exposure: float = 1.0  # < 1 dim, > 1 over-exposed (clipped)
    screen: float = 0.9  # a phone's brightness, 0..1
    glare: float = 0.0  # peak of a specular highlight over the code, 0 = none
    thumb: float = 0.0  # share of the code's side a thumb covers, 0 = none
    blur: float = 0.8  # defocus, Gaussian sigma in px
    motion: float = 0.0  # motion blur length in px
    noise: float = 2.5  # sensor noise sigma, in grey levels of a well-exposed frame
    quality: int = 88  # JPEG quality of the webcam's MJPG
    seed: int = 0  # where things land and the noise

    @property
    def inverted(self) -> bool:
        return self.surface == "phone-dark"

    def describe(self) -> str:
        if self.symbology is None:
            return "no code"
        parts = [f"{self.symbology} on {self.surface}", f"{self.module:.1f} px/module"]
        if self.rotation:
            parts.append(f"rotated {self.rotation:+.0f}°")
        if self.tilt_x or self.tilt_y:
            parts.append(f"tilt {self.tilt_x:+.0f}°/{self.tilt_y:+.0f}°")
        if self.exposure != 1.0:
            parts.append(f"exposure ×{self.exposure:.2f}")
        if self.glare:
            parts.append(f"glare {self.glare:.2f}")
        if self.thumb:
            parts.append(f"thumb over {self.thumb:.0%} of a side")
        parts.append(f"blur {self.blur:.1f}" + (f", motion {self.motion:.0f} px" if self.motion else ""))
        parts.append(f"noise {self.noise:.1f}, JPEG {self.quality}")
        return ", ".join(parts)


def _base(rng: random.Random, symbology: str) -> Look:
    """A printed voucher or a bright phone at 20-35 cm, held fairly straight, a little soft."""
    module = {"Code128": (2.3, 3.2), "PDF417": (2.8, 4.5)}.get(symbology, (3.0, 6.0))
    return Look(
        symbology=symbology,
        text=voucher_text(rng, symbology),
        surface=rng.choice(("paper", "paper", "phone")),
        # rows to read: zxing-cpp reads Code 128 and PDF417 within about 8° of level only
        module=rng.uniform(*module),
        rotation=rng.uniform(-6, 6) if symbology in ("Code128", "PDF417") else rng.uniform(-15, 15),
        tilt_x=rng.uniform(-8, 8),
        tilt_y=rng.uniform(-8, 8),
        exposure=rng.uniform(0.85, 1.1),
        screen=rng.uniform(0.7, 1.0),
        blur=rng.uniform(0.5, 1.0),
        noise=rng.uniform(1.5, 3.5),
        quality=rng.randint(80, 92),
        seed=rng.randrange(2**31),
    )


def _small(rng: random.Random, look: Look) -> Look:
    module = {"Code128": (1.6, 2.1), "PDF417": (2.0, 2.6)}.get(look.symbology, (1.9, 2.6))
    return replace(look, module=rng.uniform(*module), blur=rng.uniform(0.4, 0.7))


CONDITIONS: dict[str, Callable[[random.Random, Look], Look]] = {
    "plain": lambda rng, look: look,
    "perspective": lambda rng, look: replace(
        look, tilt_x=rng.choice((-1, 1)) * rng.uniform(25, 45), tilt_y=rng.uniform(-20, 20)
    ),
    "rotation": lambda rng, look: replace(look, rotation=rng.uniform(-180, 180)),
    "blur": lambda rng, look: replace(
        look,
        module=look.module * 1.3,
        blur=rng.uniform(1.3, 2.0),
        motion=rng.choice((0.0, rng.uniform(3, 6))),
    ),
    "noise": lambda rng, look: replace(look, noise=rng.uniform(7, 12)),
    "low light": lambda rng, look: replace(
        look, surface="paper", exposure=rng.uniform(0.25, 0.4), noise=rng.uniform(2.5, 4)
    ),
    "bright light": lambda rng, look: replace(look, surface="paper", exposure=rng.uniform(1.5, 2.1)),
    "glare": lambda rng, look: replace(look, glare=rng.uniform(0.4, 1.0)),
    "JPEG": lambda rng, look: replace(look, quality=rng.randint(25, 45)),
    "phone, bright": lambda rng, look: replace(look, surface="phone", screen=rng.uniform(0.5, 1.0)),
    "phone, dark mode": lambda rng, look: replace(look, surface="phone-dark", screen=rng.uniform(0.5, 1.0)),
    "thumb": lambda rng, look: replace(look, thumb=rng.uniform(0.15, 0.3)),
    "small": _small,
    "no code": lambda rng, look: replace(look, symbology=None, text=""),
}


def look_for(condition: str, rng: random.Random, symbology: str) -> Look:
    return CONDITIONS[condition](rng, _base(rng, symbology))


# -- the counter --------------------------------------------------------------------------------


@cache
def counter(variant: int) -> tuple[np.ndarray, np.ndarray]:
    """A shop counter seen from the till: (albedo 0..1, light 0..1.2), float32, HEIGHT×WIDTH.
    Boxes, price labels, a card reader, a receipt, printed text: edges and text, never a code."""
    rng = np.random.default_rng(1000 + variant)
    albedo = np.zeros((HEIGHT, WIDTH), np.uint8)  # drawn in grey levels (OpenCV draws text on 8 bits only)
    split = int(HEIGHT * rng.uniform(0.5, 0.7))
    albedo[:split] = int(rng.integers(115, 165))  # the wall
    albedo[split:] = int(rng.integers(65, 100))  # the counter
    for _ in range(5):  # boxes with labels
        x, y = int(rng.integers(0, WIDTH - 200)), int(rng.integers(80, HEIGHT - 160))
        w, h = int(rng.integers(120, 300)), int(rng.integers(100, 260))
        cv2.rectangle(albedo, (x, y), (x + w, y + h), int(rng.integers(40, 190)), -1)
        cv2.rectangle(albedo, (x + 12, y + 14), (x + w - 12, y + 60), int(rng.integers(180, 230)), -1)
        cv2.putText(
            albedo,
            str(rng.choice(["PRICE 4.99", "SALE", "2 FOR 1", "NEW"])),
            (x + 18, y + 50),
            cv2.FONT_HERSHEY_SIMPLEX,
            1.0,
            20,
            2,
        )
    x, y = int(rng.integers(350, 700)), int(rng.integers(split, HEIGHT - 120))
    cv2.rectangle(albedo, (x, y), (x + 260, HEIGHT), 215, -1)  # a receipt
    for i in range(12):
        cv2.putText(
            albedo,
            "1 x COFFEE   2.40   TOTAL 14.20",
            (x + 8, y + 22 + i * 18),
            cv2.FONT_HERSHEY_PLAIN,
            0.8,
            25,
            1,
        )
    x, y = int(rng.integers(900, 1100)), int(rng.integers(60, 200))
    cv2.rectangle(albedo, (x, y), (x + 170, y + 300), 20, -1)  # a card reader with keys
    cv2.rectangle(albedo, (x + 20, y + 20), (x + 150, y + 100), 115, -1)
    cv2.putText(albedo, "INSERT CARD", (x + 28, y + 68), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 230, 1)
    for r in range(4):
        for c in range(3):
            cv2.rectangle(
                albedo, (x + 25 + c * 45, y + 125 + r * 40), (x + 55 + c * 45, y + 150 + r * 40), 150, -1
            )
    grain = cv2.resize(
        rng.normal(0, 0.03, (HEIGHT // 16, WIDTH // 16)).astype(np.float32),
        (WIDTH, HEIGHT),
        interpolation=cv2.INTER_CUBIC,
    )
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    lx, ly = rng.uniform(0.3, 0.7) * WIDTH, rng.uniform(0.1, 0.4) * HEIGHT
    light = 1.15 - 0.75 * (((xx - lx) / WIDTH) ** 2 + ((yy - ly) / HEIGHT) ** 2)
    return np.clip(albedo / np.float32(255) + grain, 0.02, 0.95), light.astype(np.float32)


# -- the code in the picture --------------------------------------------------------------------


@dataclass
class Placed:
    """A code's card (paper or phone) warped into the frame once: at (top, left), its albedo
    (what it reflects of the room's light), emission (what a screen gives off) and coverage."""

    top: int
    left: int
    albedo: np.ndarray
    emission: np.ndarray
    mask: np.ndarray
    code_quad: np.ndarray  # the symbol's corners in frame coordinates (4×2)


def _card(look: Look) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int], int]:
    """The card flat, `up` px per module: albedo, emission, the symbol's box (x0, y0, x1, y1)."""
    ink = symbol_modules(look.text, look.symbology).astype(np.float32)
    if (
        look.symbology == "Code128" and ink.shape[0] > 1
    ):  # zxing-cpp writes it 50 high: print it 25 % as tall as wide
        ink = np.repeat(ink[:1], max(12, round(ink.shape[1] * 0.25)), axis=0)
    up = 6
    symbol = cv2.resize(ink, (ink.shape[1] * up, ink.shape[0] * up), interpolation=cv2.INTER_NEAREST)
    h, w = symbol.shape
    if look.surface == "paper":  # a printed voucher: margin, and a line of print below the code
        mh, mw = int(0.12 * h) + 4 * up, int(0.08 * w) + 4 * up
        albedo = np.full((h + 2 * mh + 10 * up, w + 2 * mw), 0.86, np.float32)
        albedo[mh : mh + h, mw : mw + w] = 0.86 - 0.78 * symbol
        _print(albedo, "5 OFF  VALID AT ALL STORES", (mw, mh + h + 7 * up), 0.12 * up, 0.1, max(1, up // 3))
        return albedo, np.zeros_like(albedo), (mw, mh, mw + w, mh + h), up
    dark = look.surface == "phone-dark"
    ground, code_ink = (0.07, 0.92) if dark else (1.0, 0.03)  # a dark-mode page shows its code inverted
    side = int(0.18 * w) + 6 * up
    sh, sw = h + 2 * side + 8 * up, w + 2 * side  # the screen
    bezel = 5 * up
    emission = np.zeros((sh + 2 * bezel, sw + 2 * bezel), np.float32)
    screen = np.full((sh, sw), ground, np.float32)
    screen[side : side + h, side : side + w] = ground + (code_ink - ground) * symbol
    cv2.rectangle(
        screen, (side, side // 3), (side + w * 2 // 3, side // 3 + 3 * up), code_ink * 0.8 + ground * 0.2, -1
    )
    _print(
        screen,
        "Turn your brightness up",
        (side, side + h + 5 * up),
        0.1 * up,
        code_ink * 0.7 + ground * 0.3,
        max(1, up // 3),
    )
    emission[bezel : bezel + sh, bezel : bezel + sw] = screen * look.screen
    albedo = np.full_like(emission, 0.05)  # glass and the phone's body reflect a little
    return albedo, emission, (bezel + side, bezel + side, bezel + side + w, bezel + side + h), up


def _print(
    layer: np.ndarray, text: str, origin: tuple[int, int], scale: float, value: float, thickness: int
) -> None:
    """Text on a float layer (OpenCV draws text on 8-bit images only)."""
    ink = np.zeros(layer.shape, np.uint8)
    cv2.putText(ink, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness, cv2.LINE_AA)
    cover = ink.astype(np.float32) / 255
    layer[:] = layer * (1 - cover) + value * cover


def _rotation(look: Look) -> np.ndarray:
    ax, ay, az = (math.radians(a) for a in (look.tilt_x, look.tilt_y, look.rotation))
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def place(look: Look) -> Placed:
    """The card at its size, turned and tilted as the hand holds it (a pinhole camera's view),
    somewhere in the frame where it fits."""
    rng = random.Random(look.seed)
    albedo, emission, (x0, y0, x1, y1), up = _card(look)
    h, w = albedo.shape
    scale = look.module / up  # frame px per card px, facing the camera at the focal distance
    rot = _rotation(look)

    def project(points: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
        local = np.column_stack(
            [(points[:, 0] - w / 2) * scale, (points[:, 1] - h / 2) * scale, np.zeros(len(points))]
        )
        world = local @ rot.T + np.array([0, 0, FOCAL])
        return np.column_stack(
            [FOCAL * world[:, 0] / world[:, 2] + centre[0], FOCAL * world[:, 1] / world[:, 2] + centre[1]]
        ).astype(np.float32)

    corners = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float64)
    extent = project(corners, (0, 0))
    span = extent.max(axis=0) - extent.min(axis=0)
    lo = -extent.min(axis=0) + 8
    hi = np.array([WIDTH, HEIGHT]) - extent.max(axis=0) - 8
    centre = tuple(rng.uniform(a, b) if b > a else (a + b) / 2 for a, b in zip(lo, hi, strict=False))
    dst = project(corners, centre)
    if span[0] > WIDTH or span[1] > HEIGHT:  # too big for the frame: shown cut, centred
        dst = project(corners, (WIDTH / 2, HEIGHT / 2))
    left, top = int(max(0, dst[:, 0].min() - 3)), int(max(0, dst[:, 1].min() - 3))
    right, bottom = int(min(WIDTH, dst[:, 0].max() + 4)), int(min(HEIGHT, dst[:, 1].max() + 4))
    # shrink in two steps (area, then the warp), so that thin bars are not aliased away
    pw, ph = max(2, round(w * min(1.0, 2 * scale))), max(2, round(h * min(1.0, 2 * scale)))
    src = np.array([(0, 0), (pw, 0), (pw, ph), (0, ph)], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst - np.array([left, top], np.float32))
    size = (right - left, bottom - top)

    def warp(layer: np.ndarray, border: float) -> np.ndarray:
        small = cv2.resize(layer, (pw, ph), interpolation=cv2.INTER_AREA)
        return cv2.warpPerspective(small, matrix, size, flags=cv2.INTER_LINEAR, borderValue=border)

    quad = project(np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64), centre)
    return Placed(top, left, warp(albedo, 0.0), warp(emission, 0.0), warp(np.ones_like(albedo), 0.0), quad)


# -- the photograph -----------------------------------------------------------------------------


def photograph(
    look: Look,
    placed: Placed | None,
    variant: int = 0,
    shift: tuple[int, int] = (0, 0),
    frame_seed: int | None = None,
    jpeg: bool = True,
) -> np.ndarray:
    """One BGR frame: the counter, the card at `shift` px from where it was placed, the room's
    light and the camera's exposure, glare, a thumb, defocus and motion, sensor noise, a warm
    colour cast, and (`jpeg`) the webcam's JPEG compression."""
    nrng = np.random.default_rng(look.seed if frame_seed is None else frame_seed)
    albedo, light = counter(variant)
    reflect = albedo.copy()
    emit = np.zeros_like(albedo)
    if placed is not None:
        top = min(max(0, placed.top + shift[0]), HEIGHT - placed.mask.shape[0])
        left = min(max(0, placed.left + shift[1]), WIDTH - placed.mask.shape[1])
        region = (slice(top, top + placed.mask.shape[0]), slice(left, left + placed.mask.shape[1]))
        m = placed.mask
        reflect[region] = reflect[region] * (1 - m) + placed.albedo * m
        emit[region] = placed.emission * m
        quad = placed.code_quad + np.array([left - placed.left, top - placed.top], np.float32)
        if look.thumb:
            _thumb(reflect, emit, quad, look.thumb, nrng)
    value = reflect * light + emit  # 1.0 = white paper under good light
    if placed is not None and look.glare:
        _glare(value, quad, look.glare, nrng)
    value *= 0.92 * look.exposure
    if look.motion:
        kernel = np.zeros((int(look.motion) | 1, int(look.motion) | 1), np.float32)
        kernel[kernel.shape[0] // 2] = 1
        rot = cv2.getRotationMatrix2D(
            (kernel.shape[1] / 2 - 0.5, kernel.shape[0] / 2 - 0.5), nrng.uniform(0, 180), 1
        )
        kernel = cv2.warpAffine(kernel, rot, kernel.shape[::-1])
        value = cv2.filter2D(value, -1, kernel / kernel.sum())
    value = cv2.GaussianBlur(value, (0, 0), look.blur)
    grey = value * 255
    # read noise, amplified when the camera turns its gain up in a dim room, and shot noise
    gain = 1 / max(0.35, min(1.0, look.exposure))
    sigma = np.sqrt((look.noise * gain) ** 2 + 0.04 * np.maximum(grey, 0))
    grey = grey + nrng.standard_normal(grey.shape, dtype=np.float32) * sigma
    frame = cv2.merge([cv2.convertScaleAbs(grey, alpha=a) for a in (0.92, 1.0, 1.05)])
    if jpeg:
        frame = cv2.imdecode(
            cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, look.quality])[1], cv2.IMREAD_COLOR
        )
    return frame


def _thumb(
    reflect: np.ndarray, emit: np.ndarray, quad: np.ndarray, share: float, rng: np.random.Generator
) -> None:
    """A thumb over one side of the code, `share` of the way in: skin, shaded towards its edge."""
    side = int(rng.integers(4))
    a, b = quad[side], quad[(side + 1) % 4]
    centre_of_code = quad.mean(axis=0)
    edge_mid = (a + b) / 2 + (b - a) * rng.uniform(-0.2, 0.2)
    inward = centre_of_code - edge_mid
    depth = np.linalg.norm(inward) * 2 * share
    direction = inward / max(1e-6, np.linalg.norm(inward))
    tip = edge_mid + direction * depth
    long_side = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[1]))
    length, width = depth * 2.5 + 60, float(np.clip(long_side * rng.uniform(0.3, 0.4), 50, 110))
    centre = tip - direction * length / 2
    angle = math.degrees(math.atan2(direction[1], direction[0]))
    mask = np.zeros(reflect.shape, np.float32)
    cv2.ellipse(mask, (tuple(int(v) for v in centre), (int(length), int(width)), angle), 1.0, -1, cv2.LINE_AA)
    mask = cv2.GaussianBlur(mask, (0, 0), 2.0)
    shade = cv2.GaussianBlur(mask, (0, 0), max(2.0, width / 6))
    skin = 0.3 + 0.3 * shade
    reflect[:] = reflect * (1 - mask) + skin * mask
    emit[:] = emit * (1 - mask)


def _glare(value: np.ndarray, quad: np.ndarray, strength: float, rng: np.random.Generator) -> None:
    """A lamp's specular highlight on the paper or the glass, over part of the code."""
    lo, hi = quad.min(axis=0), quad.max(axis=0)
    cx, cy = rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1])
    size = max(hi - lo)
    sx, sy = size * rng.uniform(0.15, 0.3), size * rng.uniform(0.1, 0.2)
    x0, x1 = int(max(0, cx - 3 * sx)), int(min(value.shape[1], cx + 3 * sx + 1))
    y0, y1 = int(max(0, cy - 3 * sy)), int(min(value.shape[0], cy + 3 * sy + 1))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    value[y0:y1, x0:x1] += strength * np.exp(-((xx - cx) ** 2 / (2 * sx**2) + (yy - cy) ** 2 / (2 * sy**2)))


# -- sets of frames -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TillFrame:
    """One still frame and what it shows (no symbology: nothing to read)."""

    condition: str
    look: Look
    image: np.ndarray

    @property
    def symbology(self) -> str | None:
        return self.look.symbology

    @property
    def text(self) -> str:
        return self.look.text


def till_frame(condition: str, look: Look, variant: int = 0) -> TillFrame:
    placed = place(look) if look.symbology else None
    return TillFrame(condition, look, photograph(look, placed, variant))


def till_frames(per_condition: int, seed: int = 17, conditions: list[str] | None = None) -> list[TillFrame]:
    """`per_condition` frames of each condition, the symbologies taking turns; the same seed gives
    the same frames."""
    frames = []
    for condition in conditions or CONDITIONS:
        c = list(CONDITIONS).index(condition)  # a condition's frames do not depend on the others asked for
        rng = random.Random(f"{seed}/{condition}")
        for i in range(per_condition):
            look = look_for(condition, rng, SYMBOLOGIES[(i + c) % len(SYMBOLOGIES)])
            frames.append(till_frame(condition, look, variant=(i + c) % 4))
    return frames


class Shot:
    """One code held in front of the camera for a while: placed once, photographed once per frame
    with the hand's shake (a random walk of a few pixels) and fresh noise."""

    def __init__(self, look: Look, variant: int = 0) -> None:
        self.look = look
        self.variant = variant
        self.placed = place(look) if look.symbology else None
        self._shake = [0, 0]
        self._rng = random.Random(look.seed)

    def frame(self, index: int, jpeg: bool = True) -> np.ndarray:
        self._shake = [max(-3, min(3, s + self._rng.randint(-1, 1))) for s in self._shake]
        return photograph(
            self.look,
            self.placed,
            self.variant,
            tuple(self._shake),
            frame_seed=self.look.seed + index,
            jpeg=jpeg,
        )
