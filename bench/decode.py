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

No server is started; times are median and p95 of the decoding thread's CPU time in ms per
frame (`time.thread_time`), so that others' work on this shared machine stays out of them.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import zxingcpp

from bench.common import ROOT, Report, percentile, say
from kiosk import scanner

sys.path.insert(0, str(ROOT / "tests"))
from support.till_frames import CONDITIONS, till_frames

NAME = "decode"
THOROUGH = "till chain --thorough"
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
    """zxing-cpp as it comes (`read_barcodes` defaults: every format, slow mode, its own invert
    option), or without its slow searches; texts in its Plain mode, as the kiosk asks (its default,
    HRI, writes GS1 as "(01)..." and control characters as symbols: other texts, not misreads)."""

    def __init__(self, fast: bool = False) -> None:
        self.fast = fast
        self.name = "bare zxing-cpp fast" if fast else "bare zxing-cpp"

    def decode(self, gray: np.ndarray) -> list[scanner.Read]:
        options = {"try_rotate": False, "try_invert": False, "try_downscale": False} if self.fast else {}
        found = zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain, **options)
        return [scanner.Read(r.format.name, r.text, self.name, r.bytes) for r in found]


def chains() -> dict[str, scanner.DecoderChain]:
    """Every chain decodes synchronously here, its fallback on every frame its first decoder found nothing in."""
    return {
        "reader (zxing-fast)": scanner.DecoderChain.from_names(["zxing-fast"]),
        "till chain": scanner.DecoderChain.from_names(),
        THOROUGH: scanner.DecoderChain.from_names([*scanner.DEFAULT_DECODERS, *scanner.THOROUGH_DECODERS]),
        "bare zxing-cpp": scanner.DecoderChain([BareZxing()]),
        "bare zxing-cpp fast": scanner.DecoderChain([BareZxing(fast=True)]),
        "zxing (slow)": scanner.DecoderChain.from_names(["zxing"]),
        "zbar": scanner.DecoderChain.from_names(["zbar"]),
    }


def timed(chain: scanner.DecoderChain, frame: np.ndarray) -> tuple[float, list[scanner.Read]]:
    """The chain's reads and its CPU time in ms (this thread's: others' work on the machine left out)."""
    t0 = time.thread_time()
    reads = chain.decode(frame)
    return (time.thread_time() - t0) * 1000, reads


def time_figures(report: Report, label: str, times: list[float]) -> None:
    report.figure(f"{label}: median", statistics.median(times), "ms CPU/frame", fmt="{:,.1f}")
    report.figure(f"{label}: p95", percentile(times, 95), "ms CPU/frame", fmt="{:,.1f}")


def till_frame_figures(
    report: Report, args: argparse.Namespace, decoders: dict[str, scanner.DecoderChain]
) -> list:
    started = time.perf_counter()
    frames = till_frames(args.frames, seed=args.seed)
    say(
        f"  {len(frames)} till frames ({args.frames} per condition, seed {args.seed}) made in "
        f"{time.perf_counter() - started:.1f} s"
    )
    read: dict[str, Counter] = {name: Counter() for name in decoders}  # per condition
    times: dict[str, dict[str, list[float]]] = {name: {"empty": [], "code": []} for name in decoders}
    for frame in frames:
        till_read = False
        for name, chain in decoders.items():
            right = False
            if name == THOROUGH and till_read:
                right = True  # its passes come after the till's, which read it: not run again
            else:
                ms, reads = timed(chain, frame.image)
                times[name]["code" if frame.symbology else "empty"].append(ms)
                right = frame.symbology is not None and any(r.text == frame.text for r in reads)
                for r in reads:
                    if r.text != frame.text:
                        say(
                            f"  {name}: misread {r.text!r} ({r.format}) in a {frame.condition} frame: "
                            f"{frame.look.describe()}"
                        )
            read[name][frame.condition] += right
            till_read = till_read or (name == "till chain" and right)
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
    return frames


