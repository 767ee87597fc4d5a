"""camera: frame-to-verdict latency through the camera path, and its CPU use at 30 fps.

A 1280×720 MJPG video at 30 fps that looks like a webcam over a counter (a lit scene, defocus,
sensor noise, a hand's jitter) shows real codes of a replica of SIZE vouchers, each held for
about a second among empty frames: two QR codes (the bare code, a URL ending in the code) for
every Code 128, at known frames. It is played through the kiosk's own camera path
(`kiosk.camera.FrameSource` on the file → `scans()`: `DecoderChain` → `CodeFilter` →
`Kiosk.redeem`, journal write included), built as the capture worker builds it from the
kiosk's settings, once per decoder chain, each with a fresh journal.

The file stands in for a camera that delivers a frame every 1/30 s: frame i arrives at
t0 + i/30 whatever the reader does. Model (default `--buffers 0`): the reader always takes
the newest frame that has arrived and older ones are dropped; `--buffers N` models N capture
buffers filled in order instead (what V4L2 does under OpenCV: a frame arriving while every
buffer is full is dropped, so a slow reader gets old frames). Latency of a scan = the
verdict (Decision) ready minus the arrival of the first frame that showed the code; a code
never read is counted apart (codes read, of those shown), not in the percentiles. Target
(issue): p95 ≤ 100 ms.
CPU: process CPU time (every thread) over wall time while the video plays, as % of one core;
also the reader thread alone, and frames the reader took per second against the 30 offered.
Time per frame per decoder is `python -m bench decode`'s, not repeated here.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sqlite3
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import segno
import zxingcpp

from bench.common import Report, WorkDir, percentile, say
from bench.verdict import KEY, build_replica
from kiosk.app import Kiosk
from kiosk.camera import CodeFilter, FrameSource, scans
from kiosk.scanner import DecoderChain
from kiosk.settings import KioskSettings
from sync.identity import Identity, save
from vouchers.codes import format_code, new_codes, normalise
from vouchers.errors import InvalidCode
from vouchers.verdict import Verdict

NAME = "camera"
WIDTH, HEIGHT, FPS = 1280, 720, 30
OTHER_CHAINS = (["zxing-fast", "zxing", "zbar"], ["zxing"], ["zxing-fast"])
KINDS = ("QR, bare code", "QR, URL", "Code 128")
PREFETCH = 45  # frames the stand-in camera decodes ahead of the clock (1.5 s)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=100_000, help="vouchers in the replica (default 100,000)")
    p.add_argument("--codes", type=int, default=12, help="codes shown in the video (default 12; about 2.3 s each)")
    p.add_argument("--hold", type=float, default=1.0, help="seconds each code is held in view (default 1.0)")
    p.add_argument("--chains", default=None,
                   help="decoder chains to run, ';' between chains, ',' between decoders "
                        "(default: the kiosk's default, zxing-fast,zxing,zbar, zxing and zxing-fast)")
    p.add_argument("--fallback-fps", type=float, default=None,
                   help="most frames per second the later decoders run on (default: the kiosk's setting)")
    p.add_argument("--buffers", type=int, default=0,
                   help="camera model: 0 = the reader takes the newest frame (default); N = N capture "
                        "buffers filled in order, later frames dropped while they are full (V4L2)")
    p.add_argument("--rounds", type=int, default=2,
                   help="times every chain plays the video, chains taking turns (default 2)")
    p.add_argument("--seed", type=int, default=7, help="the video's random seed (default 7)")
    p.add_argument("--keep", action="store_true", help="keep the video and the tills' files")


# -- the video ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One code in view: frames [first, last) show it."""

    code: str  # canonical
    payload: str  # what the symbol carries
    kind: str
    first: int
    last: int
    size: str  # how big it is in the frame, for people


@dataclass
class Placed:
    """A symbol on its card, warped into frame coordinates once: paper ∈ [0, 1] and its mask."""

    top: int
    left: int
    paper: np.ndarray  # float32, 1 = paper, 0 = ink
    mask: np.ndarray  # float32, 1 where the card is
    blur: float


