"""decode: barcode decoding at the till, per 1280×720 camera frame, per condition and per format.

Three sets of frames, each decoded as the camera worker decodes it (`kiosk.scanner`, gray
conversion included):

* **Till frames** from the generator the decode tests use (tests/support/till_frames.py):
  `--frames` per condition (default 20; the tests take 10) of codes as head office prints them,
  photographed as a webcam over a counter sees them (perspective, rotation, blur, noise, light,
  glare, JPEG, phone screens bright and dark, a thumb, small codes, and frames with no code).
  Time per frame and read rate per condition of: the reader's decoder (`zxing-fast`, both
  polarities, what the camera's reader thread runs on every frame), the till's whole chain
  (`DEFAULT_DECODERS`: the fallback on every frame the reader found nothing in, as
  `voucher-kiosk decode` runs it), `--thorough`'s chain, bare zxing-cpp (`read_barcodes` as it
  comes: every format, slow mode), bare zxing-cpp fast, zxing-cpp's slow mode and zbar alone.
  And what quietening the frame (`kiosk.scanner.quieten`) saves zxing-cpp on empty frames.
* **The dev set** (zxing-cpp's sample photos, ../shared/data/barcodes/dev): each image at the
  centre of a grey 1280×720 frame (scaled down to fit), timed; and the read rate per format on
  the images themselves.
* **Empty frames**: flat grey, and grey with camera noise (σ = 6).

No server is started; times are median and p95 in ms per frame.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from bench.common import ROOT, Report, percentile, say
from kiosk import scanner

sys.path.insert(0, str(ROOT / "tests"))
from support.till_frames import CONDITIONS, look_for, till_frame, till_frames  # noqa: E402  (test support, shared with the decode tests)

NAME = "decode"
DEV = ROOT.parent / "shared" / "data" / "barcodes" / "dev"
WIDTH, HEIGHT = 1280, 720
BACKGROUND = 180


@dataclass(frozen=True)
class Sample:
    file: str
    folder: str
    format: str
    expected: str | bytes

    def matches(self, read: scanner.Read) -> bool:
        return read.raw == self.expected if isinstance(self.expected, bytes) else read.text == self.expected


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dev", type=Path, default=DEV, help=f"the dev set's directory (default {DEV})")
    p.add_argument("--frames", type=int, default=20, help="generated till frames per condition (default 20)")
    p.add_argument("--seed", type=int, default=17, help="the generator's seed (default 17, the tests')")
    p.add_argument("--empty-frames", type=int, default=100, help="empty frames timed per kind (default 100)")
    p.add_argument("--repeat", type=int, default=1, help="times each placed dev image is decoded (default 1)")


class BareZxing:
    """zxing-cpp as it comes (`read_barcodes` defaults), or without its slow searches."""

    def __init__(self, fast: bool = False) -> None:
        self.fast = fast
        self.name = "bare zxing-cpp fast" if fast else "bare zxing-cpp"

    def decode(self, gray: np.ndarray) -> list[scanner.Read]:
        options = {"try_rotate": False, "try_invert": False, "try_downscale": False} if self.fast else {}
        return [scanner.Read(r.format.name, r.text, self.name, r.bytes) for r in zxingcpp.read_barcodes(gray, **options)]


def chains() -> dict[str, scanner.DecoderChain]:
    """Every chain decodes synchronously here, its fallback on every frame its first decoder found nothing in."""
    return {
        "reader (zxing-fast)": scanner.DecoderChain.from_names(["zxing-fast"]),
        "till chain": scanner.DecoderChain.from_names(),
        "till chain --thorough": scanner.DecoderChain.from_names([*scanner.DEFAULT_DECODERS,
                                                                   *scanner.THOROUGH_DECODERS]),
        "bare zxing-cpp": scanner.DecoderChain([BareZxing()]),
        "bare zxing-cpp fast": scanner.DecoderChain([BareZxing(fast=True)]),
        "zxing (slow)": scanner.DecoderChain.from_names(["zxing"]),
        "zbar": scanner.DecoderChain.from_names(["zbar"]),
    }


def timed(chain: scanner.DecoderChain, frame: np.ndarray) -> tuple[float, list[scanner.Read]]:
    t0 = time.perf_counter()
    reads = chain.decode(frame)
    return (time.perf_counter() - t0) * 1000, reads


def time_figures(report: Report, label: str, times: list[float]) -> None:
    report.figure(f"{label}: median", statistics.median(times), "ms/frame", fmt="{:,.1f}")
    report.figure(f"{label}: p95", percentile(times, 95), "ms/frame", fmt="{:,.1f}")


def till_frame_figures(report: Report, args: argparse.Namespace, decoders: dict[str, scanner.DecoderChain]) -> None:
    started = time.perf_counter()
    frames = till_frames(args.frames, seed=args.seed)
    say(f"  {len(frames)} till frames ({args.frames} per condition, seed {args.seed}) made in "
        f"{time.perf_counter() - started:.1f} s")
    read: dict[str, Counter] = {name: Counter() for name in decoders}
    times: dict[str, dict[str, list[float]]] = {name: {"empty": [], "code": []} for name in decoders}
    for frame in frames:
        for name, chain in decoders.items():
            if name == "till chain --thorough" and frame.symbology and read["till chain"][id(frame)]:
                continue  # the thorough passes run only where the chain found nothing
            ms, reads = timed(chain, frame.image)
            times[name]["code" if frame.symbology else "empty"].append(ms)
            right = frame.symbology is not None and any(r.text == frame.text for r in reads)
            read[name][frame.condition] += right
            read[name][id(frame)] = right
            for r in reads:
                if r.text != frame.text:
                    say(f"  {name}: misread {r.text!r} ({r.format}) in a {frame.condition} frame: "
                        f"{frame.look.describe()}")
        read["till chain --thorough"][frame.condition] += (read["till chain"][id(frame)]
                                                           and not read["till chain --thorough"][id(frame)]
                                                           and frame.symbology is not None)
    say("  -- till frames: time per frame (the thorough chain only where the till's found nothing) --")
    for name in decoders:
        for kind in ("empty", "code"):
            if times[name][kind]:
                time_figures(report, f"till frames, {kind}, {name}", times[name][kind])
    say("  -- till frames: read per condition --")
    per = args.frames
    say(f"  {'condition':<18}" + "".join(f"{name:>22}" for name in decoders))
    for condition in CONDITIONS:
        say(f"  {condition:<18}" + "".join(f"{read[name][condition]:>19} /{per}" for name in decoders))
    total = sum(1 for f in frames if f.symbology)
    for name in decoders:
        ok = sum(read[name][c] for c in CONDITIONS)
        report.figure(f"till frames, {name}: read", ok, f"of {total}", fmt="{:,.0f}")


def quieten_figures(report: Report, args: argparse.Namespace) -> None:
    """What quietening saves zxing-cpp's fast mode on empty counter frames, with the base
    condition's noise (σ 1.5-3.5) and the "noise" condition's (σ 7-12); its own time included."""
    rng = random.Random(args.seed)
    for kind, condition in (("empty till frame", "plain"), ("empty till frame, noisy", "noise")):
        looks = [replace(look_for(condition, rng, "QRCode"), symbology=None) for _ in range(args.frames)]
        frames = [scanner.to_gray(till_frame(condition, look, variant=i % 4).image) for i, look in enumerate(looks)]
        for label, prepare in (("raw frame", lambda g: g), ("quietened", scanner.quieten)):
            times = []
            for gray in frames:
                t0 = time.perf_counter()
                zxingcpp.read_barcodes(prepare(gray), formats=scanner.ZxingDecoder._MATRIX, try_rotate=False,
                                       try_invert=False, try_downscale=False)
                times.append((time.perf_counter() - t0) * 1000)
            time_figures(report, f"{kind}, zxing-cpp fast, 2-D formats, {label}", times)


def load_samples(dev: Path) -> list[Sample]:
    with open(dev / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Sample(r["file"], r["folder"], r["format"],
                   bytes.fromhex(r["expected_bin_hex"]) if r["expected_bin_hex"] else r["expected_text"])
            for r in rows]


def place(image: np.ndarray) -> np.ndarray:
    """`image` at the centre of a grey 1280×720 BGR frame, scaled down to fit if needed."""
    gray = scanner.to_gray(image)
    h, w = gray.shape
    scale = min(1.0, (WIDTH - 40) / w, (HEIGHT - 40) / h)
    if scale < 1.0:
        gray = cv2.resize(gray, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        h, w = gray.shape
    frame = np.full((HEIGHT, WIDTH), BACKGROUND, np.uint8)
    top, left = (HEIGHT - h) // 2, (WIDTH - w) // 2
    frame[top : top + h, left : left + w] = gray
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


def empty_frames() -> dict[str, np.ndarray]:
    flat = np.full((HEIGHT, WIDTH, 3), BACKGROUND, np.uint8)
    noise = np.random.default_rng(4).normal(0, 6, (HEIGHT, WIDTH, 1))
    noisy = np.clip(flat + noise, 0, 255).astype(np.uint8)
    return {"empty frame": flat, "empty frame, camera noise": noisy}


def dev_set_figures(report: Report, args: argparse.Namespace, decoders: dict[str, scanner.DecoderChain]) -> None:
    samples = load_samples(args.dev)
    images = {s.file: scanner.load_image(args.dev / s.file) for s in samples}
    frames = {s.file: place(images[s.file]) for s in samples}
    say(f"  {len(samples)} dev-set images in {len({s.folder for s in samples})} folders; frames {WIDTH}×{HEIGHT} BGR")
    for name, chain in decoders.items():
        times, results = [], {}
        for s in samples:
            for _ in range(args.repeat):
                ms, results[s.file] = timed(chain, frames[s.file])
                times.append(ms)
        read = sum(any(s.matches(r) for r in results[s.file]) for s in samples)
        time_figures(report, f"frame with a dev-set code, {name}", times)
        report.figure(f"frame with a dev-set code, {name}: read correctly", read, f"of {len(samples)}", fmt="{:,.0f}")

    say("  -- read rate per format on the dev-set images --")
    formats = sorted({s.format for s in samples})
    printed = [s for s in samples if s.format in scanner.PRINTED]
    by_decoder: dict[str, dict[str, list[scanner.Read]]] = {}
    for name, chain in decoders.items():
        results = by_decoder[name] = {s.file: chain.decode(images[s.file]) for s in samples}
        for fmt in formats:
            of_format = [s for s in samples if s.format == fmt]
            ok = sum(any(s.matches(r) for r in results[s.file]) for s in of_format)
            report.figure(f"{name}: {fmt} read correctly", 100 * ok / len(of_format), f"% of {len(of_format)}",
                          fmt="{:,.0f}")
        ok = sum(any(s.matches(r) for r in results[s.file]) for s in samples)
        report.figure(f"{name}: all formats read correctly", ok, f"of {len(samples)}", fmt="{:,.0f}")
        ok = sum(any(s.matches(r) for r in results[s.file]) for s in printed)
        report.figure(f"{name}: the symbologies head office prints", ok, f"of {len(printed)}", fmt="{:,.0f}")
        for s in samples:
            reads = results[s.file]
            if reads and not any(s.matches(r) for r in reads):
                say(f"  {name}: misread {s.file}: {[r.text for r in reads]!r} (expected {s.expected!r})")
            elif len(reads) > sum(s.matches(r) for r in reads):
                extra = [r.text for r in reads if not s.matches(r)]
                say(f"  {name}: {s.file} read correctly, but also as {extra!r}")
    missed = Counter(s.folder for s in samples if not any(s.matches(r) for r in by_decoder["till chain"][s.file]))
    say(f"  images: the till's chain read nothing right in: {dict(missed) or 'none'} (per folder)")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    decoders = chains()
    say("  -- empty frames: time per frame --")
    for kind, frame in empty_frames().items():
        for name, chain in decoders.items():
            times = [timed(chain, frame)[0] for _ in range(args.empty_frames)]
            time_figures(report, f"{kind}, {name}", times)
    till_frame_figures(report, args, decoders)
    quieten_figures(report, args)
    if (args.dev / "manifest.csv").exists():
        dev_set_figures(report, args, decoders)
    else:
        say(f"  {args.dev}/manifest.csv not found: no dev-set figures (pass --dev DIR)")
    return report
