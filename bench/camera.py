"""camera: frame-to-verdict latency through the camera path, and its CPU use at 30 fps, beside bare zxing-cpp.

A 1280×720 MJPG video at 30 fps, made by the till-frame generator (tests/support/till_frames.py:
a shop counter, the room's light, a hand's shake, defocus, sensor noise), shows real codes of a
replica of SIZE vouchers, each held for about a second among empty frames, taking turns through
`KINDS`: QR and Code 128 on paper, on a bright phone and on a phone in dark mode (light on dark),
tilted 30-40°, small, blurred, and DataMatrix, Aztec and PDF417. It is played through the
kiosk's own camera path (`kiosk.camera.FrameSource` on the file → `scans()`: the chain's first
decoder in the reader, its fallback on its own thread → `CodeFilter` → `Kiosk.redeem`, journal
write included), built as the capture worker builds it from the kiosk's settings, once per
chain, each with a fresh journal: the kiosk's default chain, then bare zxing-cpp
(`zxingcpp.read_barcodes` as it comes: every format, its slow mode) and bare zxing-cpp fast
(no rotated, inverted or downscaled searches), in turns, so that a noisy machine slows them
alike; the ratios to bare zxing-cpp are printed at the end.

The file stands in for a camera that delivers a frame every 1/30 s: frame i arrives at
t0 + i/30 whatever the reader does. Model (default `--buffers 0`): the reader always takes
the newest frame that has arrived and older ones are dropped; `--buffers N` models N capture
buffers filled in order instead (what V4L2 does under OpenCV: a frame arriving while every
buffer is full is dropped, so a slow reader gets old frames). Latency of a scan = the
verdict (Decision) ready minus the arrival of the first frame that showed the code; a code
never read is counted apart (codes read, of those shown), not in the percentiles. Targets
(issue 17): p95 ≤ 40 ms, the reader thread ≤ 50 % of one core.
CPU: process CPU time (every thread: the reader, the fallback, the stand-in camera's MJPG
decoding) over wall time while the video plays, as % of one core; also the reader thread alone,
and frames the reader took per second against the 30 offered.
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
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from bench.common import ROOT, Report, WorkDir, percentile, say
from bench.verdict import KEY, build_replica
from kiosk.app import Kiosk
from kiosk.camera import CodeFilter, FrameSource, scans
from kiosk.scanner import DecoderChain, Read
from kiosk.settings import KioskSettings
from localdb.identity import Identity, save
from vouchers.codes import format_code, new_codes, normalise
from vouchers.errors import InvalidCode
from vouchers.verdict import Verdict

sys.path.insert(0, str(ROOT / "tests"))
from support.till_frames import HEIGHT, WIDTH, Look, Shot

NAME = "camera"
FPS = 30
TILL = "the kiosk's chain"
BARE, BARE_FAST = "bare zxing-cpp", "bare zxing-cpp fast"
PREFETCH = 45  # frames the stand-in camera decodes ahead of the clock (1.5 s)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--size", type=int, default=100_000, help="vouchers in the replica (default 100,000)")
    p.add_argument(
        "--codes",
        type=int,
        default=len(KINDS),
        help=f"codes shown in the video, taking turns through the kinds (default {len(KINDS)}, one "
        "of each; about 2.3 s each)",
    )
    p.add_argument("--hold", type=float, default=1.0, help="seconds each code is held in view (default 1.0)")
    p.add_argument(
        "--chains",
        default=None,
        help="decoder chains to run, ';' between chains, ',' between decoders; 'bare' and 'bare-fast' "
        "for bare zxing-cpp (default: the kiosk's default chain; bare; bare-fast)",
    )
    p.add_argument(
        "--fallback-fps",
        type=float,
        default=None,
        help="most frames per second the later decoders run on (default: the kiosk's setting)",
    )
    p.add_argument(
        "--buffers",
        type=int,
        default=0,
        help="camera model: 0 = the reader takes the newest frame (default); N = N capture "
        "buffers filled in order, later frames dropped while they are full (V4L2)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="times every chain plays the video, chains taking turns (default 2)",
    )
    p.add_argument("--seed", type=int, default=7, help="the video's random seed (default 7)")
    p.add_argument("--keep", action="store_true", help="keep the video and the tills' files")


# -- the video ----------------------------------------------------------------------------------


def _paper(rng: random.Random, symbology: str, module: tuple[float, float]) -> Look:
    return Look(
        symbology=symbology,
        surface="paper",
        module=rng.uniform(*module),
        rotation=rng.uniform(-6, 6) if symbology in ("Code128", "PDF417") else rng.uniform(-15, 15),
        tilt_x=rng.uniform(-8, 8),
        tilt_y=rng.uniform(-8, 8),
        exposure=rng.uniform(0.85, 1.1),
        blur=rng.uniform(0.6, 1.1),
        noise=rng.uniform(2, 3.5),
        seed=rng.randrange(2**31),
    )


QR, C128 = (3.0, 5.5), (2.3, 3.0)  # px per module (per bar) at 20-35 cm from a 720p webcam
# What the video shows, in turns: (name, look); every look's text is set to a voucher's code.
KINDS: list[tuple[str, Callable[[random.Random], Look]]] = [
    ("QR on paper", lambda rng: _paper(rng, "QRCode", QR)),
    ("Code 128 on paper", lambda rng: _paper(rng, "Code128", C128)),
    (
        "QR, dark-mode phone",
        lambda rng: replace(_paper(rng, "QRCode", QR), surface="phone-dark", screen=rng.uniform(0.5, 1.0)),
    ),
    (
        "Code 128, dark-mode phone",
        lambda rng: replace(_paper(rng, "Code128", C128), surface="phone-dark", screen=rng.uniform(0.5, 1.0)),
    ),
    (
        "QR, tilted 30-40°",
        lambda rng: replace(_paper(rng, "QRCode", QR), tilt_x=rng.choice((-1, 1)) * rng.uniform(30, 40)),
    ),
    (
        "Code 128, tilted 25-35°",
        lambda rng: replace(_paper(rng, "Code128", C128), tilt_y=rng.choice((-1, 1)) * rng.uniform(25, 35)),
    ),
    ("QR, small (2.2-2.6 px a module)", lambda rng: replace(_paper(rng, "QRCode", (2.2, 2.6)), blur=0.6)),
    ("Code 128, small (1.8-2.1 px a bar)", lambda rng: replace(_paper(rng, "Code128", (1.8, 2.1)), blur=0.5)),
    ("QR, blurred", lambda rng: replace(_paper(rng, "QRCode", QR), blur=rng.uniform(1.4, 1.9))),
    (
        "Code 128, blurred",
        lambda rng: replace(_paper(rng, "Code128", (2.8, 3.4)), blur=rng.uniform(1.2, 1.5)),
    ),
    (
        "QR, bright phone",
        lambda rng: replace(_paper(rng, "QRCode", QR), surface="phone", screen=rng.uniform(0.6, 1)),
    ),
    ("DataMatrix on paper", lambda rng: _paper(rng, "DataMatrix", QR)),
    ("Aztec, dark-mode phone", lambda rng: replace(_paper(rng, "Aztec", QR), surface="phone-dark")),
    ("PDF417 on paper", lambda rng: _paper(rng, "PDF417", (3.0, 4.0))),
]


@dataclass(frozen=True)
class Shown:
    """One code in view: frames [first, last) show it."""

    code: str  # canonical
    payload: str  # what the symbol carries
    kind: str
    first: int
    last: int
    size: str  # how it looks, for people


def schedule(codes: list[str], hold: float, rng: random.Random, variant: int) -> list[tuple[Shown, Shot]]:
    """Each code's frames and shot (on counter `variant`): 1 s of empty frames, then code, gap, code, ..."""
    out, frame = [], FPS
    for i, code in enumerate(codes):
        kind, make_look = KINDS[i % len(KINDS)]
        look = make_look(rng)
        if look.symbology == "QRCode" and i % 3 == 0:
            payload = f"https://vouchers.example/v/{format_code(code)}"
        else:
            payload = format_code(code) if i % 2 else code
        look = replace(look, text=payload, quality=85)  # the video's MJPG quality, not the look's JPEG
        length = round(hold * FPS)
        out.append((Shown(code, payload, kind, frame, frame + length, look.describe()), Shot(look, variant)))
        frame += length + round(rng.uniform(1.0, 1.6) * FPS)
    return out