def symbol_modules(payload: str, kind: str) -> np.ndarray:
    """The symbol as 1 = ink, 0 = paper, one pixel per module, quiet zones included."""
    if kind.startswith("QR"):
        return np.pad(np.array(list(segno.make_qr(payload, error="m").matrix), dtype=np.uint8), 4)
    image = np.asarray(zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.Code128), scale=1))
    row = (image[image.shape[0] // 2] < 128).astype(np.uint8)
    return np.repeat(row[None, :], max(12, round(len(row) * 0.22)), axis=0)  # bars 22 % as tall as wide


def place(payload: str, kind: str, rng: random.Random) -> tuple[Placed, str]:
    """The card at a random spot, size, tilt and slight perspective, as a hand holds it."""
    modules = symbol_modules(payload, kind)
    # a 720p webcam 15-25 cm from a phone or a printed voucher: 3-6.5 px per QR module, 2.2-3.2 per bar
    px = rng.uniform(2.2, 3.2) if kind == "Code 128" else rng.uniform(3.0, 6.5)
    margin = 6
    card = np.pad(1.0 - modules.astype(np.float32), margin, constant_values=1.0)
    up = 8  # draw finely, then let the warp bring it to its size
    card = cv2.resize(card, (card.shape[1] * up, card.shape[0] * up), interpolation=cv2.INTER_NEAREST)
    h, w = card.shape
    scale = px / up
    out_w, out_h = w * scale, h * scale
    angle = math.radians(rng.uniform(-6, 6) if kind == "Code 128" else rng.uniform(-12, 12))
    cx = rng.uniform(out_w / 2 + 40, WIDTH - out_w / 2 - 40) if out_w + 80 < WIDTH else WIDTH / 2
    cy = rng.uniform(out_h / 2 + 40, HEIGHT - out_h / 2 - 40)
    corners = []
    for x, y in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        dx, dy = x * out_w / 2 * rng.uniform(0.96, 1.04), y * out_h / 2 * rng.uniform(0.96, 1.04)
        cos, sin = math.cos(angle), math.sin(angle)
        corners.append((cx + dx * cos - dy * sin, cy + dx * sin + dy * cos))
    dst = np.array(corners, np.float32)
    left, top = int(max(0, dst[:, 0].min() - 4)), int(max(0, dst[:, 1].min() - 4))
    right, bottom = int(min(WIDTH, dst[:, 0].max() + 5)), int(min(HEIGHT, dst[:, 1].max() + 5))
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst - np.array([left, top], np.float32))
    # downscale in two steps (area, then the warp) so that thin bars are not aliased away
    pre = cv2.resize(card, (max(1, round(w * scale * 2)), max(1, round(h * scale * 2))), interpolation=cv2.INTER_AREA)
    matrix = matrix @ np.diag([w / pre.shape[1], h / pre.shape[0], 1.0])
    size = (right - left, bottom - top)
    paper = cv2.warpPerspective(pre, matrix, size, flags=cv2.INTER_LINEAR, borderValue=1.0)
    mask = cv2.warpPerspective(np.ones_like(pre), matrix, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    blur = rng.uniform(0.7, 1.4)  # a fixed-focus lens this close
    described = (f"{modules.shape[1] * px:.0f} px wide, {px:.1f} px/module, tilt {math.degrees(angle):+.0f}°, "
                 f"blur {blur:.1f} px")
    return Placed(top, left, paper, mask, blur), described


def scene(rng: np.random.Generator) -> np.ndarray:
    """A dim shop counter under a ceiling light, gray levels as float32."""
    things = np.zeros((HEIGHT, WIDTH), np.uint8)
    things[: int(HEIGHT * 0.62)] = 150  # the wall behind
    things[int(HEIGHT * 0.62) :] = 95  # the counter
    cv2.rectangle(things, (60, 300), (330, 560), 70, -1)  # a box on the counter
    cv2.rectangle(things, (80, 330), (310, 420), 200, -1)
    cv2.putText(things, "PRICE 4.99", (95, 385), cv2.FONT_HERSHEY_SIMPLEX, 1.1, 40, 3)
    cv2.rectangle(things, (980, 120), (1220, 470), 60, -1)  # a card reader
    cv2.rectangle(things, (1010, 150), (1190, 260), 120, -1)
    cv2.putText(things, "INSERT CARD", (1020, 215), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 220, 2)
    for i in range(8):  # a receipt on the counter
        cv2.putText(things, "1 x COFFEE   2.40   TOTAL", (420, 480 + i * 22), cv2.FONT_HERSHEY_PLAIN, 1.0, 60, 1)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    light = 1.0 - 0.9 * (((x - WIDTH * 0.55) / WIDTH) ** 2 + ((y - HEIGHT * 0.35) / HEIGHT) ** 2)
    grain = cv2.resize(rng.normal(0, 10, (HEIGHT // 16, WIDTH // 16)).astype(np.float32), (WIDTH, HEIGHT),
                       interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray((things.astype(np.float32) + grain) * light)


def schedule(codes: list[str], hold: float, rng: random.Random) -> list[tuple[str, str, str, int, int]]:
    """(code, payload, kind, first, last) for each code: 1 s of empty frames, then code, gap, code, ..."""
    out, frame = [], FPS
    for i, code in enumerate(codes):
        kind = KINDS[i % len(KINDS)]
        payload = f"https://vouchers.example/v/{code}" if kind == "QR, URL" else format_code(code)
        length = round(hold * FPS)
        out.append((code, payload, kind, frame, frame + length))
        frame += length + round(rng.uniform(1.0, 1.6) * FPS)
    return out


def make_video(path: Path, codes: list[str], hold: float, seed: int) -> tuple[list[Shown], int]:
    """Write the video; the codes shown and the number of frames."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    background = scene(nrng)
    plan = schedule(codes, hold, rng)
    total = plan[-1][4] + FPS
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MJPG video here")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 85)  # a webcam's MJPG is not its best JPEG
    shown, placed, current = [], {}, None
    for code, payload, kind, first, last in plan:
        placed[first], size = place(payload, kind, rng)
        shown.append(Shown(code, payload, kind, first, last, size))
    noise = np.empty((HEIGHT, WIDTH), np.float32)
    jitter = [0, 0]
    ends = {s.first: s.last for s in shown}
    end = -1
    for i in range(total):
        if i in placed:
            current, end, jitter = placed[i], ends[i], [0, 0]
        if i >= end:
            current = None
        img = cv2.multiply(background, nrng.uniform(0.985, 1.015))  # exposure flicker
        blur = 0.8
        if current is not None:
            jitter = [min(3, max(-3, j + nrng.integers(-1, 2))) for j in jitter]  # the hand shakes
            top = min(max(0, current.top + jitter[0]), HEIGHT - current.paper.shape[0])
            left = min(max(0, current.left + jitter[1]), WIDTH - current.paper.shape[1])
            region = img[top : top + current.paper.shape[0], left : left + current.paper.shape[1]]
            card = (35 + 185 * current.paper) * (region / 150.0) ** 0.3  # lit like the scene, not flat
            region[:] = region * (1 - current.mask) + card * current.mask
            blur = current.blur
        img = cv2.GaussianBlur(img, (0, 0), blur)
        cv2.randn(noise, 0, 5.0)  # sensor noise
        img = cv2.add(img, noise)
        frame = cv2.merge([cv2.convertScaleAbs(img, alpha=a) for a in (0.93, 1.0, 1.06)])  # a warm cast
        writer.write(frame)
    writer.release()
    return shown, total


# -- the camera ---------------------------------------------------------------------------------


class PacedCamera:
    """A 30 fps camera made of a video file read through the kiosk's FrameSource: frame i
    arrives at t0 + i/fps whatever the reader does. `buffers` 0: read() gives the newest frame
    that has arrived (older ones dropped); N: the first N frames that arrived since the reader
    last took one, oldest first (the rest dropped), as V4L2 capture buffers behave."""

    is_device = True  # scans() then adds no pacing of its own, as for a webcam

    def __init__(self, source: FrameSource, buffers: int = 0, fps: float = FPS) -> None:
        self.source = source
        self.buffers = buffers
        self.fps = fps
        self.t0 = 0.0
        self.index = -1  # the frame read() gave last
        self.taken: list[int] = []
        self.late = 0  # frames the file decoder had not ready when they were due (should stay 0)
        self.handed: dict[int, float] = {}  # when read() gave each frame it gave
        self.cpu_per_frame: dict[int, float] = {}  # reader thread CPU spent on each frame taken
        self.wall_per_frame: dict[int, float] = {}
        self.source_cpu = 0.0  # the file decoder thread's CPU (MJPG decoding of every frame)
        self._frames: dict[int, np.ndarray] = {}
        self._decoded = 0
        self._total: int | None = None
        self._arrived = 0
        self._queue: list[int] = []
        self._cv = threading.Condition()
        self._closing = False
        self._handed: tuple[float, float] | None = None
        self._thread = threading.Thread(target=self._decode_ahead, name="stand-in camera", daemon=True)

    def start(self) -> float:
        """Decode ahead until PREFETCH frames are ready, then start the clock; returns t0."""
        self._thread.start()
        with self._cv:
            self._cv.wait_for(lambda: self._decoded >= PREFETCH or self._total is not None)
            self.t0 = time.monotonic() + 0.01
        return self.t0

    def _decode_ahead(self) -> None:
        cpu0 = time.thread_time()
        i = 0
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._closing or i < self._needed_from() + PREFETCH)
                if self._closing:
                    break
            frame = self.source.read()
            with self._cv:
                if frame is None:
                    self._total = i
                else:
                    self._frames[i] = frame
                    self._decoded = i = i + 1
                self._cv.notify_all()
            if frame is None:
                break
        self.source_cpu = time.thread_time() - cpu0

    def _needed_from(self) -> int:
        return min([self._arrived, *self._queue])

    @property
    def frames(self) -> int:
        """Frames in the file (known once the file decoder reached its end)."""
        return self._total or 0

    def arrival(self, i: int) -> float:
        return self.t0 + i / self.fps

    def read(self) -> np.ndarray | None:
        now_cpu, now = time.thread_time(), time.monotonic()
        if self._handed is not None:  # what the reader spent on the frame it took last
            self.cpu_per_frame[self.index] = now_cpu - self._handed[0]
            self.wall_per_frame[self.index] = now - self._handed[1]
        with self._cv:
            while True:
                due = math.floor((time.monotonic() - self.t0) * self.fps)
                if self._total is not None:
                    due = min(due, self._total - 1)
                for j in range(self._arrived, due + 1):
                    if self.buffers == 0:
                        self._queue = [j]
                    elif len(self._queue) < self.buffers:
                        self._queue.append(j)
                self._arrived = max(self._arrived, due + 1)
                if self._queue:
                    i = self._queue.pop(0)
                    if i not in self._frames:
                        self.late += 1
                        self._cv.wait_for(lambda: i in self._frames or self._total is not None)
                        if i not in self._frames:  # past the end of the file
                            self._queue = [j for j in self._queue if j < self._total]
                            continue
                    frame = self._frames[i]
                    keep = self._needed_from()
                    for j in [j for j in self._frames if j < keep]:
                        del self._frames[j]
                    self._cv.notify_all()
                    break
                if self._total is not None and self._arrived >= self._total:
                    self.index = -1
                    self._handed = None
                    return None
                self._cv.wait(max(0.0, self.arrival(self._arrived) - time.monotonic()))
        self.index = i
        self.taken.append(i)
        self._handed = (time.thread_time(), time.monotonic())
        self.handed[i] = self._handed[1]
        return frame

    def close(self) -> None:
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join()
        self.source.close()


# -- one chain playing the video ----------------------------------------------------------------


@dataclass
class Scan:
    text: str
    frame: int
    ready: float
    verdict: Verdict


@dataclass
class Pass:
    names: list[str]
    scans: list[Scan] = field(default_factory=list)
    t0: float = 0.0
    wall: float = 0.0
    cpu: float = 0.0
    reader_cpu: float = 0.0
    source_cpu: float = 0.0
    frames: int = 0
    taken: list[int] = field(default_factory=list)
    handed: dict[int, float] = field(default_factory=dict)
    cpu_per_frame: dict[int, float] = field(default_factory=dict)
    wall_per_frame: dict[int, float] = field(default_factory=dict)
    late: int = 0
    redeem_events: int = 0


def till_dir(root: Path, replica: Path, name: str) -> Path:
    """A till's data directory: the shared replica (hard link) and a fresh journal."""
    data = root / name
    data.mkdir()
    try:
        os.link(replica, data / "replica.db")
    except OSError:
        shutil.copyfile(replica, data / "replica.db")
    save(data / "device.json", Identity("http://bench.invalid", "bench-till", "s1", "-", KEY.hex()))
    return data


def play(video: Path, names: list[str], data_dir: Path, buffers: int, fallback_fps: float | None) -> Pass:
    """The capture worker's loop on the stand-in camera, timed; returns what it saw."""
    settings = KioskSettings(data_dir=data_dir, decoders=names, camera=str(video),
                             **({"fallback_fps": fallback_fps} if fallback_fps else {}))
    kiosk = Kiosk(settings)
    result = Pass(list(names))
    try:
        # as kiosk/screens/scan.py builds them
        chain = DecoderChain.from_names(settings.decoders, fallback_interval=1 / settings.fallback_fps)
        codes = CodeFilter(settings.repeat_seconds)
        first = FrameSource(str(video))
        DecoderChain.from_names(settings.decoders).decode(first.read())  # load the decoders, not timed
        first.close()
        kiosk.redeem(format_code(new_codes(1)[0]))  # open the replica: UNKNOWN, nothing journaled
        camera = PacedCamera(FrameSource(str(video)), buffers)
        try:
            result.t0 = camera.start()
            cpu0, reader0 = time.process_time(), time.thread_time()
            for text, _ in scans(camera, chain, codes, lambda: False):
                decision = kiosk.redeem(text)
                result.scans.append(Scan(text, camera.index, time.monotonic(), decision.verdict))
            result.wall = time.monotonic() - result.t0
            result.cpu = time.process_time() - cpu0
            result.reader_cpu = time.thread_time() - reader0
        finally:
            camera.close()
        result.source_cpu = camera.source_cpu
        result.frames = camera.frames
        result.taken, result.late, result.handed = camera.taken, camera.late, camera.handed
        result.cpu_per_frame, result.wall_per_frame = camera.cpu_per_frame, camera.wall_per_frame
    finally:
        kiosk.close()
    conn = sqlite3.connect(data_dir / "journal.db")
    try:
        result.redeem_events = conn.execute("SELECT count(*) FROM events WHERE kind = 'redeem'").fetchone()[0]
    finally:
        conn.close()
    return result


# -- figures ------------------------------------------------------------------------------------


def label(names: list[str]) -> str:
    return ",".join(names)


def chains_to_run(spec: str | None) -> list[list[str]]:
    if spec:
        return [[n.strip() for n in chain.split(",") if n.strip()] for chain in spec.split(";") if chain.strip()]
    default = list(KioskSettings.model_fields["decoders"].default)
    return [default, *[c for c in OTHER_CHAINS if c != default]]


@dataclass
class Latency:
    """One code shown in one pass: from its first frame's arrival to the verdict, in ms."""

    shown: Shown
    total: float  # inf when never read
    wait: float = math.nan  # until the reader took the frame it was read from
    first_look: bool = False  # read in the first frame the reader took that showed it


def latencies(p: Pass, shown: list[Shown]) -> tuple[list[Latency], list[str]]:
    """Each code's latency in one pass, and what went wrong (misreads, refusals)."""
    by_code = {s.code: s for s in shown}
    first: dict[str, Scan] = {}
    problems = []
    for scan in p.scans:
        try:
            code = normalise(scan.text)
        except InvalidCode:
            problems.append(f"read {scan.text!r}, not a voucher code")
            continue
        s = by_code.get(code)
        if s is None:
            problems.append(f"read {scan.text!r}, which the video does not show")
        elif not s.first <= scan.frame < s.last:
            problems.append(f"read {scan.text!r} from frame {scan.frame}, outside its frames {s.first}-{s.last - 1}")
        elif scan.verdict is not Verdict.ACCEPTED:
            problems.append(f"{scan.text!r} got {scan.verdict.value}, not ACCEPTED")
        elif code not in first:
            first[code] = scan
    out = []
    for s in shown:
        scan = first.get(s.code)
        if scan is None:
            out.append(Latency(s, math.inf))
            continue
        arrived = p.t0 + s.first / FPS
        looked = min(i for i in p.handed if i >= s.first)
        out.append(Latency(s, (scan.ready - arrived) * 1000, (p.handed[scan.frame] - arrived) * 1000,
                           scan.frame == looked))
    return out, problems


def report_chain(report: Report, passes: list[Pass], shown: list[Shown]) -> None:
    name = label(passes[0].names)
    say(f"  -- {name}: {len(passes)} pass{'es' if len(passes) > 1 else ''} of {passes[0].frames} frames "
        f"({passes[0].frames / FPS:.1f} s) --")
    lat: list[Latency] = []
    problems = []
    for p in passes:
        got, wrong = latencies(p, shown)
        lat += got
        problems += wrong
        for x in got:
            if x.total == math.inf:
                say(f"  {name}: never read the {x.shown.kind} at frames {x.shown.first}-{x.shown.last - 1} "
                    f"({x.shown.size})")
        if p.late:
            say(f"  {name}: the stand-in camera had {p.late} frames not decoded when due (machine too busy)")
    for problem in problems:
        say(f"  {name}: {problem}")
    report.check(not problems, f"{name}: every scan is a code shown in its frame, and ACCEPTED")
    events = sum(p.redeem_events for p in passes)
    accepted = sum(1 for p in passes for s in p.scans if s.verdict is Verdict.ACCEPTED)
    report.check(events == accepted, f"{name}: journal.db holds {events} redeem events for {accepted} ACCEPTED")
    read = [x for x in lat if x.total != math.inf]
    times = [x.total for x in read] or [math.inf]
    report.figure(f"{name}: codes read", len(read), f"of {len(lat)}", fmt="{:,.0f}")
    report.figure(f"{name}: latency p50", percentile(times, 50), "ms", fmt="{:,.0f}")
    report.figure(f"{name}: latency p95", percentile(times, 95), "ms", ("<=", 100.0), fmt="{:,.0f}")
    report.figure(f"{name}: latency max", max(times), "ms", fmt="{:,.0f}")
    if read:
        say(f"  {name}: of that, waiting for the reader to take the frame it read: median "
            f"{statistics.median(x.wait for x in read):.0f} ms, max {max(x.wait for x in read):.0f} ms; "
            f"read in the first frame it took showing the code: {sum(x.first_look for x in read)} of {len(read)}")
    wall = sum(p.wall for p in passes)
    taken = sum(len(p.taken) for p in passes)
    report.figure(f"{name}: frames taken", taken / wall, f"/s of {FPS}", fmt="{:,.1f}")
    per_frame = [ms * 1000 for p in passes for ms in p.wall_per_frame.values()]
    cpu_frame = [ms * 1000 for p in passes for ms in p.cpu_per_frame.values()]
    say(f"  {name}: per frame taken (decode, filter, redeem): wall median {statistics.median(per_frame):.1f} ms, "
        f"p95 {percentile(per_frame, 95):.1f}, max {max(per_frame):.1f}; reader CPU median "
        f"{statistics.median(cpu_frame):.1f} ms, p95 {percentile(cpu_frame, 95):.1f}, max {max(cpu_frame):.1f}")
    report.figure(f"{name}: CPU, process", 100 * sum(p.cpu for p in passes) / wall, "% of a core", fmt="{:,.0f}")
    report.figure(f"{name}: CPU, reader", 100 * sum(p.reader_cpu for p in passes) / wall, "% of a core",
                  fmt="{:,.0f}")
    # the reader's CPU while nothing is in view, as a till spends most of its day
    empty = set(range(passes[0].frames)) - {i for s in shown for i in range(s.first, s.last + 5)}
    idle_cpu = sum(c for p in passes for i, c in p.cpu_per_frame.items() if i in empty)
    report.figure(f"{name}: CPU, reader, idle", 100 * idle_cpu / (len(empty) * len(passes) / FPS),
                  "% of a core", fmt="{:,.0f}")
    source = sum(p.source_cpu for p in passes) / sum(p.frames for p in passes) * 1000
    say(f"  {name}: the stand-in camera's MJPG decoding, in the process figure: {source:.1f} ms CPU a frame, "
        f"every frame ({source * FPS / 10:.0f} % of a core)")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    chains = chains_to_run(args.chains)
    model = ("newest frame: the reader takes the newest frame that has arrived, older ones are dropped"
             if args.buffers == 0 else f"{args.buffers} capture buffers filled in order, later frames dropped "
             "while every buffer is full (V4L2)")
    with WorkDir(NAME, keep=args.keep) as root:
        started = time.perf_counter()
        all_codes = new_codes(args.size)
        build_replica(root / "replica.db", all_codes)
        rng = random.Random(args.seed)
        claimed = [all_codes[i] for i in rng.sample(range(0, args.size, 2), args.codes)]  # even: claimed, unused
        say(f"  setup: replica of {args.size:,} vouchers built in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        video = root / "camera.avi"
        shown, total = make_video(video, claimed, args.hold, args.seed)
        kinds = ", ".join(f"{sum(s.kind == k for s in shown)} {k}" for k in KINDS)
        say(f"  setup: video {WIDTH}×{HEIGHT} MJPG at {FPS} fps, {total} frames ({total / FPS:.1f} s, "
            f"{video.stat().st_size / 2**20:.1f} MiB), {len(shown)} codes ({kinds}) held {args.hold:g} s each; "
            f"made in {time.perf_counter() - started:.1f} s")
        settings = KioskSettings.model_fields
        fallback = args.fallback_fps or settings["fallback_fps"].default
        say(f"  kiosk settings: fallback_fps {fallback:g}{'' if args.fallback_fps else ' (default)'}, "
            f"repeat_seconds {settings['repeat_seconds'].default}; chains: "
            f"{'; '.join(label(c) for c in chains)}")
        say(f"  camera model: {model}")
        say(f"  load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (this machine has "
            f"{os.cpu_count()} CPUs; others' work slows the reader and shows in every figure)")
        passes: dict[str, list[Pass]] = {label(c): [] for c in chains}
        for r in range(args.rounds):
            for n, names in enumerate(chains):
                data = till_dir(root, root / "replica.db", f"till-{r}-{n}")
                p = play(video, names, data, args.buffers, args.fallback_fps)
                passes[label(names)].append(p)
                got = [x.total for x in latencies(p, shown)[0] if x.total != math.inf] or [math.inf]
                say(f"  played with {label(names)}: {len(p.scans)} scans, {len(p.taken)} of {p.frames} frames "
                    f"taken in {p.wall:.1f} s; latency p50 {percentile(got, 50):.0f} ms, p95 "
                    f"{percentile(got, 95):.0f} ms")
        say(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for chain_passes in passes.values():
            report_chain(report, chain_passes, shown)
    return report