def quieten_figures(report: Report, frames: list, args: argparse.Namespace) -> None:
    """What quietening (`kiosk.scanner.quieten`, its own time included) costs and saves zxing-cpp's
    fast mode for the 2-D formats, as zxing-fast runs it: on the till frames, and on a flat grey
    frame with camera noise σ 5 after JPEG (quality 85), where the binariser's specks cost most."""
    rng = np.random.default_rng(args.seed)
    flat = [
        cv2.imdecode(
            cv2.imencode(
                ".jpg",
                np.clip(rng.normal(150, 5, (HEIGHT, WIDTH)), 0, 255).astype(np.uint8),
                [cv2.IMWRITE_JPEG_QUALITY, 85],
            )[1],
            cv2.IMREAD_GRAYSCALE,
        )
        for _ in range(10)
    ]
    sets = {
        "till frames": [
            (scanner.to_gray(f.image), f.text if f.symbology in scanner.ZxingDecoder.MATRIX else None)
            for f in frames
        ],
        "flat frame, noise 5, JPEG": [(gray, None) for gray in flat],
    }
    for kind, grays in sets.items():
        for label, prepare in (("raw frame", lambda g: g), ("quietened", scanner.quieten)):
            times, read = [], 0
            for gray, text in grays:
                t0 = time.thread_time()
                found = zxingcpp.read_barcodes(
                    prepare(gray),
                    formats=scanner.ZxingDecoder._MATRIX,
                    try_rotate=False,
                    try_invert=False,
                    try_downscale=False,
                )
                times.append((time.thread_time() - t0) * 1000)
                read += text is not None and any(r.text == text for r in found)
            time_figures(report, f"{kind}, zxing-cpp fast, 2-D formats, {label}", times)
            if kind == "till frames":
                report.figure(
                    f"{kind}, zxing-cpp fast, 2-D formats, {label}: read",
                    read,
                    f"of {sum(t is not None for _, t in grays)}",
                    fmt="{:,.0f}",
                )


def load_samples(dev: Path) -> list[Sample]:
    with open(dev / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [
        Sample(
            r["file"],
            r["folder"],
            r["format"],
            bytes.fromhex(r["expected_bin_hex"]) if r["expected_bin_hex"] else r["expected_text"],
        )
        for r in rows
    ]


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


def dev_set_figures(
    report: Report, args: argparse.Namespace, decoders: dict[str, scanner.DecoderChain]
) -> None:
    samples = load_samples(args.dev)
    images = {s.file: scanner.load_image(args.dev / s.file) for s in samples}
    frames = {s.file: place(images[s.file]) for s in samples}
    say(
        f"  {len(samples)} dev-set images in {len({s.folder for s in samples})} folders; frames {WIDTH}×{HEIGHT} BGR"
    )
    for name, chain in decoders.items():
        if name == THOROUGH:
            continue  # on the images below only
        times, results = [], {}
        for s in samples:
            for _ in range(args.repeat):
                ms, results[s.file] = timed(chain, frames[s.file])
                times.append(ms)
        read = sum(any(s.matches(r) for r in results[s.file]) for s in samples)
        time_figures(report, f"frame with a dev-set code, {name}", times)
        report.figure(
            f"frame with a dev-set code, {name}: read correctly", read, f"of {len(samples)}", fmt="{:,.0f}"
        )

    say("  -- read rate per format on the dev-set images --")
    formats = sorted({s.format for s in samples})
    printed = [s for s in samples if s.format in scanner.PRINTED]
    by_decoder: dict[str, dict[str, list[scanner.Read]]] = {}
    for name, chain in decoders.items():
        results = by_decoder[name] = {s.file: chain.decode(images[s.file]) for s in samples}
        for fmt in formats:
            of_format = [s for s in samples if s.format == fmt]
            ok = sum(any(s.matches(r) for r in results[s.file]) for s in of_format)
            report.figure(
                f"{name}: {fmt} read correctly",
                100 * ok / len(of_format),
                f"% of {len(of_format)}",
                fmt="{:,.0f}",
            )
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
    missed = Counter(
        s.folder for s in samples if not any(s.matches(r) for r in by_decoder["till chain"][s.file])
    )
    say(f"  images: the till's chain read nothing right in: {dict(missed) or 'none'} (per folder)")


def run(args: argparse.Namespace) -> Report:
    report = Report(NAME)
    decoders = chains()
    say("  -- empty frames: time per frame (not the thorough chain: seconds a frame) --")
    for kind, frame in empty_frames().items():
        for name, chain in decoders.items():
            if name == THOROUGH:
                continue
            times = [timed(chain, frame)[0] for _ in range(args.empty_frames)]
            time_figures(report, f"{kind}, {name}", times)
    frames = till_frame_figures(report, args, decoders)
    quieten_figures(report, frames, args)
    if (args.dev / "manifest.csv").exists():
        dev_set_figures(report, args, decoders)
    else:
        say(f"  {args.dev}/manifest.csv not found: no dev-set figures (pass --dev DIR)")
    return report