def make_video(path: Path, codes: list[str], hold: float, seed: int) -> tuple[list[Shown], int]:
    """Write the video; the codes shown and the number of frames."""
    rng = random.Random(seed)
    plan = schedule(codes, hold, rng, variant=seed % 4)
    total = plan[-1][0].last + FPS
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MJPG video here")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 85)  # a webcam's MJPG is not its best JPEG
    counter = Shot(Look(symbology=None, seed=seed), variant=seed % 4)
    spans = {s.first: (s, shot) for s, shot in plan}
    current: tuple[Shown, Shot] | None = None
    for i in range(total):
        if i in spans:
            current = spans[i]
        if current is not None and i >= current[0].last:
            current = None
        writer.write((current[1] if current is not None else counter).frame(i, jpeg=False))
    writer.release()
    return [s for s, _ in plan], total


# -- the yardstick -----------------------------------------------------------------------------


class BareZxing:
    """zxing-cpp as it comes: `read_barcodes` with its defaults (every format, its slow mode and
    its own invert option), or `fast` without the rotated, inverted and downscaled searches; texts
    in its Plain mode, as the kiosk asks."""

    def __init__(self, fast: bool = False) -> None:
        self.fast = fast
        self.name = BARE_FAST if fast else BARE

    def decode(self, gray: np.ndarray) -> list[Read]:
        options = {"try_rotate": False, "try_invert": False, "try_downscale": False} if self.fast else {}
        found = zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain, **options)
        return [Read(r.format.name, r.text, self.name, r.bytes) for r in found]


def build_chain(names: list[str], fallback_interval: float) -> DecoderChain:
    """A chain as the capture worker builds it (kiosk/screens/scan.py), or bare zxing-cpp alone."""
    if names == ["bare"] or names == ["bare-fast"]:
        return DecoderChain([BareZxing(fast=names == ["bare-fast"])])
    return DecoderChain.from_names(names, fallback_interval=fallback_interval)


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
                self._cv.wait_for(lambda: self._closing or i < self._needed_from() + PREFETCH)  # noqa: B023 (waited on here)
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
                        self._cv.wait_for(lambda: i in self._frames or self._total is not None)  # noqa: B023 (waited on here)
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
    settings = KioskSettings(
        data_dir=data_dir, camera=str(video), **({"fallback_fps": fallback_fps} if fallback_fps else {})
    )
    kiosk = Kiosk(settings)
    result = Pass(list(names))
    try:
        # as kiosk/screens/scan.py builds them
        chain = build_chain(names, 1 / settings.fallback_fps)
        codes = CodeFilter(settings.repeat_seconds)
        first = FrameSource(str(video))
        build_chain(names, 0.0).decode(first.read())  # load the decoders, not timed
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
    if names == ["bare"]:
        return BARE
    if names == ["bare-fast"]:
        return BARE_FAST
    return ",".join(names)


def chains_to_run(spec: str | None) -> list[list[str]]:
    if spec:
        return [
            [n.strip() for n in chain.split(",") if n.strip()] for chain in spec.split(";") if chain.strip()
        ]
    return [list(KioskSettings.model_fields["decoders"].default), ["bare"], ["bare-fast"]]


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
        elif not s.first <= scan.frame < s.last + FPS:  # a fallback read comes a few frames after its frame
            problems.append(
                f"read {scan.text!r} at frame {scan.frame}, outside its frames {s.first}-{s.last - 1}"
            )
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
        out.append(
            Latency(
                s,
                (scan.ready - arrived) * 1000,
                (p.handed[scan.frame] - arrived) * 1000,
                scan.frame == looked,
            )
        )
    return out, problems


@dataclass
class Summary:
    """What the ratios at the end compare."""

    read: int
    shown: int
    p50: float
    p95: float
    reader_cpu: float
    process_cpu: float


def report_chain(report: Report, passes: list[Pass], shown: list[Shown], main: bool) -> Summary:
    name = label(passes[0].names)
    say(
        f"  -- {name}: {len(passes)} pass{'es' if len(passes) > 1 else ''} of {passes[0].frames} frames "
        f"({passes[0].frames / FPS:.1f} s) --"
    )
    lat: list[Latency] = []
    problems = []
    for p in passes:
        got, wrong = latencies(p, shown)
        lat += got
        problems += wrong
        if p.late:
            say(f"  {name}: the stand-in camera had {p.late} frames not decoded when due (machine too busy)")
    missed = [x.shown for x in lat if x.total == math.inf]
    for s in dict.fromkeys(missed):
        say(
            f"  {name}: never read the {s.kind} at frames {s.first}-{s.last - 1} ({missed.count(s)} of "
            f"{len(passes)} passes; {s.size})"
        )
    for problem in problems:
        say(f"  {name}: {problem}")
    report.check(not problems, f"{name}: every scan is a code shown in its frames, and ACCEPTED")
    events = sum(p.redeem_events for p in passes)
    accepted = sum(1 for p in passes for s in p.scans if s.verdict is Verdict.ACCEPTED)
    report.check(
        events == accepted, f"{name}: journal.db holds {events} redeem events for {accepted} ACCEPTED"
    )
    read = [x for x in lat if x.total != math.inf]
    times = [x.total for x in read] or [math.inf]
    report.figure(f"{name}: codes read", len(read), f"of {len(lat)}", fmt="{:,.0f}")
    report.figure(f"{name}: latency p50", percentile(times, 50), "ms", fmt="{:,.0f}")
    report.figure(
        f"{name}: latency p95", percentile(times, 95), "ms", ("<=", 40.0) if main else None, fmt="{:,.0f}"
    )
    report.figure(f"{name}: latency max", max(times), "ms", fmt="{:,.0f}")
    if read:
        say(
            f"  {name}: of that, waiting for the reader to take the frame it read: median "
            f"{statistics.median(x.wait for x in read):.0f} ms, max {max(x.wait for x in read):.0f} ms; "
            f"read in the first frame it took showing the code: {sum(x.first_look for x in read)} of {len(read)}"
        )
        slow = sorted(read, key=lambda x: -x.total)[:3]
        say(f"  {name}: slowest: " + "; ".join(f"{x.shown.kind} {x.total:.0f} ms" for x in slow))
    wall = sum(p.wall for p in passes)
    taken = sum(len(p.taken) for p in passes)
    report.figure(f"{name}: frames taken", taken / wall, f"/s of {FPS}", fmt="{:,.1f}")
    per_frame = [ms * 1000 for p in passes for ms in p.wall_per_frame.values()]
    cpu_frame = [ms * 1000 for p in passes for ms in p.cpu_per_frame.values()]
    say(
        f"  {name}: per frame taken (decode, filter, redeem): wall median {statistics.median(per_frame):.1f} ms, "
        f"p95 {percentile(per_frame, 95):.1f}, max {max(per_frame):.1f}; reader CPU median "
        f"{statistics.median(cpu_frame):.1f} ms, p95 {percentile(cpu_frame, 95):.1f}, max {max(cpu_frame):.1f}"
    )
    process = 100 * sum(p.cpu for p in passes) / wall
    reader = 100 * sum(p.reader_cpu for p in passes) / wall
    report.figure(f"{name}: CPU, process", process, "% of a core", fmt="{:,.0f}")
    report.figure(
        f"{name}: CPU, reader", reader, "% of a core", ("<=", 50.0) if main else None, fmt="{:,.0f}"
    )
    # the reader's CPU while nothing is in view, as a till spends most of its day
    empty = set(range(passes[0].frames)) - {i for s in shown for i in range(s.first, s.last + 5)}
    idle_cpu = sum(c for p in passes for i, c in p.cpu_per_frame.items() if i in empty)
    report.figure(
        f"{name}: CPU, reader, idle",
        100 * idle_cpu / (len(empty) * len(passes) / FPS),
        "% of a core",
        fmt="{:,.0f}",
    )
    source = sum(p.source_cpu for p in passes) / sum(p.frames for p in passes) * 1000
    say(
        f"  {name}: the stand-in camera's MJPG decoding, in the process figure: {source:.1f} ms CPU a frame, "
        f"every frame ({source * FPS / 10:.0f} % of a core)"
    )
    return Summary(len(read), len(lat), percentile(times, 50), percentile(times, 95), reader, process)


def report_ratios(report: Report, summaries: dict[str, Summary]) -> None:
    """The kiosk's chain (the first run) against bare zxing-cpp, slow and fast, of the same run:
    the machine's noise hits all of them."""
    name, mine = next(iter(summaries.items()))
    for baseline in (BARE, BARE_FAST):
        theirs = summaries.get(baseline)
        if theirs is None or baseline == name:
            continue
        say(f"  -- {name} against {baseline}, same frames, same run --")
        report.figure(
            f"{name} / {baseline}: codes read",
            mine.read / max(1, theirs.read),
            f"({mine.read} / {theirs.read})",
            fmt="{:,.2f}",
        )
        for figure, a, b in (
            ("latency p50", mine.p50, theirs.p50),
            ("latency p95", mine.p95, theirs.p95),
            ("CPU, reader", mine.reader_cpu, theirs.reader_cpu),
            ("CPU, process", mine.process_cpu, theirs.process_cpu),
        ):
            report.figure(
                f"{name} / {baseline}: {figure}",
                a / b if b and b != math.inf else math.nan,
                f"({a:,.0f} / {b:,.0f})",
                fmt="{:,.2f}",
            )


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    chains = chains_to_run(args.chains)
    model = (
        "newest frame: the reader takes the newest frame that has arrived, older ones are dropped"
        if args.buffers == 0
        else f"{args.buffers} capture buffers filled in order, later frames dropped "
        "while every buffer is full (V4L2)"
    )
    with WorkDir(NAME, keep=args.keep) as root:
        started = time.perf_counter()
        all_codes = new_codes(args.size)
        build_replica(root / "replica.db", all_codes)
        rng = random.Random(args.seed)
        claimed = [
            all_codes[i] for i in rng.sample(range(0, args.size, 2), args.codes)
        ]  # even: claimed, unused
        say(f"  setup: replica of {args.size:,} vouchers built in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        video = root / "camera.avi"
        shown, total = make_video(video, claimed, args.hold, args.seed)
        say(
            f"  setup: video {WIDTH}×{HEIGHT} MJPG at {FPS} fps, {total} frames ({total / FPS:.1f} s, "
            f"{video.stat().st_size / 2**20:.1f} MiB), {len(shown)} codes held {args.hold:g} s each; "
            f"made in {time.perf_counter() - started:.1f} s"
        )
        for s in shown:
            say(f"    frames {s.first}-{s.last - 1}: {s.kind}: {s.size}")
        settings = KioskSettings.model_fields
        fallback = args.fallback_fps or settings["fallback_fps"].default
        say(
            f"  kiosk settings: fallback_fps {fallback:g}{'' if args.fallback_fps else ' (default)'}, "
            f"repeat_seconds {settings['repeat_seconds'].default}; chains: "
            f"{'; '.join(label(c) for c in chains)}"
        )
        say(f"  camera model: {model}")
        say(
            f"  load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (this machine has "
            f"{os.cpu_count()} CPUs; others' work slows the reader and shows in every figure)"
        )
        passes: dict[str, list[Pass]] = {label(c): [] for c in chains}
        for r in range(args.rounds):
            for n, names in enumerate(chains):
                data = till_dir(root, root / "replica.db", f"till-{r}-{n}")
                p = play(video, names, data, args.buffers, args.fallback_fps)
                passes[label(names)].append(p)
                got = [x.total for x in latencies(p, shown)[0] if x.total != math.inf] or [math.inf]
                say(
                    f"  played with {label(names)}: {len(p.scans)} scans, {len(p.taken)} of {p.frames} frames "
                    f"taken in {p.wall:.1f} s; latency p50 {percentile(got, 50):.0f} ms, p95 "
                    f"{percentile(got, 95):.0f} ms"
                )
        say(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        summaries = {}
        for i, chain_passes in enumerate(passes.values()):
            summaries[label(chain_passes[0].names)] = report_chain(report, chain_passes, shown, main=i == 0)
        report_ratios(report, summaries)
    return report
